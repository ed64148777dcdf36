// The verified tree head shared by the nodes of a cluster, from the
// TreeState side: the head in shared storage is the durable one, so a
// coordinator that lost its head (its compare-and-set then takes any head)
// never lets the shared head move back or onto a fork; tiles of a head the
// cluster did not take are not kept; and a re-confirmed head is aged by the
// injected clock.
import { afterEach, describe, expect, it } from 'vitest';
import { LocalCoord } from '../../src/coord/index.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { rig, fakeModules } from './mirror-harness.js';
import { coordinatorLosesItsHead, localCoordinator, node, startDb, type Cleanups } from './shared-head-loss.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a shared tree head whose coordinator loses it', () => {
  it('never moves back or onto a fork: the head in shared storage is merged before publishing', async () => {
    await coordinatorLosesItsHead(cleanups, localCoordinator());
  });
});

describe('a shared tree head', () => {
  it('keeps no tile of a head the cluster did not take (compare-and-set lost every time)', async () => {
    const db = await startDb(cleanups, 20);
    const shared = new LocalCoord();
    const r = await node(cleanups, db, shared, new MemoryStorage());
    await r.mirror.tree.merge(await db.signedTree(), 'test');
    await db.addAll(fakeModules(240, 20));
    const big = await db.signedTree();
    const real = shared.compareAndSetHead.bind(shared);
    shared.compareAndSetHead = async (name, expected, next) => !next.equals(big) && real(name, expected, next);
    const err = await r.mirror.tree.merge(big, 'test').catch((e: unknown) => e);
    expect((err as Error).message).toContain('kept moving');
    await r.mirror.idle();
    expect(r.mirror.tree.head?.tree.n).toBe(20);
    expect(await r.mirror.store.readTile({ h: 8, l: 0, n: 0, w: 256 })).toBeNull();
    expect(await r.storage.list(r.mirror.store.prefix + 'tile/')).toEqual([]);
  });

  it('re-confirms an unchanged head at the injected clock', async () => {
    const db = await startDb(cleanups, 5);
    const clock = new ManualClock();
    const r = await rig([db.url], { mirror: { clock, indexDataTiles: false } });
    r.mirror.tree.shared = new LocalCoord();
    cleanups.push(() => r.close());
    const head = await db.signedTree();
    await r.mirror.tree.merge(head, 'test');
    clock.advance(60_000);
    expect((await r.mirror.tree.merge(head, 'test')).checkedAt).toBe(clock.now());
  });
});
