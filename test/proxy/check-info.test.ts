// checkInfo: an upstream's .info / @latest is refused unless the go command
// can read it, since a canonical version's .info is stored for good. Its
// Time is read by Go's time.Time JSON decoding (strict RFC 3339): what it
// refuses, godepot must not keep.
import { describe, expect, it } from 'vitest';
import { checkInfo } from '../../src/proxy/fetch.js';
import type { ProxyRequest } from '../../src/proxy/request.js';

const req: ProxyRequest = { kind: 'info', path: 'example.com/m', version: 'v1.0.0', query: false };
const info = (time: string): Buffer => Buffer.from(JSON.stringify({ Version: 'v1.0.0', Time: time }));

describe('checkInfo', () => {
  // What go1.26's json.Unmarshal into a time.Time says of each (run beside this test, 2026-12-06).
  it.each([
    '2020-01-01T00:00:00Z',
    '2020-01-01T00:00:00.123+02:00',
    '2020-02-29T23:59:59.999999999-07:30',
    '9999-12-31T23:59:59Z',
  ])('takes Time %s, which the go command reads', (time) => {
    expect(checkInfo(req, info(time), 'http://up.example')).toEqual({ Version: 'v1.0.0', Time: time });
  });

  it.each([
    '1',
    '2020',
    'Jan 1',
    '2020-01-01',
    '2020-01-01T00:00:00',
    '2020-01-01 00:00:00Z',
    '2020-01-01t00:00:00z',
    'Wed, 01 Jan 2020 00:00:00 GMT',
    '+010000-01-01T00:00:00Z',
    '2020-02-30T00:00:00Z',
    '2021-02-29T00:00:00Z',
    '2020-13-01T00:00:00Z',
    '2020-01-01T24:00:00Z',
    '2020-01-01T00:60:00Z',
    '2020-01-01T00:00:60Z',
    '2020-01-01T00:00:00.Z',
  ])('refuses Time %s, which the go command cannot read', (time) => {
    expect(() => checkInfo(req, info(time), 'http://up.example')).toThrow(/Time is not an RFC 3339 time/);
  });
});
