// Issue 10, the field test: a checksum-database outage as it happens. The
// database's own host does not resolve; the upstream module proxy works and
// also serves the database's log under /sumdb/<name>/ (as proxy.golang.org
// serves sum.golang.org's). godepot is configured with the key alone, like
// GOSUMDB. A cold `go mod tidy && go build` through godepot must succeed with
// every artifact verified, and go.sum must equal the one from the plain go
// command pointed at the same proxy.
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
  writeApp,
} from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { noNameResolves } from '../support/dns.js';
import { checkout, Dirs, readyz, sumdbEnv, text } from './sumdb-support.js';

describe.skipIf(findGo() === null)('the field case: the database host is down, the proxy serves its log', () => {
  const world = buildApp(12);
  const dirs = new Dirs();
  const asked: string[] = [];
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let appDir: string;
  let directGoSum: string;

  beforeAll(async () => {
    const built = await buildModules(world.modules);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    upstream.mountSumDb(sumdb);
    appDir = await dirs.make('godepot-app-');
    await writeApp(appDir, world.app);

    // The plain go command against the proxy: it finds the log at <proxy>/sumdb/<name>/.
    const h = await dirs.make();
    const job = await dirs.make('godepot-direct-');
    await checkout(appDir, job, false);
    const env = goEnv({ home: h, proxy: upstream.url, sumdb: sumdb.vkey });
    const r = await runGo(['mod', 'tidy'], { cwd: job, env, timeoutMs: 120_000 });
    expect(r.code, describeRun(r)).toBe(0);
    directGoSum = await text(join(job, 'go.sum'));

    godepot = await startGodepot(
      { upstream: upstream.url, sumdb: sumdb.vkey, 'access-log': 'true' },
      { background: true, compose: { pools: { lookup: noNameResolves(asked) } } },
    );
    // The start-up probe: which sources answer is known before the first build.
    await godepot.g.probed;
    upstream.resetLog();
    sumdb.resetLog();
  }, 240_000);

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await dirs.removeAll();
  });

  it('before any build, the log and /readyz say the log is read through the proxy', async () => {
    // Found in the field (2026-12-05): the start-up probe asked the proxy only whether it serves the database,
    // never for the log itself, so with the own host down the log said "no source answers" and /readyz "unknown".
    const via = `${upstream.url}/sumdb/${sumdb.name}`;
    const said = godepot.logs.map((l) => String(l.msg)).filter((m) => m.startsWith(`checksum database ${sumdb.name}:`));
    expect(said).toEqual([expect.stringMatching(new RegExp(`^checksum database ${sumdb.name}: read through ${via};`))]);
    expect(said[0]).toContain(`not reachable: https://${sumdb.name}`);
    const db = (await readyz(godepot.url)).sumdb.find((d) => d.name === sumdb.name);
    expect(db?.sources).toContainEqual(expect.objectContaining({ url: via, via: 'upstream', state: 'ok' }));
    expect(db?.status).not.toBe('unreachable');
  });

  it('a cold tidy and build succeed, every artifact verified, go.sum as the direct run', async () => {
    const h = await dirs.make();
    const job = await dirs.make('godepot-ci-');
    await checkout(appDir, job, false);
    const env = sumdbEnv(h, godepot.url, sumdb.vkey);
    const tidy = await runGo(['mod', 'tidy'], { cwd: job, env, timeoutMs: 120_000 });
    expect(tidy.code, describeRun(tidy)).toBe(0);
    const build = await runGo(['build', '-o', join(h, 'app'), '.'], { cwd: job, env, timeoutMs: 120_000 });
    expect(build.code, describeRun(build)).toBe(0);
    expect(await text(join(job, 'go.sum'))).toBe(directGoSum);

    // godepot probed the database's own host (it did not resolve) and read the log through the proxy.
    expect(asked).toContain('localhost.localdev');
    expect(sumdb.count('/sumdb/localhost.localdev/sumdb/lookup/')).toBeGreaterThan(0);
    // The proxy refuses data tiles, as proxy.golang.org does: asked once, not again around every lookup
    // (found in the field: one refused request per module looked up), and said once in the log. (They are
    // indexed once lookups pause; idle() starts that now.)
    await Promise.all(godepot.g.mirrors.map((m) => m.idle()));
    expect(upstream.count('/tile/8/data/')).toBe(1);
    expect(godepot.logs.filter((l) => String(l.msg).includes('data tile')).map((l) => String(l.err))).toEqual([
      expect.stringContaining(`${upstream.url}/sumdb/${sumdb.name} failed: bad HTTP status (403`),
    ]);

    const served = godepot.logs.filter(
      (l) => l.msg === 'request' && (l.route === 'mod' || l.route === 'zip') && l.status === 200,
    );
    expect(served.filter((l) => l.route === 'zip').length).toBeGreaterThan(0);
    expect(
      served.filter((l) => l.verification !== 'verified').map((l) => `${String(l.path)} ${String(l.verification)}`),
    ).toEqual([]);
    // Served again from storage: still verified (nothing went to the unverified area).
    for (const l of served.slice(0, 5)) {
      const res = await fetch(`${godepot.url}${String(l.path)}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-godepot-verification')).toBe('verified');
      await res.arrayBuffer();
    }

    // /readyz says where the log is read: the proxy's endpoint answers, the own host does not.
    const ready = await readyz(godepot.url);
    const db = ready.sumdb.find((d) => d.name === sumdb.name);
    expect(db?.status).toBe('ok');
    const sources = db?.sources ?? [];
    expect(sources).toContainEqual(
      expect.objectContaining({ url: `${upstream.url}/sumdb/${sumdb.name}`, via: 'upstream', state: 'ok' }),
    );
    expect(sources).toContainEqual(
      expect.objectContaining({ url: `https://${sumdb.name}`, via: 'database', state: 'failing' }),
    );
    // Covered in full, so not degraded: the failing host is one of two copies of the log (test/server/health.test.ts).
    expect([ready.status, ready.reasons]).toEqual(['ok', []]);
  }, 240_000);
});
