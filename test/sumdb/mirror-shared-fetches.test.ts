// Two processes sharing one storage (serve --workers N, or nodes through
// Redis) ask the checksum database once for a record or a data tile both
// need at the same moment: the holder of the lease asks, the other reads
// what it stored, or gives the holder's not-found or no-source-answered; a
// holder that gives up for its own reasons leaves the asking to the other.
// The leases are the workers' and the primary's real code without the IPC
// (test/support/leases.ts); the protocol is util/leases.ts fetchOnceAcross.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/index.js';
import type { SumdbMirror } from '../../src/sumdb/index.js';
import { processLeases } from '../support/leases.js';
import { FakeSumDb, faults } from '../world/index.js';
import { fakeModules, RecordingRemote, rig, type Rig } from './mirror-harness.js';

describe('a checksum database asked once by the processes sharing a store', () => {
  const mods = fakeModules(300);
  let db: FakeSumDb;
  const rigs: Rig[] = [];

  /** n mirrors of db on one storage, each with its side of one lease book; calls[i] records mirror i's requests. */
  async function group(n: number, calls: RecordingRemote['calls'][] = []): Promise<SumdbMirror[]> {
    const storage = new MemoryStorage();
    const leases = processLeases(n);
    const mirrors: SumdbMirror[] = [];
    for (let i = 0; i < n; i++) {
      const c = calls[i];
      const r = await rig([db.url], {
        storage,
        mirror: { leases: leases[i], indexDataTiles: false },
        ...(c ? { wrap: (remote) => new RecordingRemote(remote, c) } : {}),
      });
      rigs.push(r);
      mirrors.push(r.mirror);
    }
    return mirrors;
  }

  const pair = async (bCalls?: RecordingRemote['calls']): Promise<[SumdbMirror, SumdbMirror]> =>
    (await group(2, bCalls ? [[], bCalls] : [])) as [SumdbMirror, SumdbMirror];

  beforeAll(async () => {
    db = await FakeSumDb.start({ records: mods });
  });
  afterEach(async () => {
    db.clearFaults();
    db.resetLog();
    for (const r of rigs.splice(0)) await r.close();
  });
  afterAll(async () => {
    await db.close();
  });

  it('a waiter proves the stored record with the tiles the holder stored: the holder says "stored" once they landed', async () => {
    // A larger log, whose records lie in level-0 tiles not held yet; tiles land after the record (a store
    // slower for them): the waiter must not find the record before the tiles that prove it, or it fetches them again.
    const big = fakeModules(3000);
    const bigDb = await FakeSumDb.start({ records: big });
    try {
      const storage = new MemoryStorage();
      const put = storage.put.bind(storage);
      storage.put = async (key, data, opts) => {
        // Some turns of the event loop later than a record's write, not some time: the order is what counts.
        if (/\/(tile|partial)\//.test(key)) for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
        return put(key, data, opts);
      };
      const leases = processLeases(2);
      const calls: RecordingRemote['calls'][] = [[], []];
      const [a, b] = (await Promise.all(
        [0, 1].map(async (i) => {
          const r = await rig([bigDb.url], {
            storage,
            mirror: { leases: leases[i], indexDataTiles: false },
            wrap: (remote) => new RecordingRemote(remote, calls[i]),
          });
          rigs.push(r);
          return r.mirror;
        }),
      )) as [SumdbMirror, SumdbMirror];
      const at = (i: number) => {
        const m = big[i];
        if (!m) throw new Error('fixture');
        return m;
      };
      await a.lookup(at(1));
      await a.idle();
      await b.lookup(at(1));
      await b.idle();
      for (const c of calls) c.length = 0;
      bigDb.resetLog();
      bigDb.setFault(faults.delay(30), '/lookup/');
      for (const i of [1200, 1700, 2500, 2900]) {
        const [ra, rb] = await Promise.all([a.lookup(at(i)), b.lookup(at(i))]);
        expect(rb.record.id).toBe(ra.record.id);
      }
      expect(bigDb.count('/lookup/')).toBe(4);
      // No tile was asked for twice: a waiter proved with what the holder stored, not with tiles of its own.
      const tiles = calls
        .flat()
        .filter((x) => x.path.startsWith('/tile/'))
        .map((x) => x.path);
      expect(tiles.length).toBeGreaterThan(0);
      expect(tiles.filter((t, i) => tiles.indexOf(t) !== i)).toEqual([]);
    } finally {
      await bigDb.close();
    }
  });

  it('one lookup for a record both ask for at once; the other reads the stored record', async () => {
    const [a, b] = await pair();
    const ref = { path: mods[7]!.path, version: 'v1.0.0' };
    // Slow answers: b asks while a's lookup is under way.
    db.setFault(faults.delay(200), '/lookup/');
    const [ra, rb] = await Promise.all([a.lookup(ref), b.lookup(ref)]);
    expect(db.count('/lookup/')).toBe(1);
    expect(rb.record.text.equals(ra.record.text)).toBe(true);
    expect(rb.record.id).toBe(ra.record.id);
    expect([ra.cache, rb.cache].sort()).toEqual(['hit', 'miss']);
  });

  it("one lookup for a module the database does not have; both answer the database's not-found", async () => {
    const [a, b] = await pair();
    const ref = { path: 'example.com/nowhere', version: 'v1.0.0' };
    db.setFault(faults.delay(200), '/lookup/');
    const answers = await Promise.allSettled([a.lookup(ref), b.lookup(ref)]);
    expect(db.count('/lookup/')).toBe(1);
    for (const x of answers) {
      expect(x.status).toBe('rejected');
      expect(((x as PromiseRejectedResult).reason as { kind: string }).kind).toBe('not_found');
    }
  });

  it('a holder no source of the database answered: the waiter gives the same answer without asking again', async () => {
    const bCalls: RecordingRemote['calls'] = [];
    const [a, b] = await pair(bCalls);
    const ref = { path: mods[11]!.path, version: 'v1.0.0' };
    // Lookups hang: the holder gives up at its deadline (FAST: 1.5 s). b asks once a's lookup is at the database.
    db.setFault(faults.hang(), '/lookup/');
    const first = a.lookup(ref).catch((e: unknown) => e);
    while (db.count('/lookup/') === 0) await new Promise((r) => setImmediate(r));
    const [ea, eb] = await Promise.all([first, b.lookup(ref).catch((e: unknown) => e)]);
    for (const e of [ea, eb]) {
      expect((e as { kind: string }).kind).toBe('unavailable');
      expect((e as { timeout: boolean }).timeout).toBe(true);
    }
    expect((eb as Error).message).toBe((ea as Error).message);
    expect(bCalls.filter((c) => c.path.startsWith('/lookup/'))).toEqual([]);
  });

  it("a holder failed by its own storage hands over: the waiter's storage is fine and it asks itself", async () => {
    const shared = new MemoryStorage();
    let failTiles = false;
    // a's view of the shared store: its tile reads fail (a storage hiccup on a only).
    const aStorage = Object.create(shared) as MemoryStorage;
    aStorage.get = async (key: string) => {
      if (failTiles && key.includes('tile/')) throw new Error('EIO: local read failed');
      return shared.get(key);
    };
    const leases = processLeases(2);
    const bCalls: RecordingRemote['calls'] = [];
    const a = await rig([db.url], { storage: aStorage, mirror: { leases: leases[0], indexDataTiles: false } });
    const b = await rig([db.url], {
      storage: shared,
      mirror: { leases: leases[1], indexDataTiles: false },
      wrap: (remote) => new RecordingRemote(remote, bCalls),
    });
    rigs.push(a, b);
    const ref = { path: mods[150]!.path, version: 'v1.0.0' };
    failTiles = true;
    db.setFault(faults.delay(200), '/lookup/');
    const first = a.mirror.lookup(ref).catch((e: unknown) => e);
    while (db.count('/lookup/') === 0) await new Promise((r) => setImmediate(r));
    const [ea, rb] = await Promise.all([first, b.mirror.lookup(ref)]);
    expect((ea as Error).message).toContain('EIO');
    expect(rb.record.text.toString()).toContain(ref.path);
    expect(bCalls.filter((c) => c.path.startsWith('/lookup/')).length).toBe(1);
  });

  it('a holder whose client left hands over: the waiter asks the database itself', async () => {
    const [a, b] = await pair();
    const ref = { path: mods[9]!.path, version: 'v1.0.0' };
    db.setFault(faults.delay(300), '/lookup/');
    const leaving = new AbortController();
    const first = a.lookup(ref, leaving.signal);
    const second = b.lookup(ref);
    // a's request is at the database; its client leaves.
    while (db.count('/lookup/') === 0) await new Promise((r) => setImmediate(r));
    leaving.abort(new Error('client left'));
    await expect(first).rejects.toThrow();
    const rb = await second;
    expect(rb.cache).toBe('miss');
    expect(rb.record.text.toString()).toContain(ref.path);
    expect(db.count('/lookup/')).toBe(2);
  });

  it('a holder whose client left hands over to one waiter: of two waiting, one asks and the other reads', async () => {
    const [a, b, c] = (await group(3)) as [SumdbMirror, SumdbMirror, SumdbMirror];
    const ref = { path: mods[13]!.path, version: 'v1.0.0' };
    db.setFault(faults.delay(300), '/lookup/');
    const leaving = new AbortController();
    const first = a.lookup(ref, leaving.signal);
    while (db.count('/lookup/') === 0) await new Promise((r) => setImmediate(r));
    const waiting = [b.lookup(ref), c.lookup(ref)] as const;
    leaving.abort(new Error('client left'));
    await expect(first).rejects.toThrow();
    const [rb, rc] = await Promise.all(waiting);
    expect([rb.cache, rc.cache].sort()).toEqual(['hit', 'miss']);
    expect(rc.record.text.equals(rb.record.text)).toBe(true);
    expect(db.count('/lookup/')).toBe(2);
  });

  it('one fetch of a data tile both index at once', async () => {
    const [a, b] = await pair();
    // Each process has verified a head (a lookup), then both index the tile around record 3.
    await a.lookup({ path: mods[3]!.path, version: 'v1.0.0' });
    await b.lookup({ path: mods[4]!.path, version: 'v1.0.0' });
    db.resetLog();
    db.setFault(faults.delay(200), '/tile/8/data/');
    await Promise.all([a.indexAround(3), b.indexAround(3)]);
    expect(db.count('/tile/8/data/')).toBe(1);
    // Both hold it: a neighbour's lookup is answered from the tile, without a request.
    db.resetLog();
    for (const m of [a, b]) {
      const r = await m.lookup({ path: mods[200]!.path, version: 'v1.0.0' });
      expect(r.cache).toBe('hit');
    }
    expect(db.count('/lookup/')).toBe(0);
  });
});
