// Issue 14: a build through node A; node A SIGKILLed and the upstreams down;
// a fresh client builds the same app through node B, which shares A's MinIO
// bucket and Redis, without a single upstream zip request. Node A is the
// real CLI in a child process (so it can be killed), node B runs in this one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  buildApp,
  buildModules,
  describeRun,
  FakeGoProxy,
  FakeSumDb,
  faults,
  goEnv,
  runGo,
  writeApp,
} from '../world/index.js';
import { startGodepot, type ChildGodepot, type RunningGodepot } from '../support/godepot.js';
import { warmCommand } from '../../src/cli/warm.js';
import type { CommandIO } from '../../src/cli/command-settings.js';
import { S3Storage } from '../../src/storage/index.js';
import { haMissing, useHaBackends } from '../support/ha-rig.js';

describe.skipIf(haMissing)('a node dies; the other serves', () => {
  const world = buildApp();
  const ha = useHaBackends('godepot-build');
  const { dir } = ha;
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let a: ChildGodepot;
  let b: RunningGodepot;
  let appDir: string;

  beforeAll(async () => {
    const built = await buildModules(world.modules);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    const shared = {
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      storage: 's3://godepot-build/nodes',
      's3-endpoint': ha.minio.endpoint,
      redis: ha.redis.url,
    };
    a = await ha.spawnNode(shared, 'a');
    b = await startGodepot({ ...shared, 'node-name': 'b' });
    appDir = await dir('godepot-app-');
    await writeApp(appDir, world.app);
  }, 180_000);

  afterAll(async () => {
    await a?.stop('SIGKILL');
    await b?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('builds through A; with A killed and the upstreams down, a fresh client builds through B', async () => {
    const h1 = await dir('godepot-gohome-');
    const envA = goEnv({ home: h1, proxy: a.url, sumdb: sumdb.vkey });
    for (const args of [
      ['mod', 'tidy'],
      ['build', '-o', join(h1, 'app'), '.'],
    ]) {
      const r = await runGo(args, { cwd: appDir, env: envA, timeoutMs: 180_000 });
      expect(r.code, describeRun(r)).toBe(0);
    }
    expect(upstream.count('.zip')).toBeGreaterThan(0);

    await a.stop('SIGKILL');
    upstream.resetLog();
    sumdb.resetLog();
    const undo = [upstream.setFault(faults.hang()), sumdb.setFault(faults.hang())];
    const h2 = await dir('godepot-gohome-');
    const build = await runGo(['build', '-o', join(h2, 'app'), '.'], {
      cwd: appDir,
      env: goEnv({ home: h2, proxy: b.url, sumdb: sumdb.vkey }),
      timeoutMs: 180_000,
    });
    expect(build.code, describeRun(build)).toBe(0);
    expect(upstream.count('.zip')).toBe(0);
    for (const u of undo) u();
  }, 400_000);

  it('godepot warm fills a bucket from a go.sum', async () => {
    let out = '';
    const io: CommandIO = {
      out: (t) => void (out += t),
      err: { write: (t: string) => void (out += t), isTTY: false },
      env: {},
    };
    const code = await warmCommand(
      [
        '--storage',
        's3://godepot-build/warmed',
        '--s3-endpoint',
        ha.minio.endpoint,
        '--upstream',
        upstream.url,
        '--sumdb',
        `${sumdb.vkey} ${sumdb.url}`,
        join(appDir, 'go.sum'),
      ],
      io,
    );
    expect(code, out).toBe(0);
    const bucket = await S3Storage.open({
      bucket: 'godepot-build',
      prefix: 'warmed',
      endpoint: ha.minio.endpoint,
      timeout: 5000,
    });
    try {
      const zips = (await bucket.list('mod/')).filter((k) => k.endsWith('.zip'));
      expect(zips.length).toBeGreaterThanOrEqual(Object.keys(world.app.selected).length);
    } finally {
      await bucket.close();
    }
  }, 300_000);
});
