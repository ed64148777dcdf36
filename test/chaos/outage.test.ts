// Issue 4's outage acceptance: a hanging upstream costs a few requests a
// bounded time (one slow module alone never opens the breaker: issue 11),
// then fails fast while cached artifacts keep flowing; a brand-new godepot
// meeting a checksum database outage still lets a CI job with a committed
// go.sum build. What is asserted is what happened (statuses, how many calls
// reached the upstream), never how long it took: timings belong to bench/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import {
  buildApp,
  buildModules,
  describeRun,
  FakeGoProxy,
  FakeSumDb,
  faults,
  findGo,
  goEnv,
  runGo,
  writeApp,
  type BuiltModule,
} from '../world/index.js';
import { startGodepot, removeDir, tempDir, type RunningGodepot } from '../support/godepot.js';
import { fetchAll as timed } from '../support/http.js';
import { OffsetClock } from '../support/clock.js';

describe('a hanging upstream', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let mods: BuiltModule[];

  beforeAll(async () => {
    mods = await buildModules(
      Array.from({ length: 6 }, (_, i) => ({
        path: `example.com/h${i}`,
        version: 'v1.0.0',
        files: {
          'go.mod': `module example.com/h${i}\n`,
          'h.go': `package h${i}\n`,
          'blob.txt': `${i}`.repeat(300_000),
        },
      })),
    );
    upstream = await FakeGoProxy.start(mods);
    sumdb = await FakeSumDb.start({ records: mods });
    godepot = await startGodepot({
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      'metadata-first-byte-timeout': '200ms',
    });
  }, 60_000);
  afterAll(async () => {
    await godepot.close();
    await upstream.close();
    await sumdb.close();
    await removeDir(godepot.data);
  });

  it('fails requests with a time-out naming the upstream until the breaker opens, then fails fast; cached zips keep flowing', async () => {
    const cachedUrl = `${godepot.url}/example.com/h0/@v/v1.0.0.zip`;
    expect((await timed(cachedUrl)).status).toBe(200);
    upstream.setFault(faults.hang());

    const first = timed(`${godepot.url}/example.com/h1/@v/v1.0.0.info`);
    // Meanwhile, 50 requests for the cached zip, none of which reaches the upstream.
    const cached = await Promise.all(Array.from({ length: 50 }, () => timed(cachedUrl)));
    expect(cached.every((r) => r.status === 200)).toBe(true);
    expect(upstream.count('/example.com/h0/')).toBe(1);

    const r1 = await first;
    expect(r1.status).toBe(504);
    expect(r1.text).toContain(upstream.url);
    expect(r1.text).toMatch(/time-out/);

    // Three modules failing (the breaker's default) open it; one more, untried module is probed and fails.
    for (const i of [2, 3, 4]) {
      const r = await timed(`${godepot.url}/example.com/h${i}/@v/v1.0.0.info`);
      expect(r.status).toBe(504);
      expect(upstream.count(`/example.com/h${i}/`)).toBeGreaterThan(0);
    }
    const r5 = await timed(`${godepot.url}/example.com/h5/@v/v1.0.0.info`);
    expect(r5.status).toBeGreaterThanOrEqual(500);
    expect(r5.text).toMatch(/circuit open, next probe in /);
    expect(r5.text).toMatch(/failing since/);
    expect(upstream.count('/example.com/h5/')).toBe(0);

    const ready = (await (await fetch(`${godepot.url}/readyz`)).json()) as {
      status: string;
      upstreams: Array<{ url: string; state: string; lastFailure?: { class: string } }>;
    };
    expect(ready.status).toBe('degraded');
    const u = ready.upstreams.find((x) => x.url === upstream.url);
    expect(u?.state).toBe('open');
    expect(u?.lastFailure?.class).toBe('timeout');
    const metrics = await (await fetch(`${godepot.url}/metrics`)).text();
    expect(metrics).toContain(`godepot_upstream_breaker_state{upstream="${upstream.url}"} 2`);
    const incidents = (await (await fetch(`${godepot.url}/api/incidents`)).json()) as Array<{
      upstream: string;
      end?: string;
      failureClass: string;
      failed: number;
    }>;
    const open = incidents.find((i) => i.upstream === upstream.url && i.end === undefined);
    expect(open?.failureClass).toBe('timeout');
    expect(open?.failed).toBeGreaterThanOrEqual(2);
  }, 90_000);
});

const go = findGo();

describe.skipIf(go === null)('a brand-new godepot meets a checksum database outage', () => {
  const world = buildApp();
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  const dirs: string[] = [];
  let appDir: string;

  beforeAll(async () => {
    const built = await buildModules(world.modules);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    appDir = await tempDir('godepot-app-');
    dirs.push(appDir);
    await writeApp(appDir, world.app);
    // The CI job's go.sum was committed earlier (computed against the real database).
    const home = await tempDir('godepot-gohome-');
    dirs.push(home);
    const tidy = await runGo(['mod', 'tidy'], {
      cwd: appDir,
      env: goEnv({ home, proxy: upstream.url, sumdb: sumdb.gosumdb }),
      timeoutMs: 120_000,
    });
    expect(tidy.code, describeRun(tidy)).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await upstream.close();
    await sumdb.close();
    for (const d of dirs) await removeDir(d);
  });

  it('builds under the default (fallback) policy', async () => {
    // The breakers run on a clock that keeps real time (the hung database's deadlines pass as they would)
    // and that the test moves past the half-open time instead of waiting for it.
    const clock = new OffsetClock();
    const godepot = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'breaker-half-open-after': '1h' },
      { compose: { upstreamClock: clock } },
    );
    dirs.push(godepot.data);
    try {
      sumdb.setFault(faults.hang());
      const home = await tempDir('godepot-gohome-');
      dirs.push(home);
      const gosumBefore = await readFile(join(appDir, 'go.sum'), 'utf8');
      const build = await runGo(['build', '-o', join(home, 'app'), '.'], {
        cwd: appDir,
        env: goEnv({ home, proxy: godepot.url, sumdb: sumdb.vkey }),
        timeoutMs: 90_000,
      });
      expect(build.code, describeRun(build)).toBe(0);
      // The client checked every byte against its go.sum; godepot marked them unverified until the database is back.
      expect(await readFile(join(appDir, 'go.sum'), 'utf8')).toBe(gosumBefore);
      await godepot.g.service.idle();
      expect((await godepot.g.storage.list('unverified/')).length).toBeGreaterThan(0);
      // The database comes back but its breaker is still open: re-verification finds it unavailable.
      sumdb.clearFaults();
      const before = sumdb.count();
      expect(await godepot.g.reverify.runOnce()).toEqual({
        verified: 0,
        purged: 0,
        unavailable: 1,
        unknown: 0,
        contradicted: 0,
        unreadable: 0,
      });
      expect(sumdb.count()).toBe(before);
      // Past the half-open time a probe goes through and closes the breaker; one pass promotes everything.
      clock.skip(3_600_000);
      const pass = await godepot.g.reverify.runOnce();
      expect(pass).toMatchObject({ purged: 0, unavailable: 0 });
      expect(pass.verified).toBeGreaterThan(0);
      expect(await godepot.g.storage.list('unverified/')).toEqual([]);
    } finally {
      sumdb.clearFaults();
      await godepot.close();
    }
  }, 150_000);
});
