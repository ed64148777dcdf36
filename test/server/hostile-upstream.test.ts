// Issue 11: what a hostile upstream (and odd client input aimed at it) must
// not achieve. A lax front end that decodes and normalises paths stands in
// front of the module tree; no encoding of a traversal may reach its private
// files. Odd query versions are refused at the edge with a 4xx and a reason.
// A Retry-After of an hour never holds a request past its deadline. One slow
// module (or one oversized header) never takes the upstream away from others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import {
  buildModules,
  FakeGoProxy,
  FakeSumDb,
  faults,
  LaxFrontend,
  LAX_PREFIX,
  laxNormalise,
  type BuiltModule,
} from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';

/** A raw GET: the path is sent exactly as given. */
function get(url: string, path: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer for ${path.slice(0, 80)}`)));
    req.on('error', reject);
    req.end();
  });
}

const TARGET = '../../../../private/secret';

/** Every encoding of TARGET (as a query version) we could think of. */
function traversalShapes(): string[] {
  const enc = (s: string, times: number): string => {
    let out = s;
    for (let i = 0; i < times; i++) out = out.replace(/[./%\\;]/g, (c) => '%' + c.charCodeAt(0).toString(16));
    return out;
  };
  const shapes = new Set<string>();
  for (let times = 0; times <= 4; times++) shapes.add(enc(TARGET, times));
  // Mixed: only the slashes, only the dots, upper-case hex, backslashes, ';' parameters, overlong UTF-8.
  shapes.add(TARGET.replace(/\//g, '%252f'));
  shapes.add(TARGET.replace(/\./g, '%252e'));
  shapes.add(enc(TARGET, 2).toUpperCase());
  shapes.add(TARGET.replace(/\//g, '\\'));
  shapes.add(TARGET.replace(/\//g, '%255c'));
  shapes.add(TARGET.replace(/\//g, '%5c'));
  shapes.add('..;/..;/..;/..;/private/secret');
  shapes.add('..%253b%252f..%253b%252f..%253b%252f..%253b%252fprivate%252fsecret');
  shapes.add(TARGET.replace(/\./g, '%c0%ae').replace(/\//g, '%c0%af'));
  shapes.add(TARGET.replace(/\//g, '%u2215'));
  shapes.add('.%252e%252f.%252e%252f.%252e%252f.%252e%252fprivate%252fsecret');
  shapes.add('%252e%252e%252f%252e%252e%252f%252e%252e%252f%252e%252e%252fprivate%252fsecret');
  shapes.add('%2e%2e');
  shapes.add('%252e%252e');
  shapes.add('..');
  return [...shapes];
}

describe('a hostile upstream behind a lax front end', () => {
  let inner: FakeGoProxy;
  let lax: LaxFrontend;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let good: BuiltModule;

  beforeAll(async () => {
    const built = await buildModules([
      { path: 'example.com/good', version: 'v1.0.0', files: { 'go.mod': 'module example.com/good\n' } },
      { path: 'example.com/other', version: 'v1.0.0', files: { 'go.mod': 'module example.com/other\n' } },
      { path: 'example.com/slow', version: 'v1.0.0', files: { 'go.mod': 'module example.com/slow\n' } },
      { path: 'example.com/bighead', version: 'v1.0.0', files: { 'go.mod': 'module example.com/bighead\n' } },
      { path: 'example.com/busy', version: 'v1.0.0', files: { 'go.mod': 'module example.com/busy\n' } },
    ]);
    good = built[0] as BuiltModule;
    inner = await FakeGoProxy.start(built, { prefix: LAX_PREFIX });
    lax = await LaxFrontend.start(new URL(inner.url).origin);
    sumdb = await FakeSumDb.start({ records: built });
    godepot = await startGodepot({
      upstream: lax.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      'metadata-first-byte-timeout': '300ms',
      'metadata-total-timeout': '13s',
      'retry-base-delay': '10ms',
      'retry-max-delay': '20ms',
    });
  }, 60_000);

  afterAll(async () => {
    await godepot?.close();
    await lax?.close();
    await inner?.close();
    await sumdb?.close();
  });

  it('the lax front end really is lax, and serves the module tree through godepot', async () => {
    expect(laxNormalise(`${LAX_PREFIX}/example.com/good/@v/%252e%252e%252f%252e%252e%252fprivate`)).toBe(
      `${LAX_PREFIX}/example.com/private`,
    );
    const r = await get(godepot.url, '/example.com/good/@v/v1.0.0.info');
    expect(r.status).toBe(200);
    expect(r.body).toBe(good.info.toString());
  });

  it('no encoded traversal shape in a query version reaches outside the module tree', async () => {
    const shapes = traversalShapes();
    expect(shapes.length).toBeGreaterThan(15);
    for (const shape of shapes) {
      for (const path of [`/example.com/good/@v/${shape}.info`, `/example.com/good/@v/v1.0.0-${shape}.info`]) {
        const r = await get(godepot.url, path);
        expect(r.status, path).toBeGreaterThanOrEqual(400);
        expect(r.status, path).toBeLessThan(500);
        expect(r.body, path).not.toContain('v6.6.6');
      }
    }
    expect(lax.escapes).toEqual([]);
    expect(godepot.logs.filter((l) => l.level === 50)).toEqual([]);
  });

  it('odd query versions answer 400 with a reason, never 5xx, and log no error', async () => {
    for (const v of ['.hidden', 'x,y', '%20x', '%23x', 'x%20y', '-x', 'x+y', 'x..y', 'x~1.', '%7ex', 'x@y', 'x=y']) {
      const r = await get(godepot.url, `/example.com/good/@v/${v}.info`);
      expect(r.status, v).toBe(400);
      expect(r.body, v).toMatch(/^godepot: invalid (version query|version)/);
    }
    expect(godepot.logs.filter((l) => l.level === 50)).toEqual([]);
    // Plain query versions still go upstream (and get the upstream's 404 here).
    expect((await get(godepot.url, '/example.com/good/@v/main.info')).status).toBe(404);
    expect((await get(godepot.url, '/example.com/good/@v/!v1.info')).status).toBe(404);
    expect(inner.count('/example.com/good/@v/main.info')).toBe(1);
  });

  it('a Retry-After of an hour (seconds or HTTP-date) fails the request at once with the retry time', async () => {
    for (const value of ['3600', new Date(Date.now() + 3_600_000).toUTCString()]) {
      const remove = inner.setFault(faults.retryAfter(value), '/example.com/busy/');
      const r = await get(godepot.url, '/example.com/busy/@v/v1.0.0.info');
      remove();
      expect(r.status, r.body).toBe(502);
      expect(r.body, r.body).toMatch(
        /asks to be retried after 3[56]\d\ds \(at \d{4}-.*\), beyond this call's deadline/,
      );
    }
    expect(inner.count('/example.com/busy/')).toBe(2);
  });

  it('after one slow module times out, and one sends an oversized header, other modules are still served', async () => {
    inner.setFault(faults.hang(), '/example.com/slow/');
    inner.setFault(faults.hugeHeader(100_000), '/example.com/bighead/');
    for (let i = 0; i < 2; i++) {
      const slow = await get(godepot.url, '/example.com/slow/@v/v1.0.0.info');
      expect([502, 504]).toContain(slow.status);
      expect((await get(godepot.url, '/example.com/bighead/@v/v1.0.0.info')).status).toBe(502);
    }
    const r = await get(godepot.url, '/example.com/other/@v/v1.0.0.info');
    expect(r.status).toBe(200);
    expect(godepot.g.endpoints.get(lax.url).state).toBe('closed');
  });
});
