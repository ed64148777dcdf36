// --offline: a build and `go list -m mod@latest` succeed from the cache, an
// uncached module gets 404 (so the go command moves on), and the upstreams
// receive no request at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  buildApp,
  buildModules,
  describeRun,
  FakeGoProxy,
  FakeSumDb,
  findGo,
  goEnv,
  runGo,
  SHAPES,
  writeApp,
} from '../world/index.js';
import { startGodepot, removeDir, tempDir } from '../support/godepot.js';

const go = findGo();

describe.skipIf(go === null)('godepot --offline', () => {
  const world = buildApp();
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let appDir: string;
  let data: string;
  const dirs: string[] = [];
  const home = async (): Promise<string> => {
    const d = await tempDir('godepot-gohome-');
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    const built = await buildModules(world.modules);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    appDir = await tempDir('godepot-app-');
    data = await tempDir();
    dirs.push(appDir, data);
    await writeApp(appDir, world.app);
    // Online first: fill the cache the way a CI fleet would.
    const online = await startGodepot({ data, upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
    try {
      const h = await home();
      const env = goEnv({ home: h, proxy: online.url, sumdb: sumdb.vkey });
      const tidy = await runGo(['mod', 'tidy'], { cwd: appDir, env, timeoutMs: 120_000 });
      expect(tidy.code, describeRun(tidy)).toBe(0);
      const latest = await runGo(['list', '-m', `${SHAPES.mvs.path}@latest`], { cwd: appDir, env, timeoutMs: 60_000 });
      expect(latest.code, describeRun(latest)).toBe(0);
    } finally {
      await online.close();
    }
  }, 240_000);
  afterAll(async () => {
    await upstream.close();
    await sumdb.close();
    for (const d of dirs) await removeDir(d);
  });

  it('builds and answers @latest from the cache without contacting any upstream', async () => {
    upstream.resetLog();
    sumdb.resetLog();
    const offline = await startGodepot({
      data,
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      offline: 'true',
    });
    try {
      const h = await home();
      const env = goEnv({ home: h, proxy: offline.url, sumdb: sumdb.vkey });
      const build = await runGo(['build', '-o', join(h, 'app'), '.'], { cwd: appDir, env, timeoutMs: 120_000 });
      expect(build.code, describeRun(build)).toBe(0);
      const latest = await runGo(['list', '-m', `${SHAPES.mvs.path}@latest`], { cwd: appDir, env, timeoutMs: 60_000 });
      expect(latest.code, describeRun(latest)).toBe(0);
      expect(latest.stdout.trim()).toBe(`${SHAPES.mvs.path} ${SHAPES.mvs.latest}`);

      const miss = await fetch(`${offline.url}/example.com/never-seen/@v/v1.0.0.info`);
      expect([404, 410]).toContain(miss.status);
      expect(await miss.text()).toMatch(/offline/);
      const missList = await fetch(`${offline.url}/example.com/never-seen/@v/list`);
      expect([404, 410]).toContain(missList.status);
      const get = await runGo(['mod', 'download', 'example.com/never-seen@v1.0.0'], { cwd: h, env, timeoutMs: 60_000 });
      expect(get.code).not.toBe(0);
      expect(get.stderr).toMatch(/404 Not Found/);

      expect(upstream.requests).toEqual([]);
      expect(sumdb.requests).toEqual([]);
    } finally {
      await offline.close();
    }
  }, 240_000);
});
