// One list of behaviours every coordination implementation must have, run
// against LocalCoord and against RedisCoord on a real redis-server; then what
// only the shared one does: leases across nodes with expiry and fencing
// tokens, and falling back to local coordination while Redis is away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { LocalCoord, RedisCoord, parseHealthNews, type Coordination, type HealthNews } from '../../src/coord/index.js';
import type { Lease } from '../../src/proxy/context.js';
import { findComponent } from '../support/components.js';
import { freePort, waitFor } from '../support/ports.js';
import { startRedis, type RunningRedis } from '../support/redis.js';

const redisBinary = findComponent('redis-server');
const quiet = pino({ level: 'silent' });
let redis: RunningRedis | null = null;
let namespaces = 0;
const open: Coordination[] = [];

async function redisCoord(
  extra: { leaseTtl?: number; log?: pino.Logger; namespace?: string } = {},
): Promise<RedisCoord> {
  redis ??= await startRedis(redisBinary as string);
  const c = await RedisCoord.connect({
    url: redis.url,
    namespace: extra.namespace ?? `test${namespaces++}`,
    log: extra.log ?? quiet,
    ...(extra.leaseTtl ? { leaseTtl: extra.leaseTtl } : {}),
  });
  open.push(c);
  return c;
}

afterAll(async () => {
  for (const c of open) await c.close();
  await redis?.stop();
});

const impls: Array<[string, () => Promise<Coordination>]> = [
  ['local', async () => new LocalCoord()],
  ...(redisBinary ? [['redis', () => redisCoord()] as [string, () => Promise<Coordination>]] : []),
];

describe.each(impls)('%s coordination contract', (_name, make) => {
  it('advances the tree head only by compare-and-set', async () => {
    const c = await make();
    expect(await c.head('sum.example')).toBeNull();
    const h1 = Buffer.from('head 1\n');
    const h2 = Buffer.from('head 2\n');
    const h3 = Buffer.from('head 3\n');
    // A head expected but gone (Redis flushed, or failed over to a replica behind) is no match either.
    expect(await c.compareAndSetHead('sum.example', h2, h1)).toBe(false);
    expect(await c.head('sum.example')).toBeNull();
    expect(await c.compareAndSetHead('sum.example', null, h1)).toBe(true);
    expect(await c.head('sum.example')).toEqual(h1);
    // Another node moved it first: a CAS from a stale view fails and changes nothing.
    expect(await c.compareAndSetHead('sum.example', null, h2)).toBe(false);
    expect(await c.compareAndSetHead('sum.example', h2, h3)).toBe(false);
    expect(await c.head('sum.example')).toEqual(h1);
    expect(await c.compareAndSetHead('sum.example', h1, h2)).toBe(true);
    expect(await c.head('sum.example')).toEqual(h2);
    expect(await c.head('other.db')).toBeNull();
  });

  it('remembers refused heads and the fork evidence', async () => {
    const c = await make();
    expect(await c.isRefused('db', '12:abc')).toBe(false);
    expect(await c.fork('db')).toBeNull();
    await c.recordFork('db', '12:abc', '{"report":"x"}');
    expect(await c.isRefused('db', '12:abc')).toBe(true);
    expect(await c.isRefused('db', '12:abd')).toBe(false);
    expect(await c.fork('db')).toBe('{"report":"x"}');
  });

  it('keeps and forgets not-found answers', async () => {
    const c = await make();
    const entry = { upstream: 'http://up', status: 410, detail: 'gone for good' };
    expect(await c.notFound('mod/x/@v/v1.0.0.zip')).toBeNull();
    await c.rememberNotFound('mod/x/@v/v1.0.0.zip', entry, 60_000);
    expect(await c.notFound('mod/x/@v/v1.0.0.zip')).toEqual(entry);
    await c.forgetNotFound('mod/x/@v/v1.0.0.zip');
    expect(await c.notFound('mod/x/@v/v1.0.0.zip')).toBeNull();
    await c.rememberNotFound('mod/y', entry, 0);
    expect(await c.notFound('mod/y')).toBeNull();
  });
});

describe('breaker news from another process', () => {
  it('is read only when it is well formed (another program or version may write to the channel)', () => {
    const news = { upstream: 'http://u', state: 'open', at: 5, since: 4, failure: 'dns', detail: 'no such host' };
    expect(parseHealthNews(news)).toEqual(news);
    expect(parseHealthNews({ ...news, failure: 'meteor' })).toEqual({ ...news, failure: undefined });
    for (const bad of [null, 'open', {}, { ...news, state: 'ajar' }, { ...news, at: 'now' }, { ...news, upstream: 7 }])
      expect(parseHealthNews(bad)).toBeNull();
    // A finite number that is no date: status() (/readyz) printed it with toISOString, a RangeError on every node.
    for (const at of [1e20, -1e20]) {
      expect(parseHealthNews({ ...news, at })).toBeNull();
      expect(parseHealthNews({ ...news, since: at })).toEqual({ ...news, since: undefined });
    }
  });
});

describe('LocalCoord', () => {
  it('forgets not-found answers when their time is up (injected clock)', async () => {
    let now = 1000;
    const c = new LocalCoord(() => now);
    await c.rememberNotFound('k', { upstream: 'u', status: 404, detail: '' }, 500);
    now += 499;
    expect(await c.notFound('k')).not.toBeNull();
    now += 1;
    expect(await c.notFound('k')).toBeNull();
    expect(c.leases).toBeNull();
    expect(c.status()).toEqual({ kind: 'local' });
  });
  it('forgets a not-found answer when the clock steps back (NTP, a VM resumed), not the length of the step later', async () => {
    let now = Date.UTC(2026, 0, 1);
    const c = new LocalCoord(() => now);
    await c.rememberNotFound('k', { upstream: 'u', status: 404, detail: '' }, 60_000);
    now -= 3600_000;
    // Else the module stayed "not found" for the hour besides its minute.
    expect(await c.notFound('k')).toBeNull();
  });
});

function leadOf(l: Lease): Extract<Lease, { lead: true }> {
  if (!l.lead) throw new Error('expected to lead');
  return l;
}

describe.skipIf(redisBinary === null)('RedisCoord across nodes', () => {
  let a: RedisCoord;
  let b: RedisCoord;

  beforeAll(async () => {
    a = await redisCoord({ namespace: 'nodes', leaseTtl: 600 });
    b = await redisCoord({ namespace: 'nodes', leaseTtl: 600 });
  });

  it('grants one lease per key; the waiter on the other node gets the outcome', async () => {
    const signal = new AbortController().signal;
    const first = leadOf(await a.leases.acquire('mod/a.zip', signal));
    const waiting = b.leases.acquire('mod/a.zip', signal);
    let settled = false;
    void waiting.then(() => (settled = true));
    // Another key is independent.
    const other = leadOf(await b.leases.acquire('mod/b.zip', signal));
    expect(other.token).toBeGreaterThan(first.token ?? Infinity);
    other.release({ kind: 'failed' });
    expect(settled).toBe(false);
    first.release({ kind: 'not_found', upstream: 'http://up', status: 404, detail: 'no such version' });
    expect(await waiting).toEqual({
      lead: false,
      outcome: { kind: 'not_found', upstream: 'http://up', status: 404, detail: 'no such version' },
    });
  });

  it('ends the lease of a holder that stops renewing (it died), with a newer fencing token', async () => {
    const dead = await redisCoord({ namespace: 'nodes', leaseTtl: 300 });
    const signal = new AbortController().signal;
    const held = leadOf(await dead.leases.acquire('mod/c.zip', signal));
    await dead.close(); // no renewal, no release: as if SIGKILLed
    const next = leadOf(await b.leases.acquire('mod/c.zip', signal));
    expect(next.token).toBeGreaterThan(held.token ?? Infinity);
    next.release({ kind: 'stored' });
  });

  it('keeps renewing the lease of a live holder', async () => {
    const signal = new AbortController().signal;
    const held = leadOf(await a.leases.acquire('mod/d.zip', signal));
    const waiting = b.leases.acquire('mod/d.zip', signal);
    // Several lease lifetimes pass in Redis (whose clock no test can move) while the holder renews.
    let looks = 0;
    await waitFor(async () => ++looks > 40, 30_000, 'never');
    let settled = false;
    void waiting.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    held.release({ kind: 'stored' });
    expect(await waiting).toEqual({ lead: false, outcome: { kind: 'stored' } });
  });

  it('says once that a lease was lost (Redis flushed or restarted empty), and stops renewing it', async () => {
    const lines: Array<{ msg?: string }> = [];
    const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg?: string }) });
    const holder = await redisCoord({ namespace: 'lost', leaseTtl: 300, log });
    const held = leadOf(await holder.leases.acquire('mod/e.zip', new AbortController().signal));
    const admin = new Redis((redis as RunningRedis).url);
    const evals: string[] = [];
    admin.on('error', () => undefined);
    try {
      await admin.del('lost:lease:mod/e.zip');
      // Many renewal periods (100 ms) pass while the holder still fetches; Redis's MONITOR shows its renewals.
      const monitor = await admin.monitor();
      monitor.on('monitor', (_t: string, args: string[]) => {
        if (args[0]?.toLowerCase() === 'eval' && args[3] === 'lost:lease:mod/e.zip') evals.push(args[4] ?? '');
      });
      let looks = 0;
      await waitFor(async () => ++looks > 40, 30_000, 'never');
      monitor.disconnect();
    } finally {
      admin.disconnect();
    }
    held.release({ kind: 'stored' });
    expect(lines.filter((l) => l.msg?.startsWith('fetch lease expired')).length).toBe(1);
    expect(evals.length).toBeLessThanOrEqual(1);
  });

  it("passes one node's breaker news to every other node, and to a node that joins later", async () => {
    const heardA: HealthNews[] = [];
    const heardB: HealthNews[] = [];
    a.onHealth((n) => heardA.push(n));
    b.onHealth((n) => heardB.push(n));
    const news: HealthNews = {
      upstream: 'http://proxy.example',
      state: 'open',
      at: 1_000,
      since: 900,
      failure: 'timeout',
      detail: 'no answer within 10s',
    };
    // Values in Redis that are not news (JSON of another shape, not JSON) are ignored, never a crash.
    const raw = new Redis((redis as RunningRedis).url);
    try {
      for (const junk of ['null', '[1]', '"x"', '5', '{"news":null}', '{'])
        await raw.multi().hset('nodes:health', `junk${junk}`, junk).publish('nodes:health', junk).exec();
    } finally {
      raw.disconnect();
    }
    // The subscriptions are live once a message published now reaches them.
    await waitFor(
      async () => {
        a.shareHealth(news);
        await new Promise((r) => setImmediate(r));
        return heardB.length > 0;
      },
      10_000,
      'node B never heard node A',
    );
    expect(heardB.at(-1)).toEqual(news);
    // A node never hears its own news back.
    expect(heardA).toEqual([]);
    // A node that starts later learns the latest news of every upstream when it connects.
    const late = await redisCoord({ namespace: 'nodes' });
    const heardLate: HealthNews[] = [];
    late.onHealth((n) => heardLate.push(n));
    await waitFor(async () => heardLate.length > 0, 10_000, 'the late node learnt nothing');
    expect(heardLate[0]).toEqual(news);
    const closed: HealthNews = { upstream: 'http://proxy.example', state: 'closed', at: 2_000 };
    b.shareHealth(closed);
    await waitFor(async () => heardA.length > 0, 10_000, 'node A never heard node B');
    expect(heardA).toEqual([closed]);
  });

  it('stops waiting when the caller aborts', async () => {
    const held = leadOf(await a.leases.acquire('mod/e.zip', new AbortController().signal));
    const ctl = new AbortController();
    const waiting = b.leases.acquire('mod/e.zip', ctl.signal);
    ctl.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    held.release({ kind: 'failed' });
  });
});

describe.skipIf(redisBinary === null)('RedisCoord without Redis', () => {
  it('coordinates locally while Redis is away, says so once, and rejoins', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino(
      { level: 'info' },
      { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    const r = await startRedis(redisBinary as string);
    const states: boolean[] = [];
    const c = await RedisCoord.connect({ url: r.url, namespace: 'down', log, onState: (up) => states.push(up) });
    open.push(c);
    try {
      expect(c.status().redis?.state).toBe('up');
      await c.compareAndSetHead('db', null, Buffer.from('h1'));
      await r.kill();
      await waitFor(async () => c.status().redis?.state === 'down', 10_000, 'the coordinator did not notice');
      // Everything still answers, locally.
      const lease = await c.leases.acquire('mod/x.zip', new AbortController().signal);
      expect(lease.lead).toBe(true);
      if (lease.lead) lease.release({ kind: 'stored' });
      // The fallback's own head starts empty: a CAS from the head Redis held is refused (the caller reads again).
      expect(await c.compareAndSetHead('db', Buffer.from('h1'), Buffer.from('h2'))).toBe(false);
      expect(await c.head('db')).toBeNull();
      expect(await c.compareAndSetHead('db', null, Buffer.from('h2'))).toBe(true);
      await c.rememberNotFound('k', { upstream: 'u', status: 404, detail: '' }, 60_000);
      expect(await c.notFound('k')).not.toBeNull();
      expect(await c.isRefused('db', 'x')).toBe(false);
      const warnings = lines.filter((l) => String(l.msg).startsWith('Redis is unreachable'));
      expect(warnings).toHaveLength(1);
      await r.start();
      await waitFor(async () => c.status().redis?.state === 'up', 15_000, 'the coordinator did not rejoin');
      expect(states).toEqual([true, false, true]);
      expect(lines.some((l) => String(l.msg).startsWith('Redis is reachable again'))).toBe(true);
    } finally {
      await r.stop();
    }
  });

  it("shares the tree head through the fallback (the workers' primary), not each process alone", async () => {
    // Two workers of one machine; their primary's coordination is the fallback of both.
    const primary = new LocalCoord();
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    const worker = (): Promise<RedisCoord> =>
      RedisCoord.connect({ url: nowhere, namespace: 'away', log: quiet, commandTimeout: 200, fallback: primary });
    const [w1, w2] = [await worker(), await worker()];
    open.push(w1, w2);
    expect(w1.status().redis?.state).toBe('down');
    expect(await w1.compareAndSetHead('db', null, Buffer.from('h1'))).toBe(true);
    // W2 started from a stale view: refused, as it would be with Redis.
    expect(await w2.compareAndSetHead('db', null, Buffer.from('h2'))).toBe(false);
    expect(await w2.head('db')).toEqual(Buffer.from('h1'));
  });
});
