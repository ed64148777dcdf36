// The GOPROXY protocol as godepot serves it, against the fake upstream:
// caching, single flight, headers, status codes, verification failures.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule } from '../world/index.js';
import { startGodepot, removeDir, type RunningGodepot } from '../support/godepot.js';
import { rawZip } from '../support/modzip.js';
import { fetchAll as get, sha256hex as sha } from '../support/http.js';

describe('GOPROXY protocol through godepot', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let big: BuiltModule;
  const mods: Record<string, BuiltModule> = {};

  beforeAll(async () => {
    const files: Record<string, string | Buffer> = { 'go.mod': 'module example.com/big\n' };
    for (let i = 0; i < 8; i++)
      files[`blob${i}.bin`] = Buffer.from(createHash('sha512').update(String(i)).digest('hex').repeat(2000));
    const built = await buildModules([
      { path: 'example.com/big', version: 'v1.0.0', files },
      {
        path: 'example.com/a',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/a\n', 'a.go': 'package a\n' },
      },
      {
        path: 'example.com/a',
        version: 'v1.1.0',
        files: { 'go.mod': 'module example.com/a\n', 'a.go': 'package a // 1.1\n' },
      },
      {
        path: 'example.com/altered',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/altered\n', 'x.go': 'package x\n' },
      },
      {
        path: 'example.com/badzip',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/badzip\n', 'x.go': 'package x\n' },
      },
    ]);
    for (const b of built) mods[`${b.path}@${b.version}`] = b;
    big = mods['example.com/big@v1.0.0'] as BuiltModule;
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    godepot = await startGodepot({
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      'list-ttl': '1h',
      'breaker-failures': '1000',
    });
  }, 60_000);
  afterAll(async () => {
    await godepot.close();
    await upstream.close();
    await sumdb.close();
    await removeDir(godepot.data);
  });
  beforeEach(() => {
    upstream.clearFaults();
    sumdb.clearFaults();
    upstream.resetLog();
  });

  it('100 simultaneous requests for one uncached zip make exactly one upstream fetch, all byte-identical', async () => {
    const url = `${godepot.url}/example.com/big/@v/v1.0.0.zip`;
    // The upstream holds the zip until all 100 requests are in godepot: none can arrive after the fetch.
    upstream.setFault(faults.hold(), '.zip');
    const pending = Promise.all(Array.from({ length: 100 }, () => get(url)));
    const limit = performance.now() + 10_000;
    while ((godepot.g.app.inFlight < 100 || upstream.heldCount < 1) && performance.now() < limit)
      await new Promise((r) => setTimeout(r, 5));
    expect(godepot.g.app.inFlight).toBe(100);
    expect(upstream.releaseHeld()).toBe(1);
    const results = await pending;
    expect(upstream.count('/example.com/big/@v/v1.0.0.zip')).toBe(1);
    const want = sha(big.zip);
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(sha(r.body)).toBe(want);
    }
  });

  it('serves immutable artifacts with validators, ranges and HEAD', async () => {
    const url = `${godepot.url}/example.com/big/@v/v1.0.0.zip`;
    const full = await get(url);
    expect(full.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(full.headers.get('content-type')).toBe('application/zip');
    expect(full.headers.get('x-godepot-verification')).toBe('verified');
    const etag = full.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect((await get(url, { headers: { 'if-none-match': etag ?? '' } })).status).toBe(304);
    const part = await get(url, { headers: { range: 'bytes=100-199', 'if-range': etag ?? '' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${big.zip.length}`);
    expect(part.body).toEqual(big.zip.subarray(100, 200));
    // A range past the end is this request's error, not the artifact: no cache may keep it for the zip's URL.
    for (const range of [`bytes=${big.zip.length}-`, 'bytes=-0']) {
      const none = await get(url, { headers: { range } });
      expect(none.status).toBe(416);
      expect(none.headers.get('cache-control')).toBe('no-store');
      expect(none.headers.get('content-range')).toBe(`bytes */${big.zip.length}`);
    }
    const stale = await get(url, { headers: { range: 'bytes=100-199', 'if-range': '"other"' } });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(big.zip.length);
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(big.zip.length));
    expect(upstream.count('.zip')).toBe(0);
  });

  it('answers If-Match (RFC 9110 §13.1.1): 412 unless the tag is the strong ETag or *, checked before Range', async () => {
    const url = `${godepot.url}/example.com/big/@v/v1.0.0.zip`;
    const etag = (await get(url)).headers.get('etag') ?? '';
    // A download resumed from another copy's bytes must not get this one's range spliced onto them.
    for (const ifMatch of ['"other"', `W/${etag}`]) {
      const refused = await get(url, { headers: { range: 'bytes=100-199', 'if-match': ifMatch } });
      expect(refused.status, ifMatch).toBe(412);
      expect(refused.headers.get('cache-control')).toBe('no-store');
      expect(refused.body.length).toBe(0);
    }
    for (const ifMatch of [etag, `"other", ${etag}`, '*']) {
      const part = await get(url, { headers: { range: 'bytes=100-199', 'if-match': ifMatch } });
      expect(part.status, ifMatch).toBe(206);
      expect(part.body).toEqual(big.zip.subarray(100, 200));
    }
  });

  it('passes through .info, .mod, list and @latest, and caches list for its TTL', async () => {
    const info = await get(`${godepot.url}/example.com/a/@v/v1.0.0.info`);
    expect(info.status).toBe(200);
    expect(JSON.parse(info.body.toString()).Version).toBe('v1.0.0');
    const mod = await get(`${godepot.url}/example.com/a/@v/v1.0.0.mod`);
    expect(mod.body.toString()).toBe('module example.com/a\n');
    const list = await get(`${godepot.url}/example.com/a/@v/list`);
    expect(list.body.toString().trim().split('\n').sort()).toEqual(['v1.0.0', 'v1.1.0']);
    expect(list.headers.get('cache-control')).not.toContain('immutable');
    const latest = await get(`${godepot.url}/example.com/a/@latest`);
    expect(JSON.parse(latest.body.toString()).Version).toBe('v1.1.0');
    await get(`${godepot.url}/example.com/a/@v/list`);
    expect(upstream.count('/example.com/a/@v/list')).toBe(1);
  });

  it('passes 404 through (so the go command can fall through) and remembers it briefly', async () => {
    const r = await get(`${godepot.url}/example.com/missing/@v/v1.0.0.info`);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toContain('text/plain');
    await get(`${godepot.url}/example.com/missing/@v/v1.0.0.info`);
    expect(upstream.count('/example.com/missing/')).toBe(1);
  });

  it('refuses an altered zip with 502 naming module, version and both hashes, and stores nothing', async () => {
    upstream.setFault(faults.alter(), '/example.com/altered/');
    const r = await get(`${godepot.url}/example.com/altered/@v/v1.0.0.zip`);
    expect(r.status).toBe(502);
    const text = r.body.toString();
    expect(text).toContain('example.com/altered@v1.0.0');
    expect(text).toContain(mods['example.com/altered@v1.0.0']?.h1 ?? 'missing');
    expect(text).toMatch(/served h1:/);
    const metrics = await (await fetch(`${godepot.url}/metrics`)).text();
    expect(metrics).toMatch(/godepot_checksum_mismatch_total\{kind="zip"\} [1-9]/);
    expect(await godepot.g.storage.stat('mod/example.com/altered/@v/v1.0.0.zip')).toBeNull();
    expect(await godepot.g.storage.stat('unverified/example.com/altered/@v/v1.0.0.zip')).toBeNull();
    // Once the upstream heals, the true bytes are served.
    upstream.clearFaults();
    const ok = await get(`${godepot.url}/example.com/altered/@v/v1.0.0.zip`);
    expect(ok.status).toBe(200);
    expect(sha(ok.body)).toBe(sha(mods['example.com/altered@v1.0.0']?.zip ?? Buffer.alloc(0)));
  });

  it('refuses a malformed upstream zip with 502 and does not store it', async () => {
    const good = mods['example.com/badzip@v1.0.0'] as BuiltModule;
    // A well-formed zip that breaks the module zip rules (an entry escaping the module root).
    const bad = await rawZip([
      { name: 'example.com/badzip@v1.0.0/go.mod', data: 'module example.com/badzip\n' },
      { name: 'example.com/badzip@v1.0.0/../evil.go', data: 'package evil\n' },
    ]);
    await upstream.add({ ...good, zip: bad });
    const rules = await get(`${godepot.url}/example.com/badzip/@v/v1.0.0.zip`);
    expect(rules.status).toBe(502);
    expect(rules.body.toString()).toMatch(
      /malformed module zip for example\.com\/badzip@v1\.0\.0 from http:\/\/127\.0\.0\.1:\d+: /,
    );
    await upstream.add(good);
    upstream.setFault(faults.garbage(), '/example.com/badzip/@v/v1.0.0.zip');
    const r = await get(`${godepot.url}/example.com/badzip/@v/v1.0.0.zip`);
    expect(r.status).toBe(502);
    expect(r.body.toString()).toContain(`malformed module zip for example.com/badzip@v1.0.0 from ${upstream.url}: `);
    expect(await godepot.g.storage.stat('mod/example.com/badzip/@v/v1.0.0.zip')).toBeNull();
  });

  it('answers 502 with the upstream named when the upstream fails, 404 never', async () => {
    upstream.setFault(faults.status(503, 'maintenance'), '/example.com/a/@v/v1.1.0.mod');
    const r = await get(`${godepot.url}/example.com/a/@v/v1.1.0.mod`);
    expect(r.status).toBe(502);
    expect(r.body.toString()).toContain(upstream.url);
    expect(r.body.toString()).toMatch(/503/);
  });
});
