// wrk as the load generator (C, light on a 2-core machine): a Lua done()
// hook prints the summary and latency percentiles as one JSON line.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const SCRIPT = `-- written by godepot's bench/: one JSON line with the run's figures
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`;

export interface WrkResult {
  readonly requests: number;
  readonly durationUs: number;
  readonly bytes: number;
  /** Socket errors plus non-2xx/3xx answers. */
  readonly errors: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

export async function writeWrkScript(dir: string): Promise<string> {
  const p = join(dir, 'report.lua');
  await writeFile(p, SCRIPT);
  return p;
}

export interface WrkRun {
  readonly binary: string;
  readonly script: string;
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  /**
   * wrk threads; default 1. On a 2-core machine a second wrk thread takes
   * CPU from the server under test, and with 256 connections starved wrk
   * threads report seconds-long tails that no server caused.
   */
  readonly threads?: number;
}

export async function runWrk(o: WrkRun): Promise<WrkResult> {
  const threads = o.threads ?? 1;
  const args = [
    '-t',
    String(threads),
    '-c',
    String(o.connections),
    '-d',
    `${o.seconds}s`,
    '--timeout',
    '60s',
    '-s',
    o.script,
    o.url,
  ];
  const child = spawn(o.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const m = /^WRKJSON (\{.*\})$/m.exec(out);
  if (code !== 0 || !m?.[1]) throw new Error(`wrk ${args.join(' ')} failed (exit ${code}):\n${out}`);
  const j = JSON.parse(m[1]) as Record<string, number>;
  const n = (k: string): number => j[k] ?? 0;
  return {
    requests: n('requests'),
    durationUs: n('duration_us'),
    bytes: n('bytes'),
    errors: n('connect') + n('read') + n('write') + n('status') + n('timeout'),
    rps: n('requests') / (n('duration_us') / 1e6),
    p50Ms: n('p50_us') / 1000,
    p99Ms: n('p99_us') / 1000,
    meanMs: n('mean_us') / 1000,
  };
}
