// A Redis that stalls (CLIENT PAUSE: a long fork for a snapshot, a slow
// command, a saturated host) keeps its connections open while every
// command misses its deadline. RedisCoord must treat that as an outage, as
// it treats a lost connection: say so (log, status, onState), coordinate
// locally meanwhile, never take a compare-and-set it got no answer to for a
// success, and rejoin once Redis answers again.
import { afterAll, expect, it } from 'vitest';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
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

/** Whether a hears b's upstream news through Redis (its subscription works), within 10 s. */
async function hearsNews(a: RedisCoord, b: RedisCoord): Promise<void> {
  const heard: string[] = [];
  a.onHealth((n) => heard.push(n.state));
  await waitFor(
    async () => {
      b.shareHealth({ upstream: 'https://up.example', state: 'open', at: Date.now() });
      return heard.includes('open');
    },
    10_000,
    "the node did not hear the other node's news",
  );
}

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

/**
 * A relay to Redis whose connections can be cut off without a word: `silence()` makes every connection open
 * now carry nothing more either way and never close, as when Redis's host vanishes (no RST; TCP would give up
 * only after ~15 minutes of retransmissions). Connections made after it reach Redis, as they would reach a
 * Redis restarted elsewhere at the same address.
 */
async function silentRelay(port: number): Promise<{ url: string; silence(): void; close(): void }> {
  const open = new Set<{ mute(): void; end(): void }>();
  const server = createServer((client) => {
    const redis = connect(port, '127.0.0.1');
    let muted = false;
    client.on('data', (b: Buffer) => void (muted || redis.write(b)));
    redis.on('data', (b: Buffer) => void (muted || client.write(b)));
    for (const s of [client, redis]) s.on('error', () => undefined);
    const conn = {
      mute: () => (muted = true),
      end: () => {
        client.destroy();
        redis.destroy();
      },
    };
    open.add(conn);
    client.on('close', () => {
      redis.destroy();
      open.delete(conn);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    silence: () => {
      for (const c of open) c.mute();
    },
    close: () => {
      for (const c of open) c.end();
      server.close();
    },
  };
}

it.skipIf(redisBinary === null)(
  'a connection on which Redis went silent for good (its host vanished) is replaced: the node rejoins',
  async () => {
    const r = redis ?? (redis = await startRedis(redisBinary as string));
    const relay = await silentRelay(r.port);
    closers.push(async () => relay.close());
    const a = await RedisCoord.connect({
      url: relay.url,
      namespace: 'silent',
      log: pino({ level: 'silent' }),
      commandTimeout: 200,
    });
    closers.push(() => a.close());
    // Another node, reaching Redis directly: its news must reach a once it is back (its subscription too).
    const b = await RedisCoord.connect({ url: r.url, namespace: 'silent', log: pino({ level: 'silent' }) });
    closers.push(() => b.close());
    expect(a.status().redis?.state).toBe('up');

    relay.silence();
    await a.head('db');
    expect(a.status().redis).toMatchObject({ state: 'down', error: 'Command timed out' });
    // The probe's CHECK went down the silent connection for as long as it stayed open.
    await waitFor(async () => a.status().redis?.state === 'up', 15_000, 'the node did not rejoin Redis');
    expect(await a.compareAndSetHead('db', null, Buffer.from('h1'))).toBe(true);
    expect((await b.head('db'))?.toString()).toBe('h1');
    await hearsNews(a, b);
  },
  40_000,
);

it.skipIf(redisBinary === null)(
  'a node started while Redis is stalled says why Redis is down: in the log and in its status (/readyz)',
  async () => {
    const r = redis ?? (redis = await startRedis(redisBinary as string));
    const admin = new Redis(r.url);
    closers.push(async () => admin.disconnect());
    const lines: Array<Record<string, unknown>> = [];
    const log = pino(
      { level: 'info' },
      { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    await admin.call('CLIENT', 'PAUSE', '2000', 'ALL');
    // The connection opens (TCP) and its first command is never answered: no error, just silence.
    const a = await RedisCoord.connect({ url: r.url, namespace: 'startstall', log, commandTimeout: 200 });
    closers.push(() => a.close());
    expect(a.status().redis).toMatchObject({ state: 'down', error: 'no answer within 200 ms' });
    const said = lines.filter((l) => String(l.msg).startsWith('Redis is unreachable'));
    expect(said).toHaveLength(1);
    expect(said[0]?.err).toBe('no answer within 200 ms');
    await waitFor(async () => a.status().redis?.state === 'up', 10_000, 'the node did not join Redis');
  },
  20_000,
);

it.skipIf(redisBinary === null)(
  'a server at --redis that answers every command with nil (another service on that port): down, no crash',
  async () => {
    // The nil it gave SUBSCRIBE threw out of ioredis's reply handler: an uncaught exception ended the process.
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on('data', () => s.write('$-1\r\n'));
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      for (const s of sockets) s.destroy();
      server.close();
    });
    const lines: Array<Record<string, unknown>> = [];
    const log = pino(
      { level: 'info' },
      { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    const a = await RedisCoord.connect({
      url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
      namespace: 'notredis',
      log,
      commandTimeout: 200,
    });
    closers.push(() => a.close());
    expect(a.status().redis?.state).toBe('down');
    expect(a.status().redis?.error).toBeTruthy();
    // Only the node's own connection: the subscription waits for a Redis that passes a CHECK.
    await waitFor(async () => sockets.size > 0, 5_000, 'the node did not connect');
    expect(sockets.size).toBe(1);
    expect(lines.filter((l) => String(l.msg).startsWith('Redis is reachable again'))).toEqual([]);
  },
);

it.skipIf(redisBinary === null)(
  'a node started while Redis was away subscribes once it is reached: it hears the other nodes',
  async () => {
    const r = redis ?? (redis = await startRedis(redisBinary as string));
    await r.kill();
    const a = await RedisCoord.connect({ url: r.url, namespace: 'latesub', log: pino({ level: 'silent' }) });
    closers.push(() => a.close());
    expect(a.status().redis?.state).toBe('down');
    await r.start();
    await waitFor(async () => a.status().redis?.state === 'up', 10_000, 'the node did not join Redis');
    const b = await RedisCoord.connect({ url: r.url, namespace: 'latesub', log: pino({ level: 'silent' }) });
    closers.push(() => b.close());
    await hearsNews(a, b);
  },
  30_000,
);

it.skipIf(redisBinary === null)(
  'a server at --redis that answers INFO and nil to the rest: replacing its connection does not subscribe, no crash',
  async () => {
    // A probe that gets no 1 replaces the connection, and used to replace the subscription's too: a reconnect that
    // connected it, sent SUBSCRIBE, and ended the process on the nil it got back.
    let connections = 0;
    let subscribed = false;
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      connections++;
      sockets.add(s);
      s.on('data', (d: Buffer) => {
        // One answer per command (each an array of bulk strings): INFO's makes the connection ready, the rest nil.
        for (const m of d.toString('latin1').matchAll(/\*(\d+)\r\n\$\d+\r\n(\w+)/g)) {
          if (/subscribe/i.test(m[2] as string)) subscribed = true;
          s.write(/^info$/i.test(m[2] as string) ? '$0\r\n\r\n' : '$-1\r\n');
        }
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      for (const s of sockets) s.destroy();
      server.close();
    });
    const a = await RedisCoord.connect({
      url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
      namespace: 'notredis2',
      log: pino({ level: 'silent' }),
      commandTimeout: 200,
    });
    closers.push(() => a.close());
    // Two replacements of the node's own connection: several rounds of probes.
    await waitFor(async () => connections >= 3, 15_000, 'the probes did not replace the connection');
    expect(subscribed).toBe(false);
    expect(a.status().redis?.state).toBe('down');
  },
  20_000,
);
