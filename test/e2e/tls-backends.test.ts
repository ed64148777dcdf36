// The object store and Redis trust the CAs the go command trusts, like the
// upstreams (found 2026-12-05: upstreams had learnt the system's store, while
// an https MinIO or a rediss:// Redis signed by a company's CA installed there
// could not be reached: Node's bundled list was all they trusted). Real MinIO
// and redis-server speaking TLS only, with a certificate of their own; a
// served godepot reads its trust from its own environment (SSL_CERT_FILE, as
// the go command does), so these tests see the defaults a user gets.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { findComponent } from '../support/components.js';
import { spawnGodepot } from '../support/godepot.js';
import { startMinio, useAwsEnv, type RunningMinio } from '../support/minio.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { hasOpenssl, selfSignedCert, type TestCert } from '../support/tls.js';
import { waitFor } from '../support/ports.js';
import { S3Storage } from '../../src/storage/index.js';

const minioBinary = findComponent('minio');
const redisBinary = findComponent('redis-server');

interface Readiness {
  storage: { kind: string; writable: boolean };
  coordination?: { kind: string; redis?: { state: string; error?: string } };
}

describe.skipIf(minioBinary === null || redisBinary === null || !hasOpenssl)(
  'object store and Redis over TLS with a private CA',
  () => {
    let dir: string;
    let cert: TestCert;
    let minio: RunningMinio;
    let redis: RunningRedis;
    let upstream: FakeGoProxy;
    let sumdb: FakeSumDb;
    let m: BuiltModule;
    /** An empty SSL_CERT_DIR: the machine's own store stays out of these tests. */
    let noDir: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'godepot-tls-backends-'));
      noDir = await mkdtemp(join(tmpdir(), 'godepot-no-certs-'));
      cert = selfSignedCert(dir, 'backends', 'IP:127.0.0.1');
      minio = await startMinio(minioBinary as string, { tls: cert });
      await minio.makeBucket('tls-bucket');
      redis = await startRedis(redisBinary as string, { tls: cert });
      [m] = (await buildModules([
        {
          path: 'example.com/tls/backends',
          version: 'v1.0.0',
          files: { 'go.mod': 'module example.com/tls/backends\n' },
        },
      ])) as [BuiltModule];
      upstream = await FakeGoProxy.start([m]);
      sumdb = await FakeSumDb.start({ records: [m] });
    }, 120_000);

    afterAll(async () => {
      await upstream?.close();
      await sumdb?.close();
      await redis?.stop();
      await minio?.stop();
      await rm(dir, { recursive: true, force: true });
      await rm(noDir, { recursive: true, force: true });
    });

    const args = (): string[] => [
      ...['--upstream', upstream.url, '--sumdb', `${sumdb.vkey} ${sumdb.url}`, '--data', join(dir, 'data')],
      ...['--storage', 's3://tls-bucket/cache', '--s3-endpoint', minio.endpoint, '--redis', redis.url],
    ];

    it('with the CA in SSL_CERT_FILE, stores in the https bucket and coordinates through rediss://', async () => {
      const g = await spawnGodepot(args(), { ...minio.env, SSL_CERT_FILE: cert.certFile, SSL_CERT_DIR: noDir });
      try {
        await waitFor(
          async () => {
            const r = (await (await fetch(`${g.url}/readyz`)).json()) as Readiness;
            return r.coordination?.redis?.state === 'up';
          },
          10_000,
          `Redis over TLS never came up:\n${g.output()}`,
        );
        const r = await fetch(`${g.url}/${m.path}/@v/${m.version}.mod`);
        expect(r.status).toBe(200);
        expect(await r.text()).toBe(m.mod.toString());
        // The bytes are in the bucket, read back over TLS by the storage itself, trusting the same CA.
        const restoreEnv = useAwsEnv(minio.env);
        const bucket = await S3Storage.open({
          bucket: 'tls-bucket',
          prefix: 'cache',
          endpoint: minio.endpoint,
          timeout: 5000,
          trust: { secureContext: createSecureContext({ ca: cert.cert }) },
        });
        try {
          await waitFor(
            async () => (await bucket.get(`mod/${m.path}/@v/${m.version}.mod`))?.equals(m.mod) === true,
            10_000,
            'the .mod never reached the bucket',
          );
        } finally {
          await bucket.close();
          restoreEnv();
        }
      } finally {
        await g.stop();
      }
    }, 60_000);

    it('an http endpoint of the https store fails the start saying to write https://', async () => {
      // Found in review: "cannot reach the object store …: HTTP 400 UnknownError" (the web server's answer to
      // plain HTTP on its TLS port; a HEAD's has no body).
      const endpoint = minio.endpoint.replace(/^https:/, 'http:');
      const restoreEnv = useAwsEnv(minio.env);
      try {
        const err = await S3Storage.open({ bucket: 'tls-bucket', prefix: 'cache', endpoint, timeout: 5000 }).catch(
          (e: unknown) => e,
        );
        expect((err as Error).message).toBe(
          `cannot reach the object store s3://tls-bucket/cache at ${endpoint}: it answered HTTP 400 without an S3 request id, as a store that serves only https does to plain HTTP; if it serves https, write --s3-endpoint with https://`,
        );
      } finally {
        restoreEnv();
      }
    });

    it('without the CA, the start fails naming the object store and the fix', async () => {
      const g = spawnGodepot(args(), { ...minio.env, SSL_CERT_FILE: join(noDir, 'none.pem'), SSL_CERT_DIR: noDir });
      const err = await g.then(
        async (running) => {
          await running.stop();
          return new Error('godepot started');
        },
        (e: unknown) => e as Error,
      );
      expect(err.message).toMatch(/exited with 2 before listening/);
      expect(err.message).toContain(`cannot reach the object store s3://tls-bucket/cache at ${minio.endpoint}`);
      expect(err.message).toMatch(/does not trust.*SSL_CERT_FILE or NODE_EXTRA_CA_CERTS/);
      expect(err.message).not.toMatch(/\n\s+at /);
    }, 60_000);

    it('without the CA, Redis is reported down with the fix, and godepot serves on', async () => {
      const g = await spawnGodepot(
        [
          ...['--upstream', upstream.url, '--sumdb', `${sumdb.vkey} ${sumdb.url}`, '--data', join(dir, 'fs-data')],
          ...['--redis', redis.url],
        ],
        { SSL_CERT_FILE: join(noDir, 'none.pem'), SSL_CERT_DIR: noDir },
      );
      try {
        const ready = (await (await fetch(`${g.url}/readyz`)).json()) as Readiness;
        expect(ready.coordination?.redis?.state).toBe('down');
        expect(ready.coordination?.redis?.error).toMatch(/does not trust.*SSL_CERT_FILE or NODE_EXTRA_CA_CERTS/);
        expect((await fetch(`${g.url}/${m.path}/@v/${m.version}.mod`)).status).toBe(200);
      } finally {
        await g.stop();
      }
    }, 60_000);
  },
);
