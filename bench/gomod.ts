// A warm `go mod download` through godepot (every artifact already stored)
// against GOPROXY=file:// of the very files godepot stores (no server at
// all), for three apps: the ~60-module test app (tiny zips: HTTP's own cost
// per request is most of the difference), an app needing the 30 modules of
// 300 KB (the go command's own work, hashing and unzipping, is a share of the
// time closer to real modules), and an app whose 38 modules have the file
// counts and sizes of a real program's (bench/real-app.ts: 7,223 files, 186
// MB unpacked: what a real build downloads). Each run starts from an empty
// module cache; godepot and file:// are run alternately and the medians compared. For context (not a
// target), two other servers of the same files are alternated with them
// once per app: nginx (what any HTTP server costs) and a bare node:http
// server answering from memory (what Node's HTTP costs: the floor under
// godepot's figure).
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeRun, goEnv, runGo, writeApp } from '../test/world/gocmd.js';
import { median, type Row } from './report.js';
import { startBareNode, startGodepot, startNginx, type Child } from './procs.js';
import type { BenchWorld } from './world.js';
import { writePayloadApp } from './coldfill.js';

export interface GoModOptions {
  readonly world: BenchWorld;
  /** nginx serving the same files as a GOPROXY, for context (how much of the gap any HTTP server has); null to skip. */
  readonly nginx: string | null;
  readonly repeats: number;
  readonly workers: readonly number[];
  readonly say: (line: string) => void;
}

/** Untimed downloads through godepot before the timed ones (about 230 requests each). */
const WARMUP_RUNS = 4;

export async function benchGoModDownload(o: GoModOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const { world } = o;
  const smallDir = join(world.tmp, 'gomod-app');
  await writeApp(smallDir, world.fixture.app);
  const payloadDir = join(world.tmp, 'gomod-payload-app');
  await writePayloadApp(payloadDir, world);
  const realDir = join(world.tmp, 'gomod-real-app');
  await writePayloadApp(realDir, world, world.realApp);
  const apps = [
    { dir: smallDir, name: '~60-module app' },
    { dir: payloadDir, name: `${world.cold.length} modules of 300 KB` },
    { dir: realDir, name: `an app shaped like gin + Prometheus client + cobra (${world.realApp.length} modules)` },
  ];
  const fileProxy = pathToFileURL(join(world.warmData, 'mod')).href;
  const rows: Row[] = [];
  const notes: string[] = [];
  const download = async (appDir: string, proxy: string, sumdb: string): Promise<number> => {
    const home = await mkdtemp(join(world.tmp, 'gohome-'));
    try {
      const r = await runGo(['mod', 'download'], {
        cwd: appDir,
        env: goEnv({ home, proxy, sumdb }),
        timeoutMs: 300_000,
      });
      if (r.code !== 0) throw new Error(`go mod download failed:\n${describeRun(r)}`);
      return r.durationMs;
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  };
  // Context servers, each once per app, beside the first godepot configuration.
  const contexts: { name: string; start: (workers: number) => Promise<Child> }[] = [];
  const nginxBinary = o.nginx;
  if (nginxBinary) {
    contexts.push({
      name: 'nginx',
      start: (workers) =>
        startNginx({
          binary: nginxBinary,
          root: join(world.warmData, 'mod'),
          workers,
          dir: join(world.tmp, 'nginx-gomod'),
        }),
    });
  }
  contexts.push({
    name: 'bare node:http',
    start: (workers) => startBareNode({ root: join(world.warmData, 'mod'), workers }),
  });
  const contextRuns: { server: string; app: string; runs: number[]; fileRuns: number[] }[] = [];
  const appsWithContext = new Set<string>();
  for (const workers of o.workers) {
    const g = await startGodepot({
      data: world.warmData,
      upstream: world.upstream.url,
      sumdb: world.sumdbSetting,
      workers,
      logFile: join(world.tmp, `gomod-godepot-w${workers}.log`),
    });
    try {
      for (const app of apps) {
        // go.sum for the app (tidy), and a first download so that godepot holds everything the timed runs ask for.
        const home = await mkdtemp(join(world.tmp, 'gohome-'));
        const tidy = await runGo(['mod', 'tidy'], {
          cwd: app.dir,
          env: goEnv({ home, proxy: g.url, sumdb: world.sumdb.vkey }),
          timeoutMs: 300_000,
        });
        await rm(home, { recursive: true, force: true });
        if (tidy.code !== 0) throw new Error(`go mod tidy through godepot failed:\n${describeRun(tidy)}`);
        // Untimed, so that both paths start warm: godepot's memory cache and
        // its JIT (a proxy serves for days; the first thousand requests run
        // code V8 has not optimized yet), and the page cache.
        for (let i = 0; i < WARMUP_RUNS; i++) await download(app.dir, g.url, world.sumdb.vkey);
        await download(app.dir, fileProxy, world.sumdbSetting);
        world.upstream.resetLog();
        world.sumdb.resetLog();
        const viaGodepot: number[] = [];
        const viaFile: number[] = [];
        const others: { server: string; child: Child; runs: number[] }[] = [];
        try {
          if (!appsWithContext.has(app.name)) {
            appsWithContext.add(app.name);
            for (const c of contexts) {
              const child = await c.start(workers);
              others.push({ server: c.name, child, runs: [] });
              for (let i = 0; i < WARMUP_RUNS; i++) await download(app.dir, child.url, world.sumdbSetting);
            }
          }
          for (let i = 0; i < o.repeats; i++) {
            viaFile.push(await download(app.dir, fileProxy, world.sumdbSetting));
            viaGodepot.push(await download(app.dir, g.url, world.sumdb.vkey));
            for (const x of others) x.runs.push(await download(app.dir, x.child.url, world.sumdbSetting));
          }
        } finally {
          for (const x of others) await x.child.stop();
        }
        for (const x of others) contextRuns.push({ server: x.server, app: app.name, runs: x.runs, fileRuns: viaFile });
        const upstreamCalls = world.upstream.requests.length + world.sumdb.requests.length;
        const gm = median(viaGodepot);
        const fm = median(viaFile);
        rows.push({
          bench: 'go mod download',
          name: `warm, ${app.name}, ${workers} worker${workers > 1 ? 's' : ''}`,
          unit: 'ms',
          godepot: gm,
          refName: 'GOPROXY=file://',
          reference: fm,
          detail: `median of ${o.repeats}; godepot runs ${viaGodepot.join(', ')} ms; file:// runs ${viaFile.join(', ')} ms; upstream calls during timed runs: ${upstreamCalls}`,
          target: { on: 'ratio', op: '<=', value: 1.1 },
          raw: { viaGodepot, viaFile, upstreamCalls, workers },
        });
        o.say(`  ${app.name}, workers ${workers}: godepot ${gm} ms, file:// ${fm} ms (${(gm / fm).toFixed(2)}x)`);
      }
    } finally {
      await g.stop();
    }
  }
  for (const c of contextRuns) {
    const cm = median(c.runs);
    const fm = median(c.fileRuns);
    const what = c.server === 'nginx' ? 'the cost of HTTP itself' : "Node's HTTP, the floor under godepot";
    rows.push({
      bench: 'go mod download',
      name: `warm, ${c.app}, ${c.server} as the GOPROXY (context: ${what})`,
      unit: 'ms',
      godepot: cm,
      refName: 'GOPROXY=file://',
      reference: fm,
      detail: `not godepot: ${c.server} serving the same files, alternated with the runs above; ${c.runs.join(', ')} ms`,
      raw: { server: c.server, runs: c.runs },
    });
    o.say(`  ${c.app}, ${c.server} as GOPROXY: ${cm} ms, file:// ${fm} ms (${(cm / fm).toFixed(2)}x)`);
  }
  return { rows, notes };
}
