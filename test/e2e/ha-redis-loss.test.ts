// Two nodes on one MinIO bucket lose their Redis in the middle of real work
// (DESIGN invariant 11: losing Redis degrades to local coordination, and
// loses or corrupts nothing):
// - redis-server SIGKILLed while two go commands build through the two
//   nodes: both builds succeed, verified by the go command against the
//   checksum database; nothing but the upstream's bytes reaches the bucket;
//   no answer is a 5xx; each node fetches alone meanwhile (at most one
//   upstream fetch per artifact per node); /readyz says degraded, naming
//   Redis. Redis restarted (empty, as without persistence), the nodes rejoin:
//   one fetch per artifact for the cluster again, and the tree head in Redis
//   is the cluster's again, not smaller than before the outage.
// - Redis stalled (CLIENT PAUSE) rather than gone: a waiter on another
//   node's lease, fresh fetches and cache hits all answer long before Redis
//   does; no lease is left behind once it answers again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  buildApp,
  buildModules,
  describeRun,
  FakeGoProxy,
  FakeSumDb,
  faults,
  goEnv,
  runGo,
  writeApp,
  type BuiltModule,
  type FixtureModule,
} from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { getAlone } from '../support/http.js';
import { haMissing, useHaBackends } from '../support/ha-rig.js';
import { waitFor } from '../support/ports.js';
import { S3Storage } from '../../src/storage/index.js';
import { escapePath, escapeVersion } from '../../src/module/escape.js';

const BUCKET = 'godepot-redis-loss';
const PREFIX = 'cluster';

interface Readiness {
  status: string;
  coordination?: { kind: string; redis?: { state: string; url: string; error?: string } };
}

async function readyz(base: string): Promise<{ code: number; body: Readiness }> {
  const r = await fetch(`${base}/readyz`);
  return { code: r.status, body: (await r.json()) as Readiness };
}

function mod(name: string): FixtureModule {
  const path = `example.com/loss/${name}`;
  return {
    path,
    version: 'v1.0.0',
    files: { 'go.mod': `module ${path}\n`, 'a.go': `package ${name}\n\n// ${'z'.repeat(32 << 10)}\n` },
  };
}

/** The size line of a signed tree note. */
function treeSize(note: Buffer | null): number {
  const size = note?.toString('utf8').split('\n')[1];
  return size === undefined ? -1 : Number(size);
}

describe.skipIf(haMissing)('two nodes lose their Redis', () => {
  const world = buildApp(24);
  const ha = useHaBackends(BUCKET);
  const { dir } = ha;
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let built: BuiltModule[];
  let mods: Record<string, BuiltModule>;
  let a: RunningGodepot;
  let b: RunningGodepot;
  let bucket: S3Storage;

  /** One Redis command on a connection of its own (an admin's redis-cli). */
  async function redisCall<T>(f: (r: Redis) => Promise<T>): Promise<T> {
    const r = new Redis(ha.redis.url, { maxRetriesPerRequest: 0, lazyConnect: true });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return await f(r);
    } finally {
      r.disconnect();
    }
  }
  const headKey = (): string => `godepot:s3:${BUCKET}/${PREFIX}:head:${sumdb.name}`;

  /** Status ≥ 500 answers in a node's access log. */
  const serverErrors = (n: RunningGodepot): unknown[] =>
    n.logs.filter((l) => l.msg === 'request' && typeof l.status === 'number' && l.status >= 500);

  beforeAll(async () => {
    const { minio, redis } = ha;
    const extra = await buildModules(['later1', 'later2', 'later3', 'warm', 'held', 'fresh', 'after'].map(mod));
    built = await buildModules(world.modules);
    mods = Object.fromEntries(extra.map((m) => [m.path.split('/').pop() as string, m]));
    upstream = await FakeGoProxy.start([...built, ...extra]);
    // The 'later' modules are released once Redis is back: their lookups move the tree head then.
    const later = new Set(['later1', 'later2', 'later3'].map((n) => mods[n]));
    sumdb = await FakeSumDb.start({ records: [...built, ...extra.filter((m) => !later.has(m))] });
    const node = (name: string): Promise<RunningGodepot> =>
      startGodepot({
        upstream: upstream.url,
        sumdb: `${sumdb.vkey} ${sumdb.url}`,
        storage: `s3://${BUCKET}/${PREFIX}`,
        's3-endpoint': minio.endpoint,
        redis: redis.url,
        'node-name': name,
        'access-log': 'true',
      });
    a = await node('a');
    b = await node('b');
    bucket = await S3Storage.open({ bucket: BUCKET, prefix: PREFIX, endpoint: minio.endpoint, timeout: 5000 });
  }, 180_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await bucket?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('Redis SIGKILLed mid-build: both builds succeed, verified; rejoined, the cluster is one again', async () => {
    // Every module answer takes a little while, so the fill is still going when Redis dies.
    const undoDelay = upstream.setFault(faults.delay(40), '/@v/');
    const homes: string[] = [];
    const build = async (n: RunningGodepot): Promise<void> => {
      const home = await dir('godepot-gohome-');
      homes.push(home);
      const app = await dir('godepot-app-');
      await writeApp(app, world.app);
      const env = goEnv({ home, proxy: n.url, sumdb: sumdb.vkey });
      for (const args of [
        ['mod', 'tidy'],
        ['build', '-o', join(home, 'app'), '.'],
      ]) {
        const r = await runGo(args, { cwd: app, env, timeoutMs: 120_000 });
        expect(r.code, describeRun(r)).toBe(0);
      }
    };
    const builds = Promise.all([build(a), build(b)]);
    const zips = built.length;
    // A third of the way: ~75 artifacts (.info, .mod, .zip) in all.
    await waitFor(async () => upstream.count('/@v/') >= 25, 60_000, 'the builds never got going');
    const before = await redisCall((r) => r.getBuffer(headKey()));
    expect(treeSize(before)).toBeGreaterThan(0);
    const killedAt = Date.now();
    await ha.redis.kill();
    const fetchedBefore = upstream.count('.zip');
    await builds;
    undoDelay();
    // Killed mid-way, not before or after the fill.
    expect(fetchedBefore).toBeLessThan(zips);
    expect(upstream.count('.zip')).toBeGreaterThan(fetchedBefore);

    // Each node fetched alone meanwhile: at most once per node.
    const fetches = new Map<string, number[]>();
    for (const r of upstream.requests)
      if (/\/@v\/[^/]+\.(info|mod|zip)$/.test(r.decodedPath))
        fetches.set(r.decodedPath, [...(fetches.get(r.decodedPath) ?? []), r.at]);
    expect(Math.max(...[...fetches.values()].map((f) => f.length))).toBeLessThanOrEqual(2);
    const twice = [...fetches.values()].filter((f) => f.length === 2);
    const early = [...fetches.values()].filter((f) => (f[0] as number) < killedAt);
    console.log(
      `Redis killed after ${fetchedBefore} zips: ${fetches.size} artifacts, ${twice.length} fetched by both nodes; ` +
        `${early.length} first asked before the kill, ${early.filter((f) => f.length === 2).length} of them twice`,
    );
    expect(serverErrors(a)).toEqual([]);
    expect(serverErrors(b)).toEqual([]);

    // Both degraded, naming Redis; still ready.
    for (const n of [a, b]) {
      const r = await readyz(n.url);
      expect(r.code).toBe(200);
      expect(r.body.status).toBe('degraded');
      expect(r.body.coordination?.redis).toMatchObject({ state: 'down' });
      expect(r.body.coordination?.redis?.url).toContain(`127.0.0.1:${ha.redis.port}`);
    }
    // Everything fetched is in the bucket as the upstream has it, and each node serves it, verified, from there.
    upstream.resetLog();
    const stored = (await bucket.list('mod/')).filter((k) => /\.(mod|zip)$/.test(k));
    expect(stored.length).toBeGreaterThan(zips);
    const byKey = new Map(built.map((m) => [`mod/${escapePath(m.path)}/@v/${escapeVersion(m.version)}`, m]));
    for (const key of stored) {
      const m = byKey.get(key.replace(/\.(mod|zip)$/, ''));
      expect(m, key).toBeDefined();
      const want = key.endsWith('.zip') ? m!.zip : m!.mod;
      expect((await bucket.get(key))?.equals(want), key).toBe(true);
      for (const n of [a, b]) {
        const r = await getAlone(`${n.url}/${key.slice('mod/'.length)}`);
        expect(r.status, key).toBe(200);
        expect(r.body.equals(want), key).toBe(true);
        if (key.endsWith('.zip')) expect(r.headers['x-godepot-verification'], key).toBe('verified');
      }
    }
    expect(upstream.count('/@v/')).toBe(0);

    // Redis back, empty: both rejoin.
    await ha.redis.start();
    for (const n of [a, b])
      await waitFor(
        async () => (await readyz(n.url)).body.coordination?.redis?.state === 'up',
        15_000,
        'a node did not rejoin Redis',
      );
    // New releases, asked of both nodes at once: one fetch and one lookup each, for the cluster.
    const later = ['later1', 'later2', 'later3'].map((n) => mods[n] as BuiltModule);
    await sumdb.addAll(later);
    const undoSlow = upstream.setFault(faults.delay(300), '/later');
    try {
      const answers = await Promise.all(
        later.flatMap((m) =>
          Array.from({ length: 8 }, (_, i) => getAlone(`${(i % 2 ? a : b).url}/${m.path}/@v/${m.version}.zip`)),
        ),
      );
      for (const r of answers) {
        expect(r.status).toBe(200);
        expect(r.headers['x-godepot-verification']).toBe('verified');
      }
    } finally {
      undoSlow();
    }
    for (const m of later) {
      expect(upstream.count(`${m.path}/@v/${m.version}.zip`)).toBe(1);
      expect(sumdb.count(`/lookup/${m.path}@${m.version}`)).toBe(1);
    }
    // The cluster's head is back in Redis, covers the new records, and did not move back.
    const after = await redisCall((r) => r.getBuffer(headKey()));
    expect(treeSize(after)).toBe(sumdb.size);
    expect(treeSize(after)).toBeGreaterThanOrEqual(treeSize(before));
    // And the go command, remembering the tree it saw during the first build, proves the new one extends it.
    for (const [i, n] of [a, b].entries()) {
      const home = homes[i] as string;
      const r = await runGo(['mod', 'download', '-json', ...later.map((m) => `${m.path}@${m.version}`)], {
        cwd: home,
        env: goEnv({ home, proxy: n.url, sumdb: sumdb.vkey }),
        timeoutMs: 60_000,
      });
      expect(r.code, describeRun(r)).toBe(0);
    }
    expect(serverErrors(a)).toEqual([]);
    expect(serverErrors(b)).toEqual([]);
  }, 120_000);

  it('Redis stalled: a waiter, fresh fetches and cache hits answer long before Redis does', async () => {
    const path = (m: BuiltModule): string => `/${m.path}/@v/${m.version}.zip`;
    const warm = mods.warm as BuiltModule;
    const held = mods.held as BuiltModule;
    const fresh = mods.fresh as BuiltModule;
    expect((await getAlone(`${a.url}${path(warm)}`)).status).toBe(200);
    // A holds held's lease while its upstream answer takes 3 s; B's client waits on that lease.
    const undoSlow = upstream.setFault(faults.delay(3000), path(held));
    const fromA = getAlone(`${a.url}${path(held)}`);
    await waitFor(async () => upstream.count(path(held)) === 1, 10_000, 'A never asked the upstream');
    const fromB = getAlone(`${b.url}${path(held)}`);
    await new Promise((r) => setTimeout(r, 200));
    const PAUSE_MS = 10_000;
    await redisCall((r) => r.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL'));
    const paused = Date.now();
    const timed = async (
      p: Promise<{ status: number; headers: Record<string, unknown> }>,
    ): Promise<{ status: number; verification: unknown; ms: number }> => {
      const r = await p;
      return { status: r.status, verification: r.headers['x-godepot-verification'], ms: Date.now() - paused };
    };
    const answers = await Promise.all([
      timed(fromA),
      timed(fromB),
      ...[a, b].flatMap((n) => [timed(getAlone(`${n.url}${path(fresh)}`)), timed(getAlone(`${n.url}${path(warm)}`))]),
    ]);
    undoSlow();
    for (const r of answers) expect(r).toMatchObject({ status: 200, verification: 'verified' });
    const slowest = Math.max(...answers.map((r) => r.ms));
    console.log(`with Redis paused for ${PAUSE_MS} ms, the slowest answer came after ${slowest} ms`);
    // Not a speed assertion: none of them waited for Redis to answer again.
    expect(slowest).toBeLessThan(PAUSE_MS - 2_000);
    for (const n of [a, b]) {
      const r = await readyz(n.url);
      expect(r.body.status).toBe('degraded');
      expect(r.body.coordination?.redis).toMatchObject({ state: 'down', error: 'Command timed out' });
    }
    // B took over once Redis stalled: each node fetched held once, fresh at most once.
    expect(upstream.count(path(held))).toBe(2);
    expect(upstream.count(path(fresh))).toBeLessThanOrEqual(2);

    for (const n of [a, b])
      await waitFor(
        async () => (await readyz(n.url)).body.coordination?.redis?.state === 'up',
        PAUSE_MS + 5_000,
        'a node did not rejoin Redis',
      );
    // What Redis ran late (grants, releases) left no lease for the others to wait out: one fetch, at once.
    const after = mods.after as BuiltModule;
    const started = Date.now();
    const late = await Promise.all([a, b, a, b].map((n) => getAlone(`${n.url}${path(after)}`)));
    for (const r of late) expect(r.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(upstream.count(path(after))).toBe(1);
    expect(await redisCall((r) => r.keys('*:lease:*'))).toEqual([]);
    expect(serverErrors(a)).toEqual([]);
    expect(serverErrors(b)).toEqual([]);
  }, 60_000);
});
