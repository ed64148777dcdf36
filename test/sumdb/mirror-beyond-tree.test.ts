// Tile requests the mirror cannot answer from what it holds: a tile beyond
// the verified tree refreshes the head at most once in a short interval (a
// client asking again and again for a tile no tree holds yet must not cost
// an upstream request each), one that no tree can ever hold is 404 at once,
// and a stored data tile damaged in storage is dropped and fetched again
// (offline: a clear 'unavailable'), never a 500.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { FakeSumDb } from '../world/index.js';
import { fakeModules, RecordingRemote, rig, type Rig } from './mirror-harness.js';

describe('SumdbMirror: tiles beyond the verified tree', () => {
  let db: FakeSumDb;
  let r: Rig | undefined;
  beforeAll(async () => {
    db = await FakeSumDb.start({ records: fakeModules(5) });
  });
  afterEach(async () => {
    await r?.mirror.close();
    await r?.close();
    r = undefined;
  });
  afterAll(async () => {
    await db.close();
  });

  it('refreshes the head for them at most once in a short interval, and never for a tile no tree can hold', async () => {
    const clock = new ManualClock();
    let remote!: RecordingRemote;
    r = await rig([db.url], { wrap: (x) => (remote = new RecordingRemote(x)), mirror: { clock } });
    await r.mirror.serve('latest');
    const latest = (): number => remote.count('/latest');
    expect(latest()).toBe(1);
    // Level 9 of height 8 starts at record 2^72: beyond any tree.
    await expect(r.mirror.serve('tile/8/9/000.p/1')).rejects.toMatchObject({ kind: 'not_found' });
    expect(latest()).toBe(1);
    for (let i = 0; i < 5; i++)
      await expect(r.mirror.serve('tile/8/0/001.p/1')).rejects.toMatchObject({ kind: 'not_found' });
    expect(latest()).toBe(2);
    clock.advance(2_000);
    await expect(r.mirror.serve('tile/8/data/001.p/1')).rejects.toMatchObject({ kind: 'not_found' });
    expect(latest()).toBe(3);
  });

  it('says how to heal a tile beyond the tree it holds (a client that has seen a larger tree), offline and not', async () => {
    const storage = new MemoryStorage();
    r = await rig([db.url], { storage });
    await r.mirror.serve('latest');
    await expect(r.mirror.serve('tile/8/0/000.p/7')).rejects.toThrow(
      /^not found: beyond the verified tree of .* \(size 5\), smaller than the one this client has seen; the database has not given godepot that tree yet: try again in a minute, or give the client a fresh \$GOPATH\/pkg\/sumdb$/,
    );
    // Air-gapped: the go command with a tree head carried over from the connected side asks for its tiles.
    const offline = await rig([db.url], { storage, mirror: { offline: true } });
    await expect(offline.mirror.serve('tile/8/0/000.p/7')).rejects.toThrow(
      /godepot is offline: import an export made since then \(godepot export, godepot import\), or give the client a fresh \$GOPATH\/pkg\/sumdb$/,
    );
    await offline.mirror.close();
    await offline.close();
  });

  it('drops a damaged stored data tile and serves it fetched and verified again; offline it is unavailable', async () => {
    const storage = new MemoryStorage();
    r = await rig([db.url], { storage, mirror: { indexDataTiles: false } });
    const good = (await r.mirror.serve('tile/8/data/000.p/5')).body;
    await r.mirror.idle();
    const key = r.mirror.store.partialKey({ h: 8, l: -1, n: 0, w: 5 });
    expect(await storage.get(key)).toEqual(good);
    const damage = () => storage.put(key, Buffer.from('not a data tile'));

    await damage();
    const again = await r.mirror.serve('tile/8/data/000.p/5');
    expect(again.body).toEqual(good);
    expect(again.cache).toBe('miss');
    expect(r.logs.some((l) => l.alert === 'stored_tile_damaged' && l.level === 50)).toBe(true);
    await r.mirror.idle();
    expect(await storage.get(key)).toEqual(good);

    await damage();
    const offline = await rig([db.url], { storage, mirror: { offline: true } });
    await expect(offline.mirror.serve('tile/8/data/000.p/5')).rejects.toMatchObject({ kind: 'unavailable' });
    await offline.mirror.close();
    await offline.close();
  });
});
