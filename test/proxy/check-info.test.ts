// checkInfo: an upstream's .info / @latest is refused unless the go command
// can read it, since a canonical version's .info is stored for good. Its
// Time is read by Go's time.Time JSON decoding (strict RFC 3339): what it
// refuses, godepot must not keep. And such an answer is that upstream
// failing, as the go command takes it: after '|' the next one is asked.
import { afterAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { checkInfo, fetchSmall } from '../../src/proxy/fetch.js';
import { EndpointRegistry, HttpPools, ProxyList, UpstreamError } from '../../src/upstream/index.js';
import { parseUpstreamList } from '../../src/config/values.js';
import { DEFAULT_DEADLINES } from '../../src/config/settings.js';
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
    expect(() => checkInfo(req, info(time), 'http://up.example')).not.toThrow();
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
    '2020-01-01T00:00:00+99:00',
    '2020-01-01T00:00:00+00:75',
  ])('refuses Time %s, which the go command cannot read', (time) => {
    expect(() => checkInfo(req, info(time), 'http://up.example')).toThrow(/Time is not an RFC 3339 time/);
  });
});

describe('checkInfo reads the fields as the go command does (json.Unmarshal matches keys whatever their case)', () => {
  const body = (s: string): Buffer => Buffer.from(s);
  // What go1.26's json.Unmarshal into modfetch's RevInfo reads from each: the go command would see another version
  // or fail on a Time godepot did not look at, and a canonical version's .info is stored for good.
  it.each([
    ['{"Version":"v1.0.0","version":"v1.9.9"}', 'v1.9.9'],
    ['{"Version":"v1.0.0","Ver\u017fion":"v1.9.9"}', 'v1.9.9'],
    ['{"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z","TIME":"junk"}', 'an error'],
  ])('refuses %s (the go command reads %s)', (text) => {
    expect(() => checkInfo(req, body(text), 'http://up.example')).toThrow(/which the go command reads as one field/);
  });

  it.each([
    '{"version":"v1.0.0"}',
    '{"VERSION":"v1.0.0","time":"2020-01-01T00:00:00Z"}',
    '{"Version":"v1.0.0","Time":null}',
    '{"Version":"v1.0.0","Time":"2020-01-01T00:00:00,5Z"}',
  ])('takes %s, which the go command reads as v1.0.0', (text) => {
    expect(() => checkInfo(req, body(text), 'http://up.example')).not.toThrow();
  });

  it('still refuses a lower-case version that is another one', () => {
    expect(() => checkInfo(req, body('{"version":"v1.9.9"}'), 'http://up.example')).toThrow(/instead of requested/);
  });
});

describe("checkInfo refuses what json.Unmarshal into the go command's RevInfo refuses (differential against go1.26.8)", () => {
  const body = (s: string): Buffer => Buffer.from(s);
  const nested = (levels: number): string =>
    `{"Version":"v1.0.0","X":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
  it.each([
    // time.Time parses its text without unescaping it.
    ['{"Version":"v1.0.0","Time":"2020-01-01T00:00:00\\u005a"}', /Time is not an RFC 3339 time/],
    // Every occurrence of a key is decoded: a wrong one fails the answer, whichever comes last.
    ['{"Version":5,"Version":"v1.0.0"}', /gives "Version" twice/],
    ['{"Version":"v1.0.0","Time":"junk","Time":"2020-01-01T00:00:00Z"}', /gives "Time" twice/],
    // Origin is a *codehost.Origin: an object of strings.
    ['{"Version":"v1.0.0","Origin":[]}', /Origin is not a JSON object/],
    ['{"Version":"v1.0.0","Origin":"git"}', /Origin is not a JSON object/],
    ['{"Version":"v1.0.0","Origin":{"VCS":5}}', /Origin.VCS is not a string/],
    ['{"Version":"v1.0.0","origin":{"hash":{"a":1}}}', /Origin.Hash is not a string/],
    ['{"Version":"v1.0.0","Origin":{"URL":"a","url":"b"}}', /Origin: it has both "URL" and "url"/],
    // encoding/json stops at 10,000 levels.
    [nested(10_001), /nests deeper than the go command reads/],
  ])('refuses %s', (text, why) => {
    expect(() => checkInfo(req, body(text), 'http://up.example')).toThrow(why);
  });

  it.each([
    // The go command writes & < > in strings as \u0026 \u003c \u003e: escapes are fine outside Time.
    '{"Version":"v1.0.0","Origin":{"VCS":"git","URL":"https://git.example/r?a=1\\u0026b=2","Hash":"0123abc","Ref":null}}',
    '{"Version":"v1.0.0","Origin":null,"Time":"2020-01-01T00:00:00Z"}',
    // Fields Go does not decode (Name and Short are json:"-"), whatever they hold.
    '{"Version":"v1.0.0","Name":5,"Short":[1,{"a":"}"}],"Extra":{"Version":"v9.9.9"}}',
    ' { "Version" : "v1.0.0" , "Time" : "2020-01-01T00:00:00Z" } ',
    nested(10_000),
  ])('takes %s', (text) => {
    expect(() => checkInfo(req, body(text), 'http://up.example')).not.toThrow();
  });
});

describe("an .info the go command cannot use is that upstream's failure, as in the go command's GOPROXY walk", () => {
  const servers: Server[] = [];
  const pools: HttpPools[] = [];
  afterAll(async () => {
    for (const p of pools) await p.close();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });
  async function upstream(body: string): Promise<{ url: string; hits: () => number }> {
    let hits = 0;
    const s = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    servers.push(s);
    return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits: () => hits };
  }
  function list(spec: string): ProxyList {
    const d = DEFAULT_DEADLINES.metadata;
    const deadlines = { metadata: d, zip: d, sumdb: d };
    const p = new HttpPools(deadlines);
    pools.push(p);
    const settings = {
      deadlines,
      retry: { attempts: 1, baseDelay: 5, maxDelay: 5 },
      breaker: { failures: 100, halfOpenAfter: 60_000 },
    };
    return new ProxyList(parseUpstreamList(spec), new EndpointRegistry(p, settings));
  }

  it("after '|' the next upstream is asked; after ',' the walk stops with a bad body", async () => {
    const wrong = await upstream('{"Version":"v1.0.1","Time":"2020-01-01T00:00:00Z"}');
    const right = await upstream('{"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"}');
    const f = await fetchSmall(list(`${wrong.url}|${right.url}`), req);
    expect(f.meta.upstream).toBe(right.url);
    expect(JSON.parse(f.value.toString())).toMatchObject({ Version: 'v1.0.0' });
    const err = await fetchSmall(list(`${wrong.url},${right.url}`), req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ upstream: wrong.url, failure: 'body', transient: false });
    expect((err as UpstreamError).detail).toBe(
      'invalid .info answer: info for version v1.0.1 instead of requested version v1.0.0',
    );
    expect(right.hits()).toBe(1);
  });
});
