// The tree head in shared storage never moves back (README, "One verified
// tree head"), even when one node's write of it is late: node A verifies a
// head and writes it behind its answer, but its PUT is held on the way to
// MinIO; meanwhile the log grows, node B verifies the larger head and stores
// it; then A's PUT arrives. The stored head must still be B's larger one (a
// node that read "smaller" before its PUT must not replace a larger head
// written since).
// SumdbStore.writeNewest (src/sumdb/store.ts) swaps the head in from what it read (S3: a PUT with If-Match):
// A's late PUT is refused, A reads B's larger head and leaves it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { getAlone } from '../support/http.js';
import { haMissing, useHaBackends } from '../support/ha-rig.js';
import { waitFor } from '../support/ports.js';
import { startTcpGate, type TcpGate } from '../support/tcp-gate.js';
import { S3Storage } from '../../src/storage/index.js';

const BUCKET = 'godepot-head-race';
const PREFIX = 'c';

function treeSize(note: Buffer | null): number {
  const size = note?.toString('utf8').split('\n')[1];
  return size === undefined ? -1 : Number(size);
}

describe.skipIf(haMissing)('a late write of the tree head', () => {
  const ha = useHaBackends(BUCKET);
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let m1: BuiltModule;
  let m2: BuiltModule;
  let gate: TcpGate;
  let a: RunningGodepot | undefined;
  let b: RunningGodepot;
  let bucket: S3Storage;

  beforeAll(async () => {
    [m1, m2] = (await buildModules(
      ['one', 'two'].map((n) => ({
        path: `example.com/race/${n}`,
        version: 'v1.0.0',
        files: { 'go.mod': `module example.com/race/${n}\n`, 'a.go': `package ${n}\n` },
      })),
    )) as [BuiltModule, BuiltModule];
    upstream = await FakeGoProxy.start([m1, m2]);
    sumdb = await FakeSumDb.start({ records: [m1] });
    // A's PUT of the tree head stops on the way to MinIO until the test releases it.
    gate = await startTcpGate(ha.minio.endpoint, /^PUT \S*\/sumdb\/\S*\/latest[?\s]/m);
    const shared = {
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      storage: `s3://${BUCKET}/${PREFIX}`,
      redis: ha.redis.url,
      'storage-timeout': '30s',
    };
    a = await startGodepot({ ...shared, 's3-endpoint': gate.url, 'node-name': 'a' });
    b = await startGodepot({ ...shared, 's3-endpoint': ha.minio.endpoint, 'node-name': 'b' });
    bucket = await S3Storage.open({ bucket: BUCKET, prefix: PREFIX, endpoint: ha.minio.endpoint, timeout: 5000 });
  }, 120_000);

  afterAll(async () => {
    gate?.release();
    await a?.close();
    await b?.close();
    await bucket?.close();
    await gate?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('does not replace a larger stored head with the smaller one it read as missing', async () => {
    const latest = `sumdb/${sumdb.name}/latest`;
    const lookup = (n: RunningGodepot, m: BuiltModule) =>
      getAlone(`${n.url}/sumdb/${sumdb.name}/lookup/${m.path}@${m.version}`);
    // A verifies the head of size 1 and answers; its write of that head is held.
    expect((await lookup(a as RunningGodepot, m1)).status).toBe(200);
    await gate.held;
    // The log grows; B verifies the head of size 2 (extending A's, from Redis) and stores it.
    await sumdb.add(m2);
    expect((await lookup(b, m2)).status).toBe(200);
    await waitFor(async () => treeSize(await bucket.get(latest)) === 2, 10_000, "B's head never reached storage");
    // A's late write lands (close waits for the writes behind its answers).
    gate.release();
    await (a as RunningGodepot).close();
    a = undefined;
    expect(treeSize(await bucket.get(latest))).toBe(2);
  }, 60_000);
});
