// Proves the fakes right with the go command itself, no godepot involved:
// the app tidies and builds against FakeGoProxy + FakeSumDb, the tool
// installs, retractions and MVS behave, and every sumdb/proxy fault is
// caught by Go's own verification.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import {
  FakeGoProxy,
  FakeSumDb,
  SHAPES,
  buildApp,
  buildModules,
  describeRun,
  faults,
  findGo,
  goEnv,
  goPaths,
  runGo,
  writeApp,
  type BuiltModule,
  type FixtureWorld,
  type GoResult,
} from './index.js';

const GO = findGo();

describe.skipIf(GO === null)('the world, judged by the real go command', () => {
  let world: FixtureWorld;
  let built: BuiltModule[];
  let proxy: FakeGoProxy;
  let sumdb: FakeSumDb;
  let root: string;
  let appDir: string;
  let homes = 0;

  const newHome = async (): Promise<string> => mkdtemp(join(root, `home${homes++}-`));
  const envFor = (home: string, db: FakeSumDb = sumdb, extra: Record<string, string> = {}): Record<string, string> =>
    goEnv({ home, proxy: proxy.url, sumdb: db.gosumdb, extra });
  const ok = (r: GoResult): void => {
    expect(r.code, describeRun(r)).toBe(0);
  };
  const fails = (r: GoResult, pattern: RegExp): void => {
    if (process.env.WORLD_DEBUG === '1') console.log(describeRun(r));
    expect(r.code, describeRun(r)).not.toBe(0);
    expect(r.stderr).toMatch(pattern);
  };
  const builtOf = (path: string, version: string): BuiltModule => {
    const m = built.find((b) => b.path === path && b.version === version);
    if (m === undefined) throw new Error(`no fixture ${path}@${version}`);
    return m;
  };
  /** `go mod download` outside any module: every hash goes through the sumdb. */
  const download = async (home: string, env: Record<string, string>, ...mods: string[]): Promise<GoResult> =>
    runGo(['mod', 'download', ...mods], { cwd: home, env, timeoutMs: 60_000 });

  const downloadFresh = async (...mods: string[]): Promise<GoResult> => {
    const home = await newHome();
    return download(home, envFor(home), ...mods);
  };

  beforeAll(async () => {
    world = buildApp(60);
    built = await buildModules(world.modules);
    proxy = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    root = await mkdtemp(join(tmpdir(), 'godepot-world-'));
    appDir = join(root, 'app');
    await writeApp(appDir, world.app);
  });

  afterAll(async () => {
    await proxy?.close();
    await sumdb?.close();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('tidies and builds the app; go.sum holds exactly the hashes the world serves', async () => {
    const home = await newHome();
    const env = envFor(home);
    ok(await runGo(['mod', 'tidy'], { cwd: appDir, env, timeoutMs: 120_000 }));
    const goSum = await readFile(join(appDir, 'go.sum'), 'utf8');
    const served = new Set(built.flatMap((b) => b.goSum.trimEnd().split('\n')));
    const lines = goSum.trimEnd().split('\n');
    for (const line of lines) expect(served, line).toContain(line);
    // Every module of the build list has its zip and go.mod hash recorded.
    const selected = Object.entries(world.app.selected);
    expect(selected.length).toBe(59);
    for (const [path, version] of selected) {
      const m = builtOf(path, version);
      expect(lines).toContain(`${path} ${version} ${m.h1}`);
      expect(lines).toContain(`${path} ${version}/go.mod ${m.goModH1}`);
    }

    ok(await runGo(['build', '-o', 'app.bin', '.'], { cwd: appDir, env, timeoutMs: 180_000 }));
    const run = spawnSync(join(appDir, 'app.bin'), { encoding: 'utf8' });
    // println writes to stderr.
    expect(run.stderr.trimEnd().split('\n')).toEqual(world.app.expectedOutput);
    expect(run.stderr).toContain(`${SHAPES.mvs.path}@${SHAPES.mvs.selected}`);
    expect(run.stderr).toContain(`${SHAPES.prerelease.path}@${SHAPES.prerelease.version}`);
    expect(run.stderr).toContain(`${SHAPES.incompatible.path}@${SHAPES.incompatible.version}`);

    // The go command sends `!` as %21 and really used the checksum database.
    expect(proxy.count('/example.com/%21upper/%21lib/@v/v1.0.0.zip')).toBeGreaterThan(0);
    expect(sumdb.count('/lookup/')).toBeGreaterThan(50);
    expect(sumdb.count('/tile/8/')).toBeGreaterThan(0);
    expect(proxy.count((r) => r.status === undefined || r.status >= 500)).toBe(0);
  });

  it('go install tool@version resolves every hash through the sumdb', async () => {
    const home = await newHome();
    const env = envFor(home);
    const r = await runGo(['install', `${world.tool.pkg}@${world.tool.version}`], {
      cwd: home,
      env,
      timeoutMs: 120_000,
    });
    ok(r);
    const bin = join(goPaths(home).gobin, world.tool.binary);
    expect(spawnSync(bin, { encoding: 'utf8' }).stderr.trimEnd().split('\n')).toEqual(world.tool.expectedOutput);
  });

  it('go list -m -versions hides retracted versions and pseudo-versions', async () => {
    const env = envFor(await newHome());
    const retract = await runGo(['list', '-m', '-versions', SHAPES.retract.path], { cwd: appDir, env });
    ok(retract);
    expect(retract.stdout.trim()).toBe(`${SHAPES.retract.path} v1.0.0 v1.2.0`);
    const all = await runGo(['list', '-m', '-versions', '-retracted', SHAPES.retract.path], { cwd: appDir, env });
    expect(all.stdout.trim()).toBe(`${SHAPES.retract.path} v1.0.0 v1.1.0 v1.2.0`);
    const tagged = await runGo(['list', '-m', '-versions', SHAPES.pseudoAfterTag.path], { cwd: appDir, env });
    expect(tagged.stdout.trim()).toBe(`${SHAPES.pseudoAfterTag.path} ${SHAPES.pseudoAfterTag.tag}`);
  });

  it('go get @latest upgrades past the MVS pick; a retracted version warns', async () => {
    const dir = join(root, 'app-get');
    await cp(appDir, dir, { recursive: true });
    const env = envFor(await newHome());
    const up = await runGo(['get', `${SHAPES.mvs.path}@latest`], { cwd: dir, env });
    ok(up);
    expect(await readFile(join(dir, 'go.mod'), 'utf8')).toContain(`${SHAPES.mvs.path} ${SHAPES.mvs.latest}`);
    const pseudo = await runGo(['get', `${SHAPES.pseudo.path}@latest`], { cwd: dir, env });
    ok(pseudo);
    expect(await readFile(join(dir, 'go.mod'), 'utf8')).toContain(`${SHAPES.pseudo.path} ${SHAPES.pseudo.version}`);
    const back = await runGo(['get', `${SHAPES.retract.path}@${SHAPES.retract.retracted}`], { cwd: dir, env });
    ok(back);
    expect(back.stderr).toMatch(/retracted by module author/);
  });

  it('the zip follows Create: nested module and vendored packages are left out', () => {
    const nested = builtOf(SHAPES.nested.path, SHAPES.nested.version);
    const prefix = `${SHAPES.nested.path}@${SHAPES.nested.version}/`;
    for (const f of SHAPES.nested.dropped) expect(nested.zipEntries).not.toContain(prefix + f);
    expect(nested.zipEntries).toContain(`${prefix}util/util.go`);
    const incompat = builtOf(SHAPES.incompatible.path, SHAPES.incompatible.version);
    expect(incompat.mod.toString()).toBe(`module ${SHAPES.incompatible.path}\n`);
  });

  it('serves the sumdb behind the proxy (GOSUMDB without URL probes <proxy>/sumdb/<name>/supported)', async () => {
    proxy.mountSumDb(sumdb);
    const home = await newHome();
    const env = goEnv({ home, proxy: proxy.url, sumdb: sumdb.vkey });
    const before = proxy.count('/sumdb/localhost.localdev/sumdb/supported');
    ok(await download(home, env, `${SHAPES.upper.path}@${SHAPES.upper.version}`));
    expect(proxy.count('/sumdb/localhost.localdev/sumdb/supported')).toBe(before + 1);
    expect(proxy.count('/sumdb/localhost.localdev/sumdb/lookup/example.com/')).toBeGreaterThan(0);
  });

  it('autoAddFrom: records appended on first lookup, in lookup order, still verify', async () => {
    const lazy = await FakeSumDb.start({ key: 'generate', name: 'sum.example' });
    try {
      lazy.autoAddFrom(proxy);
      const home = await newHome();
      const env = envFor(home, lazy);
      ok(
        await download(
          home,
          env,
          `${SHAPES.upper.path}@${SHAPES.upper.version}`,
          `${SHAPES.gopkgin.path}@${SHAPES.gopkgin.version}`,
        ),
      );
      expect(lazy.size).toBe(2);
      expect(lazy.log.idOf(SHAPES.upper.path, SHAPES.upper.version)).toBeDefined();
    } finally {
      await lazy.close();
    }
  });

  describe('faults are caught by the go command', () => {
    const target = `${SHAPES.majorV1.path}@${SHAPES.majorV1.version}`;

    it('alterRecord: the lookup record does not match the signed tree', async () => {
      const undo = sumdb.setFault(faults.alterRecord(), '/lookup/');
      try {
        fails(await downloadFresh(target), /verifying go\.mod: .*cannot authenticate record data in server response/);
      } finally {
        undo();
      }
    });

    it('alterTile: a flipped tile byte is detected', async () => {
      const undo = sumdb.setFault(faults.alterTile(), '/tile/');
      try {
        fails(await downloadFresh(target), /verifying go\.mod: .*downloaded inconsistent tile/);
      } finally {
        undo();
      }
    });

    it('badSignature: a tree head signed by an impostor key is refused', async () => {
      const undo = sumdb.setFault(faults.badSignature());
      try {
        fails(await downloadFresh(target), /invalid signature for key localhost\.localdev\/sumdb\+00000c67/);
      } finally {
        undo();
      }
    });

    it('proxy alter: a valid zip with the wrong content gives a checksum mismatch', async () => {
      const m = builtOf(SHAPES.gopkgin.path, SHAPES.gopkgin.version);
      const undo = proxy.setFault(faults.alter(), '/gopkg.in/yaml-ish.v1/@v/v1.2.3.zip');
      try {
        const r = await downloadFresh(`${m.path}@${m.version}`);
        fails(r, /verifying module: checksum mismatch/);
        expect(r.stderr).toContain(`localhost.localdev/sumdb: ${m.h1}`);
        expect(r.stderr).toContain('SECURITY ERROR');
      } finally {
        undo();
      }
    });

    it('proxy alter: a changed go.mod gives a go.mod checksum mismatch', async () => {
      const m = builtOf(SHAPES.prerelease.path, 'v1.0.0');
      const undo = proxy.setFault(faults.alter(), '/example.com/pre/@v/v1.0.0.mod');
      try {
        const r = await downloadFresh(`${m.path}@${m.version}`);
        fails(r, /verifying go\.mod: checksum mismatch/);
        expect(r.stderr).toContain(`localhost.localdev/sumdb: ${m.goModH1}`);
      } finally {
        undo();
      }
    });

    it('fork: a different history under the same key is a SECURITY ERROR', async () => {
      const forked = await FakeSumDb.start({ records: built });
      try {
        const home = await newHome();
        const env = envFor(home, forked);
        ok(await download(home, env, target));
        await forked.fork();
        const r = await download(home, env, `${SHAPES.upper.path}@${SHAPES.upper.version}`);
        fails(r, /SECURITY ERROR\ngo\.sum database server misbehavior detected!/);
      } finally {
        await forked.close();
      }
    });
  });
});
