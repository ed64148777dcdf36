// The go command's default, GOTOOLCHAIN=auto (every other test says local):
// a go.mod asking for a newer toolchain, or GOTOOLCHAIN=go1.X.Y, makes the go
// command download golang.org/toolchain@v0.0.1-go1.X.Y.<GOOS>-<GOARCH>
// through GOPROXY, check it against GOSUMDB and exec its bin/go. Through
// godepot that zip is verified before it is served, served from the cache to
// the next client, and refused when it is not the zip the database records.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildToolchain,
  describeRun,
  FakeGoProxy,
  FakeSumDb,
  findGo,
  goPaths,
  requireGo,
  runGo,
  type BuiltModule,
} from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { Dirs, sumdbEnv } from './sumdb-support.js';

describe.skipIf(findGo() === null)('the go command switching toolchains through godepot', () => {
  const dirs = new Dirs();
  let goos = '';
  let goarch = '';
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  /** Recorded in the checksum database as served. */
  let good: BuiltModule;
  /** Served by the upstream, but the database records another zip's hash for it. */
  let forged: BuiltModule;
  /** The zip whose hash the database records for forged's version. */
  let other: BuiltModule;

  const zipPath = (m: BuiltModule): string => `/${m.path}/@v/${m.version}.zip`;
  /** godepot's access-log lines for a path. */
  const served = (path: string): Array<Record<string, unknown>> =>
    godepot.logs.filter((l) => l.msg === 'request' && l.path === path);

  beforeAll(async () => {
    const hostEnv = { PATH: dirname(requireGo()), HOME: tmpdir(), GOENV: 'off', GOTOOLCHAIN: 'local' };
    [goos = '', goarch = ''] = spawnSync(requireGo(), ['env', 'GOOS', 'GOARCH'], { encoding: 'utf8', env: hostEnv })
      .stdout.trim()
      .split('\n');
    [good, forged] = await Promise.all([
      buildToolchain('go1.99.1', goos, goarch),
      buildToolchain('go1.99.2', goos, goarch),
    ]);
    upstream = await FakeGoProxy.start([good, forged]);
    other = await upstream.alteredModule(forged);
    expect(other.h1).not.toBe(forged.h1);
    sumdb = await FakeSumDb.start({ records: [good, { ...forged, h1: other.h1 }] });
    // The direct run (the go command's own judgement of the forged zip) finds the database through the upstream.
    upstream.mountSumDb(sumdb);
    godepot = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'access-log': 'true' });
  }, 30_000);

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await dirs.removeAll();
  });

  it('GOTOOLCHAIN=go1.99.1: the go command runs the toolchain godepot verified and served', async () => {
    const home = await dirs.make();
    const env = sumdbEnv(home, godepot.url, sumdb.vkey, { GOTOOLCHAIN: 'go1.99.1' });
    const r = await runGo(['version'], { cwd: home, env, timeoutMs: 20_000 });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toBe(`go version go1.99.1 ${goos}/${goarch}\n`);
    expect(r.stderr).toContain(`go: downloading go1.99.1 (${goos}/${goarch})`);
    // Unpacked in the module cache, where the go command ran bin/go from.
    const unpacked = join(goPaths(home).modcache, `${good.path}@${good.version}`, 'bin', 'go');
    expect(existsSync(unpacked)).toBe(true);
    expect(served(zipPath(good))).toMatchObject([{ status: 200, cache: 'miss', verification: 'verified' }]);
    expect(upstream.count(zipPath(good))).toBe(1);
  });

  it('GOTOOLCHAIN=auto and a go.mod asking for go1.99.1: the next fresh client gets the toolchain from the cache', async () => {
    const home = await dirs.make();
    await writeFile(join(home, 'go.mod'), 'module example.com/app\n\ngo 1.99.1\n\ntoolchain go1.99.1\n');
    const env = sumdbEnv(home, godepot.url, sumdb.vkey, { GOTOOLCHAIN: 'auto' });
    const r = await runGo(['version'], { cwd: home, env, timeoutMs: 20_000 });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toBe(`go version go1.99.1 ${goos}/${goarch}\n`);
    expect(served(zipPath(good))).toMatchObject([
      { status: 200, cache: 'miss', verification: 'verified' },
      { status: 200, cache: 'hit', verification: 'verified' },
    ]);
    expect(upstream.count(zipPath(good))).toBe(1);
  });

  it('a toolchain zip the checksum database records another hash for is refused, never run', async () => {
    // Directly, the go command downloads it and refuses it itself: the fixture is a real mismatch.
    const direct = await dirs.make();
    const directEnv = sumdbEnv(direct, upstream.url, sumdb.vkey, { GOTOOLCHAIN: 'go1.99.2' });
    const d = await runGo(['version'], { cwd: direct, env: directEnv, timeoutMs: 20_000 });
    expect(d.code, describeRun(d)).not.toBe(0);
    expect(d.stderr).toContain('SECURITY ERROR');

    const home = await dirs.make();
    const env = sumdbEnv(home, godepot.url, sumdb.vkey, { GOTOOLCHAIN: 'go1.99.2' });
    const r = await runGo(['version'], { cwd: home, env, timeoutMs: 20_000 });
    expect(r.code, describeRun(r)).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`go: download go1.99.2: ${forged.path}@${forged.version}: reading ${godepot.url}`);
    expect(r.stderr).toContain('502 Bad Gateway');
    // godepot's words reach the user: what it refused and both hashes.
    expect(r.stderr).toContain(`godepot: checksum mismatch for ${forged.path}@${forged.version}`);
    for (const h1 of [other.h1, forged.h1]) expect(r.stderr).toContain(h1);
    // godepot refused it before the go command saw a byte of it: nothing of it in the module cache.
    expect(
      existsSync(join(goPaths(home).modcache, 'cache', 'download', forged.path, '@v', `${forged.version}.zip`)),
    ).toBe(false);
    for (const l of served(zipPath(forged))) expect(l).toMatchObject({ status: 502 });
    expect(served(zipPath(forged)).length).toBeGreaterThan(0);
    // Asked again, it refuses again: nothing was kept.
    const again = await fetch(godepot.url + zipPath(forged));
    expect(again.status).toBe(502);
    expect(again.headers.get('x-godepot-verification')).not.toBe('verified');
    await godepot.g.service.idle();
    for (const area of ['mod/', 'unverified/']) {
      const kept = (await godepot.g.storage.list(area)).filter((k) =>
        k.includes(`${forged.path}/@v/${forged.version}.zip`),
      );
      expect(kept, area).toEqual([]);
    }
    // The true toolchain is kept, where this looked: the check above can see a kept zip.
    const keptGood = (await godepot.g.storage.list('mod/')).filter((k) =>
      k.includes(`${good.path}/@v/${good.version}.zip`),
    );
    expect(keptGood).toHaveLength(1);
  });
});
