// A Redis that stalls (CLIENT PAUSE: a long fork for a snapshot, a slow
// command, a saturated host) keeps its connections open while every
// command misses its deadline. RedisCoord must treat that as an outage, as
// it treats a lost connection: say so (log, status, onState), coordinate
// locally meanwhile, never take a compare-and-set it got no answer to for a
// success, and rejoin once Redis answers again.
import { afterAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { RedisCoord } from '../../src/coord/index.js';
import { findComponent } from '../support/components.js';
import { waitFor } from '../support/ports.js';
import { startRedis, type RunningRedis } from '../support/redis.js';

const redisBinary = findComponent('redis-server');
let redis: RunningRedis | null = null;
const closers: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const c of closers) await c();
  await redis?.stop();
});

it.skipIf(redisBinary === null)(
  'a stalled Redis is an outage: reported, coordinated locally, rejoined',
  async () => {
    redis = await startRedis(redisBinary as string);
    const lines: Array<Record<string, unknown>> = [];
    const log = pino(
      { level: 'info' },
      { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    const states: boolean[] = [];
    const a = await RedisCoord.connect({
      url: redis.url,
      namespace: 'stall',
      log,
      commandTimeout: 200,
      onState: (up) => states.push(up),
    });
    closers.push(() => a.close());
    expect(await a.compareAndSetHead('db', null, Buffer.from('h1'))).toBe(true);
    // Up now. On a loaded machine a command of the start may have missed its 200 ms already (a blip before this
    // point): the story below is told from here.
    expect(states.at(-1)).toBe(true);
    const from = states.length - 1;
    const said = lines.length;

    const admin = new Redis(redis.url);
    closers.push(async () => admin.disconnect());
    // Long enough for several command deadlines and probes to pass.
    await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');

    // Redis would refuse this one (it holds h1); its answer comes too late: unknown, not a success.
    expect(await a.compareAndSetHead('db', Buffer.from('stale'), Buffer.from('h3'))).toBe(false);
    expect(a.status().redis).toMatchObject({ state: 'down', error: 'Command timed out' });
    expect(states.slice(from)).toEqual([true, false]);
    // Meanwhile it coordinates locally.
    const lease = await a.leases.acquire('mod/x.zip', new AbortController().signal);
    expect(lease.lead).toBe(true);
    if (lease.lead) lease.release({ kind: 'stored' });
    expect(lines.slice(said).filter((l) => String(l.msg).startsWith('Redis is unreachable'))).toHaveLength(1);

    await waitFor(async () => a.status().redis?.state === 'up', 10_000, 'the coordinator did not rejoin');
    expect(states.slice(from)).toEqual([true, false, true]);
    expect((await a.head('db'))?.toString()).toBe('h1');
  },
  20_000,
);
