// The cluster's tree head through a real Redis that loses it (FLUSHALL: what
// a restart without persistence, as the README runs it, loses). Redis's
// compare-and-set then takes any head; the head in shared storage keeps the
// shared head from moving back or onto a fork (scenario: test/sumdb/shared-head-loss.ts).
import { afterEach, expect, it } from 'vitest';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { RedisCoord } from '../../src/coord/index.js';
import { findComponent } from '../support/components.js';
import { startRedis } from '../support/redis.js';
import { SumdbError } from '../../src/sumdb/errors.js';
import { fakeModules } from '../sumdb/mirror-harness.js';
import { coordinatorLosesItsHead, twoNodesAt20, type Cleanups, type Coordinator } from '../sumdb/shared-head-loss.js';

const redisBinary = findComponent('redis-server');
const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real redis-server without persistence; lose() is FLUSHALL (what its restart loses). */
async function redisCoordinator(): Promise<Coordinator> {
  const redis = await startRedis(redisBinary as string);
  cleanups.push(() => redis.stop());
  return {
    connect: async () => {
      const coord = await RedisCoord.connect({ url: redis.url, namespace: 'tree', log: pino({ level: 'silent' }) });
      cleanups.push(() => coord.close());
      return coord;
    },
    lose: async () => {
      const admin = new Redis(redis.url);
      await admin.flushall();
      admin.disconnect();
    },
  };
}

it.skipIf(redisBinary === null)(
  'the shared tree head never moves back or onto a fork across a Redis restart',
  async () => {
    await coordinatorLosesItsHead(cleanups, await redisCoordinator());
  },
  30_000,
);

// Node B publishes 25 over the 20 node A read, stores it, and Redis is flushed, all while A proves a fork of 25
// (26, which extends 20 only). A's compare-and-set from 20 then finds no head at all: it must not take that for
// "still 20", or the fork becomes the cluster's head and replaces B's verified 25 in storage.
it.skipIf(redisBinary === null)(
  'a compare-and-set from a head Redis lost meanwhile is no success: the stored head is proven first',
  async () => {
    const coordinator = await redisCoordinator();
    const { db, storage, a, b, aShared, bShared, sizeOf } = await twoNodesAt20(cleanups, coordinator);
    const name = a.mirror.name;

    // B proves 25 and is held at its compare-and-set.
    await db.addAll(fakeModules(5, 20));
    const head25 = await db.signedTree();
    let letB!: () => void;
    const bHeld = new Promise<void>((resolve) => (letB = resolve));
    let bAtCas!: () => void;
    const bReady = new Promise<void>((resolve) => (bAtCas = resolve));
    const bCas = bShared.compareAndSetHead.bind(bShared);
    bShared.compareAndSetHead = async (db_, expected, next) => {
      bAtCas();
      await bHeld;
      return bCas(db_, expected, next);
    };
    const bMerged = b.mirror.tree.merge(head25, 'test');
    await bReady;

    // The database forks after record 22; A reads the cluster's head (20) and proves the fork extends it.
    await db.fork({ keep: 22 });
    const forked = await db.signedTree();
    const aCas = aShared.compareAndSetHead.bind(aShared);
    aShared.compareAndSetHead = async (db_, expected, next) => {
      if (next.equals(forked)) {
        // Meanwhile B publishes and stores 25, and Redis loses everything.
        letB();
        expect((await bMerged).tree.n).toBe(25);
        await b.mirror.idle();
        await coordinator.lose();
      }
      return aCas(db_, expected, next);
    };
    await a.mirror.tree.merge(forked, 'test').catch(() => undefined);
    await a.mirror.idle();

    expect(a.mirror.tree.head?.note.equals(forked)).toBe(false);
    expect((await aShared.head(name))?.equals(forked) ?? false).toBe(false);
    expect(sizeOf(await storage.get(a.mirror.store.latestKey()))).toBe(25);
  },
  30_000,
);

// A fork node A refused is in Redis and in shared storage; Redis loses it before node B looked. B's /readyz must
// still say so (as a node started after the loss does, from storage), not that the database is fine.
it.skipIf(redisBinary === null)(
  'a fork recorded before Redis lost it is still shown by a running node that had not learned it',
  async () => {
    const coordinator = await redisCoordinator();
    const { db, a, b } = await twoNodesAt20(cleanups, coordinator);

    await db.fork({ keep: 15 });
    const refused = await a.mirror.tree.merge(await db.signedTree(), 'test').catch((e: unknown) => e);
    expect((refused as SumdbError).kind).toBe('inconsistent');
    await coordinator.lose();

    await b.mirror.syncShared();
    expect(b.mirror.status().status).toBe('inconsistent');
  },
  30_000,
);
