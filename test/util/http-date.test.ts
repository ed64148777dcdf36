// HTTP-date in its three forms (RFC 9110 §5.6.7): what an upstream's
// Retry-After may name. Examples from the RFC itself.
import { describe, expect, it } from 'vitest';
import { parseHttpDate } from '../../src/util/http-date.js';

const NOW = Date.UTC(2026, 11, 7, 4, 0, 0);
const RFC_EXAMPLE = Date.UTC(1994, 10, 6, 8, 49, 37);

describe('parseHttpDate', () => {
  it('reads the IMF-fixdate, the RFC 850 and the asctime forms of one time alike', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(RFC_EXAMPLE);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(RFC_EXAMPLE);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994', NOW)).toBe(RFC_EXAMPLE);
    expect(parseHttpDate('Mon Dec 14 04:15:05 2026', NOW)).toBe(Date.UTC(2026, 11, 14, 4, 15, 5));
  });

  it('takes a two-digit year more than 50 years ahead as the last such year in the past', () => {
    expect(parseHttpDate('Monday, 07-Dec-26 04:15:05 GMT', NOW)).toBe(Date.UTC(2026, 11, 7, 4, 15, 5));
    expect(parseHttpDate('Thursday, 07-Dec-76 04:15:05 GMT', NOW)).toBe(Date.UTC(2076, 11, 7, 4, 15, 5));
    expect(parseHttpDate('Wednesday, 07-Dec-77 04:15:05 GMT', NOW)).toBe(Date.UTC(1977, 11, 7, 4, 15, 5));
  });

  it('reads nothing else as a date', () => {
    for (const s of [
      '',
      '3600',
      '-5',
      'garbage',
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'Sun, 6 Nov 1994 08:49:37 GMT',
      'sun, 06 nov 1994 08:49:37 GMT',
      'Sun, 31 Feb 1994 08:49:37 GMT',
      'Sun, 00 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 24:00:00 GMT',
      'Sun, 06 Nov 1994 08:60:00 GMT',
      'Sun Nov  6 08:49:37 1994 GMT',
      'Sun, 06-Nov-94 08:49:37 GMT',
      ' Sun, 06 Nov 1994 08:49:37 GMT',
    ])
      expect(parseHttpDate(s, NOW), s).toBeNaN();
  });

  it('takes a leap second as the last second of its minute', () => {
    expect(parseHttpDate('Wed, 31 Dec 2008 23:59:60 GMT', NOW)).toBe(Date.UTC(2008, 11, 31, 23, 59, 59));
  });
});
