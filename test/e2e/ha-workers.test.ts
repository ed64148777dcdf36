// Two nodes on one MinIO bucket and one redis-server, each with the default
// --workers (auto: one worker per core, 2 here), the real CLI: what a
// platform team running the README's "Run several nodes" gets. The other
// several-node tests run one process per node, so 2 nodes x 2 workers (each
// worker with its own Redis connection, each node's primary coordinating its
// workers while Redis is away) was never seen working. The tests share the
// nodes, in order: Redis is taken away and brought back before the last one
// leaves the upstream's breaker open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule, type FixtureModule } from '../world/index.js';
import { allListening, type ChildGodepot } from '../support/godepot.js';
import { getAlone } from '../support/http.js';
import { haMissing, useHaBackends } from '../support/ha-rig.js';
import { waitFor } from '../support/ports.js';

interface Readiness {
  status: string;
  coordination?: { kind: string; redis?: { state: string } };
  upstreams: Array<{ url: string; state: string }>;
}

interface Trees {
  trees: Array<{ name: string; size: number; rootHash: string | null; status: string }>;
}

interface IncidentView {
  upstream: string;
  end?: string;
  failed: number;
  event?: true;
}

/** GET on a connection of its own (so the kernel may hand it to either worker), parsed as JSON. */
async function json<T>(url: string): Promise<T> {
  const r = await getAlone(url);
  expect(r.status, url).toBe(200);
  return JSON.parse(r.body.toString('utf8')) as T;
}

function mod(name: string): FixtureModule {
  const path = `example.com/haw/${name}`;
  return {
    path,
    version: 'v1.0.0',
    files: { 'go.mod': `module ${path}\n`, 'a.go': `package ${name}\n\n// ${'w'.repeat(1 << 20)}\n` },
  };
}

/** The pids of the workers of node g that logged an answer to a request whose URL contains `part`. */
function answeredBy(g: ChildGodepot, part: string): number[] {
  return g
    .output()
    .split('\n')
    .filter((l) => l.includes('"msg":"request"') && l.includes(part))
    .map((l) => (JSON.parse(l) as { pid: number }).pid);
}

describe.skipIf(haMissing)('two nodes with the default workers on one bucket and one Redis', () => {
  const ha = useHaBackends('godepot-ha-workers');
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let mods: Record<string, BuiltModule>;
  let a: ChildGodepot;
  let b: ChildGodepot;
  const nodes = (): ChildGodepot[] => [a, b];
  /** 24 requests at once for m's zip, each on a connection of its own, half to each node: every answer is whole. */
  const herd = async (m: BuiltModule): Promise<string> => {
    const path = `/${m.path}/@v/${m.version}.zip`;
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) => getAlone(`${(i % 2 === 0 ? a : b).url}${path}`)),
    );
    for (const r of answers) {
      expect(r.status).toBe(200);
      expect(r.body.equals(m.zip)).toBe(true);
    }
    return path;
  };

  beforeAll(async () => {
    const built = await buildModules(['herd', 'l1', 'l2', 'l3', 'l4', 'noredis'].map(mod));
    mods = Object.fromEntries(built.map((m) => [m.path.split('/').pop() as string, m]));
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    const flags = {
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      storage: 's3://godepot-ha-workers/cluster',
      's3-endpoint': ha.minio.endpoint,
      redis: ha.redis.url,
      // An outage is noticed after 3 failures, and not probed again during the file.
      'retry-attempts': '1',
      'breaker-failures': '3',
      'breaker-half-open-after': '10m',
    };
    a = await ha.spawnNode(flags, 'a', [], { defaultWorkers: true });
    b = await ha.spawnNode(flags, 'b', [], { defaultWorkers: true });
    // --workers auto is one worker per core: at least the two these tests are about.
    for (const n of nodes()) expect((await allListening(n, 2)).length).toBeGreaterThanOrEqual(2);
  }, 120_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await upstream?.close();
    await sumdb?.close();
  });

  it('a herd over both workers of both nodes fetches one uncached zip once; every answer is whole', async () => {
    const m = mods.herd as BuiltModule;
    // The upstream takes its time, so every request arrives while the one fetch is under way.
    const undo = upstream.setFault(faults.delay(1500), '.zip');
    try {
      const path = await herd(m);
      expect(upstream.count(`${m.path}/@v/${m.version}.zip`)).toBe(1);
      // Access-log lines are written in batches: wait for all 12 of each node.
      for (const n of nodes())
        await waitFor(async () => answeredBy(n, path).length >= 12, 5_000, 'the access log never showed all answers');
      // Which worker takes a connection is the kernel's choice; record what it chose, for a reader of a failure.
      const pids = nodes().map((n) => new Set(answeredBy(n, path)).size);
      console.log(`herd answered by ${pids.join(' and ')} workers of nodes a and b`);
    } finally {
      undo();
    }
  }, 30_000);

  it('lookups through both nodes end with one verified tree head on every worker', async () => {
    // Each node asks for records the other does not, at once: each lookup may move the head.
    const names = ['l1', 'l2', 'l3', 'l4'];
    const answers = await Promise.all(
      names.map((name, i) => {
        const m = mods[name] as BuiltModule;
        return getAlone(`${(i % 2 === 0 ? a : b).url}/${m.path}/@v/${m.version}.mod`);
      }),
    );
    for (const [i, r] of answers.entries()) {
      expect(r.status).toBe(200);
      expect(r.body.equals((mods[names[i] as string] as BuiltModule).mod)).toBe(true);
    }
    // Several connections to each node, so both workers of each are asked.
    const heads = await Promise.all(
      nodes().flatMap((n) => Array.from({ length: 6 }, () => json<Trees>(`${n.url}/api/sumdb`))),
    );
    const seen = heads.map((h) => {
      const t = h.trees.find((x) => x.name === sumdb.name);
      return `${t?.status} ${t?.size} ${t?.rootHash}`;
    });
    expect(new Set(seen).size, seen.join('\n')).toBe(1);
    const [status, size] = (seen[0] as string).split(' ');
    expect(status).toBe('ok');
    expect(Number(size)).toBeGreaterThan(0);
  }, 30_000);

  it('with Redis killed, both nodes serve hits, and a herd fetches a new zip at most once per node', async () => {
    const hit = mods.herd as BuiltModule;
    const m = mods.noredis as BuiltModule;
    await ha.redis.kill();
    try {
      for (const n of nodes())
        await waitFor(
          async () => (await json<Readiness>(`${n.url}/readyz`)).coordination?.redis?.state === 'down',
          10_000,
          `node ${n.url} did not notice Redis was gone`,
        );
      const hits = await Promise.all(
        Array.from({ length: 12 }, (_, i) => getAlone(`${nodes()[i % 2]?.url}/${hit.path}/@v/${hit.version}.zip`)),
      );
      for (const r of hits) {
        expect(r.status).toBe(200);
        expect(r.body.equals(hit.zip)).toBe(true);
      }
      const undo = upstream.setFault(faults.delay(1500), '.zip');
      try {
        await herd(m);
        // Each node's workers coordinate through their primary: once per node at most, not once per worker.
        const fetched = upstream.count(`${m.path}/@v/${m.version}.zip`);
        expect(fetched).toBeGreaterThanOrEqual(1);
        expect(fetched).toBeLessThanOrEqual(2);
      } finally {
        undo();
      }
    } finally {
      await ha.redis.start();
    }
    // Every worker rejoins: several connections to each node all say Redis is up.
    for (const n of nodes())
      await waitFor(
        async () => {
          const states = await Promise.all(
            Array.from(
              { length: 4 },
              async () => (await json<Readiness>(`${n.url}/readyz`)).coordination?.redis?.state,
            ),
          );
          return states.every((s) => s === 'up');
        },
        15_000,
        `node ${n.url} did not rejoin Redis`,
      );
  }, 30_000);

  it("shows one outage in either node's /api/incidents, whichever worker answers", async () => {
    upstream.setFault(faults.status(503, 'down for maintenance'), '/example.com/');
    const info = (n: ChildGodepot, i: number): Promise<{ status: number }> =>
      getAlone(`${n.url}/example.com/outage/m${i}/@v/v1.0.0.info`);
    const open = async (n: ChildGodepot): Promise<boolean> =>
      (await json<Readiness>(`${n.url}/readyz`)).upstreams.find((u) => u.url === upstream.url)?.state === 'open';
    // Failures on node A until its breaker opens (each worker counts its own; bounded either way).
    for (let i = 0; i < 12 && !(await open(a)); i++) expect((await info(a, i)).status).toBe(502);
    expect(await open(a)).toBe(true);
    // B learns it through Redis; a request there fails (fast, or on its own) and counts in the same outage.
    await waitFor(() => open(b), 10_000, "node B never followed node A's breaker");
    expect((await info(b, 100)).status).toBe(502);
    const outages = async (n: ChildGodepot): Promise<IncidentView[]> =>
      (await json<IncidentView[]>(`${n.url}/api/incidents`)).filter((i) => i.upstream === upstream.url && !i.event);
    const views = async (): Promise<IncidentView[][]> =>
      Promise.all(nodes().flatMap((n) => Array.from({ length: 4 }, () => outages(n))));
    // Each process writes its records every few seconds and reads the group's view anew after a while: wait
    // until every answer counts both A's request that opened its breaker and B's (two records, one outage).
    await waitFor(
      async () => (await views()).every((v) => v.reduce((sum, i) => sum + i.failed, 0) >= 2),
      20_000,
      "the outage never showed both nodes' failed requests",
    );
    // One, not one per worker or node, whichever worker of either node answers.
    for (const v of await views()) {
      expect(v).toHaveLength(1);
      expect(v[0]?.end).toBeUndefined();
    }
  }, 30_000);
});
