// Issue 6's acceptance for warm and import: a cache filled before the outage
// is what keeps builds going. A godepot filled by `godepot warm` from the
// app's go.sum, or by `godepot import` from the module cache of a machine
// that built the app, serves a fresh client (GOSUMDB on) with the upstream
// proxy and the checksum database both down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { warmCommand } from '../../src/cli/warm.js';
import { importCommand } from '../../src/cli/import.js';
import { exportCommand } from '../../src/cli/export.js';
import {
  buildApp,
  buildModules,
  FakeGoProxy,
  FakeSumDb,
  faults,
  findGo,
  goEnv,
  goPaths,
  runGo,
  describeRun,
  writeApp,
} from '../world/index.js';
import { startGodepot, tempDir, removeDir, type RunningGodepot } from '../support/godepot.js';
import { captureIo } from '../support/io.js';

const go = findGo();

describe.skipIf(go === null)('filling godepot before the outage', () => {
  const world = buildApp();
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let appDir: string;
  let builderHome: string;
  const dirs: string[] = [];
  const running: RunningGodepot[] = [];

  const dir = async (prefix: string): Promise<string> => {
    const d = await tempDir(prefix);
    dirs.push(d);
    return d;
  };
  const serverFlags = (data: string): string[] => [
    '--data',
    data,
    '--upstream',
    upstream.url,
    '--sumdb',
    `${sumdb.vkey} ${sumdb.url}`,
    '--progress',
    'plain',
  ];

  /** With both upstreams hanging, a client with an empty module cache builds the app through godepot, then re-derives go.sum from godepot's checksum database alone. */
  async function buildWithUpstreamsDown(godepot: RunningGodepot): Promise<void> {
    upstream.resetLog();
    sumdb.resetLog();
    const undo = [upstream.setFault(faults.hang()), sumdb.setFault(faults.hang())];
    try {
      const h = await dir('godepot-gohome-');
      const env = goEnv({ home: h, proxy: godepot.url, sumdb: sumdb.vkey });
      const build = await runGo(['build', '-o', join(h, 'app'), '.'], { cwd: appDir, env, timeoutMs: 120_000 });
      expect(build.code, describeRun(build)).toBe(0);
      // Without go.sum every hash must come from godepot's copy of the database (lookups and tiles).
      const copy = await dir('godepot-app-copy-');
      await cp(appDir, copy, { recursive: true });
      await rm(join(copy, 'go.sum'));
      const h2 = await dir('godepot-gohome-');
      const tidy = await runGo(['mod', 'tidy'], {
        cwd: copy,
        env: goEnv({ home: h2, proxy: godepot.url, sumdb: sumdb.vkey }),
        timeoutMs: 120_000,
      });
      expect(tidy.code, describeRun(tidy)).toBe(0);
      expect(await readFile(join(copy, 'go.sum'), 'utf8')).toBe(await readFile(join(appDir, 'go.sum'), 'utf8'));
      expect(
        upstream.requests.length + sumdb.requests.length,
        `godepot asked upstream: ${JSON.stringify([...upstream.requests, ...sumdb.requests])}`,
      ).toBe(0);
    } finally {
      for (const u of undo) u();
    }
  }

  beforeAll(async () => {
    const built = await buildModules(world.modules);
    upstream = await FakeGoProxy.start(built);
    // Records of other modules before and after the app's, so its records span a full and a partial tile.
    sumdb = await FakeSumDb.start();
    const filler = (i: number): string =>
      `example.com/filler/m${i} v1.0.0 h1:${Buffer.alloc(32, i % 256).toString('base64')}\n`;
    for (let i = 0; i < 220; i++) await sumdb.addRecord(filler(i));
    await sumdb.addAll(built);
    for (let i = 220; i < 330; i++) await sumdb.addRecord(filler(i));
    upstream.mountSumDb(sumdb);
    appDir = await dir('godepot-app-');
    await writeApp(appDir, world.app);
    // A machine that built the app straight from the upstream: its module cache holds the database lookups and tiles too.
    builderHome = await dir('godepot-builder-');
    const env = goEnv({ home: builderHome, proxy: upstream.url, sumdb: sumdb.vkey });
    const tidy = await runGo(['mod', 'tidy'], { cwd: appDir, env, timeoutMs: 120_000 });
    expect(tidy.code, describeRun(tidy)).toBe(0);
    const build = await runGo(['build', '-o', join(builderHome, 'app'), '.'], { cwd: appDir, env, timeoutMs: 120_000 });
    expect(build.code, describeRun(build)).toBe(0);
  }, 180_000);

  afterAll(async () => {
    for (const r of running) await r.close();
    await upstream?.close();
    await sumdb?.close();
    for (const d of dirs) await removeDir(d);
  });

  it('godepot warm from the go.sum fills an empty, running godepot that then serves the build alone', async () => {
    const data = await dir('godepot-data-');
    // The server runs on the folder while warm fills it (it has seen nothing yet, not even a tree head).
    const godepot = await startGodepot({ data, upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
    running.push(godepot);
    const c = captureIo();
    const code = await warmCommand([...serverFlags(data), join(appDir, 'go.sum')], c.io);
    expect(code, c.text()).toBe(0);
    const lines = (await readFile(join(appDir, 'go.sum'), 'utf8')).trim().split('\n');
    const versions = new Set(
      lines.map((l) =>
        l
          .split(' ')
          .slice(0, 2)
          .join('@')
          .replace(/\/go\.mod$/, ''),
      ),
    );
    expect(c.text()).toContain(`warmed ${versions.size} of ${versions.size} module versions`);
    // A second run finds everything cached and fetches nothing.
    upstream.resetLog();
    const again = captureIo();
    expect(await warmCommand([...serverFlags(data), join(appDir, 'go.sum')], again.io), again.text()).toBe(0);
    expect(again.text()).toMatch(/ 0 files fetched and verified now/);
    expect(upstream.count('.zip')).toBe(0);
    await buildWithUpstreamsDown(godepot);
  }, 300_000);

  it('godepot warm reports a go.sum that disagrees with the checksum database and exits 1', async () => {
    const data = await dir('godepot-data-');
    const bad = join(await dir('godepot-badsum-'), 'go.sum');
    const sum = await readFile(join(appDir, 'go.sum'), 'utf8');
    const line = sum.split('\n').find((l) => l.startsWith('example.com/major ') && !l.includes('/go.mod')) ?? '';
    expect(line).not.toBe('');
    const forged = line.replace(/h1:.*$/, `h1:${Buffer.alloc(32, 7).toString('base64')}`);
    await writeFile(bad, `${forged}\n`);
    const c = captureIo();
    expect(await warmCommand([...serverFlags(data), bad], c.io)).toBe(1);
    expect(c.text()).toMatch(/go\.sum \(.*\) has h1:BwcH.* for its zip, the checksum database .* has h1:/);
    // Exported from that go.sum, the folder is incomplete: not "next: carry it over".
    const e = captureIo();
    expect(await exportCommand([...serverFlags(data), await dir('godepot-export-'), '--from', bad], e.io)).toBe(1);
    expect(e.text()).toMatch(/not complete: fix what is listed above and export again/);
    expect(e.text()).not.toMatch(/next: carry/);
  }, 120_000);

  it("godepot import of the builder's module cache (--offline: nothing but the folder) fills an empty godepot that then serves the build alone", async () => {
    const data = await dir('godepot-data-');
    const c = captureIo();
    const code = await importCommand([...serverFlags(data), '--offline', goPaths(builderHome).modcache], c.io);
    expect(code, c.text()).toBe(0);
    expect(c.text()).toMatch(/imported (\d+) of \1 module versions.* and [2-9] tiles kept/);
    const godepot = await startGodepot({ data, upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
    running.push(godepot);
    await buildWithUpstreamsDown(godepot);
  }, 300_000);

  it('godepot import (--offline) of a module cache whose lookups each saw a newer tree head fills godepot that then serves the build alone', async () => {
    // A database that appends each record on its first lookup: every answer carries a newer tree head.
    const growing = await FakeSumDb.start();
    const proxy = await FakeGoProxy.start(upstream.all());
    growing.autoAddFrom(proxy);
    proxy.mountSumDb(growing);
    const home = await dir('godepot-builder-');
    const app = await dir('godepot-app-copy-');
    try {
      await cp(appDir, app, { recursive: true });
      await rm(join(app, 'go.sum'));
      const env = goEnv({ home, proxy: proxy.url, sumdb: growing.vkey });
      const tidy = await runGo(['mod', 'tidy'], { cwd: app, env, timeoutMs: 120_000 });
      expect(tidy.code, describeRun(tidy)).toBe(0);
      const build = await runGo(['build', '-o', join(home, 'app'), '.'], { cwd: app, env, timeoutMs: 120_000 });
      expect(build.code, describeRun(build)).toBe(0);
      expect(growing.size).toBeGreaterThan(50);
    } finally {
      await proxy.close();
      await growing.close();
    }
    const data = await dir('godepot-data-');
    const c = captureIo();
    expect(await importCommand([...serverFlags(data), '--offline', goPaths(home).modcache], c.io), c.text()).toBe(0);
    const godepot = await startGodepot({ data, upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
    running.push(godepot);
    await buildWithUpstreamsDown(godepot);
  }, 300_000);

  it('godepot export writes a folder that godepot import (--offline) takes in whole, and a go client can use as GOPROXY=file://', async () => {
    const source = await dir('godepot-data-');
    const out = await dir('godepot-export-');
    const c = captureIo();
    expect(await exportCommand([...serverFlags(source), out, '--from', join(appDir, 'go.sum')], c.io), c.text()).toBe(
      0,
    );
    const target = await dir('godepot-data-');
    const i = captureIo();
    expect(await importCommand([...serverFlags(target), '--offline', out], i.io), i.text()).toBe(0);
    expect(i.text()).toMatch(/imported (\d+) of \1 module versions/);
    // An export holds no data tiles: the import does not go looking for them (it warned once per record).
    expect(i.text()).not.toMatch(/data tile/);
    // Its version lists come too: an offline godepot answers @v/list (and so `go get …@latest`) as file:// does.
    expect(i.text()).toMatch(/\d+ version lists imported/);
    const offline = await startGodepot({ data: target, offline: 'true', upstream: 'off', sumdb: `${sumdb.vkey}` });
    running.push(offline);
    const listed = await fetch(`${offline.url}/example.com/mvs/@v/list`);
    expect(listed.status).toBe(200);
    expect((await listed.text()).trim().split('\n').length).toBeGreaterThan(0);
    // A go.mod altered in the folder is refused, and the report names the folder, not the loopback port it is
    // served on to the import.
    const tampered = await dir('godepot-usb-');
    await cp(out, tampered, { recursive: true });
    const vdir = join(tampered, 'example.com', 'mvs', '@v');
    const mod = (await readdir(vdir)).find((f) => f.endsWith('.mod')) ?? '';
    await writeFile(join(vdir, mod), (await readFile(join(vdir, mod), 'utf8')) + '// altered\n');
    const t = captureIo();
    expect(await importCommand([...serverFlags(await dir('godepot-data-')), '--offline', tampered], t.io)).toBe(1);
    expect(t.text()).toMatch(/checksum mismatch for example\.com\/mvs@/);
    expect(t.text()).toContain(`folder ${tampered}`);
    expect(t.text()).not.toMatch(/http:\/\/127\.0\.0\.1:/);
    // Pointed one level too high (the mount above the folder), it says where the folder is instead of "0 of 0".
    const mount = await dir('godepot-usb-');
    await cp(out, join(mount, 'godepot'), { recursive: true });
    const m = captureIo();
    await expect(importCommand([...serverFlags(await dir('godepot-data-')), '--offline', mount], m.io)).rejects.toThrow(
      `no module versions found in ${mount}; an exported folder or module cache is at ${join(mount, 'godepot')}: import that`,
    );
    // Several candidates (an export beside a data folder's mod/): each is named, not the first one found.
    await cp(out, join(mount, 'data', 'mod'), { recursive: true });
    await expect(importCommand([...serverFlags(await dir('godepot-data-')), '--offline', mount], m.io)).rejects.toThrow(
      /^no module versions found in .*; module versions are in .*, .*: import the one you meant$/,
    );
    const named = await importCommand([...serverFlags(await dir('godepot-data-')), '--offline', mount], m.io).catch(
      (e: Error) => e.message,
    );
    expect(named).toContain(join(mount, 'godepot'));
    expect(named).toContain(join(mount, 'data', 'mod'));
    // Private modules (--nosumdb) cannot be checked against a database: from a foreign folder they are left out, not kept unchecked.
    const privateTarget = await dir('godepot-data-');
    const p = captureIo();
    expect(
      await importCommand([...serverFlags(privateTarget), '--offline', '--nosumdb', 'example.com/gen', out], p.io),
      p.text(),
    ).toBe(0);
    const left =
      /(\d+) module versions were left out: no checksum database can vouch for them \(private, --nosumdb\)/.exec(
        p.text(),
      );
    expect(Number(left?.[1]), p.text()).toBeGreaterThanOrEqual(40);
    expect(existsSync(join(privateTarget, 'mod', 'example.com', 'gen')), 'a --nosumdb module was kept').toBe(false);
    expect(existsSync(join(privateTarget, 'mod', 'example.com', 'mvs')), 'a checked module was not kept').toBe(true);
    // The exported folder is itself a proxy with a checksum database for the go command.
    const h = await dir('godepot-gohome-');
    const undo = [upstream.setFault(faults.status(503)), sumdb.setFault(faults.status(503))];
    try {
      const build = await runGo(['build', '-o', join(h, 'app'), '.'], {
        cwd: appDir,
        env: goEnv({ home: h, proxy: `file://${out}`, sumdb: sumdb.vkey }),
        timeoutMs: 120_000,
      });
      expect(build.code, describeRun(build)).toBe(0);
      const copy = await dir('godepot-app-copy-');
      await cp(appDir, copy, { recursive: true });
      await rm(join(copy, 'go.sum'));
      const h2 = await dir('godepot-gohome-');
      const tidy = await runGo(['mod', 'tidy'], {
        cwd: copy,
        env: goEnv({ home: h2, proxy: `file://${out}`, sumdb: sumdb.vkey }),
        timeoutMs: 120_000,
      });
      expect(tidy.code, describeRun(tidy)).toBe(0);
      expect(await readFile(join(copy, 'go.sum'), 'utf8')).toBe(await readFile(join(appDir, 'go.sum'), 'utf8'));
    } finally {
      for (const u of undo) u();
    }
  }, 300_000);
});
