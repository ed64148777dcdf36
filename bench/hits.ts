// Cache hits: .info, .mod, a ~300 KB and a ~50 MB zip, at 1, 32 and 256
// connections, godepot --workers N against nginx worker_processes N serving
// the same files from the same disk, measured alternately in the same run.
import { join } from 'node:path';
import { median, type Row, type Target } from './report.js';
import { peakRss, startGodepot, startNginx, type Child } from './procs.js';
import { artifactPath, type BenchWorld } from './world.js';
import { runWrk, writeWrkScript, type WrkResult } from './wrk.js';

export interface HitOptions {
  readonly world: BenchWorld;
  readonly nginx: string;
  readonly wrk: string;
  readonly seconds: number;
  /** Alternating rounds per case (order flips each round); medians are reported. */
  readonly rounds: number;
  readonly warmupSeconds: number;
  readonly connections: readonly number[];
  readonly workers: readonly number[];
  readonly say: (line: string) => void;
}

/** The issue's targets: cache-hit .mod ≥ 0.5x nginx's requests/s; 300 KB zip ≥ 0.6x. */
const TARGETS: Record<string, Target | undefined> = {
  '.mod': { on: 'ratio', op: '>=', value: 0.5 },
  '300 KB .zip': { on: 'ratio', op: '>=', value: 0.6 },
};

function ms(n: number): string {
  return n < 10 ? n.toFixed(2) : n.toFixed(1);
}

/** The median of each figure over the rounds. */
interface Summary {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly mbps: number;
  readonly runs: readonly WrkResult[];
}

function summarize(runs: readonly WrkResult[]): Summary {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    mbps: median(runs.map((r) => r.bytes / 2 ** 20 / (r.durationUs / 1e6))),
    runs,
  };
}

function detail(g: Summary, n: Summary, big: boolean): string {
  const errs = g.errors || n.errors ? `; errors godepot ${g.errors} nginx ${n.errors}` : '';
  const rate = big ? `; ${g.mbps.toFixed(0)} vs ${n.mbps.toFixed(0)} MB/s` : '';
  return `p50 ${ms(g.p50Ms)} vs ${ms(n.p50Ms)} ms, p99 ${ms(g.p99Ms)} vs ${ms(n.p99Ms)} ms${rate}${errs}`;
}

/** A 50 MB response at 256 connections takes seconds; such a run needs longer to complete any. */
function secondsFor(o: HitOptions, big: boolean, connections: number): number {
  return big && connections > 32 ? Math.max(o.seconds * o.rounds, 20) : o.seconds;
}

export async function benchHits(o: HitOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const { world } = o;
  const script = await writeWrkScript(world.tmp);
  const artifacts: Array<[string, string]> = [
    ['.info', artifactPath(world.hot.small, 'info')],
    ['.mod', artifactPath(world.hot.small, 'mod')],
    ['300 KB .zip', artifactPath(world.hot.zip300k, 'zip')],
    ['50 MB .zip', artifactPath(world.hot.zip50m, 'zip')],
  ];
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const workers of o.workers) {
    let godepot: Child | undefined;
    let nginx: Child | undefined;
    try {
      godepot = await startGodepot({
        data: world.warmData,
        upstream: world.upstream.url,
        sumdb: world.sumdbSetting,
        workers,
        logFile: join(world.tmp, `hits-godepot-w${workers}.log`),
      });
      nginx = await startNginx({
        binary: o.nginx,
        root: join(world.warmData, 'mod'),
        workers,
        dir: join(world.tmp, `nginx-w${workers}`),
      });
      for (const [label, path] of artifacts) {
        const urls = { godepot: godepot.url + path, nginx: nginx.url + path };
        for (const url of [urls.nginx, urls.godepot]) {
          const r = await fetch(url);
          await r.arrayBuffer();
          if (r.status !== 200) throw new Error(`cache hit: ${url} answered ${r.status}`);
          if (o.warmupSeconds > 0)
            await runWrk({ binary: o.wrk, script, url, connections: 32, seconds: o.warmupSeconds });
        }
        const big = label.startsWith('50 MB');
        for (const c of o.connections) {
          const seconds = secondsFor(o, big, c);
          const rounds = seconds === o.seconds ? o.rounds : 1;
          const gr: WrkResult[] = [];
          const nr: WrkResult[] = [];
          for (let i = 0; i < rounds; i++) {
            const order = i % 2 === 0 ? (['nginx', 'godepot'] as const) : (['godepot', 'nginx'] as const);
            for (const who of order)
              (who === 'nginx' ? nr : gr).push(
                await runWrk({ binary: o.wrk, script, url: urls[who], connections: c, seconds }),
              );
          }
          const g = summarize(gr);
          const n = summarize(nr);
          const target = TARGETS[label];
          const row: Row = {
            bench: 'cache hit',
            name: `${label}, ${c} conn, ${workers} worker${workers > 1 ? 's' : ''}`,
            unit: 'req/s',
            godepot: g.rps,
            refName: 'nginx',
            reference: n.rps,
            detail: `${rounds > 1 ? `median of ${rounds} × ${seconds} s; ` : `${seconds} s; `}${detail(g, n, big)}`,
            ...(target ? { target } : {}),
            raw: { godepot: g.runs, nginx: n.runs, workers, connections: c, artifact: label, seconds },
          };
          rows.push(row);
          o.say(
            `  ${row.name}: godepot ${Math.round(g.rps)} req/s, nginx ${Math.round(n.rps)} req/s (${(g.rps / n.rps).toFixed(2)}x); ${row.detail}`,
          );
        }
      }
      notes.push(
        `cache hits, ${workers} worker(s): godepot peak RSS ${(peakRss(godepot.pid) / 2 ** 20).toFixed(0)} MB (all processes), nginx ${(peakRss(nginx.pid) / 2 ** 20).toFixed(0)} MB`,
      );
    } finally {
      await godepot?.stop();
      await nginx?.stop();
    }
  }
  return { rows, notes };
}
