// Issue 2's acceptance: the real go command builds a ~60-module app through
// godepot; a second client with an empty module cache rebuilds it with the
// upstream down, and godepot asks the upstream for none of the zips it holds.
// The first fill (go mod tidy, go build) runs in beforeAll, so each test
// stands alone on it, whichever of them runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildApp,
  buildModules,
  FakeGoProxy,
  FakeSumDb,
  faults,
  findGo,
  goEnv,
  runGo,
  describeRun,
  writeApp,
  goPaths,
  SHAPES,
} from '../world/index.js';
import { cp } from 'node:fs/promises';
import { startGodepot, tempDir, removeDir, type RunningGodepot } from '../support/godepot.js';
import { metric } from '../support/metrics.js';
import type { BuiltModule, GoResult } from '../world/index.js';

const go = findGo();

describe.skipIf(go === null)('building through godepot with the real go command', () => {
  const world = buildApp();
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let appDir: string;
  let built: BuiltModule[];
  let fill: { tidy: GoResult; build: GoResult };
  const dirs: string[] = [];

  const home = async (): Promise<string> => {
    const d = await tempDir('godepot-gohome-');
    dirs.push(d);
    return d;
  };
  const env = (h: string, extra: Record<string, string> = {}) =>
    goEnv({ home: h, proxy: godepot.url, sumdb: sumdb.vkey, extra });

  beforeAll(async () => {
    built = await buildModules(world.modules);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    godepot = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
    appDir = await tempDir('godepot-app-');
    dirs.push(appDir);
    await writeApp(appDir, world.app);
    // The first client fills godepot's cache; the tests below judge the outcome.
    const h = await home();
    const tidy = await runGo(['mod', 'tidy'], { cwd: appDir, env: env(h), timeoutMs: 120_000 });
    const build = await runGo(['build', '-o', join(h, 'app'), '.'], { cwd: appDir, env: env(h), timeoutMs: 120_000 });
    fill = { tidy, build };
  }, 360_000);

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    for (const d of dirs) await removeDir(d);
  });

  it('go mod tidy and go build, with every checksum checked through godepot', async () => {
    expect(fill.tidy.code, describeRun(fill.tidy)).toBe(0);
    expect(fill.build.code, describeRun(fill.build)).toBe(0);
    // go.sum holds the hashes the go command computed itself from what godepot served: they
    // must be the world's (which test/world/vectors.test.ts checks against independent vectors).
    const gosum = new Set((await readFile(join(appDir, 'go.sum'), 'utf8')).split('\n'));
    let zips = 0;
    for (const [path, version] of Object.entries(world.app.selected)) {
      const m = built.find((b) => b.path === path && b.version === version);
      expect(m, `${path}@${version} in the world`).toBeDefined();
      expect(gosum.has(`${path} ${version}/go.mod ${m?.goModH1}`), `${path}@${version}/go.mod`).toBe(true);
      const zipLine = [...gosum].find((l) => l.startsWith(`${path} ${version} h1:`));
      if (zipLine === undefined) continue;
      expect(zipLine).toBe(`${path} ${version} ${m?.h1}`);
      zips++;
    }
    expect(zips).toBeGreaterThan(0);
    // The go command found the database through godepot (GOSUMDB has no URL): every lookup went through it.
    const lookups = await metric(godepot.url, 'godepot_http_requests_total', { route: 'sumdb_lookup', status: '200' });
    expect(lookups).toBeGreaterThanOrEqual(Object.keys(world.app.selected).length);
    // godepot fetched, verified and kept the data tile around its lookups (its index for an outage).
    expect(sumdb.count('/tile/8/data/')).toBeGreaterThan(0);
    // One upstream fetch per artifact, with the go command's requests and godepot's read-aheads racing.
    const perArtifact = new Map<string, number>();
    for (const r of upstream.requests)
      if (/\.(info|mod|zip)$/.test(r.decodedPath))
        perArtifact.set(r.decodedPath, (perArtifact.get(r.decodedPath) ?? 0) + 1);
    expect(perArtifact.size).toBeGreaterThan(0);
    expect([...perArtifact].filter(([, n]) => n > 1)).toEqual([]);
  });

  it('a fresh client rebuilds with the upstream and the database down; no zip is fetched again', async () => {
    upstream.resetLog();
    sumdb.resetLog();
    const undoProxy = upstream.setFault(faults.hang());
    const undoDb = sumdb.setFault(faults.hang());
    try {
      const h = await home();
      const build = await runGo(['build', '-o', join(h, 'app'), '.'], { cwd: appDir, env: env(h), timeoutMs: 120_000 });
      expect(build.code, describeRun(build)).toBe(0);
      expect(upstream.count('.zip')).toBe(0);
      expect(upstream.count('.mod')).toBe(0);
      expect(goPaths(h).modcache).toBeTruthy();
    } finally {
      undoProxy();
      undoDb();
    }
  }, 240_000);

  it('go install tool@version and go list -m -versions through godepot', async () => {
    const h = await home();
    const install = await runGo(['install', `${world.tool.pkg}@${world.tool.version}`], {
      cwd: h,
      env: env(h),
      timeoutMs: 120_000,
    });
    expect(install.code, describeRun(install)).toBe(0);
    const list = await runGo(['list', '-m', '-versions', 'example.com/retract'], {
      cwd: appDir,
      env: env(h),
      timeoutMs: 60_000,
    });
    expect(list.code, describeRun(list)).toBe(0);
    expect(list.stdout.trim()).toBe('example.com/retract v1.0.0 v1.2.0');
  }, 240_000);

  it('go get mod@latest upgrades through godepot (list, @latest, retractions)', async () => {
    const h = await home();
    const dir = await tempDir('godepot-app-');
    dirs.push(dir);
    await cp(appDir, dir, { recursive: true });
    const get = await runGo(['get', `${SHAPES.mvs.path}@latest`], { cwd: dir, env: env(h), timeoutMs: 120_000 });
    expect(get.code, describeRun(get)).toBe(0);
    expect(await readFile(join(dir, 'go.mod'), 'utf8')).toContain(`${SHAPES.mvs.path} ${SHAPES.mvs.latest}`);
    const retract = await runGo(['get', `${SHAPES.retract.path}@latest`], {
      cwd: dir,
      env: env(h),
      timeoutMs: 120_000,
    });
    expect(retract.code, describeRun(retract)).toBe(0);
    expect(await readFile(join(dir, 'go.mod'), 'utf8')).toContain(`${SHAPES.retract.path} ${SHAPES.retract.version}`);
  }, 240_000);
});
