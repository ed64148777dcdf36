// What a node waiting on another node's fetch lease does with the holder's
// outcome (two nodes, one Redis):
//  - a failure that is the upstream's or the checksum database's answer
//    (here: bytes that do not match the database) is the waiter's answer too:
//    it reports it instead of fetching again (a herd on a failing upstream,
//    and one security alert per node);
//  - "stored", when the waiter's own storage has no copy (a misconfiguration:
//    two machines with the same local --data path, so one Redis namespace and
//    two stores): it fetches the artifact itself, rather than reporting a
//    checksum mismatch for a copy that was never there;
//  - a version list is refreshed by one node, the other reads what it
//    stored; an upstream's 404 for a list is remembered for both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, faults } from '../world/index.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { findComponent } from '../support/components.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { waitFor } from '../support/ports.js';

const redisBinary = findComponent('redis-server');
const zip = (name: string): string => `/example.com/${name}/@v/v1.0.0.zip`;

describe.skipIf(redisBinary === null)('lease outcomes across two nodes', () => {
  let redis: RunningRedis;
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  const started: RunningGodepot[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    redis = await startRedis(redisBinary as string);
    const built = await buildModules(
      ['shared', 'elsewhere'].map((name) => ({
        path: `example.com/${name}`,
        version: 'v1.0.0',
        files: { 'go.mod': `module example.com/${name}\n`, 'a.go': `package ${name}\n` },
      })),
    );
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
  });
  afterAll(async () => {
    for (const g of started) await g.close();
    await upstream?.close();
    await sumdb?.close();
    await redis?.stop();
    for (const d of dirs) await removeDir(d);
  });

  /** Two nodes on one data path (one Redis namespace): one store between them, or each its own. */
  const twoNodes = async (stores: 'one' | 'each its own'): Promise<[RunningGodepot, RunningGodepot]> => {
    const data = await tempDir();
    dirs.push(data);
    const shared = new MemoryStorage();
    const node = async (name: string): Promise<RunningGodepot> => {
      const g = await startGodepot(
        { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, redis: redis.url, 'node-name': name, data },
        { storage: stores === 'one' ? shared : new MemoryStorage() },
      );
      started.push(g);
      // Coordinated only once its Redis connection is up (until then a node fetches alone).
      const redisState = async (): Promise<unknown> =>
        ((await (await fetch(`${g.url}/readyz`)).json()) as { coordination?: { redis?: { state?: string } } })
          .coordination?.redis?.state;
      await waitFor(async () => (await redisState()) === 'up', 10_000, `node ${name} connected to Redis`);
      return g;
    };
    return [await node('a'), await node('b')];
  };

  /** Starts a's request for path; resolves once a has asked the upstream (it then holds the lease), with a's answer to come. */
  const heldBy = async (
    a: RunningGodepot,
    path: string,
  ): Promise<{ readonly answer: Promise<{ status: number; body: string }> }> => {
    const answer = fetch(a.url + path).then(async (r) => ({ status: r.status, body: await r.text() }));
    await waitFor(async () => upstream.count(path) === 1, 10_000, 'node a asking the upstream for the zip');
    return { answer };
  };

  it("a checksum mismatch found by the holder is the waiter's answer, without a second fetch", async () => {
    const [a, b] = await twoNodes('one');
    const path = zip('shared');
    const undoZip = upstream.setFault(faults.alter(), path);
    // The holder's lookup waits on the database, so B's request arrives while A holds the lease.
    const undoLookup = sumdb.setFault(faults.delay(800), '/lookup/', { times: 1 });
    try {
      const first = await heldBy(a, path);
      const second = await fetch(b.url + path);
      const body = await second.text();
      expect(second.status, body).toBe(502);
      expect(body).toMatch(/checksum mismatch/);
      const held = await first.answer;
      expect(held.status, held.body).toBe(502);
      expect(body).toBe(held.body);
      expect(upstream.count(path)).toBe(1);
      expect(b.logs.some((l) => l.alert === 'checksum_mismatch')).toBe(false);
    } finally {
      undoZip();
      undoLookup();
    }
  });

  it('a waiter told "stored" that cannot see the copy fetches it itself and serves it verified', async () => {
    const [a, b] = await twoNodes('each its own');
    const path = zip('elsewhere');
    // A's fetch waits on the upstream, so B's request arrives while A holds the lease.
    const undo = upstream.setFault(faults.delay(800), path, { times: 1 });
    try {
      const first = await heldBy(a, path);
      const second = await fetch(b.url + path);
      const body = await second.text();
      expect(second.status, body).toBe(200);
      expect(second.headers.get('x-godepot-verification')).toBe('verified');
      expect((await first.answer).status).toBe(200);
      expect(upstream.count(path)).toBe(2);
      expect(b.logs.some((l) => String(l.msg).includes("not in this node's storage"))).toBe(true);
    } finally {
      undo();
    }
  });

  it('a version list asked of both nodes at once is fetched from the upstream once', async () => {
    const [a, b] = await twoNodes('one');
    const path = '/example.com/shared/@v/list';
    const before = upstream.count(path);
    const undo = upstream.setFault(faults.delay(800), path, { times: 1 });
    try {
      const answer = fetch(a.url + path).then(async (r) => ({ status: r.status, body: await r.text() }));
      await waitFor(async () => upstream.count(path) === before + 1, 10_000, 'node a asking the upstream for the list');
      const second = await fetch(b.url + path);
      expect(second.status).toBe(200);
      expect(await second.text()).toBe('v1.0.0\n');
      expect(await answer).toEqual({ status: 200, body: 'v1.0.0\n' });
      expect(upstream.count(path)).toBe(before + 1);
    } finally {
      undo();
    }
  });

  it("an upstream's 404 for a version list or @latest is remembered for both nodes", async () => {
    const [a, b] = await twoNodes('one');
    for (const path of ['/example.com/nowhere/@v/list', '/example.com/nowhere/@latest']) {
      const before = upstream.count(path);
      const first = await fetch(a.url + path);
      expect(first.status, await first.text()).toBe(404);
      const second = await fetch(b.url + path);
      expect(second.status, await second.text()).toBe(404);
      expect(upstream.count(path), path).toBe(before + 1);
    }
  });

  it("a node with other upstreams does not take another node's 404 for its own", async () => {
    const data = await tempDir();
    dirs.push(data);
    const shared = new MemoryStorage();
    const empty = await FakeGoProxy.start([]);
    try {
      const node = async (name: string, from: string): Promise<RunningGodepot> => {
        const g = await startGodepot(
          { upstream: from, sumdb: `${sumdb.vkey} ${sumdb.url}`, redis: redis.url, 'node-name': name, data },
          { storage: shared },
        );
        started.push(g);
        await waitFor(
          async () =>
            ((await (await fetch(`${g.url}/readyz`)).json()) as { coordination?: { redis?: { state?: string } } })
              .coordination?.redis?.state === 'up',
          10_000,
          `node ${name} connected to Redis`,
        );
        return g;
      };
      const wrong = await node('wrong', empty.url);
      const right = await node('right', upstream.url);
      const path = '/example.com/elsewhere/@v/v1.0.0.info';
      expect((await fetch(wrong.url + path)).status).toBe(404);
      const r = await fetch(right.url + path);
      expect(r.status, await r.clone().text()).toBe(200);
    } finally {
      await empty.close();
    }
  });
});
