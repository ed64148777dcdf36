// Issue 13's acceptance, with the real go command: private modules fetched
// from a Git host (git http-backend behind a proxy, basic auth) through
// godepot, which the client uses as its only GOPROXY; queries; the Git host
// down after a warm-up; missing credentials; a tag moved after it was
// recorded in the private ledger. Lists, @latest and the origin breaker age
// on a clock the test moves, never by waiting for time to pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModules, describeRun, findGo, goEnv, runGo, writeApp } from '../world/index.js';
import { escapePath } from '../../src/module/index.js';
import { findComponent } from '../support/components.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';
import { privateCommand } from '../../src/cli/private.js';
import { doctor } from '../../src/cli/doctor/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { APP, LIB, libFiles, startPrivateWorld, USER, PASSWORD, vcsEnv, type PrivateWorld } from './private-support.js';

const go = findGo();
const git = go === null ? null : findComponent('git');
const LIST_TTL_MS = 60_000;
const HALF_OPEN_AFTER_MS = 10_000;

describe.skipIf(go === null || git === null)('private modules from a Git host, through godepot', () => {
  let world: PrivateWorld;
  let godepot: RunningGodepot;
  let env: Record<string, string>;
  let appDir: string;
  const clock = new ManualClock(Date.now());
  const dirs: string[] = [];
  const home = async (): Promise<string> => {
    const d = await tempDir('godepot-gohome-');
    dirs.push(d);
    return d;
  };
  const clientEnv = (h: string) =>
    goEnv({ home: h, proxy: godepot.url, sumdb: world.sumdb.vkey, extra: { GONOSUMDB: 'corp.example' } });

  beforeAll(async () => {
    world = await startPrivateWorld(git as string);
    env = await vcsEnv(world.git, world.git.netrc());
    dirs.push(env.HOME as string);
    godepot = await startGodepot(
      {
        upstream: world.upstream.url,
        sumdb: `${world.sumdb.vkey} ${world.sumdb.url}`,
        private: 'corp.example/*',
        'list-ttl': `${LIST_TTL_MS}ms`,
        'stale-grace': '50ms',
        'breaker-half-open-after': `${HALF_OPEN_AFTER_MS}ms`,
      },
      { vcs: { env }, compose: { clock } },
    );
    appDir = await tempDir('godepot-app-');
    dirs.push(appDir);
    await writeApp(appDir, { files: APP });
  }, 120_000);

  afterAll(async () => {
    await godepot?.close();
    await world?.close();
    for (const d of dirs) await removeDir(d);
  });

  it('builds an app needing a private module that requires a public one; nothing private reaches the proxy or database', async () => {
    const h = await home();
    const tidy = await runGo(['mod', 'tidy'], { cwd: appDir, env: clientEnv(h), timeoutMs: 180_000 });
    expect(tidy.code, describeRun(tidy)).toBe(0);
    const build = await runGo(['build', '-o', join(h, 'app'), '.'], {
      cwd: appDir,
      env: clientEnv(h),
      timeoutMs: 180_000,
    });
    expect(build.code, describeRun(build)).toBe(0);
    const gosum = await readFile(join(appDir, 'go.sum'), 'utf8');
    expect(gosum).toContain(`${LIB} v1.1.0 h1:`);
    expect(gosum).toContain('example.com/pub v1.0.0 h1:');
    // Asked directly, godepot's checksum-database mirror does not pass a private path on either.
    const db = world.sumdb.vkey.split('+')[0] ?? '';
    const asked = await fetch(`${godepot.url}/sumdb/${db}/lookup/${LIB}@v1.1.0`);
    expect(asked.status).toBe(403);
    expect(await asked.text()).toContain('matches --private or --nosumdb; set GONOSUMDB (or GOPRIVATE)');
    expect(world.upstream.requests.some((r) => r.path.includes('corp.example'))).toBe(false);
    expect(world.sumdb.requests.some((r) => r.path.includes('corp.example'))).toBe(false);
    const served = world.git.requests.filter((r) => r.url.includes('/git/lib') && r.status === 200);
    expect(served.length).toBeGreaterThan(0);
    expect(served.every((r) => r.user === USER)).toBe(true);

    const list = await runGo(['list', '-m', '-versions', LIB], { cwd: appDir, env: clientEnv(h), timeoutMs: 60_000 });
    expect(list.code, describeRun(list)).toBe(0);
    expect(list.stdout.trim()).toBe(`${LIB} v1.0.0 v1.1.0`);
  }, 400_000);

  it('answers @latest, branch and commit queries from the origin', async () => {
    const h = await home();
    const q = async (query: string): Promise<{ Version: string }> => {
      const r = await runGo(['list', '-m', '-json', `${LIB}@${query}`], {
        cwd: appDir,
        env: clientEnv(h),
        timeoutMs: 60_000,
      });
      expect(r.code, describeRun(r)).toBe(0);
      return JSON.parse(r.stdout) as { Version: string };
    };
    expect((await q('latest')).Version).toBe('v1.1.0');
    const dev = (await q('dev')).Version;
    expect(dev).toMatch(new RegExp(`^v1\\.1\\.1-0\\.\\d{14}-${world.commits.dev.slice(0, 12)}$`));
    expect((await q(world.commits.v100.slice(0, 12))).Version).toBe('v1.0.0');
  }, 200_000);

  it('with the Git host down, a fresh client rebuilds the app; lists and @latest are served stale', async () => {
    expect((await fetch(`${godepot.url}/${LIB}/@latest`)).status).toBe(200);
    // A public proxy's 404 for a version, from before the path was made private (no proxy sees a private
    // repository): not the origin's answer, so not what an outage of the origin is answered with.
    await godepot.g.storage.put(
      `notfound/mod/${escapePath(LIB)}/@v/v0.9.0.info`,
      Buffer.from(JSON.stringify({ upstream: world.upstream.url, status: 404, detail: 'not found' })),
    );
    // The list and @latest are past their TTL: each request asks the origin again.
    clock.advance(LIST_TTL_MS + 1);
    world.git.mode = 'down';
    try {
      const h = await home();
      const build = await runGo(['build', '-o', join(h, 'app'), '.'], {
        cwd: appDir,
        env: clientEnv(h),
        timeoutMs: 180_000,
      });
      expect(build.code, describeRun(build)).toBe(0);
      const list = await runGo(['list', '-m', '-versions', LIB], { cwd: appDir, env: clientEnv(h), timeoutMs: 60_000 });
      expect(list.code, describeRun(list)).toBe(0);
      expect(list.stdout.trim()).toBe(`${LIB} v1.0.0 v1.1.0`);
      const latest = await fetch(`${godepot.url}/${LIB}/@latest`);
      expect(latest.status).toBe(200);
      expect(latest.headers.get('x-godepot-cache')).toBe('stale');
      // A version never fetched: the outage is named, with the host.
      const missing = await fetch(`${godepot.url}/${LIB}/@v/v0.9.0.info`);
      expect(missing.status).toBe(502);
      expect(await missing.text()).toMatch(/cannot reach corp\.example|origin host corp\.example is unavailable/);
      // The outage is an incident, as for upstream proxies (once the refreshes still running behind stale answers
      // have failed too: on a loaded machine the breaker may not have seen them all yet).
      await godepot.g.service.idle();
      const open = (await godepot.g.incidents.list()).find((i) => i.upstream === 'origin corp.example');
      expect(open).toBeDefined();
      expect(open?.end).toBeUndefined();
    } finally {
      world.git.mode = 'up';
    }
    // The origin breaker lets a probe through once its half-open time has passed: the list's refresh.
    clock.advance(HALF_OPEN_AFTER_MS);
    expect((await fetch(`${godepot.url}/${LIB}/@v/list`)).status).toBe(200);
    await godepot.g.service.idle(); // the refresh may outlive the stale grace
    const closed = (await godepot.g.incidents.list()).find((i) => i.upstream === 'origin corp.example');
    expect(closed?.end).toBeDefined();
  }, 400_000);

  it('a hanging Git host: the fetch is cut at --vcs-timeout with a 504 that says so', async () => {
    const g = await startGodepot(
      { upstream: world.upstream.url, private: 'corp.example', sumdb: 'off', 'vcs-timeout': '2s' },
      { vcs: { env } },
    );
    world.git.mode = 'hang';
    try {
      const r = await fetch(`${g.url}/${LIB}/@v/v1.1.0.mod`);
      const body = await r.text();
      expect(r.status, body).toBe(504);
      expect(body).toMatch(/fetching corp\.example\/lib@v1\.1\.0 from its origin corp\.example timed out/);
    } finally {
      world.git.mode = 'up';
      await g.close();
    }
  }, 120_000);

  it("a version whose go.mod asks for a newer Go than godepot's: a 502 naming the Go to install on the godepot host", async () => {
    // The go command refuses to make its zip (GOTOOLCHAIN=local): the origin is fine, godepot's go is too old.
    const FUTURE = 'corp.example/future';
    await world.git.createRepo(FUTURE, { 'go.mod': `module ${FUTURE}\n\ngo 1.999\n`, 'f.go': 'package future\n' });
    world.git.tag(FUTURE, 'v1.0.0');
    const r = await fetch(`${godepot.url}/${FUTURE}/@v/v1.0.0.zip`);
    const body = await r.text();
    expect(r.status, body).toBe(502);
    expect(body).toMatch(
      /^godepot: corp\.example\/future@v1\.0\.0 requires go >= 1\.999, and the go command godepot fetches with is go \S+; install Go 1\.999 or later on the godepot host/,
    );
    expect(body.trim().split('\n')).toHaveLength(1);
  }, 120_000);

  it('without credentials, the answer says they are missing for that host (and never shows one)', async () => {
    const bare = await vcsEnv(world.git, null);
    const wrong = await vcsEnv(world.git, world.git.netrc('corp.example', 'wrong-password'));
    dirs.push(bare.HOME as string, wrong.HOME as string);
    for (const e of [bare, wrong]) {
      const g = await startGodepot(
        { upstream: world.upstream.url, private: 'corp.example', sumdb: 'off' },
        { vcs: { env: e } },
      );
      try {
        const r = await fetch(`${g.url}/${LIB}/@v/v1.0.0.mod`);
        const body = await r.text();
        expect(r.status, body).toBe(502);
        expect(body).toMatch(/no valid credentials for corp\.example.*\.netrc.*GOAUTH/);
        expect(body).not.toContain('wrong-password');
        expect(body).not.toContain(PASSWORD);
        expect(body.trim().split('\n')).toHaveLength(1);
        // The go command shows it to its user.
        const h = await home();
        const dl = await runGo(['mod', 'download', `${LIB}@v1.0.0`], {
          cwd: h,
          env: goEnv({ home: h, proxy: g.url, sumdb: 'off' }),
          timeoutMs: 60_000,
        });
        expect(dl.code).not.toBe(0);
        expect(dl.stderr).toMatch(/no valid credentials for corp\.example/);
        const d = await doctor(['--goproxy', g.url, '--gosumdb', 'off', '--no-go', '--module', LIB], {
          env: { PATH: '/usr/bin:/bin' },
        });
        expect(d.code).toBe(1);
        expect(d.output).toMatch(/credentials: godepot's own credentials for the Git host/);
      } finally {
        await g.close();
      }
    }
  }, 200_000);

  it('doctor --module never sends a path the client keeps private to its first proxy', async () => {
    // A developer whose GOPROXY still names a public proxy, with GOPRIVATE set: the go command goes to the origin
    // for it; doctor asking the proxy would tell it the private path (and then say "not found").
    world.upstream.requests.length = 0;
    const d = await doctor(
      ['--goproxy', `${world.upstream.url},direct`, '--gosumdb', 'off', '--no-go', '--module', LIB],
      {
        env: { PATH: '/usr/bin:/bin', GOPRIVATE: 'corp.example/*' },
      },
    );
    expect(world.upstream.requests.filter((r) => r.path.includes('corp.example'))).toEqual([]);
    expect(d.output).toContain(`${LIB} matches GONOPROXY (or GOPRIVATE, its default) here`);
  });

  it('a stored private copy changed on disk is held against the ledger when first read: removed, fetched again from the origin', async () => {
    const first = await fetch(`${godepot.url}/${LIB}/@v/v1.1.0.zip`);
    expect(first.status).toBe(200);
    const recorded = Buffer.from(await first.arrayBuffer());
    /** A godepot on the same data folder that has read nothing yet (the first keeps what it checked in memory). */
    const another = () =>
      startGodepot(
        {
          upstream: world.upstream.url,
          sumdb: `${world.sumdb.vkey} ${world.sumdb.url}`,
          private: 'corp.example/*',
          data: godepot.data,
        },
        { vcs: { env } },
      );
    // A valid zip of the same version with other code: it passes every zip rule; only the ledger's h1 tells.
    const [forged] = await buildModules([{ path: LIB, version: 'v1.1.0', files: libFiles('forged') }]);
    if (!forged) throw new Error('no module built');
    await writeFile(join(godepot.data, 'unverified', escapePath(LIB), '@v', 'v1.1.0.zip'), forged.zip);
    const second = await another();
    try {
      const r = await fetch(`${second.url}/${LIB}/@v/v1.1.0.zip`);
      const body = Buffer.from(await r.arrayBuffer());
      expect(r.status).toBe(200);
      expect(body.equals(forged.zip), 'the changed copy was served').toBe(false);
      expect(body.equals(recorded)).toBe(true);
      const alert = second.logs.find((l) => l.alert === 'stored_artifact_damaged');
      expect(String(alert?.reason)).toContain("the private ledger's record says");
    } finally {
      await second.close();
    }
    // A ledger record that does not read: the copy is served as stored (its zip rules hold) and never remembered
    // as checked: each read warns and checks again.
    const record = join(godepot.data, 'ledger', 'modules', escapePath(LIB), '@v', 'v1.1.0.json');
    const good = await readFile(record);
    await writeFile(record, '{"module":');
    const third = await another();
    try {
      for (let i = 0; i < 2; i++) {
        const r = await fetch(`${third.url}/${LIB}/@v/v1.1.0.zip`);
        expect(r.status).toBe(200);
        expect(Buffer.from(await r.arrayBuffer()).equals(recorded)).toBe(true);
      }
      expect(
        third.logs.filter((l) => String(l.msg).includes('ledger record of a stored copy could not be read')),
      ).toHaveLength(2);
    } finally {
      await third.close();
      await writeFile(record, good);
    }
  }, 120_000);

  it('a tag moved after it was recorded: verify names it, clients keep the recorded bytes, a refetch is refused', async () => {
    const first = await fetch(`${godepot.url}/${LIB}/@v/v1.0.0.zip`);
    expect(first.status).toBe(200);
    const recorded = Buffer.from(await first.arrayBuffer());

    // Move v1.0.0 to other code.
    await world.git.commit(LIB, { 'extra.go': 'package lib\n\nconst Extra = 1\n' }, 'sneaky');
    world.git.tag(LIB, 'v1.0.0');

    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: process.stderr, env };
    const ls = await privateCommand(['ls', '--data', godepot.data], io);
    expect(ls).toBe(0);
    expect(out.join('')).toContain(`${LIB} v1.0.0 h1:`);
    out.length = 0;
    const code = await privateCommand(['verify', '--data', godepot.data, '--private', 'corp.example'], io);
    expect(code, out.join('')).toBe(1);
    expect(out.join('')).toMatch(/CHANGED\s+corp\.example\/lib v1\.0\.0: recorded h1:.*origin now has h1:/);
    expect(out.join('')).toMatch(/ok\s+corp\.example\/lib v1\.1\.0 /);

    const again = await fetch(`${godepot.url}/${LIB}/@v/v1.0.0.zip`);
    expect(Buffer.from(await again.arrayBuffer()).equals(recorded)).toBe(true);

    // The cache is lost (and godepot restarted); the ledger is not: the moved tag is refused.
    // (What no checksum database checks, as a private module, is kept in the unverified area.)
    await rm(join(godepot.data, 'mod'), { recursive: true, force: true });
    await rm(join(godepot.data, 'unverified'), { recursive: true, force: true });
    const restarted = await startGodepot(
      { upstream: world.upstream.url, sumdb: 'off', private: 'corp.example', data: godepot.data },
      { vcs: { env } },
    );
    try {
      const refetch = await fetch(`${restarted.url}/${LIB}/@v/v1.0.0.zip`);
      const body = await refetch.text();
      expect(refetch.status, body).toBe(502);
      expect(body).toMatch(/changed at its origin corp\.example.*recorded h1:.*now has h1:/);
      const metrics = await (await fetch(`${restarted.url}/metrics`)).text();
      expect(metrics).toMatch(/godepot_private_tag_moved_total 1/);
      expect(restarted.logs.some((l) => l.level === 60 && l.alert === 'private_tag_moved')).toBe(true);
      const incidents = (await (await fetch(`${restarted.url}/api/incidents`)).json()) as { failureClass: string }[];
      expect(incidents.filter((i) => i.failureClass === 'tag_moved')).toHaveLength(1);
    } finally {
      await restarted.close();
    }
  }, 300_000);
});
