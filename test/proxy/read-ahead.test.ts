// Read-ahead (src/proxy/read-ahead.ts): a client's .mod miss starts the
// version's .info, a client's .info starts its .zip; each is an ordinary
// fetch (one flight, verified, stored) that starts no other, and is bounded.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ReadAhead } from '../../src/proxy/read-ahead.js';
import type { ImmutableRequest } from '../../src/proxy/immutable.js';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule } from '../world/index.js';
import { closeAll, startGodepot, type RawSettings, type RunningGodepot } from '../support/godepot.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { fetchAll as get } from '../support/http.js';
import { metric } from '../support/metrics.js';

const zipOf = (n: number): ImmutableRequest => ({ kind: 'zip', path: `example.com/m${n}`, version: 'v1.0.0' });

describe('ReadAhead: bounded, deduplicated, stopped by shutdown', () => {
  /** A fetch that finishes when the test says so. */
  const controlled = () => {
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    const fetch = (req: ImmutableRequest): Promise<void> =>
      new Promise<void>((resolve) => {
        started.push(req.path);
        finish.set(req.path, resolve);
      });
    return { started, finish, fetch };
  };
  const turns = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };

  it('runs at most `running` at once, queues at most `queued`, and drops the rest', async () => {
    const c = controlled();
    const ra = new ReadAhead(c.fetch, new AbortController().signal, { running: 2, queued: 3, remembered: 8 });
    const answers = Array.from({ length: 8 }, (_, n) => ra.request(`k${n}`, zipOf(n)));
    expect(answers).toEqual(['queued', 'queued', 'queued', 'queued', 'queued', 'full', 'full', 'full']);
    expect(ra.request('k0', zipOf(0))).toBe('known');
    expect(c.started).toEqual(['example.com/m0', 'example.com/m1']);
    expect(ra.size).toBe(5);
    c.finish.get('example.com/m0')?.();
    await turns();
    expect(c.started).toEqual(['example.com/m0', 'example.com/m1', 'example.com/m2']);
    for (const p of ['example.com/m1', 'example.com/m2', 'example.com/m3', 'example.com/m4']) {
      c.finish.get(p)?.();
      await turns();
    }
    await ra.idle();
    // k5…k7 did not fit the queue: dropped, never fetched.
    expect(c.started).toEqual([
      'example.com/m0',
      'example.com/m1',
      'example.com/m2',
      'example.com/m3',
      'example.com/m4',
    ]);
    expect(ra.size).toBe(0);
  });

  it('asks once for a key already queued or running', async () => {
    const c = controlled();
    const ra = new ReadAhead(c.fetch, new AbortController().signal, { running: 1, queued: 4, remembered: 8 });
    ra.request('a', zipOf(0));
    ra.request('a', zipOf(0));
    ra.request('b', zipOf(1));
    ra.request('b', zipOf(1));
    expect(ra.size).toBe(2);
    c.finish.get('example.com/m0')?.();
    await turns();
    c.finish.get('example.com/m1')?.();
    await ra.idle();
    expect(c.started).toEqual(['example.com/m0', 'example.com/m1']);
  });

  it('remembers the triggers it saw lately, forgetting the oldest beyond its bound', () => {
    const ra = new ReadAhead(() => Promise.resolve(), new AbortController().signal, {
      running: 1,
      queued: 1,
      remembered: 2,
    });
    expect(ra.first('a')).toBe(true);
    expect(ra.first('a')).toBe(false);
    expect(ra.first('b')).toBe(true);
    expect(ra.first('c')).toBe(true);
    // 'a' was the oldest of three: forgotten, so new again; 'c' is still remembered.
    expect(ra.first('a')).toBe(true);
    expect(ra.first('c')).toBe(false);
  });

  it('starts nothing after shutdown, and drops what was queued', async () => {
    const c = controlled();
    const stop = new AbortController();
    const ra = new ReadAhead(c.fetch, stop.signal, { running: 1, queued: 4, remembered: 8 });
    ra.request('a', zipOf(0));
    ra.request('b', zipOf(1));
    stop.abort();
    ra.request('c', zipOf(2));
    c.finish.get('example.com/m0')?.();
    await ra.idle();
    expect(c.started).toEqual(['example.com/m0']);
    expect(ra.size).toBe(0);
  });
});

describe('read-ahead through godepot', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  const mods: BuiltModule[] = [];
  const running: RunningGodepot[] = [];

  const start = async (extra: RawSettings = {}): Promise<RunningGodepot & { storage: MemoryStorage }> => {
    const storage = new MemoryStorage();
    const g = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, ...extra },
      { storage },
    );
    running.push(g);
    return Object.assign(g, { storage });
  };
  const path = (m: BuiltModule, ext: string): string => `/${m.path}/@v/${m.version}.${ext}`;
  const asked = (m: BuiltModule, ext: string): number => upstream.count(path(m, ext));

  beforeAll(async () => {
    mods.push(
      ...(await buildModules(
        Array.from({ length: 6 }, (_, i) => ({
          path: `example.com/ra${i}`,
          version: 'v1.0.0',
          files: { 'go.mod': `module example.com/ra${i}\n`, 'ra.go': `package ra${i}\n` },
        })),
      )),
    );
    upstream = await FakeGoProxy.start(mods);
    sumdb = await FakeSumDb.start({ records: mods });
  }, 60_000);
  afterEach(async () => {
    upstream.clearFaults();
    upstream.resetLog();
    await closeAll(running);
  });
  afterAll(async () => {
    await upstream.close();
    await sumdb.close();
  });

  /** A client asks for `asks`; godepot reads `next` ahead: fetched once, stored, then answered as a hit. */
  const readsAhead = async (m: BuiltModule, asks: 'mod' | 'info', next: 'info' | 'zip') => {
    const g = await start();
    expect((await get(g.url + path(m, asks))).status).toBe(200);
    await g.g.service.idle();
    expect(asked(m, next)).toBe(1);
    expect(await g.storage.get(`mod${path(m, next)}`)).toEqual(m[next]);
    const answer = await get(g.url + path(m, next));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-godepot-cache')).toBe('hit');
    expect(answer.body).toEqual(m[next]);
    expect(asked(m, next)).toBe(1);
    return { g, answer };
  };

  it("a .mod miss fetches the version's .info, which the client then gets as a hit, fetched once", async () => {
    const m = mods[0] as BuiltModule;
    await readsAhead(m, 'mod', 'info');
    // The .info read ahead started nothing itself: no zip until a client asks for the .info.
    expect(asked(m, 'zip')).toBe(0);
  });

  it("a client's .info fetches the version's .zip, verified and stored, then served as a hit", async () => {
    const { g, answer } = await readsAhead(mods[1] as BuiltModule, 'info', 'zip');
    expect(answer.headers.get('x-godepot-verification')).toBe('verified');
    // The operator sees the extra upstream fetch.
    expect(await metric(g.url, 'godepot_read_ahead_total', { kind: 'zip', outcome: 'fetched' })).toBe(1);
    expect(await metric(g.url, 'godepot_read_ahead_total', { kind: 'zip', outcome: 'failed' })).toBe(0);
  });

  it('a zip read ahead while the checksum database is down is re-verified at the next pass, though no client asked for it', async () => {
    const g = await start();
    const m = mods[3] as BuiltModule;
    // A first pass finds nothing to re-verify: the loop is idle (it lists the area again only after a while).
    await g.g.reverify.runOnce();
    const undo = sumdb.setFault(faults.status(503), '/lookup/');
    try {
      expect((await get(g.url + path(m, 'info'))).status).toBe(200);
      await g.g.service.idle();
      expect(await g.storage.get(`unverified${path(m, 'zip')}`)).toEqual(m.zip);
    } finally {
      undo();
    }
    expect((await g.g.reverify.runOnce()).verified).toBe(1);
    expect(await g.storage.get(`mod${path(m, 'zip')}`)).toEqual(m.zip);
  });

  it('a quarantined copy served again does not list the area again: only a copy stored there does', async () => {
    const g = await start();
    const m = mods[4] as BuiltModule;
    let listings = 0;
    const list = g.storage.list.bind(g.storage);
    g.storage.list = async (prefix) => {
      if (prefix === 'unverified/') listings++;
      return list(prefix);
    };
    const undo = sumdb.setFault(faults.status(503), '/lookup/');
    try {
      expect((await get(g.url + path(m, 'mod'))).headers.get('x-godepot-verification')).toBe('unverified');
      await g.g.service.idle();
      expect(await g.g.reverify.pending()).toHaveLength(1);
      for (let i = 0; i < 3; i++) {
        const again = await get(g.url + path(m, 'mod'));
        expect([again.headers.get('x-godepot-cache'), again.headers.get('x-godepot-verification')]).toEqual([
          'hit',
          'unverified',
        ]);
      }
      expect(await g.g.reverify.pending()).toHaveLength(1);
      expect(listings).toBe(1);
    } finally {
      undo();
    }
  });

  it('an .info answered from memory starts the .zip too', async () => {
    const g = await start();
    const m = mods[2] as BuiltModule;
    // The .mod miss reads the .info ahead (into memory); the client's .info is then a memory hit.
    await get(g.url + path(m, 'mod'));
    await g.g.service.idle();
    expect(asked(m, 'zip')).toBe(0);
    expect((await get(g.url + path(m, 'info'))).headers.get('x-godepot-cache')).toBe('hit');
    await g.g.service.idle();
    expect(asked(m, 'zip')).toBe(1);
  });

  it('a tampered zip read ahead is refused and not stored; the client then gets the refusal, not the bytes', async () => {
    const g = await start();
    const m = mods[3] as BuiltModule;
    upstream.setFault(faults.alter(), path(m, 'zip'));
    expect((await get(g.url + path(m, 'info'))).status).toBe(200);
    await g.g.service.idle();
    expect(asked(m, 'zip')).toBe(1);
    expect(await g.storage.stat(`mod${path(m, 'zip')}`)).toBeNull();
    expect(await g.storage.stat(`unverified${path(m, 'zip')}`)).toBeNull();
    expect(g.logs.some((l) => l.alert === 'checksum_mismatch')).toBe(true);
    const zip = await get(g.url + path(m, 'zip'));
    expect(zip.status).toBe(502);
    expect(zip.headers.get('x-godepot-error')).toBe('checksum_mismatch');
    expect(await metric(g.url, 'godepot_read_ahead_total', { kind: 'zip', outcome: 'failed' })).toBe(1);
  });

  it('nothing is read ahead after a failed request, nor with --read-ahead false', async () => {
    const on = await start();
    const missing = '/example.com/nosuch/@v/v1.0.0';
    expect((await get(on.url + missing + '.mod')).status).toBe(404);
    expect((await get(on.url + missing + '.info')).status).toBe(404);
    await on.g.service.idle();
    expect(upstream.count('/example.com/nosuch/')).toBe(2);

    const off = await start({ 'read-ahead': 'false' });
    const m = mods[4] as BuiltModule;
    await get(off.url + path(m, 'mod'));
    await get(off.url + path(m, 'info'));
    await off.g.service.idle();
    expect(asked(m, 'info')).toBe(1);
    expect(asked(m, 'zip')).toBe(0);
  });

  it("a version's siblings read from its one go run are read ahead once, not again by their own fetches", async () => {
    const g = await start();
    const m = mods[5] as BuiltModule;
    // What `direct`'s listener says as a client's .info reaches the origin, then as the .mod and .zip read ahead
    // reach it in turn (the client fetches its .info itself).
    for (const kind of ['info', 'mod', 'zip'] as const) g.g.service.fetchingWholeVersion(m.path, m.version, kind);
    await g.g.service.idle();
    expect([asked(m, 'info'), asked(m, 'mod'), asked(m, 'zip')]).toEqual([0, 1, 1]);
    expect(await metric(g.url, 'godepot_read_ahead_total', { kind: 'info', outcome: 'fetched' })).toBe(0);
  });
});
