// A lease holder's failure that is the upstream's or the checksum database's
// answer (here: bytes that do not match the database) is every waiter's
// answer too: the waiters report it instead of each fetching the artifact
// again (a herd on a failing upstream, and one security alert per node).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, faults } from '../world/index.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { findComponent } from '../support/components.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { waitFor } from '../support/ports.js';

const redisBinary = findComponent('redis-server');
const ZIP = '/example.com/shared/@v/v1.0.0.zip';

describe.skipIf(redisBinary === null)('a lease holder that failed', () => {
  let redis: RunningRedis;
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let a: RunningGodepot;
  let b: RunningGodepot;
  let data: string;
  beforeAll(async () => {
    redis = await startRedis(redisBinary as string);
    const built = await buildModules([
      {
        path: 'example.com/shared',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/shared\n', 's.go': 'package shared\n' },
      },
    ]);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    // Two nodes on one store and one Redis.
    data = await tempDir();
    const storage = new MemoryStorage();
    const node = (name: string): Promise<RunningGodepot> =>
      startGodepot(
        { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, redis: redis.url, 'node-name': name, data },
        { storage },
      );
    a = await node('a');
    b = await node('b');
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await upstream?.close();
    await sumdb?.close();
    await redis?.stop();
    if (data) await removeDir(data);
  });

  it("a checksum mismatch found by the holder is the waiter's answer, without a second fetch", async () => {
    const undoZip = upstream.setFault(faults.alter(), ZIP);
    // The holder's lookup waits on the database, so B's request arrives while A holds the lease.
    const undoLookup = sumdb.setFault(faults.delay(800), '/lookup/', { times: 1 });
    try {
      const first = fetch(a.url + ZIP).then(async (r) => ({ status: r.status, body: await r.text() }));
      await waitFor(async () => upstream.count(ZIP) === 1, 10_000, 'node a asking the upstream for the zip');
      const second = await fetch(b.url + ZIP);
      const body = await second.text();
      expect(second.status, body).toBe(502);
      expect(body).toMatch(/checksum mismatch/);
      const held = await first;
      expect(held.status, held.body).toBe(502);
      expect(body).toBe(held.body);
      expect(upstream.count(ZIP)).toBe(1);
      expect(b.logs.some((l) => l.alert === 'checksum_mismatch')).toBe(false);
    } finally {
      undoZip();
      undoLookup();
    }
  });
});
