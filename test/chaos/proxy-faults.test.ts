// Chaos: every fault the upstream proxy can throw at godepot, the behaviour
// we expect, and that nothing bad was stored. Deadlines are shortened so the
// suite stays quick; the defaults are exercised in outage.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule } from '../world/index.js';
import { closeAll, startGodepot, type RunningGodepot, type RawSettings } from '../support/godepot.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { ManualClock, type Clock } from '../../src/util/clock.js';
import { FakeClock } from '../support/clock.js';
import { fetchAll as get, sha256hex as sha } from '../support/http.js';

const FAST: RawSettings = {
  'metadata-first-byte-timeout': '400ms',
  'metadata-idle-timeout': '400ms',
  'metadata-total-timeout': '1500ms',
  'zip-first-byte-timeout': '400ms',
  'zip-idle-timeout': '400ms',
  'zip-total-timeout': '2s',
  'retry-base-delay': '10ms',
  'retry-max-delay': '50ms',
  'breaker-failures': '1000',
};

describe('upstream proxy faults', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  const mods = new Map<string, BuiltModule>();
  const running: RunningGodepot[] = [];

  const start = async (
    extra: RawSettings = {},
    storage?: MemoryStorage,
    clocks?: { clock: Clock; graceClock: FakeClock },
  ): Promise<RunningGodepot> => {
    const g = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, ...FAST, ...extra },
      { ...(storage ? { storage } : {}), ...(clocks ? { compose: clocks } : {}) },
    );
    running.push(g);
    return g;
  };
  /** Everything godepot keeps for a module, wherever it keeps it. */
  const keptFor = async (g: RunningGodepot, path: string): Promise<string[]> =>
    [...(await g.g.storage.list('mod/')), ...(await g.g.storage.list('unverified/'))].filter((k) =>
      k.includes(`/${path}/`),
    );

  beforeAll(async () => {
    const fixtures = Array.from({ length: 14 }, (_, i) => ({
      path: `example.com/m${i}`,
      version: 'v1.0.0',
      files: { 'go.mod': `module example.com/m${i}\n`, 'm.go': `package m${i}\n`, 'data.txt': 'x'.repeat(20_000 + i) },
    }));
    for (const b of await buildModules(fixtures)) mods.set(b.path, b);
    upstream = await FakeGoProxy.start([...mods.values()]);
    sumdb = await FakeSumDb.start({ records: [...mods.values()] });
  }, 60_000);
  afterEach(async () => {
    upstream.clearFaults();
    sumdb.clearFaults();
    upstream.resetLog();
    await closeAll(running);
  });
  afterAll(async () => {
    await upstream.close();
    await sumdb.close();
  });

  it('hang: fails with 504 naming the upstream and the time-out; nothing stored', async () => {
    const g = await start();
    upstream.setFault(faults.hang());
    const r = await get(`${g.url}/example.com/m0/@v/v1.0.0.info`);
    expect(r.status).toBe(504);
    expect(r.text).toContain(upstream.url);
    expect(r.text).toMatch(/time-out/);
    expect(await keptFor(g, 'example.com/m0')).toEqual([]);
  });

  it('reset: fails with 502 "connection reset" after retrying; nothing stored', async () => {
    const g = await start();
    upstream.setFault(faults.reset());
    const r = await get(`${g.url}/example.com/m1/@v/v1.0.0.mod`);
    expect(r.status).toBe(502);
    expect(r.text).toMatch(/connection (failed|reset)/);
    expect(upstream.count('/example.com/m1/')).toBe(3);
    expect(await keptFor(g, 'example.com/m1')).toEqual([]);
  });

  it('5xx: retried, then 502 with the upstream status; a later success is served and stored', async () => {
    const g = await start();
    upstream.setFault(faults.status(503, 'overloaded'), '/example.com/m2/', { times: 2 });
    const r = await get(`${g.url}/example.com/m2/@v/v1.0.0.zip`);
    expect(r.status, r.text).toBe(200);
    expect(upstream.count('/example.com/m2/@v/v1.0.0.zip')).toBe(3);
    upstream.setFault(faults.status(500, 'broken'), '/example.com/m3/');
    const bad = await get(`${g.url}/example.com/m3/@v/v1.0.0.zip`);
    expect(bad.status).toBe(502);
    expect(bad.text).toMatch(/500: broken/);
    expect(await keptFor(g, 'example.com/m3')).toEqual([]);
  });

  it('a 4xx other than 404/410 is not retried and is passed on as the upstream said it, not as 404 or 502', async () => {
    const g = await start();
    upstream.setFault(faults.status(403, 'forbidden by policy'), '/example.com/m4/');
    const r = await get(`${g.url}/example.com/m4/@v/v1.0.0.info`);
    expect(r.status).toBe(403);
    expect(r.text).toContain('answered 403: forbidden by policy');
    expect(upstream.count('/example.com/m4/')).toBe(1);
  });

  it('slow drip within the deadlines is served whole; slower than the total deadline fails with 504 and stores nothing', async () => {
    const g = await start({ 'zip-idle-timeout': '2s', 'zip-total-timeout': '20s' });
    const m5 = mods.get('example.com/m5') as BuiltModule;
    upstream.setFault(faults.slow(m5.zip.length * 4), '/example.com/m5/');
    const ok = await get(`${g.url}/example.com/m5/@v/v1.0.0.zip`);
    expect(ok.status).toBe(200);
    expect(sha(ok.body)).toBe(sha(m5.zip));
    const g2 = await start({ 'zip-idle-timeout': '2s', 'zip-total-timeout': '1s' });
    upstream.setFault(faults.slow(100), '/example.com/m6/');
    const r = await get(`${g2.url}/example.com/m6/@v/v1.0.0.zip`);
    expect(r.status).toBe(504);
    expect(await keptFor(g2, 'example.com/m6')).toEqual([]);
    expect(await g2.g.storage.list('mod/')).toEqual([]);
  });

  it('truncated body: 502 "bad response body", nothing stored, staging left clean', async () => {
    const g = await start();
    upstream.setFault(faults.truncate(), '/example.com/m7/');
    const r = await get(`${g.url}/example.com/m7/@v/v1.0.0.zip`);
    expect(r.status).toBe(502);
    expect(r.text).toMatch(/bad response body/);
    expect(await keptFor(g, 'example.com/m7')).toEqual([]);
  });

  it('garbage instead of a zip or JSON: 502, nothing stored', async () => {
    const g = await start();
    upstream.setFault(faults.garbage(), '/example.com/m8/');
    expect((await get(`${g.url}/example.com/m8/@v/v1.0.0.zip`)).status).toBe(502);
    expect((await get(`${g.url}/example.com/m8/@v/v1.0.0.info`)).status).toBe(502);
    expect((await get(`${g.url}/example.com/m8/@latest`)).status).toBe(502);
    expect(await keptFor(g, 'example.com/m8')).toEqual([]);
  });

  it('altered bytes: 502 checksum mismatch, alert metric, nothing stored; the true bytes once healed', async () => {
    const g = await start();
    upstream.setFault(faults.alter(), '/example.com/m9/');
    const zip = await get(`${g.url}/example.com/m9/@v/v1.0.0.zip`);
    const mod = await get(`${g.url}/example.com/m9/@v/v1.0.0.mod`);
    expect(zip.status).toBe(502);
    expect(mod.status).toBe(502);
    expect(zip.text).toMatch(/checksum mismatch for example\.com\/m9@v1\.0\.0/);
    expect(mod.text).toMatch(/checksum mismatch for example\.com\/m9@v1\.0\.0\/go\.mod/);
    expect(await keptFor(g, 'example.com/m9')).toEqual([]);
    const alerts = g.logs.filter((l) => l.alert === 'checksum_mismatch');
    expect(alerts.length).toBe(2);
    upstream.clearFaults();
    const healed = await get(`${g.url}/example.com/m9/@v/v1.0.0.zip`);
    expect(healed.status).toBe(200);
    expect(sha(healed.body)).toBe(sha((mods.get('example.com/m9') as BuiltModule).zip));
  });

  it('disk full: a clear 503, cached artifacts still served, /readyz not ready, nothing half-written', async () => {
    const storage = new MemoryStorage();
    const g = await start({}, storage);
    const cached = await get(`${g.url}/example.com/m10/@v/v1.0.0.zip`);
    expect(cached.status).toBe(200);
    storage.writeError = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const r = await get(`${g.url}/example.com/m11/@v/v1.0.0.zip`);
    expect(r.status).toBe(503);
    expect(r.text).toMatch(/data folder is full/);
    // Someone must act: said at error level, not as one more degraded request.
    const said = g.logs.filter((l) => l.msg === 'request failed' && l.code === 'storage_failed');
    expect(said.map((l) => l.level)).toEqual([50]);
    const again = await get(`${g.url}/example.com/m10/@v/v1.0.0.zip`);
    expect(again.status).toBe(200);
    expect(sha(again.body)).toBe(sha(cached.body));
    const ready = await fetch(`${g.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { storage: { writable: boolean } }).storage.writable).toBe(false);
    expect(await keptFor(g, 'example.com/m11')).toEqual([]);
    storage.writeError = null;
    expect((await get(`${g.url}/example.com/m11/@v/v1.0.0.zip`)).status).toBe(200);
  });

  it('a data folder turned read-only: a clear 503 for each miss (read-ahead included), never a crash', async () => {
    const readOnly = Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' });
    // Staging fails before the upstream body is read: the unread body must be let go without an unheard 'error'
    // (vitest fails the run on an unhandled error, as the process would have died on it).
    const storage = new (class extends MemoryStorage {
      override async stage(): ReturnType<MemoryStorage['stage']> {
        if (this.writeError) throw this.writeError;
        return super.stage();
      }
    })();
    const g = await start({}, storage);
    storage.writeError = readOnly;
    for (const path of [
      '/example.com/m12/@v/v1.0.0.info',
      '/example.com/m12/@v/v1.0.0.zip',
      '/example.com/m13/@v/v1.0.0.mod',
    ]) {
      const r = await get(g.url + path);
      expect(r.status, r.text).toBe(503);
      expect(r.text).toMatch(/data folder is not writable \(read-only file system\); make it writable/);
    }
    await g.g.service.idle();
    expect(g.logs.some((l) => l.msg === 'internal error')).toBe(false);
    storage.writeError = null;
    expect((await get(`${g.url}/example.com/m12/@v/v1.0.0.zip`)).status).toBe(200);
  });

  it('list and @latest are served stale when the upstream fails, refreshed after their TTL otherwise', async () => {
    // Deadlines beyond the test's own time-out: a stale answer can only come from the stale grace.
    // The lists age on a clock the test moves; the grace is waited on another it moves.
    const clock = new ManualClock(Date.now());
    const graceClock = new FakeClock();
    const LIST_TTL_MS = 60_000;
    const g = await start(
      {
        'list-ttl': `${LIST_TTL_MS}ms`,
        'stale-grace': '20s',
        'metadata-first-byte-timeout': '60s',
        'metadata-total-timeout': '60s',
      },
      undefined,
      { clock, graceClock },
    );
    const first = await get(`${g.url}/example.com/m0/@v/list`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-godepot-cache')).toBe('miss');
    expect((await get(`${g.url}/example.com/m0/@v/list`)).headers.get('x-godepot-cache')).toBe('hit');
    // Stored copies are dated by the clock their age is read on (the one godepot was given, not the storage's):
    // one TTL and 1 ms on, they are stale, however long the test took.
    clock.advance(LIST_TTL_MS + 1);
    upstream.setFault(faults.status(500));
    // An upstream that fails outright costs no grace.
    const stale = await get(`${g.url}/example.com/m0/@v/list`);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-godepot-cache')).toBe('stale');
    expect(stale.text).toBe(first.text);
    upstream.clearFaults();
    const fresh = await get(`${g.url}/example.com/m0/@v/list`);
    expect(fresh.headers.get('x-godepot-cache')).toBe('revalidated');
    // A hanging upstream costs a stale answer the stale grace, not a time-out.
    expect((await get(`${g.url}/example.com/m1/@latest`)).status).toBe(200);
    clock.advance(LIST_TTL_MS + 1);
    upstream.setFault(faults.hang());
    const waiting = graceClock.pending;
    const slow = get(`${g.url}/example.com/m1/@latest`);
    await graceClock.until(() => graceClock.pending > waiting, 'the stale grace');
    await graceClock.advance(20_000);
    const slowStale = await slow;
    expect(slowStale.status).toBe(200);
    expect(slowStale.headers.get('x-godepot-cache')).toBe('stale');
  });
});
