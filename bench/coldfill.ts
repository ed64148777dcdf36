// Cold fill: a `go mod download` through a godepot with an empty data folder
// (every artifact fetched from the upstream, looked up in the checksum
// database, verified and stored on the way) against the same download
// straight from the upstream (GOPROXY=<the test upstream>). Each run starts
// from an empty module cache, and each godepot run from a fresh data folder
// and a fresh process (started before the clock starts); the two are run
// alternately and the medians compared. The go command's own work (go.sum
// checks, unzipping into the module cache) is in both; the app's go.sum is
// complete, so going direct asks the checksum database nothing, while
// godepot looks up every module it fetches (its verification).
//
// The bench world's database holds only the world's modules, all in one data
// tile; sum.golang.org holds tens of millions of records, so the module
// versions a build needs lie in as many data tiles. The last cases run the
// ~60-module app against a database laid out that way (each module's record
// behind 255 others): the data-tile work godepot does around every lookup
// then shows at its real size.
//
// With GODEPOT_BENCH_PEER naming a goproxy/goproxy binary, the peer (which
// verifies against the same database with golang.org/x/mod's sumdb client)
// fills from empty in the same alternation, once per case beside the first
// --workers value: context for the target, measured in the same run.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeRun, goEnv, runGo, writeApp } from '../test/world/gocmd.js';
import { FakeSumDb, type SumRecordInput } from '../test/world/sumdb.js';
import { startGodepot, startGoproxy } from './procs.js';
import { median, type Row } from './report.js';
import type { BenchWorld } from './world.js';
import type { BuiltModule } from '../test/world/modules.js';

/** Added before every answer of the upstream and the checksum database in the second set of runs. */
const LATENCY_MS = 10;

export interface ColdFillOptions {
  readonly world: BenchWorld;
  readonly repeats: number;
  /** godepot --workers values to run each case with (the default on a 2-core machine is 2). */
  readonly workers: readonly number[];
  /** A goproxy/goproxy binary: the peer's cold fill is measured beside godepot's (context). */
  readonly peer?: string;
  readonly say: (line: string) => void;
}

/** A main module importing the root package of each of modules (payload modules: cold ones by default), with its go.sum. */
export async function writePayloadApp(
  dir: string,
  world: BenchWorld,
  modules: readonly BuiltModule[] = world.cold,
): Promise<void> {
  const alias = (i: number): string => `p${String(i).padStart(3, '0')}`;
  const requires = modules.map((m) => `\t${m.path} ${m.version}\n`).join('');
  const imports = modules.map((m, i) => `\t${alias(i)} "${m.path}"\n`).join('');
  const calls = modules.map((_, i) => `\tprintln(${alias(i)}.Name())\n`).join('');
  await writeApp(dir, {
    files: {
      'go.mod': `module bench.example/coldapp\n\ngo 1.21\n\nrequire (\n${requires})\n`,
      'go.sum': modules.map((m) => m.goSum).join(''),
      'main.go': `package main\n\nimport (\n${imports})\n\nfunc main() {\n${calls}}\n`,
    },
  });
}

export async function benchColdFill(o: ColdFillOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const { world } = o;
  const appDir = join(world.tmp, 'coldfill-app');
  const payloadDir = join(world.tmp, 'coldfill-payload-app');
  await writeApp(appDir, world.fixture.app);
  await writePayloadApp(payloadDir, world);
  const download = async (cwd: string, proxy: string, sumdb: string): Promise<number> => {
    const home = await mkdtemp(join(world.tmp, 'gohome-'));
    try {
      const r = await runGo(['mod', 'download'], { cwd, env: goEnv({ home, proxy, sumdb }), timeoutMs: 300_000 });
      if (r.code !== 0) throw new Error(`go mod download failed:\n${describeRun(r)}`);
      return r.durationMs;
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  };
  // go.sum for the fixture app, straight from the upstream (untimed).
  const home = await mkdtemp(join(world.tmp, 'gohome-'));
  const tidy = await runGo(['mod', 'tidy'], {
    cwd: appDir,
    env: goEnv({ home, proxy: world.upstream.url, sumdb: world.sumdbSetting }),
    timeoutMs: 300_000,
  });
  await rm(home, { recursive: true, force: true });
  if (tidy.code !== 0) throw new Error(`go mod tidy against the upstream failed:\n${describeRun(tidy)}`);
  // One untimed direct download of each, so the upstream's and the go command's caches are warm for both sides.
  await download(appDir, world.upstream.url, world.sumdbSetting);
  await download(payloadDir, world.upstream.url, world.sumdbSetting);

  const rows: Row[] = [];
  const apps = [
    { name: `~60-module app (${Object.keys(world.fixture.app.selected).length} modules, small zips)`, dir: appDir },
    { name: `${world.cold.length} modules of 300 KB`, dir: payloadDir },
  ];
  // On loopback the upstream answers in about a millisecond, so every local
  // step (verification, fsyncs) shows in full; with 10 ms added before each
  // answer of the upstream and of the checksum database (a nearby public
  // proxy), what godepot overlaps with the network shows too.
  const spread = await FakeSumDb.start({ records: spreadLog(world) });
  const cases = [
    ...[0, LATENCY_MS].flatMap((latency) => apps.map((a) => ({ ...a, latency, sumdb: world.sumdb, spread: false }))),
    ...[0, LATENCY_MS].map((latency) => ({ ...(apps[0] as (typeof apps)[0]), latency, sumdb: spread, spread: true })),
  ].flatMap((c) => o.workers.map((workers) => ({ ...c, workers })));
  for (const c of cases) {
    world.upstream.clearFaults();
    c.sumdb.clearFaults();
    if (c.latency > 0) {
      world.upstream.setFault({ kind: 'delay', ms: c.latency });
      c.sumdb.setFault({ kind: 'delay', ms: c.latency });
    }
    const direct: number[] = [];
    const through: number[] = [];
    const peerBinary = c.workers === o.workers[0] ? o.peer : undefined;
    const viaPeer: number[] = [];
    for (let i = 0; i < o.repeats; i++) {
      direct.push(await download(c.dir, world.upstream.url, world.sumdbSetting));
      const data = await mkdtemp(join(world.tmp, 'coldfill-data-'));
      const g = await startGodepot({
        data,
        upstream: world.upstream.url,
        sumdb: `${c.sumdb.vkey} ${c.sumdb.url}`,
        workers: c.workers,
        logFile: join(world.tmp, 'coldfill-godepot.log'),
      });
      try {
        through.push(await download(c.dir, g.url, world.sumdb.vkey));
      } finally {
        await g.stop();
        await rm(data, { recursive: true, force: true });
      }
      if (peerBinary) {
        const dir = await mkdtemp(join(world.tmp, 'coldfill-peer-'));
        const p = await startGoproxy({
          binary: peerBinary,
          upstream: world.upstream.url,
          sumdb: `${c.sumdb.vkey} ${c.sumdb.url}`,
          dir,
        });
        try {
          viaPeer.push(await download(c.dir, p.url, world.sumdb.vkey));
        } finally {
          await p.stop();
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
    const gm = median(through);
    const dm = median(direct);
    const where =
      (c.latency > 0 ? `upstream ${c.latency} ms away` : 'upstream on loopback') +
      (c.spread ? ', one data tile per module' : '') +
      `, ${c.workers} worker${c.workers > 1 ? 's' : ''}`;
    o.say(`  cold fill, ${c.name}, ${where}: godepot ${gm} ms, direct ${dm} ms (${(gm / dm).toFixed(2)}x)`);
    rows.push({
      bench: 'cold fill',
      name: `go mod download, ${c.name}, ${where}`,
      unit: 'ms',
      godepot: gm,
      refName: 'upstream direct',
      reference: dm,
      detail: `median of ${o.repeats}; godepot runs ${through.join(', ')} ms; direct runs ${direct.join(', ')} ms`,
      target: { on: 'ratio', op: '<=', value: 1.1 },
      raw: { through, direct, latencyMs: c.latency, workers: c.workers },
    });
    if (viaPeer.length > 0) {
      const pm = median(viaPeer);
      const peerWhere = where.slice(0, where.lastIndexOf(', '));
      o.say(`  cold fill, ${c.name}, ${peerWhere}: goproxy ${pm} ms, direct ${dm} ms (${(pm / dm).toFixed(2)}x)`);
      rows.push({
        bench: 'cold fill',
        name: `go mod download, ${c.name}, ${peerWhere}, goproxy (the peer; context)`,
        unit: 'ms',
        godepot: pm,
        refName: 'upstream direct',
        reference: dm,
        detail: `not godepot: goproxy/goproxy from an empty cache, alternated with the runs above; ${viaPeer.join(', ')} ms`,
        raw: { viaPeer, direct, latencyMs: c.latency },
      });
    }
  }
  world.upstream.clearFaults();
  world.sumdb.clearFaults();
  await spread.close();
  return { rows, notes: [] };
}

/**
 * The world's module versions (not the real-shaped app's: no fill uses
 * them), each behind 255 made-up records (as far apart as in
 * sum.golang.org's log).
 */
function spreadLog(world: BenchWorld): SumRecordInput[] {
  const h1 = (s: string): string => `h1:${createHash('sha256').update(s).digest('base64')}`;
  return world.modules
    .filter((m) => !world.realApp.includes(m))
    .flatMap((m, i) => [
      ...Array.from({ length: 255 }, (_, k) => {
        const path = `filler.example/t${i}/m${k}`;
        return { path, version: 'v1.0.0', h1: h1(`zip ${path}`), goModH1: h1(`mod ${path}`) };
      }),
      m,
    ]);
}
