// A cluster's shared tree head losing its coordinator's copy (a Redis
// restarted without persistence): the scenario both the in-process test
// (test/sumdb/tree-state-shared.test.ts) and the real-Redis one
// (test/coord/tree-head-redis-restart.test.ts) run.
import { expect } from 'vitest';
import { LocalCoord } from '../../src/coord/index.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { SumdbError } from '../../src/sumdb/errors.js';
import type { SharedTreeHead } from '../../src/sumdb/tree-state.js';
import { FakeSumDb } from '../world/index.js';
import { fakeModules, rig, type Rig } from './mirror-harness.js';

/** Run after the test, last first. */
export type Cleanups = Array<() => Promise<void>>;

export async function startDb(cleanups: Cleanups, records: number): Promise<FakeSumDb> {
  const db = await FakeSumDb.start({ records: fakeModules(records) });
  cleanups.push(() => db.close());
  return db;
}

export async function node(
  cleanups: Cleanups,
  db: FakeSumDb,
  shared: SharedTreeHead,
  storage: MemoryStorage,
): Promise<Rig> {
  const r = await rig([db.url], { storage, mirror: { indexDataTiles: false } });
  r.mirror.tree.shared = shared;
  cleanups.push(async () => {
    await r.mirror.close();
    await r.close();
  });
  return r;
}

/** Where the nodes share their head, and how it loses everything it holds. */
export interface Coordinator {
  connect(): Promise<SharedTreeHead>;
  lose(): Promise<void>;
}

/** LocalCoords standing for one coordinator; lose() swaps in an empty one. */
export function localCoordinator(): Coordinator {
  let current = new LocalCoord();
  const shared: SharedTreeHead = {
    head: (db) => current.head(db),
    compareAndSetHead: (db, expected, next) => current.compareAndSetHead(db, expected, next),
    recordFork: (db, head, evidence) => current.recordFork(db, head, evidence),
    isRefused: (db, head) => current.isRefused(db, head),
    fork: (db) => current.fork(db),
  };
  return {
    connect: async () => shared,
    lose: async () => {
      current = new LocalCoord();
    },
  };
}

/** Two nodes, A and B, on one storage and coordinator, both at the head of a database of 20 records. */
export async function twoNodesAt20(
  cleanups: Cleanups,
  coordinator: Coordinator,
): Promise<{
  db: FakeSumDb;
  storage: MemoryStorage;
  a: Rig;
  b: Rig;
  aShared: SharedTreeHead;
  bShared: SharedTreeHead;
  /** The size of a signed tree head (0 for none). */
  sizeOf(note: Buffer | null): number;
}> {
  const db = await startDb(cleanups, 20);
  const storage = new MemoryStorage();
  const aShared = await coordinator.connect();
  const bShared = await coordinator.connect();
  const a = await node(cleanups, db, aShared, storage);
  const b = await node(cleanups, db, bShared, storage);
  const head20 = await db.signedTree();
  await a.mirror.tree.merge(head20, 'test');
  await b.mirror.tree.merge(head20, 'test');
  const sizeOf = (note: Buffer | null): number => (note ? a.mirror.tree.openHead(note, 'test').n : 0);
  return { db, storage, a, b, aShared, bShared, sizeOf };
}

/**
 * Node A verifies 30 while B holds 20; the coordinator loses its head; B is
 * handed 25 by a lagging mirror; the database then forks after record 27.
 */
export async function coordinatorLosesItsHead(cleanups: Cleanups, coordinator: Coordinator): Promise<void> {
  const { db, storage, a, b, bShared, sizeOf } = await twoNodesAt20(cleanups, coordinator);
  await db.addAll(fakeModules(5, 20));
  const head25 = await db.signedTree();
  await db.addAll(fakeModules(5, 25));
  await a.mirror.tree.merge(await db.signedTree(), 'test');
  await a.mirror.idle(); // head 30 in shared storage

  await coordinator.lose();
  // B still holds 20 and is handed the head of a mirror that lags behind (25).
  expect((await b.mirror.tree.merge(head25, 'test')).tree.n).toBe(30);
  await b.mirror.idle();
  expect(sizeOf(await bShared.head(a.mirror.name))).toBe(30);
  expect(sizeOf(await storage.get(a.mirror.store.latestKey()))).toBe(30);

  // The database forks after record 27: consistent with 25, not with the 30 the cluster verified.
  await db.fork({ keep: 27 });
  const c = await node(cleanups, db, await coordinator.connect(), storage);
  const refused = await c.mirror.tree.merge(await db.signedTree(), 'test').catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(SumdbError);
  expect((refused as SumdbError).kind).toBe('inconsistent');
}
