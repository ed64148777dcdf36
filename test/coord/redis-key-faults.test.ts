// Keys of godepot's in Redis holding what godepot never wrote there (a hand
// edit, another program, a wrong `redis-cli SET`): Redis answers every
// command, but those on that key with an error. That is no outage: the node
// stays coordinated, names the key once, and does not flap.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { RedisCoord } from '../../src/coord/index.js';
import { findComponent } from '../support/components.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { waitFor } from '../support/ports.js';

const redisBinary = findComponent('redis-server');
let redis: RunningRedis | null = null;
let admin: Redis | null = null;
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

type Line = { level: number; msg: string; key?: string };

/** n nodes of one cluster, their log lines and every Redis state each reported. */
async function nodes(
  namespace: string,
  n: number,
): Promise<{ coords: RedisCoord[]; lines: Line[]; states: boolean[] }> {
  const lines: Line[] = [];
  const states: boolean[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Line) });
  const coords: RedisCoord[] = [];
  for (let i = 0; i < n; i++) {
    const c = await RedisCoord.connect({ url: redis!.url, namespace, log, onState: (up) => states.push(up) });
    open.push(c);
    coords.push(c);
  }
  return { coords, lines, states };
}

it.skipIf(redisBinary === null)(
  'a fencing counter that is no integer is set anew and said once: one node leads, the other waits, Redis stays up',
  async () => {
    // INCR failed on every grant: each node marked Redis down, fetched alone, marked it up at the next PING.
    await admin!.set('fence0:fence', 'flapping');
    const {
      coords: [a, b],
      lines,
      states,
    } = await nodes('fence0', 2);
    const signal = new AbortController().signal;
    const first = await a!.leases.acquire('mod/x.zip', signal);
    expect(first).toMatchObject({ lead: true, token: 1 });
    const waiting = b!.leases.acquire('mod/x.zip', signal);
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled, 'the second node fetched too').toBe(false);
    if (first.lead) first.release({ kind: 'stored' });
    expect(await waiting).toEqual({ lead: false, outcome: { kind: 'stored' } });
    // Counting on from 1: the waiting node's try took 2.
    expect(await admin!.get('fence0:fence')).toBe('2');
    expect(states.filter((up) => !up)).toEqual([]);
    expect(a!.status().redis?.state).toBe('up');
    const said = lines.filter((l) => l.level >= 40);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ level: 50, key: 'fence0:fence' });
    expect(said[0]?.msg).toMatch(/not an integer.*set anew/);
  },
);

it.skipIf(redisBinary === null)(
  'a key of the wrong type (the health hash, the tree head) is named once; the node neither flaps nor loops',
  async () => {
    // The health hash was read at every (re)connection: WRONGTYPE marked Redis down, the next PING up, and so
    // on every 250 ms with a warning and a notice each time.
    await admin!.set('types0:health', 'not a hash');
    await admin!.sadd('types0:head:db', 'not a string');
    const {
      coords: [a],
      lines,
      states,
    } = await nodes('types0', 1);
    await new Promise((r) => setTimeout(r, 1_000));
    // A compare-and-set that cannot be made in Redis is not "maybe taken": the node's own coordination answers.
    expect(await a!.compareAndSetHead('db', null, Buffer.from('h1'))).toBe(true);
    expect(await a!.head('db')).toEqual(Buffer.from('h1'));
    expect(states).toEqual([true]);
    expect(a!.status().redis?.state).toBe('up');
    const said = lines.filter((l) => l.level >= 40);
    expect(said.map((l) => l.key).sort()).toEqual(['types0:head:db', 'types0:health']);
    expect(said.every((l) => l.level === 50 && /redis-cli DEL/.test(l.msg))).toBe(true);
  },
);

it.skipIf(redisBinary === null)(
  'a probe key of the wrong type does not keep a node from rejoining after a stall',
  async () => {
    // The probe that tells a stalled Redis answers again read this key: WRONGTYPE failed every probe, and a node
    // stayed on local coordination for as long as its connection lasted (a restart reconnects; a stall does not).
    await admin!.hset('probe0:probe:slot', 'f', 'not a string');
    const lines: Line[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Line) });
    const a = await RedisCoord.connect({ url: redis!.url, namespace: 'probe0', log, commandTimeout: 200 });
    open.push(a);
    await admin!.call('CLIENT', 'PAUSE', '600', 'ALL');
    // Misses its deadline: down.
    await a.head('db');
    expect(a.status().redis?.state).toBe('down');
    await waitFor(async () => a.status().redis?.state === 'up', 10_000, 'the node did not rejoin Redis');
    expect(await a.compareAndSetHead('db', null, Buffer.from('h1'))).toBe(true);
    expect(await admin!.get('probe0:head:db')).toBe('h1');
  },
  20_000,
);
