// Values the schema must refuse rather than misread.
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import { parseDuration, parseSize } from '../../src/config/values.js';

describe('settings limits', () => {
  it('refuses a duration longer than a timer can wait, naming the setting (Node would fire it after 1 ms)', () => {
    expect(() => loadSettings(['--storage-timeout', '600h'], {})).toThrow(/--storage-timeout.*at most 596h/);
    expect(() => parseDuration(2 ** 31)).toThrow(/at most/);
    expect(parseDuration('596h')).toBe(596 * 3_600_000);
  });

  it('refuses a duration that would round to 0 (often "off") and a size no number holds exactly', () => {
    expect(() => parseDuration('0.4ms')).toThrow(
      'invalid duration "0.4ms": durations are whole milliseconds, at least 1ms',
    );
    expect(parseDuration('0.6ms')).toBe(1);
    expect(parseDuration('0s')).toBe(0);
    expect(() => loadSettings(['--memory-cache', '99999999999GiB'], {})).toThrow(/--memory-cache.*at most 8PiB/);
    expect(() => parseSize(1e300)).toThrow(/at most 8PiB/);
    expect(parseSize('1GiB')).toBe(2 ** 30);
  });
});
