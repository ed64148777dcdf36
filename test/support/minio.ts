// A real MinIO for the tests (DESIGN.md, Tests: a fake S3 is no substitute):
// started on free loopback ports with a temp folder, a bucket created, and
// the AWS environment the S3 backend reads. Located with findComponent.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';

export interface RunningMinio {
  readonly endpoint: string;
  readonly env: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string; AWS_REGION: string };
  /** Creates a bucket (idempotent). */
  makeBucket(name: string): Promise<void>;
  /** Deletes an empty bucket (an operator's `mc rb`). */
  removeBucket(name: string): Promise<void>;
  /** SIGKILLs the server (the store "dies"); start() brings it back on the same port and folder. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const USER = 'godepot-test';
const PASSWORD = 'godepot-test-secret';

export async function startMinio(binary: string): Promise<RunningMinio> {
  const dir = await mkdtemp(join(tmpdir(), 'godepot-minio-'));
  const port = await freePort();
  const consolePort = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const env = { AWS_ACCESS_KEY_ID: USER, AWS_SECRET_ACCESS_KEY: PASSWORD, AWS_REGION: 'us-east-1' };
  let child: ChildProcess | null = null;
  let out = '';
  const start = async (): Promise<void> => {
    const c = spawn(
      binary,
      ['server', dir, '--quiet', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          MINIO_ROOT_USER: USER,
          MINIO_ROOT_PASSWORD: PASSWORD,
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = c;
    c.stdout?.on('data', (b: Buffer) => (out += b.toString('utf8')));
    c.stderr?.on('data', (b: Buffer) => (out += b.toString('utf8')));
    await waitFor(
      async () => {
        if (c.exitCode !== null) throw new Error(`minio exited with ${c.exitCode}:\n${out}`);
        const r = await fetch(`${endpoint}/minio/health/live`).catch(() => null);
        return r?.status === 200;
      },
      30_000,
      `minio did not become live on ${endpoint}`,
    );
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGKILL');
    await once(c, 'exit');
  };
  const adminClient = async (): Promise<import('@aws-sdk/client-s3').S3Client> => {
    const { S3Client } = await import('@aws-sdk/client-s3');
    return new S3Client({
      region: env.AWS_REGION,
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: USER, secretAccessKey: PASSWORD },
    });
  };
  await start();
  return {
    endpoint,
    env,
    async makeBucket(name) {
      const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
      const client = await adminClient();
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } catch (err) {
        if ((err as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw err;
      } finally {
        client.destroy();
      }
    },
    async removeBucket(name) {
      const { DeleteBucketCommand } = await import('@aws-sdk/client-s3');
      const client = await adminClient();
      try {
        await client.send(new DeleteBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
    },
    kill,
    start,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Sets the AWS environment for the S3 backend in this process; returns a restore function. */
export function useAwsEnv(env: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
