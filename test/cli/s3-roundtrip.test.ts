// warm, export and import against an object store: an air gap crossed
// between two buckets (MinIO), with a zip large enough to go up in parts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { exportCommand } from '../../src/cli/export.js';
import { importCommand } from '../../src/cli/import.js';
import { warmCommand } from '../../src/cli/warm.js';
import { S3Storage } from '../../src/storage/index.js';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { removeDir, tempDir } from '../support/godepot.js';
import { captureIo } from '../support/io.js';
import { findComponent } from '../support/components.js';
import { startMinio, useAwsEnv, type RunningMinio } from '../support/minio.js';

const minioBinary = findComponent('minio');

describe.skipIf(minioBinary === null)('warm, export and import with --storage s3://', () => {
  let dir: string;
  let minio: RunningMinio;
  let restore: () => void;
  let sumdb: FakeSumDb;
  let upstream: FakeGoProxy;
  let small: BuiltModule;
  let big: BuiltModule;

  beforeAll(async () => {
    dir = await tempDir('godepot-s3-roundtrip-');
    minio = await startMinio(minioBinary as string);
    restore = useAwsEnv({ ...minio.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    await minio.makeBucket('online');
    await minio.makeBucket('offline');
    [small, big] = (await buildModules([
      { path: 'example.com/rt/small', version: 'v1.0.0', files: { 'go.mod': 'module example.com/rt/small\n' } },
      {
        path: 'example.com/rt/big',
        version: 'v1.2.0',
        files: { 'go.mod': 'module example.com/rt/big\n', 'blob.bin': randomBytes(10 << 20) },
      },
    ])) as [BuiltModule, BuiltModule];
    sumdb = await FakeSumDb.start({ records: [small, big] });
    upstream = await FakeGoProxy.start([small, big]);
  }, 60_000);

  afterAll(async () => {
    await upstream?.close();
    await sumdb?.close();
    await minio?.stop();
    restore?.();
    await removeDir(dir);
  });

  it('warms a bucket, exports from it, and imports the export into another bucket', async () => {
    const store = (bucket: string): string[] => [
      ...['--storage', `s3://${bucket}/cache/`, '--s3-endpoint', minio.endpoint, '--sumdb', sumdb.gosumdb],
      ...['--progress', 'none'],
    ];
    const targets = [`${small.path}@${small.version}`, `${big.path}@${big.version}`];
    const w = captureIo();
    expect(
      await warmCommand([...store('online'), '--data', join(dir, 'd1'), '--upstream', upstream.url, ...targets], w.io),
      w.text(),
    ).toBe(0);
    const out = join(dir, 'usb');
    const e = captureIo();
    expect(
      await exportCommand([...store('online'), '--data', join(dir, 'd2'), '--offline', out, ...targets], e.io),
      e.text(),
    ).toBe(0);
    const i = captureIo();
    expect(
      await importCommand([...store('offline'), '--data', join(dir, 'd3'), '--offline', out], i.io),
      i.text(),
    ).toBe(0);
    const s = await S3Storage.open({ bucket: 'offline', prefix: 'cache', endpoint: minio.endpoint, timeout: 5000 });
    try {
      for (const m of [small, big]) {
        const zip = await s.get(`mod/${m.path}/@v/${m.version}.zip`);
        expect(zip?.equals(m.zip), m.path).toBe(true);
      }
    } finally {
      await s.close();
    }
    expect(upstream.count(`${big.path}/@v/${big.version}.zip`)).toBe(1);
  }, 120_000);
});
