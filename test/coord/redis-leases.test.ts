// Fetch leases in Redis when things go wrong between the nodes and Redis: a
// grant whose reply came too late, and a Redis that restarted without
// persistence (the README runs it so) and so hands out fencing tokens again.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { RedisCoord } from '../../src/coord/index.js';
import type { Lease } from '../../src/proxy/context.js';
import { findComponent } from '../support/components.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { waitFor } from '../support/ports.js';

const redisBinary = findComponent('redis-server');
let redis: RunningRedis | null = null;
let admin: Redis | null = null;
let namespaces = 0;
const open: RedisCoord[] = [];

beforeAll(async () => {
  if (redisBinary === null) return;
  redis = await startRedis(redisBinary);
  admin = new Redis(redis.url);
});

afterAll(async () => {
  for (const c of open) await c.close();
  admin?.disconnect();
  await redis?.stop();
});

/** n nodes of one cluster. */
async function nodes(n: number): Promise<RedisCoord[]> {
  const namespace = `leases${namespaces++}`;
  const out: RedisCoord[] = [];
  for (let i = 0; i < n; i++) {
    const c = await RedisCoord.connect({ url: redis!.url, namespace, log: pino({ level: 'silent' }) });
    open.push(c);
    out.push(c);
  }
  return out;
}

function leadOf(l: Lease): Extract<Lease, { lead: true }> {
  if (!l.lead) throw new Error('expected to lead');
  return l;
}

/** What p settles to within ms, or 'waits'. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'waits'> {
  return Promise.race([p, new Promise<'waits'>((r) => setTimeout(() => r('waits'), ms))]);
}

it.skipIf(redisBinary === null)('gives back a lease whose grant timed out, so nobody waits it out', async () => {
  const [a, b] = (await nodes(2)) as [RedisCoord, RedisCoord];
  // Redis applies the grant, but its reply misses the deadline.
  const client = (a as unknown as { redis: { eval: (...args: unknown[]) => Promise<unknown> } }).redis;
  const evalScript = client.eval.bind(client);
  client.eval = async (...args: unknown[]) => {
    const reply = await evalScript(...args);
    if (String(args[0]).includes("'NX'")) throw new Error('Command timed out');
    return reply;
  };
  const signal = new AbortController().signal;
  // A goes on alone (it cannot know it holds the lease)…
  expect((await a.leases.acquire('mod/x.zip', signal)).lead).toBe(true);
  // …and the lease it may have been granted is not left standing for the lease TTL (15 s).
  expect(await within(b.leases.acquire('mod/x.zip', signal), 2_000)).toMatchObject({ lead: true });
});

it.skipIf(redisBinary === null)(
  'a holder from before a Redis restart cannot end or answer for the next holder',
  async () => {
    const [a, b, c, d] = (await nodes(4)) as [RedisCoord, RedisCoord, RedisCoord, RedisCoord];
    const signal = new AbortController().signal;
    const old = leadOf(await a.leases.acquire('mod/x.zip', signal));
    await admin!.flushall(); // Redis restarted and forgot everything, the fencing counter too
    const current = leadOf(await b.leases.acquire('mod/x.zip', signal));
    expect(current.token).toBe(old.token);
    const waiter = c.leases.acquire('mod/x.zip', signal);

    old.release({ kind: 'not_found', upstream: 'http://up', status: 404, detail: 'stale answer' });
    // B still holds the lease: D waits too, and C is not given the old holder's outcome.
    const intruder = d.leases.acquire('mod/x.zip', signal);
    expect(await within(intruder, 500)).toBe('waits');
    expect(await within(waiter, 0)).toBe('waits');

    current.release({ kind: 'stored' });
    expect(await waiter).toEqual({ lead: false, outcome: { kind: 'stored' } });
    expect(await intruder).toEqual({ lead: false, outcome: { kind: 'stored' } });
  },
);

it.skipIf(redisBinary === null)(
  'a release lost in a Redis hiccup is sent again once Redis answers: waiters do not wait out the lease',
  async () => {
    const [a, b] = (await nodes(2)) as [RedisCoord, RedisCoord];
    const signal = new AbortController().signal;
    const lead = leadOf(await a.leases.acquire('mod/x.zip', signal));
    const waiter = b.leases.acquire('mod/x.zip', signal);
    // A's connection drops just before it releases (a failover, a network blip); it reconnects at once.
    const client = (a as unknown as { redis: Redis }).redis;
    const id = await client.client('ID');
    await admin!.client('KILL', 'ID', String(id));
    while (client.status === 'ready') await new Promise((r) => setImmediate(r));
    lead.release({ kind: 'stored' });
    // The lease lives 15 s; the outcome comes as soon as A is back.
    expect(await within(waiter, 5_000)).toEqual({ lead: false, outcome: { kind: 'stored' } });
  },
  20_000,
);

it.skipIf(redisBinary === null)(
  "a waiter is never given the last holder's outcome for a holder that ended without one",
  async () => {
    const [a, b, c] = (await nodes(3)) as [RedisCoord, RedisCoord, RedisCoord];
    const never = new AbortController().signal;
    const namespace = (b as unknown as { opts: { namespace: string } }).opts.namespace;
    // A round that ended with an outcome, still kept for its waiters.
    leadOf(await a.leases.acquire('mod/x.zip', never)).release({
      kind: 'failed',
      error: { code: 'upstream_timeout', message: 'the last round' },
    });
    await waitFor(async () => (await admin!.exists(`${namespace}:out:mod/x.zip`)) === 1, 5_000, 'no outcome');
    // The next holder is granted, and C waits on it (its own grant refused)…
    leadOf(await b.leases.acquire('mod/x.zip', never));
    const client = (c as unknown as { redis: { eval: (...args: unknown[]) => Promise<unknown> } }).redis;
    const evalScript = client.eval.bind(client);
    let refused = (): void => undefined;
    const cWaits = new Promise<void>((r) => (refused = r));
    client.eval = async (...args: unknown[]) => {
      const reply = await evalScript(...args);
      if (String(args[0]).includes("'NX'") && reply === 0) refused();
      return reply;
    };
    const waiter = c.leases.acquire('mod/x.zip', never);
    await cWaits;
    // …then B's lease ends with no outcome (its Redis key is gone, as when it expires): C leads.
    await admin!.del(`${namespace}:lease:mod/x.zip`);
    expect(await within(waiter, 3_000)).toMatchObject({ lead: true });
  },
  20_000,
);

it.skipIf(redisBinary === null)(
  'a remembered 404 or a lease outcome in Redis is input: a status that is no 4xx is no entry (it crashed the node)',
  async () => {
    const [a] = (await nodes(1)) as [RedisCoord];
    const namespace = (a as unknown as { opts: { namespace: string } }).opts.namespace;
    const key = 'mod/example.com/nope/@v/v1.0.0.mod';
    await a.rememberNotFound(key, { upstream: 'http://up', status: 410, detail: 'gone' }, 60_000);
    expect(await a.notFound(key)).toEqual({ upstream: 'http://up', status: 410, detail: 'gone' });
    for (const status of [99, 200, 302, 500, 404.5, 1e9, '404', null]) {
      await admin!.set(`${namespace}:nf:${key}`, JSON.stringify({ upstream: 'x', status, detail: 'boom' }));
      expect(await a.notFound(key), String(status)).toBeNull();
    }
    // A lease's outcome the same way: the waiter, finding no usable outcome once the lease is gone, leads.
    const signal = new AbortController().signal;
    await admin!.set(`${namespace}:lease:${key}`, 'someone-else', 'PX', 60_000);
    const waiter = a.leases.acquire(key, signal);
    await admin!.set(
      `${namespace}:out:${key}`,
      JSON.stringify({ kind: 'not_found', upstream: 'x', status: 99, detail: 'boom' }),
    );
    await admin!.del(`${namespace}:lease:${key}`);
    expect(await within(waiter, 3_000)).toMatchObject({ lead: true });
  },
);

it.skipIf(redisBinary === null)(
  'a lease key left with no expiry (a hand edit, another program) ends after one lease time',
  async () => {
    const namespace = `leases${namespaces++}`;
    const c = await RedisCoord.connect({ url: redis!.url, namespace, log: pino({ level: 'silent' }), leaseTtl: 300 });
    open.push(c);
    await admin!.set(`${namespace}:lease:mod/left.zip`, 'left-behind');
    // Bounded: a lease that never ends would keep this waiting until the signal gives up.
    const l = await c.leases.acquire('mod/left.zip', AbortSignal.timeout(10_000));
    leadOf(l).release({ kind: 'stored' });
  },
);

it.skipIf(redisBinary === null)(
  'a lease key set to outlive any lease (a hand edit, another program) ends after one lease time',
  async () => {
    const namespace = `leases${namespaces++}`;
    const c = await RedisCoord.connect({ url: redis!.url, namespace, log: pino({ level: 'silent' }), leaseTtl: 300 });
    open.push(c);
    await admin!.set(`${namespace}:lease:mod/day.zip`, 'left-behind', 'PX', 86_400_000);
    // No lease godepot grants lives longer than a lease time unrenewed: this one would hold every node for a day.
    const l = await c.leases.acquire('mod/day.zip', AbortSignal.timeout(10_000));
    leadOf(l).release({ kind: 'stored' });
  },
);
