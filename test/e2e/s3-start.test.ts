// A godepot that stores in a bucket its credentials may only read stops at
// start, saying what to grant, as it stops on a read-only data folder (found
// in review: it started, /readyz alone said why, and every artifact was
// fetched, verified and not stored, again at each request). A real MinIO and
// temporary read-only credentials from its STS.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findComponent } from '../support/components.js';
import { spawnGodepot } from '../support/godepot.js';
import { READ_ONLY, startMinio, type RunningMinio } from '../support/minio.js';

const minioBinary = findComponent('minio');

describe.skipIf(minioBinary === null)('start on an object store', () => {
  let dir: string;
  let minio: RunningMinio;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'godepot-s3-start-'));
    minio = await startMinio(minioBinary as string);
    await minio.makeBucket('cache');
  }, 60_000);

  afterAll(async () => {
    await minio?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // One worker, and the primary of several (which checks before any worker starts).
  it.each([[['--workers', '1']], [['--workers', '2']]])(
    'refuses a bucket its credentials may only read (%s), naming what to grant and not the secret',
    async (workers) => {
      const env = await minio.envAllowing('cache', READ_ONLY);
      const err = await spawnGodepot(
        [
          ...['--offline', '--data', join(dir, 'data'), ...workers],
          ...['--storage', 's3://cache/godepot', '--s3-endpoint', minio.endpoint],
        ],
        { ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      ).then(
        async (running) => {
          await running.stop();
          return new Error('godepot started');
        },
        (e: unknown) => e as Error,
      );
      expect(err.message).toMatch(/exited with 2 before listening/);
      expect(err.message).toContain('the bucket "cache" is not writable with these AWS credentials');
      expect(err.message).toContain(
        's3:PutObject, s3:DeleteObject and s3:AbortMultipartUpload on s3://cache/godepot/*',
      );
      expect(err.message).not.toContain(env.AWS_SECRET_ACCESS_KEY as string);
      expect(err.message).not.toMatch(/\n\s+at /);
    },
    60_000,
  );
});
