// A node SIGKILLed while it holds an artifact's fetch lease and is halfway
// through the multipart upload of a large zip to the shared MinIO bucket.
// The other node's waiters get the zip once the dead node's lease expires
// (Redis's PTTL of it, never more than the 15 s lease time), fetch it
// themselves, and serve it verified; the dead node's half upload never
// becomes an object (the go command downloads the zip through the other
// node and checks it against the checksum database itself).
// Node A is the real CLI in a child process, reaching MinIO through a TCP
// gate that stops its upload at part 2 (so it is killed exactly there);
// node B runs in this process and reaches MinIO directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { buildModules, describeRun, FakeGoProxy, FakeSumDb, goEnv, runGo } from '../world/index.js';
import type { BuiltModule } from '../world/index.js';
import { startGodepot, type ChildGodepot, type RunningGodepot } from '../support/godepot.js';
import { getAlone } from '../support/http.js';
import { haMissing, useHaBackends } from '../support/ha-rig.js';
import { waitFor } from '../support/ports.js';
import { startTcpGate, type TcpGate } from '../support/tcp-gate.js';
import { S3Storage } from '../../src/storage/index.js';

/** godepot's lease time (coord/redis.ts): a dead holder's lease ends at most this long after its last renewal. */
const LEASE_TTL_MS = 15_000;
const BUCKET = 'godepot-kill';
const PREFIX = 'nodes';

describe.skipIf(haMissing)('a node dies mid-upload', () => {
  const ha = useHaBackends(BUCKET);
  let admin: Redis;
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let big: BuiltModule;
  let gate: TcpGate;
  let a: ChildGodepot;
  let b: RunningGodepot;
  let bucket: S3Storage;

  beforeAll(async () => {
    const { minio, redis } = ha;
    admin = new Redis(redis.url);
    // Incompressible and above the 8 MiB part size: uploaded in parts.
    const path = 'example.com/kill/big';
    [big] = (await buildModules([
      {
        path,
        version: 'v1.0.0',
        files: { 'go.mod': `module ${path}\n`, 'big.go': 'package big\n', 'blob.bin': randomBytes(10 << 20) },
      },
    ])) as [BuiltModule];
    upstream = await FakeGoProxy.start([big]);
    sumdb = await FakeSumDb.start({ records: [big] });
    // Part 2 of A's multipart upload never reaches MinIO.
    gate = await startTcpGate(minio.endpoint, /[?&]partNumber=2(&|\s)/);
    const shared = {
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      storage: `s3://${BUCKET}/${PREFIX}`,
      redis: redis.url,
    };
    a = await ha.spawnNode({ ...shared, 's3-endpoint': gate.url }, 'a');
    b = await startGodepot({ ...shared, 's3-endpoint': minio.endpoint, 'node-name': 'b' });
    bucket = await S3Storage.open({ bucket: BUCKET, prefix: PREFIX, endpoint: minio.endpoint, timeout: 5000 });
  }, 120_000);

  afterAll(async () => {
    await a?.stop('SIGKILL');
    await b?.close();
    await bucket?.close();
    await gate?.close();
    admin?.disconnect();
    await upstream?.close();
    await sumdb?.close();
  });

  /** The multipart uploads MinIO holds unfinished under key. */
  async function unfinished(key: string): Promise<number> {
    const { S3Client, ListMultipartUploadsCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ region: ha.minio.env.AWS_REGION, endpoint: ha.minio.endpoint, forcePathStyle: true });
    try {
      const r = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: `${PREFIX}/${key}` }));
      return (r.Uploads ?? []).length;
    } finally {
      client.destroy();
    }
  }

  it("B's waiters get the zip once A's lease expires; A's half upload is never an object", async () => {
    const m = big;
    const key = `mod/${m.path}/@v/${m.version}.zip`;
    const path = `/${m.path}/@v/${m.version}.zip`;
    // A fetches, verifies, answers its client from its scratch file, and uploads while holding the lease.
    const fromA = getAlone(`${a.url}${path}`);
    await gate.held;
    const [leaseKey] = (await admin.keys('*:lease:*')).filter((k) => k.endsWith('.zip'));
    expect(leaseKey, 'A holds no lease on the zip while it uploads it').toBeDefined();
    // B's clients ask now: B waits on A's lease.
    const waiters = Array.from({ length: 3 }, () => getAlone(`${b.url}${path}`));
    const early = await fromA;
    expect(early.status).toBe(200);
    expect(early.body.equals(m.zip)).toBe(true);
    expect(await unfinished(key)).toBe(1);

    const left = await admin.pttl(leaseKey as string);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(LEASE_TTL_MS);
    await a.stop('SIGKILL');
    const killed = Date.now();
    // While the dead node's lease stands, nothing is visible and nobody fetches again.
    const visible: Array<Buffer | null> = [];
    const watch = (async () => {
      while (Date.now() - killed < left - 500) {
        visible.push(await bucket.get(key));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const answers = await Promise.all(waiters);
    const waited = Date.now() - killed;
    await watch;
    expect(visible.length).toBeGreaterThan(0);
    expect(visible.every((v) => v === null)).toBe(true);
    for (const r of answers) {
      expect(r.status).toBe(200);
      expect(r.headers['x-godepot-verification']).toBe('verified');
      expect(r.body.equals(m.zip)).toBe(true);
    }
    // They waited the lease out (not less: B did not fetch beside a live holder), and not much more.
    expect(waited).toBeGreaterThanOrEqual(left - 250);
    expect(waited).toBeLessThan(left + 5_000);
    expect(upstream.count(`${m.path}/@v/${m.version}.zip`)).toBe(2);
    console.log(`waiters on node B answered ${waited} ms after node A's SIGKILL (its lease had ${left} ms left)`);

    // B's upload (it answered from its scratch file meanwhile) is the object; A's unfinished one stays invisible.
    await waitFor(async () => (await bucket.get(key)) !== null, 10_000, "node B's upload never became the object");
    expect((await bucket.get(key))?.equals(m.zip)).toBe(true);
    expect(await unfinished(key)).toBe(1);
    const h = await ha.dir('godepot-gohome-');
    const dl = await runGo(['mod', 'download', '-json', `${m.path}@${m.version}`], {
      cwd: h,
      env: goEnv({ home: h, proxy: b.url, sumdb: `${sumdb.vkey} ${sumdb.url}` }),
      timeoutMs: 60_000,
    });
    expect(dl.code, describeRun(dl)).toBe(0);
    expect(JSON.parse(dl.stdout) as { Sum?: string }).toMatchObject({ Sum: m.h1 });
    expect(upstream.count(`${m.path}/@v/${m.version}.zip`)).toBe(2);
  }, 60_000);
});
