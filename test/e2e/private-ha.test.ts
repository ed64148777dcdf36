// Private modules on two nodes sharing one bucket and one Redis: the private
// ledger lives in the bucket, so a version one node recorded is pinned for
// every node — a node with a fresh disk, after the cached artifact is gone
// from the bucket, refuses a tag moved since, instead of recording the new
// code as if it were the first fetch. `godepot private ls` reads the bucket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findGo } from '../world/index.js';
import { findComponent } from '../support/components.js';
import { removeDir, startGodepot, type RunningGodepot } from '../support/godepot.js';
import { startMinio, useAwsEnv, type RunningMinio } from '../support/minio.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { S3Storage } from '../../src/storage/index.js';
import { privateCommand } from '../../src/cli/private.js';
import { ledgerKey } from '../../src/vcs/ledger.js';
import { LIB, startPrivateWorld, vcsEnv, type PrivateWorld } from './private-support.js';

const go = findGo();
const git = go === null ? null : findComponent('git');
const minioBinary = findComponent('minio');
const redisBinary = findComponent('redis-server');

describe.skipIf(go === null || git === null || minioBinary === null || redisBinary === null)(
  'the private ledger shared by two nodes',
  () => {
    let world: PrivateWorld;
    let minio: RunningMinio;
    let redis: RunningRedis;
    let restoreEnv: () => void;
    let env: Record<string, string>;
    let bucket: S3Storage;
    const nodes: RunningGodepot[] = [];

    const node = async (name: string): Promise<RunningGodepot> => {
      const g = await startGodepot(
        {
          upstream: world.upstream.url,
          sumdb: `${world.sumdb.vkey} ${world.sumdb.url}`,
          private: 'corp.example/*',
          storage: 's3://godepot-private/cluster',
          's3-endpoint': minio.endpoint,
          redis: redis.url,
          'node-name': name,
        },
        { vcs: { env } },
      );
      nodes.push(g);
      return g;
    };

    beforeAll(async () => {
      world = await startPrivateWorld(git as string);
      env = await vcsEnv(world.git, world.git.netrc());
      minio = await startMinio(minioBinary as string);
      restoreEnv = useAwsEnv(minio.env);
      await minio.makeBucket('godepot-private');
      redis = await startRedis(redisBinary as string);
      bucket = await S3Storage.open({
        bucket: 'godepot-private',
        prefix: 'cluster',
        endpoint: minio.endpoint,
        timeout: 5000,
      });
    }, 120_000);

    afterAll(async () => {
      for (const g of nodes) await g.close();
      await bucket?.close();
      await redis?.stop();
      await minio?.stop();
      restoreEnv?.();
      await world?.close();
      if (env?.HOME) await removeDir(env.HOME);
    });

    it('a version node a recorded is pinned on node b: after the cache is lost, a moved tag is refused there', async () => {
      const a = await node('a');
      const first = await fetch(`${a.url}/${LIB}/@v/v1.0.0.zip`);
      expect(first.status, await first.clone().text()).toBe(200);
      await first.arrayBuffer();
      await a.g.service.idle();
      expect(await bucket.get(ledgerKey(LIB, 'v1.0.0'))).not.toBeNull();

      // The tag moves to other code; the bucket loses the cached artifacts (a lifecycle rule, a clean-up).
      await world.git.commit(LIB, { 'extra.go': 'package lib\n\nconst Extra = 1\n' }, 'sneaky');
      world.git.tag(LIB, 'v1.0.0');
      for (const area of ['mod/', 'unverified/'])
        for (const key of await bucket.list(area)) if (key.includes('corp.example')) await bucket.delete(key);

      const b = await node('b');
      const refetch = await fetch(`${b.url}/${LIB}/@v/v1.0.0.zip`);
      const body = await refetch.text();
      expect(refetch.status, body).toBe(502);
      expect(body).toMatch(/changed at its origin corp\.example.*recorded h1:.*now has h1:/);
      expect(b.logs.some((l) => l.level === 60 && l.alert === 'private_tag_moved')).toBe(true);
      // The operator's view of the shared ledger: read from the bucket, on any machine.
      const ls: string[] = [];
      const code = await privateCommand(
        ['ls', '--storage', 's3://godepot-private/cluster', '--s3-endpoint', minio.endpoint],
        { out: (s: string) => ls.push(s), err: process.stderr, env: { ...process.env, ...minio.env } },
      );
      expect(code).toBe(0);
      expect(ls.join('')).toMatch(new RegExp(`^${LIB} v1\\.0\\.0 h1:\\S+ go\\.mod h1:`, 'm'));
    }, 240_000);
  },
);
