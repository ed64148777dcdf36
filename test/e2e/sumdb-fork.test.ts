// Issue 3: the checksum database switches to a different history signed with
// the same key. godepot keeps serving the tree head it verified, refuses the
// new history (fatal log with both heads, godepot_sumdb_inconsistent_trees_total,
// /readyz), and clients still build from the verified history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  buildApp,
  buildModules,
  describeRun,
  faults,
  FakeGoProxy,
  FakeSumDb,
  findGo,
  runGo,
  writeApp,
  type BuiltModule,
} from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { ManualClock } from '../../src/util/clock.js';
import { FakeClock } from '../support/clock.js';
import { checkout, Dirs, metric, readyz, sumdbEnv, text } from './sumdb-support.js';

describe.skipIf(findGo() === null)('a checksum database that forks its history', () => {
  const world = buildApp();
  const dirs = new Dirs();
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  /** Another godepot on the same data folder, started before the fork: it learns it from storage. */
  let second: RunningGodepot;
  // Time moves only when the test says so: the tree head ages past its TTL by advance(), not by sleeping.
  const clock = new ManualClock(Date.now());
  // And the stale grace a quarantined copy is given is waited on a clock the test moves too.
  const graceClock = new FakeClock();
  let appDir: string;
  let warmHome: string;
  let warmGoSum: string;
  let verified: Buffer;
  let kept: BuiltModule;

  const latest = async (): Promise<Buffer> => {
    const r = await fetch(`${godepot.url}/sumdb/${sumdb.name}/latest`);
    expect(r.status).toBe(200);
    return Buffer.from(await r.arrayBuffer());
  };

  beforeAll(async () => {
    const built = await buildModules(world.modules);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    godepot = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'sumdb-ttl': '300ms' },
      { compose: { clock, graceClock } },
    );
    appDir = await dirs.make('godepot-app-');
    await writeApp(appDir, world.app);
    warmHome = await dirs.make();
    const env = sumdbEnv(warmHome, godepot.url, sumdb.vkey);
    for (const args of [
      ['mod', 'tidy'],
      ['build', '-o', join(warmHome, 'app'), '.'],
    ]) {
      const r = await runGo(args, { cwd: appDir, env, timeoutMs: 120_000 });
      expect(r.code, describeRun(r)).toBe(0);
    }
    warmGoSum = await text(join(appDir, 'go.sum'));
    verified = await latest();
    second = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'sumdb-ttl': '300ms', data: godepot.data },
      { compose: { clock } },
    );
    // A module served while the database was away: kept in quarantine, marked unverified (before any fork).
    [kept] = (await buildModules([
      {
        path: 'example.com/kept-in-outage',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/kept-in-outage\n' },
      },
    ])) as [BuiltModule];
    await upstream.add(kept);
    const undo = sumdb.setFault(faults.status(503), '/lookup/');
    try {
      const r = await fetch(`${godepot.url}/${kept.path}/@v/${kept.version}.mod`);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-godepot-verification')).toBe('unverified');
    } finally {
      undo();
    }
    await godepot.g.service.idle();
  }, 240_000);

  afterAll(async () => {
    await second?.close();
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await dirs.removeAll();
  });

  it('keeps serving the verified tree head, refuses the new history and says so in the log, /metrics and /readyz', async () => {
    const size = sumdb.size;
    await sumdb.fork();
    expect(sumdb.size).toBe(size + 1);
    const forked = await sumdb.signedTree();
    expect(await metric(godepot.url, 'godepot_sumdb_inconsistent_trees_total')).toBe(0);

    clock.advance(1_000); // past the tree-head TTL: godepot asks the database again
    for (let i = 0; i < 3; i++) {
      const body = await latest();
      expect(body.equals(verified), 'the verified head, never the forked one').toBe(true);
      expect(body.equals(forked)).toBe(false);
    }
    expect(
      await metric(godepot.url, 'godepot_sumdb_inconsistent_trees_total', { db: sumdb.name }),
    ).toBeGreaterThanOrEqual(1);
    const ready = await readyz(godepot.url);
    expect(ready.status).toBe('degraded');
    expect(ready.sumdb.find((s) => s.name === sumdb.name)).toMatchObject({ status: 'inconsistent', treeSize: size });
    const fatal = godepot.logs.find((l) => l.level === 60 && l.alert === 'sumdb_inconsistent_tree');
    expect(fatal).toBeDefined();
    expect(fatal?.verifiedHead).toBe(verified.toString('utf8'));
    expect(fatal?.conflictingHead).toBe(forked.toString('utf8'));
    expect(String(fatal?.report)).toContain('SECURITY ERROR');
    // The evidence survives in the data folder.
    expect(await godepot.g.storage.get(`sumdb/${sumdb.name}/inconsistent`)).not.toBeNull();
    // And the fork is on the incident timeline, beside the outages.
    const incidents = (await (await fetch(`${godepot.url}/api/incidents`)).json()) as Array<{
      upstream: string;
      failureClass: string;
      detail: string;
    }>;
    const fork = incidents.find((i) => i.failureClass === 'fork');
    expect(fork?.upstream).toBe(`checksum database ${sumdb.name}`);
    expect(fork?.detail).toMatch(/does not extend the verified one .*: refused/);
  });

  it('clients still build from the verified history: a fresh CI job, and the client that remembers the old tree', async () => {
    const h = await dirs.make();
    const job = await dirs.make('godepot-ci-');
    await checkout(appDir, job, false);
    const env = sumdbEnv(h, godepot.url, sumdb.vkey);
    for (const args of [
      ['mod', 'tidy'],
      ['build', '-o', join(h, 'app'), '.'],
    ]) {
      const r = await runGo(args, { cwd: job, env, timeoutMs: 120_000 });
      expect(r.code, describeRun(r)).toBe(0);
    }
    expect(await text(join(job, 'go.sum'))).toBe(warmGoSum);

    const again = await runGo(['clean', '-modcache'], {
      cwd: appDir,
      env: sumdbEnv(warmHome, godepot.url, sumdb.vkey),
      timeoutMs: 60_000,
    });
    expect(again.code, describeRun(again)).toBe(0);
    const rebuild = await runGo(['build', '-o', join(warmHome, 'app'), '.'], {
      cwd: appDir,
      env: sumdbEnv(warmHome, godepot.url, sumdb.vkey),
      timeoutMs: 120_000,
    });
    expect(rebuild.code, describeRun(rebuild)).toBe(0);
    expect(rebuild.stderr).not.toContain('SECURITY ERROR');
    // godepot's head never moved.
    expect((await latest()).equals(verified)).toBe(true);
  }, 240_000);

  it('refuses a module published only in the forked history, under the default --verify fallback: a fork is not an outage', async () => {
    const [fresh] = await buildModules([
      { path: 'example.com/after-fork', version: 'v1.0.0', files: { 'go.mod': 'module example.com/after-fork\n' } },
    ]);
    if (!fresh) throw new Error('no module built');
    await upstream.add(fresh);
    await sumdb.add(fresh);
    clock.advance(1_000);
    for (const ext of ['mod', 'zip']) {
      const r = await fetch(`${godepot.url}/${fresh.path}/@v/${fresh.version}.${ext}`);
      const body = await r.text();
      expect(r.status, body).toBe(502);
      expect(r.headers.get('x-godepot-error')).toBe('sumdb_inconsistent');
      expect(r.headers.get('x-godepot-verification')).toBeNull();
      expect(body).toContain(`${fresh.path}@${fresh.version}`);
      expect(body).toContain('evidence of tampering, not an outage');
      expect(body).not.toMatch(/\n\s+at /);
    }
    await godepot.g.service.idle();
    for (const area of ['mod/', 'unverified/'])
      expect(
        (await godepot.g.storage.list(area)).filter((k) => k.includes(fresh.path)),
        area,
      ).toEqual([]);
    const refused = godepot.logs.find((l) => l.module === fresh.path && l.level === 50);
    expect(String(refused?.msg)).toContain('contradicts the verified tree');
  });

  it('a copy quarantined while the database was away, before the fork, is kept but not served after it', async () => {
    const url = `${godepot.url}/${kept.path}/@v/${kept.version}.mod`;
    clock.advance(1_000);
    const again = await fetch(url);
    const body = await again.text();
    expect(again.status, body).toBe(502);
    expect(again.headers.get('x-godepot-error')).toBe('sumdb_inconsistent');
    expect(body).toContain('evidence of tampering, not an outage');
    expect((await godepot.g.storage.list('unverified/')).some((k) => k.includes(kept.path))).toBe(true);
    // Nor when the database then hangs past the grace a quarantined copy is given (no verdict in time).
    const undo = sumdb.setFault(faults.hang());
    try {
      const waiting = graceClock.pending;
      const hanging = fetch(url);
      await graceClock.until(() => graceClock.pending > waiting, 'the stale grace');
      await graceClock.advance(2_000);
      const hung = await hanging;
      expect(hung.status).toBe(502);
      expect(hung.headers.get('x-godepot-error')).toBe('sumdb_inconsistent');
    } finally {
      undo();
      // The lookup still hanging fails now rather than at its (real-time) deadline.
      sumdb.dropHung();
    }
  });

  it('after the fork, a database that stops answering is not an outage to fall back from: nothing new is served', async () => {
    const [later] = await buildModules([
      {
        path: 'example.com/after-fork-away',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/after-fork-away\n' },
      },
    ]);
    if (!later) throw new Error('no module built');
    await upstream.add(later);
    const undo = sumdb.setFault(faults.status(503));
    try {
      clock.advance(10_000);
      // The godepot that refused the fork, and one on the same data folder that learns it from storage.
      for (const g of [godepot, second]) {
        const r = await fetch(`${g.url}/${later.path}/@v/${later.version}.mod`);
        const body = await r.text();
        expect(r.status, body).toBe(502);
        expect(r.headers.get('x-godepot-error')).toBe('sumdb_inconsistent');
        expect(body).toMatch(/a fork, not cleared/);
      }
    } finally {
      undo();
    }
    await godepot.g.service.idle();
    for (const area of ['mod/', 'unverified/'])
      expect(
        (await godepot.g.storage.list(area)).filter((k) => k.includes(later.path)),
        area,
      ).toEqual([]);
  });
});
