// The data tiles around the records a run looks up (godepot's outage index)
// wait for a pause in lookups; `godepot warm` prepares for an outage, so its
// end is that pause: every tile is indexed before it exits, even on a log
// laid out like sum.golang.org's, where no two of its modules share a tile.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { getEventListeners } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { warmCommand } from '../../src/cli/warm.js';
import { runWarm } from '../../src/cli/warm-run.js';
import { createProgress } from '../../src/cli/progress.js';
import { FULL, TargetSet } from '../../src/cli/targets.js';
import type { CommandIO } from '../../src/cli/command-settings.js';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule } from '../world/index.js';
import { removeDir, startGodepot, tempDir } from '../support/godepot.js';
import { captureIo } from '../support/io.js';

const lib = (i: number) => ({
  path: `example.com/spread/m${i}`,
  version: 'v1.0.0',
  files: { 'go.mod': `module example.com/spread/m${i}\n\ngo 1.21\n`, 'm.go': `package m\n\nconst N = ${i}\n` },
});

describe('godepot warm indexes the data tiles around what it looked up', () => {
  let mods: BuiltModule[];
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let dir: string;

  beforeAll(async () => {
    mods = await buildModules([0, 1, 2].map(lib));
    upstream = await FakeGoProxy.start(mods);
    sumdb = await FakeSumDb.start();
    // Each module's record behind 255 others: a data tile each.
    for (const [i, m] of mods.entries()) {
      for (let k = 0; k < 255; k++)
        await sumdb.addRecord(`example.com/filler/t${i}/m${k} v1.0.0 h1:${Buffer.alloc(32, k).toString('base64')}\n`);
      await sumdb.addAll([m]);
    }
    dir = await tempDir('godepot-warm-tiles-');
  });

  /** The data tiles the checksum database was asked for, sorted. */
  const dataTilesAsked = (): string[] =>
    sumdb.requests
      .filter((r) => r.path.startsWith('/tile/8/data/'))
      .map((r) => r.path)
      .sort();
  /** warm's flags for a data directory of its own, on the fake proxy and checksum database. */
  const warmFlags = (data: string): string[] => [
    '--data',
    join(dir, data),
    '--upstream',
    upstream.url,
    '--sumdb',
    `${sumdb.vkey} ${sumdb.url}`,
  ];

  afterEach(() => {
    sumdb.clearFaults();
    sumdb.resetLog();
  });

  afterAll(async () => {
    await upstream?.close();
    await sumdb?.close();
    await removeDir(dir);
  });

  it('one tile per module, all fetched by the time warm exits', async () => {
    const gosum = join(dir, 'go.sum');
    await writeFile(gosum, mods.map((m) => m.goSum).join(''));
    let out = '';
    const io: CommandIO = {
      out: (s) => void (out += s),
      err: { write: (s: string) => void (out += s), isTTY: false },
      env: {},
    };
    const flags = warmFlags('data');
    expect(await warmCommand([...flags, '--progress', 'plain', gosum], io), out).toBe(0);
    expect(dataTilesAsked()).toEqual(['/tile/8/data/000', '/tile/8/data/001', '/tile/8/data/002']);
  });

  it('counts the tiles it could not have in its summary, says what to do from the command line, and a second run fetches them', async () => {
    sumdb.setFault(faults.status(503), '/tile/8/data/');
    const gosum = join(dir, 'go.sum');
    await writeFile(gosum, mods.map((m) => m.goSum).join(''));
    const flags = warmFlags('gap');
    const first = captureIo();
    // Not a failure: every module is verified and kept.
    expect(await warmCommand([...flags, '--retry-attempts', '1', '--progress', 'none', gosum], first.io)).toBe(0);
    expect(first.text()).toContain(
      `note: 3 of 3 data tiles of checksum database ${sumdb.name} around these records could not be kept (`,
    );
    expect(first.text()).toContain('then run the same command again: it fetches only the missing tiles');
    // A command has no /metrics: its warning points at the summary, not at a series nobody can read.
    expect(first.text()).not.toContain('godepot_sumdb_data_tile_failures_total');
    expect(first.text()).toContain('the summary at the end counts the tiles missing');
    sumdb.clearFaults();
    sumdb.resetLog();
    const second = captureIo();
    expect(await warmCommand([...flags, '--progress', 'none', gosum], second.io)).toBe(0);
    // Its records were stored, so no lookup indexed their tiles: the end of the run did.
    expect(second.text()).not.toContain('note:');
    expect(dataTilesAsked()).toEqual(['/tile/8/data/000', '/tile/8/data/001', '/tile/8/data/002']);
  });

  it('runs that finish leave nothing on a long-lived signal (no listener per run)', async () => {
    const godepot = await startGodepot({
      data: join(dir, 'listeners'),
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
    });
    try {
      const lifetime = new AbortController();
      for (let run = 0; run < 3; run++) {
        const targets = new TargetSet();
        for (const m of mods) targets.add({ path: m.path, version: m.version }, FULL, 'arguments');
        const report = await runWarm(godepot.g, targets, {
          concurrency: 2,
          progress: createProgress({ write: () => undefined, isTTY: false }, 'none'),
          signal: lifetime.signal,
        });
        expect(report.ok).toBe(mods.length);
        expect(report.interrupted).toBe(false);
      }
      expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0);
    } finally {
      await godepot.close();
    }
  });

  it('runs at most `concurrency` targets at once; an interrupt leaves those still waiting unstarted and uncounted', async () => {
    // The first module's zip hangs: with one slot, the others wait behind it.
    const first = mods[0] as BuiltModule;
    const zip = `/${first.path}/@v/${first.version}.zip`;
    const hung = upstream.setFault(faults.hang(), zip);
    // The upstream is shared with the tests above: what this run asks is counted from here.
    const asked = (p: string): number => upstream.count(p) - (before.get(p) ?? 0);
    const before = new Map([zip, ...mods.slice(1).map((m) => `/${m.path}/@v/`)].map((p) => [p, upstream.count(p)]));
    const godepot = await startGodepot({
      data: join(dir, 'waiting'),
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
    });
    try {
      const targets = new TargetSet();
      for (const m of mods) targets.add({ path: m.path, version: m.version }, FULL, 'arguments');
      const interrupt = new AbortController();
      const run = runWarm(godepot.g, targets, {
        concurrency: 1,
        progress: createProgress({ write: () => undefined, isTTY: false }, 'none'),
        signal: interrupt.signal,
      });
      await vi.waitFor(() => expect(asked(zip)).toBe(1));
      // The others have not been started: the one slot is taken.
      for (const m of mods.slice(1)) expect(asked(`/${m.path}/@v/`)).toBe(0);
      // One listener on the interrupt: the running target's fetch. None per waiting target (a warm of many thousands
      // would hold as many, and Node warns past 10).
      expect(getEventListeners(interrupt.signal, 'abort')).toHaveLength(1);
      interrupt.abort(new Error('interrupted'));
      const report = await run;
      expect(report.interrupted).toBe(true);
      // Only the one that ran is reported (it failed with the interrupt); the waiting ones are neither done nor failed.
      expect(report.modules).toBe(1);
      expect(report.failures.map((f) => f.module)).toEqual([`${first.path}@${first.version}`]);
      // Said as an interrupt, not as the internal error the abort surfaces as from the service.
      expect(report.failures[0]?.problems).toEqual([
        '.zip: interrupted before it was finished; run the command again to finish it',
      ]);
      for (const m of mods.slice(1)) expect(asked(`/${m.path}/@v/`)).toBe(0);
    } finally {
      hung();
      await godepot.close();
    }
  }, 20_000);

  it('an interrupt while the tiles are fetched ends the run at once, reported as interrupted', async () => {
    // The database's data tiles hang, and its deadlines are far longer than this test may take.
    sumdb.setFault(faults.hang(), '/tile/8/data/');
    const godepot = await startGodepot({
      data: join(dir, 'interrupted'),
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      'sumdb-first-byte-timeout': '60s',
      'sumdb-idle-timeout': '60s',
      'sumdb-total-timeout': '120s',
    });
    try {
      const targets = new TargetSet();
      for (const m of mods) targets.add({ path: m.path, version: m.version }, FULL, 'arguments');
      const interrupt = new AbortController();
      const run = runWarm(godepot.g, targets, {
        concurrency: 1,
        progress: createProgress({ write: () => undefined, isTTY: false }, 'none'),
        signal: interrupt.signal,
      });
      await vi.waitFor(() => expect(sumdb.count('/tile/8/data/')).toBeGreaterThan(0));
      interrupt.abort(new Error('interrupted'));
      const report = await run;
      expect(report.ok).toBe(mods.length);
      expect(report.interrupted).toBe(true);
    } finally {
      await godepot.close();
    }
  }, 20_000);
});
