// The cluster's tree head through a real Redis that loses it (FLUSHALL: what
// a restart without persistence, as the README runs it, loses). Redis's
// compare-and-set then takes any head; the head in shared storage keeps the
// shared head from moving back or onto a fork (scenario: test/sumdb/shared-head-loss.ts).
import { afterEach, it } from 'vitest';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { RedisCoord } from '../../src/coord/index.js';
import { findComponent } from '../support/components.js';
import { startRedis } from '../support/redis.js';
import { coordinatorLosesItsHead, type Cleanups, type Coordinator } from '../sumdb/shared-head-loss.js';

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
