// The status of a checksum database (/readyz, /api/sumdb) on a process that
// shares its storage with another (--workers N; nodes on one bucket): the
// head another process verified and stored is shown here too once status
// syncs (SumdbMirror.syncShared), though this process looked nothing up;
// looked for at most every few seconds on the injected clock, re-checked
// against the key, and never a smaller tree than the one held.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalCoord } from '../../src/coord/index.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { FakeClock } from '../support/clock.js';
import { FakeSumDb, faults } from '../world/index.js';
import { fakeModules, rig, type Rig } from './mirror-harness.js';

describe('SumdbMirror status beside another process on the same storage', () => {
  let db: FakeSumDb;
  let r: Rig | undefined;
  beforeAll(async () => {
    db = await FakeSumDb.start({ records: fakeModules(5) });
  });
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });
  afterAll(async () => {
    await db.close();
  });

  it('shows the head another worker verified, though this one looked nothing up', async () => {
    // Ahead of the storage's own clock (a MemoryStorage dates writes by the system's), as a later reader is.
    const clock = new ManualClock(Date.now() + 60_000);
    const storage = new MemoryStorage();
    r = await rig([db.url], { storage, mirror: { clock, indexDataTiles: false } });
    // Two workers: one storage, one coordination (the primary's), a mirror each.
    const coord = new LocalCoord();
    const looking = r.mirror;
    const idle = await r.reopen();
    looking.tree.shared = coord;
    idle.tree.shared = coord;

    await looking.serve('lookup/example.com/m1@v1.0.0');
    await looking.idle();
    expect(looking.status()).toMatchObject({ treeSize: 5, status: 'ok' });
    await idle.syncShared();
    expect(idle.status()).toMatchObject({ treeSize: 5, status: 'ok' });
    // Dated when it was stored (checked then), not when this worker read it.
    const storedAt = (await storage.stat(looking.store.latestKey()))?.mtimeMs;
    clock.advance(1_000);
    expect(idle.tree.head?.checkedAt).toBe(storedAt);

    // The tree grows and the other worker verifies it; this one looks again only after a few seconds.
    const older = await storage.get(looking.store.latestKey());
    await db.addAll(fakeModules(3, 5));
    await looking.serve('lookup/example.com/m6@v1.0.0');
    await looking.idle();
    expect(looking.status().treeSize).toBe(8);
    await idle.syncShared();
    expect(idle.status().treeSize).toBe(5);
    clock.advance(5_000);
    await idle.syncShared();
    expect(idle.status()).toMatchObject({ treeSize: 8, status: 'ok' });

    // A smaller stored head (a slow writer's) never moves the shown tree back; nor one another key signed.
    await storage.put(looking.store.latestKey(), older ?? Buffer.alloc(0));
    clock.advance(5_000);
    await idle.syncShared();
    expect(idle.status().treeSize).toBe(8);
    const other = await FakeSumDb.start({ key: 'generate', records: fakeModules(9) });
    const foreign = await other.signedTree();
    await other.close();
    await storage.put(looking.store.latestKey(), foreign);
    clock.advance(5_000);
    await idle.syncShared();
    expect(idle.status().treeSize).toBe(8);
  });
  it('status does not wait behind a merge that is fetching tiles from a database that hangs', async () => {
    const slow = await FakeSumDb.start({ records: fakeModules(5) });
    const clock = new ManualClock(Date.now() + 60_000);
    // The stale grace on a clock the test moves; the deadlines beyond the test's own time-out, so a status that
    // waited behind the merge would time the test out.
    const waits = new FakeClock();
    const settings = { 'sumdb-first-byte-timeout': '2m', 'sumdb-idle-timeout': '2m', 'sumdb-total-timeout': '2m' };
    try {
      r = await rig([slow.url], {
        mirror: { clock, waits, latestTtl: 0, staleGrace: 10, indexDataTiles: false },
        settings,
      });
      await r.mirror.serve('lookup/example.com/m1@v1.0.0');
      await slow.addAll(fakeModules(300, 5));
      slow.setFault(faults.hang(), '/tile/');
      // A refresh finds a larger head and merges it: its consistency proof waits on the hung tiles, and the
      // stale head is served once the grace is over.
      const latest = r.mirror.serve('latest');
      await waits.until(() => waits.pending > 0, 'the stale grace');
      await waits.advance(10);
      expect((await latest).cache).toBe('stale');
      // The merge holds the tree's lock, waiting on a hung tile: then status is asked.
      await waits.until(() => slow.requests.some((q) => q.fault === 'hang'), 'the merge asking for a tile');
      clock.advance(5_000);
      await r.mirror.syncShared();
    } finally {
      slow.dropHung();
      slow.clearFaults();
      await slow.close();
    }
  });
});
