// Issue 3, "the outage itself": after one warm-up build through godepot, the
// upstream proxy and the checksum database both hang (requests accepted,
// never answered). A fresh CI job — empty module cache, empty go sumdb
// state, GOSUMDB on — runs go mod tidy, go build and go install tool@version
// through godepot, and go.sum comes out the same. (How fast is a matter for
// bench/, not for this test; the tree head's age moves on a fake clock.)
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
import { ManualClock } from '../../src/util/clock.js';
import { checkout, Dirs, metric, sumdbEnv, text } from './sumdb-support.js';

describe.skipIf(findGo() === null)('checksum database and upstream both hang after a warm-up', () => {
  const world = buildApp();
  const dirs = new Dirs();
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let appDir: string;
  let warmGoSum: string;
  let warmLatest: Buffer;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    const built = await buildModules(world.modules);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    // A short tree-head TTL: during the outage godepot's head is stale and must be served stale, fast.
    godepot = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'sumdb-ttl': '1s' },
      { compose: { clock } },
    );
    appDir = await dirs.make('godepot-app-');
    await writeApp(appDir, world.app);

    // The warm-up: one CI job that fills godepot.
    const h = await dirs.make();
    const env = sumdbEnv(h, godepot.url, sumdb.vkey);
    for (const args of [
      ['mod', 'tidy'],
      ['build', '-o', join(h, 'app'), '.'],
    ]) {
      const r = await runGo(args, { cwd: appDir, env, timeoutMs: 120_000 });
      expect(r.code, describeRun(r)).toBe(0);
    }
    const install = await runGo(['install', `${world.tool.pkg}@${world.tool.version}`], {
      cwd: h,
      env,
      timeoutMs: 120_000,
    });
    expect(install.code, describeRun(install)).toBe(0);
    warmGoSum = await text(join(appDir, 'go.sum'));
    warmLatest = Buffer.from(await (await fetch(`${godepot.url}/sumdb/${sumdb.name}/latest`)).arrayBuffer());
  }, 240_000);

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await dirs.removeAll();
  });

  it('a fresh CI job tidies, builds and installs and gets the same go.sum', async () => {
    clock.advance(1_100); // the tree head is now older than its TTL
    upstream.setFault(faults.hang());
    sumdb.setFault(faults.hang());
    upstream.resetLog();
    sumdb.resetLog();
    try {
      const h = await dirs.make();
      const job = await dirs.make('godepot-ci-');
      // The checkout has go.mod and the sources but no go.sum: every hash is looked up through godepot.
      await checkout(appDir, job, false);
      const env = sumdbEnv(h, godepot.url, sumdb.vkey);
      const tidy = await runGo(['mod', 'tidy'], { cwd: job, env, timeoutMs: 120_000 });
      expect(tidy.code, describeRun(tidy)).toBe(0);
      const build = await runGo(['build', '-o', join(h, 'app'), '.'], { cwd: job, env, timeoutMs: 120_000 });
      expect(build.code, describeRun(build)).toBe(0);
      const install = await runGo(['install', `${world.tool.pkg}@${world.tool.version}`], {
        cwd: h,
        env,
        timeoutMs: 120_000,
      });
      expect(install.code, describeRun(install)).toBe(0);
      expect(await text(join(job, 'go.sum'))).toBe(warmGoSum);
      // Every zip came from godepot's cache; the checks went through godepot's verified records.
      expect(upstream.count('.zip')).toBe(0);
      expect(
        await metric(godepot.url, 'godepot_http_requests_total', { route: 'sumdb_lookup', status: '200' }),
      ).toBeGreaterThan(0);
      expect(await metric(godepot.url, 'godepot_http_requests_total', { route: 'sumdb_lookup', status: '502' })).toBe(
        0,
      );
      expect(await metric(godepot.url, 'godepot_http_requests_total', { route: 'sumdb_lookup', status: '504' })).toBe(
        0,
      );
      // The go command never asked for /latest; a client that does gets the verified head, stale, within the grace.
      const latest = await fetch(`${godepot.url}/sumdb/${sumdb.name}/latest`);
      expect(latest.status).toBe(200);
      expect(Buffer.from(await latest.arrayBuffer()).equals(warmLatest)).toBe(true);
      expect(latest.headers.get('x-godepot-cache')).toBe('stale');
    } finally {
      upstream.clearFaults();
      sumdb.clearFaults();
    }
  }, 120_000);

  it('a lookup no source can answer says what still works and what to do: keep GOSUMDB on', async () => {
    sumdb.setFault(faults.status(503));
    try {
      const r = await fetch(`${godepot.url}/sumdb/${sumdb.name}/lookup/example.com/never-looked-up@v1.0.0`);
      const body = await r.text();
      expect(r.status, body).toBe(502);
      expect(body).toMatch(/go\.sum lines you have keep building through godepot; .*keep GOSUMDB on/);
      expect(body.trim().split('\n')).toHaveLength(1);
    } finally {
      sumdb.clearFaults();
    }
  }, 60_000);
});
