// Issue 3: the upstream serves a well-formed but altered zip. godepot checks
// its h1 against the checksum database (through its own mirror) before
// storing or serving it: it never answers 200 with it, the go command never
// receives it, and once the upstream heals godepot serves the true bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildApp,
  buildModules,
  describeRun,
  FakeGoProxy,
  FakeSumDb,
  faults,
  findGo,
  goPaths,
  runGo,
  writeApp,
  type BuiltModule,
} from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { bufferSource, verifyModuleZip } from '../../src/modzip/index.js';
import { Dirs, metric, sumdbEnv, text } from './sumdb-support.js';

describe.skipIf(findGo() === null)('an upstream serving an altered zip', () => {
  const world = buildApp();
  const dirs = new Dirs();
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let victim: BuiltModule;
  let altered: BuiltModule;

  const zipPath = (m: BuiltModule): string => `/${m.path}/@v/${m.version}.zip`;

  beforeAll(async () => {
    const built = await buildModules(world.modules);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    godepot = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
    const path = 'example.com/gen/m05';
    const found = built.find((m) => m.path === path && m.version === world.app.selected[path]);
    if (!found) throw new Error(`fixture: ${path} is not in the app`);
    victim = found;
    altered = await upstream.alteredModule(victim);
    expect(altered.h1).not.toBe(victim.h1);
  }, 120_000);

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await dirs.removeAll();
  });

  it('is refused with a 502 naming module, version, expected and received hash; nothing is stored; the go command never gets it', async () => {
    upstream.setFault(faults.alter(), zipPath(victim));
    const before = await metric(godepot.url, 'godepot_checksum_mismatch_total');

    const app = await dirs.make('godepot-app-');
    await writeApp(app, world.app);
    const h = await dirs.make();
    const env = sumdbEnv(h, godepot.url, sumdb.vkey);
    const tidy = await runGo(['mod', 'tidy'], { cwd: app, env, timeoutMs: 120_000 });
    expect(tidy.code, describeRun(tidy)).not.toBe(0);
    expect(tidy.stderr).toContain(`${victim.path}@${victim.version}`);
    expect(tidy.stderr).toContain('502');
    expect(tidy.stderr).toContain('checksum mismatch');
    // The go command never received the altered zip: nothing of it in its module cache, and no SECURITY ERROR of its own.
    expect(existsSync(join(goPaths(h).modcache, 'cache', 'download', victim.path, '@v', `${victim.version}.zip`))).toBe(
      false,
    );
    expect(tidy.stderr).not.toContain('SECURITY ERROR');

    // Asked directly, godepot refuses every time (nothing was kept), with a message the go command prints.
    for (let i = 0; i < 2; i++) {
      const r = await fetch(godepot.url + zipPath(victim));
      const body = await r.text();
      expect(r.status).toBe(502);
      for (const part of [victim.path, victim.version, victim.h1, altered.h1]) expect(body).toContain(part);
    }
    expect(await metric(godepot.url, 'godepot_checksum_mismatch_total')).toBeGreaterThanOrEqual(before + 1);
    await godepot.g.service.idle();
    for (const area of ['mod/', 'unverified/']) {
      const kept = (await godepot.g.storage.list(area)).filter((k) =>
        k.includes(`${victim.path}/@v/${victim.version}.zip`),
      );
      expect(kept, area).toEqual([]);
    }
    // (The listing does see this module: its go.mod, which was not altered, was verified and kept.)
    expect(
      (await godepot.g.storage.list('mod/')).some((k) => k.includes(`${victim.path}/@v/${victim.version}.mod`)),
    ).toBe(true);
    // The log says so at error level, with both hashes.
    const alert = godepot.logs.find((l) => l.alert === 'checksum_mismatch' && l.module === victim.path);
    expect(alert).toMatchObject({ version: victim.version, expected: victim.h1, received: altered.h1 });
  }, 180_000);

  it('once the upstream heals, godepot serves the true bytes and the build succeeds', async () => {
    upstream.clearFaults();
    const r = await fetch(godepot.url + zipPath(victim));
    expect(r.status).toBe(200);
    const bytes = Buffer.from(await r.arrayBuffer());
    expect(bytes.equals(victim.zip)).toBe(true);
    expect((await verifyModuleZip(bufferSource(bytes), { path: victim.path, version: victim.version })).h1).toBe(
      victim.h1,
    );

    const app = await dirs.make('godepot-app-');
    await writeApp(app, world.app);
    const h = await dirs.make();
    const env = sumdbEnv(h, godepot.url, sumdb.vkey);
    for (const args of [
      ['mod', 'tidy'],
      ['build', '-o', join(h, 'app'), '.'],
    ]) {
      const run = await runGo(args, { cwd: app, env, timeoutMs: 120_000 });
      expect(run.code, describeRun(run)).toBe(0);
    }
    expect(await text(join(app, 'go.sum'))).toContain(`${victim.path} ${victim.version} ${victim.h1}\n`);
  }, 180_000);
});
