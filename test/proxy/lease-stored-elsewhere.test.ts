// Two nodes coordinated through one Redis but each on its own storage (a
// misconfiguration: two machines with the same local --data path). A waiter told "stored"
// by the other node finds no copy in its own storage: it fetches the
// artifact itself, rather than reporting a checksum mismatch for a copy that
// was never there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, faults } from '../world/index.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { findComponent } from '../support/components.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { waitFor } from '../support/ports.js';

const redisBinary = findComponent('redis-server');
const ZIP = '/example.com/elsewhere/@v/v1.0.0.zip';

describe.skipIf(redisBinary === null)('a lease outcome "stored" that this node cannot see', () => {
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
        path: 'example.com/elsewhere',
        version: 'v1.0.0',
        files: {
          'go.mod': 'module example.com/elsewhere\n',
          'e.go': 'package elsewhere\n',
        },
      },
    ]);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    // One data path (so one Redis namespace), but each node its own storage: as two machines with a local folder each.
    data = await tempDir();
    const node = (name: string): Promise<RunningGodepot> =>
      startGodepot(
        { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, redis: redis.url, 'node-name': name, data },
        { storage: new MemoryStorage() },
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

  it('the waiter fetches it itself and serves it verified', async () => {
    // A's fetch waits on the upstream, so B's request arrives while A holds the lease.
    const undo = upstream.setFault(faults.delay(800), ZIP, { times: 1 });
    try {
      const first = fetch(a.url + ZIP).then(async (r) => ({ r, body: await r.arrayBuffer() }));
      await waitFor(async () => upstream.count(ZIP) === 1, 10_000, 'node a asking the upstream for the zip');
      const second = await fetch(b.url + ZIP);
      const body = await second.text();
      expect(second.status, body).toBe(200);
      expect(second.headers.get('x-godepot-verification')).toBe('verified');
      expect((await first).r.status).toBe(200);
      expect(upstream.count(ZIP)).toBe(2);
      expect(b.logs.some((l) => String(l.msg).includes("not in this node's storage"))).toBe(true);
    } finally {
      undo();
    }
  });
});
