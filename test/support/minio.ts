// A real MinIO for the tests (DESIGN.md, Tests: a fake S3 is no substitute):
// started on free loopback ports with a temp folder, a bucket created, and
// the AWS environment the S3 backend reads. Located with findComponent.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createHash, createHmac } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';
import type { TestCert } from './tls.js';

export interface RunningMinio {
  readonly endpoint: string;
  readonly env: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string; AWS_REGION: string };
  /** Creates a bucket (idempotent). */
  makeBucket(name: string): Promise<void>;
  /** Deletes an empty bucket (an operator's `mc rb`). */
  removeBucket(name: string): Promise<void>;
  /**
   * Temporary credentials (STS AssumeRole) that may do only these actions on the bucket and its objects
   * (READ_ONLY: an operator's read-only key). As AWS_* variables, for useAwsEnv.
   */
  envAllowing(bucket: string, actions: readonly string[]): Promise<Record<string, string>>;
  /** SIGKILLs the server (the store "dies"); start() brings it back on the same port and folder. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOPs the server: connections stay open and nothing answers (a store that hangs); resume() SIGCONTs it. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** What a read-only key may do (envAllowing). */
/**
 * Reads chunks until they end or fail, pausing the store once 1 MiB has come
 * (so the read is still waiting on it), and resuming it after 8 s at the
 * latest: a reader that would wait for ever then fails its test instead of
 * hanging it. Returns the bytes read, what ended the read (null: it ended
 * whole) and how long it waited after the pause.
 */
export async function readFreezingHalfway(
  chunks: AsyncIterable<Uint8Array>,
  store: Pick<RunningMinio, 'pause' | 'resume'>,
): Promise<{ got: number; err: unknown; waitedMs: number }> {
  let got = 0;
  let frozenAt = 0;
  let thaw: NodeJS.Timeout | undefined;
  const err = await (async () => {
    for await (const c of chunks) {
      got += c.length;
      if (frozenAt === 0 && got >= 1 << 20) {
        store.pause();
        frozenAt = Date.now();
        thaw = setTimeout(() => store.resume(), 8000);
      }
    }
    return null;
  })().catch((e: unknown) => e);
  const waitedMs = Date.now() - frozenAt;
  clearTimeout(thaw);
  store.resume();
  return { got, err, waitedMs };
}

export const READ_ONLY = ['s3:GetObject', 's3:ListBucket', 's3:GetBucketLocation'];

const USER = 'godepot-test';
const PASSWORD = 'godepot-test-secret';

/** Status of GET url, trusting ca for https (null when it cannot be reached). */
function statusOf(url: string, ca?: string): Promise<number | null> {
  if (ca === undefined)
    return fetch(url)
      .then((r) => r.status)
      .catch(() => null);
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

/**
 * Starts MinIO on loopback; with `tls` (a certificate for IP:127.0.0.1) it
 * serves https only, as a company's MinIO signed by a private CA would.
 */
export async function startMinio(
  binary: string,
  opts: { tls?: TestCert; region?: string } = {},
): Promise<RunningMinio> {
  const dir = await mkdtemp(join(tmpdir(), 'godepot-minio-'));
  const port = await freePort();
  const consolePort = await freePort();
  const endpoint = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const certsDir = join(dir, '.certs');
  if (opts.tls) {
    await mkdir(certsDir);
    await copyFile(opts.tls.certFile, join(certsDir, 'public.crt'));
    await copyFile(opts.tls.keyFile, join(certsDir, 'private.key'));
  }
  const env = { AWS_ACCESS_KEY_ID: USER, AWS_SECRET_ACCESS_KEY: PASSWORD, AWS_REGION: opts.region ?? 'us-east-1' };
  let child: ChildProcess | null = null;
  let out = '';
  const start = async (): Promise<void> => {
    const c = spawn(
      binary,
      [
        ...['server', join(dir, 'data'), '--quiet', '--address', `127.0.0.1:${port}`],
        ...['--console-address', `127.0.0.1:${consolePort}`, '--certs-dir', certsDir],
      ],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          MINIO_ROOT_USER: USER,
          MINIO_ROOT_PASSWORD: PASSWORD,
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
          ...(opts.region ? { MINIO_SITE_REGION: opts.region } : {}),
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
        return (await statusOf(`${endpoint}/minio/health/live`, opts.tls?.cert)) === 200;
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
      ...(opts.tls ? { requestHandler: { httpsAgent: { ca: opts.tls.cert } } } : {}),
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
    async envAllowing(bucket, actions) {
      const policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: actions,
            Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
          },
        ],
      });
      const body = new URLSearchParams({ Action: 'AssumeRole', Version: '2011-06-15', Policy: policy }).toString();
      const res = await stsPost(endpoint, body, opts.tls?.cert);
      const field = (name: string): string => {
        const m = new RegExp(`<${name}>([^<]+)</${name}>`).exec(res);
        if (!m) throw new Error(`minio AssumeRole answered no ${name}: ${res.slice(0, 500)}`);
        return m[1] as string;
      };
      return {
        AWS_ACCESS_KEY_ID: field('AccessKeyId'),
        AWS_SECRET_ACCESS_KEY: field('SecretAccessKey'),
        AWS_SESSION_TOKEN: field('SessionToken'),
        AWS_REGION: env.AWS_REGION,
      };
    },
    kill,
    start,
    pause() {
      (child as ChildProcess | null)?.kill('SIGSTOP');
    },
    resume() {
      (child as ChildProcess | null)?.kill('SIGCONT');
    },
    async stop() {
      (child as ChildProcess | null)?.kill('SIGCONT');
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A POST to MinIO's STS endpoint, signed (SigV4) with the root credentials; the answer's body. */
async function stsPost(endpoint: string, body: string, ca?: string): Promise<string> {
  const url = new URL(endpoint);
  const date = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = date.slice(0, 8);
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
  const hmac = (key: string | Buffer, s: string): Buffer => createHmac('sha256', key).update(s).digest();
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    host: url.host,
    'x-amz-content-sha256': sha(body),
    'x-amz-date': date,
  };
  const names = Object.keys(headers).sort();
  const canonical = ['POST', '/', '', ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), sha(body)];
  const scope = `${day}/us-east-1/sts/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, sha(canonical.join('\n'))].join('\n');
  let key = hmac(`AWS4${PASSWORD}`, day);
  for (const part of ['us-east-1', 'sts', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const authorization = `AWS4-HMAC-SHA256 Credential=${USER}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { method: 'POST', headers: { ...headers, authorization }, ...(ca ? { ca } : {}) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(text) : reject(new Error(`STS ${res.statusCode}: ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
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

/** For a relay in front of MinIO: passes req on to endpoint as it came, and the answer back as it comes. */
export function forwardTo(endpoint: string, req: IncomingMessage, res: ServerResponse): void {
  const to = new URL(endpoint);
  const up = httpRequest(
    { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
    (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
      r.on('error', () => res.destroy());
    },
  );
  up.on('error', () => res.destroy());
  req.pipe(up);
}
