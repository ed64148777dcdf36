// Issue 3: the primary checksum database hangs (requests accepted, never
// answered) and a mirror of it is healthy. With godepot's default settings a
// cold build — nothing cached anywhere — verifies every module through the
// mirror. (That a hanging mirror costs the hedge delay, not its time-out, is
// shown in sumdb/mirror-faults without a clock; speed belongs to bench/.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  buildApp,
  buildModules,
  describeRun,
  FakeGoProxy,
  FakeSumDb,
  faults,
  findGo,
  runGo,
  writeApp,
} from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { Dirs, metric, sumdbEnv, text } from './sumdb-support.js';

describe.skipIf(findGo() === null)('a hanging primary checksum database with a healthy mirror', () => {
  const world = buildApp();
  const dirs = new Dirs();
  let upstream: FakeGoProxy;
  let primary: FakeSumDb;
  let mirror: FakeSumDb;
  let godepot: RunningGodepot;

  beforeAll(async () => {
    const built = await buildModules(world.modules);
    upstream = await FakeGoProxy.start(built);
    // Two servers of the same log (same records, same key): the second is a mirror of the first.
    primary = await FakeSumDb.start({ records: built });
    mirror = await FakeSumDb.start({ records: built });
    primary.setFault(faults.hang());
    // Default deadlines, hedge delay and breaker: nothing tuned for the test.
    godepot = await startGodepot({ upstream: upstream.url, sumdb: `${primary.vkey} ${primary.url},${mirror.url}` });
  }, 120_000);

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await primary?.close();
    await mirror?.close();
    await dirs.removeAll();
  });

  it('a cold build verifies through the mirror', async () => {
    const app = await dirs.make('godepot-app-');
    await writeApp(app, world.app);
    const h = await dirs.make();
    const env = sumdbEnv(h, godepot.url, primary.vkey);
    const tidy = await runGo(['mod', 'tidy'], { cwd: app, env, timeoutMs: 120_000 });
    expect(tidy.code, describeRun(tidy)).toBe(0);
    const build = await runGo(['build', '-o', join(h, 'app'), '.'], { cwd: app, env, timeoutMs: 120_000 });
    expect(build.code, describeRun(build)).toBe(0);

    const gosum = await text(join(app, 'go.sum'));
    for (const [path, version] of Object.entries(world.app.selected))
      expect(gosum).toContain(`${path} ${version}/go.mod h1:`);
    // The primary was asked (and hung); the mirror answered; every module godepot stored was verified.
    expect(primary.count()).toBeGreaterThan(0);
    expect(mirror.count('/lookup/')).toBeGreaterThan(0);
    expect(await metric(godepot.url, 'godepot_served_total', { verification: 'unverified' })).toBe(0);
    expect(
      await metric(godepot.url, 'godepot_served_total', { kind: 'zip', verification: 'verified' }),
    ).toBeGreaterThan(0);
  }, 120_000);
});
