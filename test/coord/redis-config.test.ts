// A Redis configured as operators configure theirs: a memory limit that
// refuses writes, EVAL renamed away, an ACL user limited to other keys,
// Redis Cluster. Such a Redis answers PING, so "it answers" is not "it works":
// what it refuses for good is a start-up error that says what to change, and
// what it refuses for now (OOM) is one clear degraded state, not a flap.
import { afterAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { RedisCoord } from '../../src/coord/index.js';
import { findComponent } from '../support/components.js';
import { waitFor } from '../support/ports.js';
import { startRedis, type RunningRedis } from '../support/redis.js';

const redisBinary = findComponent('redis-server');
const running: RunningRedis[] = [];
const open: Array<RedisCoord | Redis> = [];

afterAll(async () => {
  for (const c of open) await (c instanceof RedisCoord ? c.close() : c.disconnect());
  for (const r of running) await r.stop();
});

async function server(args: string[] = []): Promise<RunningRedis> {
  const r = await startRedis(redisBinary!, { args });
  running.push(r);
  return r;
}

/** A Redis of its own, and an admin connection to it (closed after the file). */
async function serverWithAdmin(args: string[] = []): Promise<{ r: RunningRedis; admin: Redis }> {
  const r = await server(args);
  const admin = new Redis(r.url);
  open.push(admin);
  return { r, admin };
}

type Line = { level: number; msg: string };

async function node(url: string, namespace = 'cfg'): Promise<{ coord: RedisCoord; lines: Line[]; states: boolean[] }> {
  const lines: Line[] = [];
  const states: boolean[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Line) });
  const coord = await RedisCoord.connect({ url, namespace, log, onState: (up) => states.push(up) });
  open.push(coord);
  return { coord, lines, states };
}

it.skipIf(redisBinary === null)(
  'maxmemory with noeviction: down once, saying Redis is out of memory; no flapping while it stays full',
  async () => {
    const { r, admin } = await serverWithAdmin();
    const { coord, lines, states } = await node(r.url);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    const signal = new AbortController().signal;
    /** Scripts Redis has run: the node's probes (CHECK) and grants; nothing else here runs one. */
    const scripts = async (): Promise<number> =>
      Number(/cmdstat_eval:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    // Every grant is refused (INCR is a write): this node fetches on its own.
    for (let i = 0; i < 4; i++) {
      const lease = await coord.leases.acquire(`mod/x${i}.zip`, signal);
      expect(lease.lead).toBe(true);
      if (lease.lead) lease.release({ kind: 'stored' });
    }
    // Probes refused while Redis stays full (PING answers under OOM, and used to mark Redis up again each time):
    // waited for as Redis counts them, not as time passes.
    const before = await scripts();
    await waitFor(async () => (await scripts()) >= before + 3, 10_000, 'three probes of a full Redis');
    expect(states).toEqual([true, false]);
    expect(coord.status().redis).toMatchObject({ state: 'down' });
    expect(coord.status().redis?.error).toMatch(/OOM|maxmemory/);
    expect(lines.filter((l) => l.level >= 40)).toHaveLength(1);
    // Room again: the node rejoins by itself.
    await admin.config('SET', 'maxmemory', '0');
    await waitFor(async () => coord.status().redis?.state === 'up', 10_000, 'the node back on Redis');
    expect(states).toEqual([true, false, true]);
  },
);

it.skipIf(redisBinary === null)('EVAL renamed away: a start-up error that names it', async () => {
  const r = await server(['--rename-command', 'EVAL', '']);
  await expect(node(r.url)).rejects.toThrow(/unknown command 'eval'\): renamed or disabled with rename-command/);
});

it.skipIf(redisBinary === null)(
  "an ACL user limited to other keys or channels: a start-up error naming godepot's keys",
  async () => {
    const { r, admin } = await serverWithAdmin();
    await admin.call('ACL', 'SETUSER', 'app', 'on', '>pw', '~other:*', '&other:*', '+@all');
    await admin.call('ACL', 'SETUSER', 'keys', 'on', '>pw', '~cfg:*', 'resetchannels', '+@all');
    const url = r.url.replace('redis://', 'redis://app:pw@');
    await expect(node(url)).rejects.toThrow(/cfg:\*/);
    // Keys allowed but not the health channel: news from the other nodes would never come.
    await expect(node(r.url.replace('redis://', 'redis://keys:pw@'))).rejects.toThrow(/&cfg:\*/);
    // With both, it starts.
    await admin.call('ACL', 'SETUSER', 'keys', '&cfg:*');
    const { coord } = await node(r.url.replace('redis://', 'redis://keys:pw@'));
    expect(coord.status().redis?.state).toBe('up');
  },
);

it.skipIf(redisBinary === null)('Redis Cluster: refused at start as unsupported', async () => {
  const { r, admin } = await serverWithAdmin([
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    `nodes-${Date.now()}.conf`,
  ]);
  // One node serving every slot: single keys work, but a lease and its outcome are two slots (CROSSSLOT).
  await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  await expect(node(r.url)).rejects.toThrow(/Redis Cluster/);
});

it.skipIf(redisBinary === null)(
  'an ACL user that may publish but not subscribe: said at error level, not silently deaf to the other nodes',
  async () => {
    const { r, admin } = await serverWithAdmin();
    await admin.call('ACL', 'SETUSER', 'deaf', 'on', '>pw', '~cfg:*', '&cfg:*', '+@all', '-subscribe');
    const { coord, lines } = await node(r.url.replace('redis://', 'redis://deaf:pw@'));
    await waitFor(async () => lines.some((l) => l.level >= 50), 5_000, 'the refused SUBSCRIBE was never said');
    expect(lines.find((l) => l.level >= 50)?.msg).toMatch(/SUBSCRIBE.*cfg:health/);
    // Everything else is coordinated through Redis as before.
    expect(coord.status().redis?.state).toBe('up');
  },
);

it.skipIf(redisBinary === null)(
  'a password given as a query parameter (ioredis takes it) is never shown: status, /readyz and logs',
  async () => {
    const password = 'QueryPassw0rd-51f2';
    const r = await server(['--requirepass', password]);
    const { coord, lines } = await node(`redis://127.0.0.1:${r.port}/0?password=${password}`);
    // It is the password that let this node in.
    expect(coord.status().redis?.state).toBe('up');
    await r.kill();
    await waitFor(async () => coord.status().redis?.state === 'down', 10_000, 'the node to see Redis gone');
    const shown = JSON.stringify([coord.status(), lines]);
    expect(shown).toContain('password=xxxxx');
    expect(shown).not.toContain(password);
  },
);

it.skipIf(redisBinary === null)(
  'a --redis database Redis lacks, found only once Redis is back (it was away at start): down and said, not used as 0',
  async () => {
    const r = await server();
    await r.kill();
    const { coord, lines } = await node(`${r.url}/99`);
    expect(coord.status().redis?.state).toBe('down');
    await r.start();
    // ioredis goes on in database 0 when SELECT fails: that node would share nothing with the others, "up" everywhere.
    await waitFor(
      async () => coord.status().redis?.state === 'up' || lines.some((l) => l.level === 50),
      10_000,
      'the node to reach Redis again',
    );
    expect(coord.status().redis).toMatchObject({
      state: 'down',
      error: expect.stringMatching(/that Redis has no database 99 .*use one it has, like \/0/) as unknown,
    });
    expect(lines.filter((l) => l.level === 50)).toHaveLength(1);
    // Its leases are this node's alone: nothing of godepot's lands in database 0.
    const lease = await coord.leases.acquire('mod/x.zip', new AbortController().signal);
    expect(lease.lead).toBe(true);
    const admin = new Redis(r.url);
    open.push(admin);
    expect(await admin.keys('*')).toEqual([]);
  },
);
