// The benchmark driver behind `npm run bench`: runs each benchmark with its
// reference in the same run on the same machine, prints one table (godepot,
// reference, ratio, target, pass/fail) and writes it to bench/results/ as
// JSON and Markdown. Benchmarks report; they never fail a build.
import { accessSync, constants, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchColdFetch } from './cold.js';
import { benchColdFill } from './coldfill.js';
import { benchGoModDownload } from './gomod.js';
import { benchH1 } from './h1.js';
import { benchHerd } from './herd.js';
import { benchHits, HIT_ARTIFACTS, type HitArtifact } from './hits.js';
import { benchManyEntries } from './many-entries.js';
import { benchTwoNodes } from './ha.js';
import { benchLookups } from './lookups.js';
import { benchOverhead } from './overhead.js';
import { REPO_ROOT } from './procs.js';
import { describeMachine, ensureTools, type Tools } from './tools.js';
import { machineText, passes, textTable, writeResults, type Row } from './report.js';
import { benchStartup } from './startup.js';
import { createWorld, type BenchWorld } from './world.js';

/** The 1-minute load average: other work on the machine skews every figure, so it is recorded. */
function loadAverage(): string {
  return loadavg()[0]?.toFixed(2) ?? '?';
}

const BENCHES = ['hits', 'gomod', 'cold', 'herd', 'h1', 'startup', 'many', 'overhead', 'ha', 'lookups'] as const;
type BenchName = (typeof BENCHES)[number];

const HELP = `Usage: npm run bench -- [flags]

Runs godepot's benchmarks against their references in one run and writes
bench/results/latest.{json,md} (plus time-stamped copies).

  --only LIST         comma-separated subset of: ${BENCHES.join(', ')}
  --quick             short runs (2 s per load run, fewer repeats) for a smoke check
  --seconds N         seconds per wrk run (default 3, three alternating rounds; quick: 2, one round)
  --connections LIST  wrk connection counts (default 1,32,256)
  --workers LIST      godepot --workers values for hits, go mod download and cold fills; nginx worker_processes to match (default 1,2)
  --artifacts LIST    cache-hit artifacts, a subset of: ${HIT_ARTIFACTS.join(', ')} (default all)
  --no-install        never apt-get install nginx/wrk, even as root
  --out DIR           results folder (default bench/results)

Environment:
  GODEPOT_BENCH_PEER  a goproxy binary (goproxy/goproxy: go build ./cmd/goproxy) measured
                      beside godepot in the cache-hit rounds, with the same warm-up
  GODEPOT_BENCH_NODE_FLAGS  more node flags for godepot's processes, to look inside them:
                      "--cpu-prof --cpu-prof-dir=/tmp/prof" writes a profile per process on stop
`;

interface Flags {
  only: Set<BenchName>;
  quick: boolean;
  seconds: number;
  connections: number[];
  workers: number[];
  artifacts: HitArtifact[];
  install: boolean;
  out: string;
}

function numbers(v: string | undefined, flag: string): number[] {
  const list = (v ?? '').split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`${flag} needs a comma-separated list of positive integers`);
  return list;
}

export function parseFlags(args: readonly string[]): Flags | 'help' {
  const f: Flags = {
    only: new Set(BENCHES),
    quick: false,
    seconds: 0,
    connections: [1, 32, 256],
    workers: [1, 2],
    artifacts: [...HIT_ARTIFACTS],
    install: true,
    out: join(REPO_ROOT, 'bench', 'results'),
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--help':
      case '-h':
        return 'help';
      case '--quick':
        f.quick = true;
        break;
      case '--only': {
        const names = value()
          .split(',')
          .map((s) => s.trim());
        const bad = names.filter((n) => !(BENCHES as readonly string[]).includes(n));
        if (bad.length) throw new Error(`unknown benchmark(s) ${bad.join(', ')}; choose from ${BENCHES.join(', ')}`);
        f.only = new Set(names as BenchName[]);
        break;
      }
      case '--seconds':
        f.seconds = numbers(value(), '--seconds')[0] ?? 0;
        break;
      case '--connections':
        f.connections = numbers(value(), '--connections');
        break;
      case '--workers':
        f.workers = numbers(value(), '--workers');
        break;
      case '--artifacts': {
        const names = value()
          .split(',')
          .map((n) => n.trim());
        const bad = names.filter((n) => !(HIT_ARTIFACTS as readonly string[]).includes(n));
        if (bad.length)
          throw new Error(`unknown artifact(s) ${bad.join(', ')}; choose from ${HIT_ARTIFACTS.join(', ')}`);
        f.artifacts = names as HitArtifact[];
        break;
      }
      case '--no-install':
        f.install = false;
        break;
      case '--out':
        f.out = value();
        break;
      default:
        throw new Error(`unknown flag ${a}; see --help`);
    }
  }
  if (f.seconds === 0) f.seconds = f.quick ? 2 : 3;
  return f;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export async function main(args: string[]): Promise<number> {
  let flags: Flags | 'help';
  try {
    flags = parseFlags(args);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }
  if (flags === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const f = flags;
  const peer = process.env.GODEPOT_BENCH_PEER;
  if (peer && !isExecutableFile(peer)) {
    process.stderr.write(
      `bench: GODEPOT_BENCH_PEER=${peer} is not an executable file; build the peer with \`go build ./cmd/goproxy\` in a clone of goproxy/goproxy and name the binary it writes\n`,
    );
    return 2;
  }
  const say = (line: string): void => void process.stdout.write(line + '\n');
  const started = new Date().toISOString();
  const needsLoad = f.only.has('hits') || f.only.has('ha');
  const tools: Tools =
    needsLoad || f.only.has('herd') ? ensureTools(say, f.install) : ensureTools(() => undefined, false);
  const machine = describeMachine(tools);
  say(machineText(machine));
  const rows: Row[] = [];
  const notes: string[] = [];
  const skip = (what: string, why: string): void => {
    notes.push(`${what} skipped: ${why}`);
    say(`bench: ${what} skipped: ${why}`);
  };

  let world: BenchWorld | undefined;
  const needsWorld = [...f.only].some((b) => !['h1', 'many', 'overhead', 'lookups'].includes(b));
  try {
    if (needsWorld) world = await createWorld({ coldModules: f.quick ? 10 : 30, say });
    for (const name of BENCHES) {
      if (!f.only.has(name)) continue;
      say(`\n== ${name}`);
      const t0 = performance.now();
      const load0 = loadAverage();
      const out = await runOne(name, f, tools, world, say, skip);
      rows.push(...out.rows);
      notes.push(...out.notes);
      const load = `${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s, 1-minute load average ${load0} before, ${loadAverage()} after`;
      notes.push(load);
      say(`   (${load})`);
    }
  } finally {
    await world?.close();
  }

  const results = { started, finished: new Date().toISOString(), quick: f.quick, machine, notes, rows };
  say('\n' + textTable(rows));
  for (const n of notes) say(`- ${n}`);
  const paths = await writeResults(f.out, results);
  const targeted = rows.filter((r) => r.target);
  const passed = targeted.filter((r) => passes(r) === true).length;
  say(`\ntargets: ${passed} of ${targeted.length} rows pass`);
  say(`results: ${paths.markdown}\n         ${paths.json}`);
  return 0;
}

async function runOne(
  name: BenchName,
  f: Flags,
  tools: Tools,
  world: BenchWorld | undefined,
  say: (line: string) => void,
  skip: (what: string, why: string) => void,
): Promise<{ rows: Row[]; notes: string[] }> {
  const none = { rows: [], notes: [] };
  if (name === 'h1') return benchH1({ quick: f.quick, say });
  if (name === 'overhead') return benchOverhead({ quick: f.quick, say });
  if (name === 'lookups') return benchLookups({ repeats: f.quick ? 20 : 60, say, skip });
  if (name === 'many') {
    const entries = f.quick ? 30_000 : 300_000;
    const one = await benchManyEntries({ entries, parallel: 1, say });
    const two = await benchManyEntries({ entries, parallel: 2, say });
    return { rows: [...one.rows, ...two.rows], notes: [...one.notes, ...two.notes] };
  }
  if (!world) throw new Error('bench: no world');
  switch (name) {
    case 'ha':
      if (!tools.wrk) {
        skip('two nodes', 'wrk is missing');
        return none;
      }
      return benchTwoNodes({
        world,
        wrk: tools.wrk,
        seconds: f.seconds,
        rounds: f.quick ? 1 : 3,
        connections: f.connections.filter((c) => c >= 2),
        say,
        skip,
      });
    case 'hits':
      if (!tools.nginx || !tools.wrk) {
        skip('cache hits', 'nginx or wrk is missing');
        return none;
      }
      return benchHits({
        world,
        nginx: tools.nginx,
        wrk: tools.wrk,
        seconds: f.seconds,
        rounds: f.quick ? 1 : 3,
        warmupSeconds: f.quick ? 0 : 1,
        connections: f.connections,
        workers: f.workers,
        artifacts: f.artifacts,
        say,
        ...(process.env.GODEPOT_BENCH_PEER ? { peer: process.env.GODEPOT_BENCH_PEER } : {}),
      });
    case 'gomod':
      if (!tools.go) {
        skip('go mod download', 'the go command is missing');
        return none;
      }
      return benchGoModDownload({ world, nginx: tools.nginx, repeats: f.quick ? 3 : 11, workers: f.workers, say });
    case 'cold': {
      const fetches = await benchColdFetch({ world, say });
      if (!tools.go) {
        skip('cold fill', 'the go command is missing');
        return fetches;
      }
      const fill = await benchColdFill({
        world,
        repeats: f.quick ? 3 : 7,
        workers: f.workers,
        ...(process.env.GODEPOT_BENCH_PEER ? { peer: process.env.GODEPOT_BENCH_PEER } : {}),
        say,
      });
      return { rows: [...fetches.rows, ...fill.rows], notes: [...fetches.notes, ...fill.notes] };
    }
    case 'herd':
      return benchHerd({ world, nginx: tools.nginx, clients: 500, say });
    case 'startup':
      return benchStartup({ world, repeats: f.quick ? 3 : 7, say });
  }
}
