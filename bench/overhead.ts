// What godepot's own access-log writer saves over the library used as
// intended: runtime/logging.ts's batching sink and line writer against
// pino's log.info to its own asynchronous destination. Each variant writes
// one cache hit's line per turn of the event loop, as requests arriving one
// at a time do, to a file; CPU time of the whole process (thread pool
// included) is compared in interleaved rounds, and the ratio is reported
// with its spread. (The request metrics were measured the same way against
// prom-client and did not pay for their own code: they use prom-client.)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { accessLogWriter, BatchingSink, isoTimeCached } from '../src/runtime/logging.js';
import { median, type Row } from './report.js';

export interface OverheadOptions {
  readonly quick: boolean;
  readonly say: (line: string) => void;
}

type Request = () => void;

const RECORD = {
  method: 'GET',
  route: 'zip',
  path: '/example.com/m/@v/v1.0.0.zip',
  status: 200,
  bytes: 307_200,
  ms: 0.3,
};

function pinoAccess(file: string): { request: Request; close: () => void } {
  const dest = pino.destination({ dest: file, sync: false });
  const log = pino({ level: 'info', base: { pid: process.pid } }, dest);
  return { request: () => log.info(RECORD, 'request'), close: () => dest.flushSync() };
}

function batchedAccess(file: string): { request: Request; close: () => void } {
  const sink = new BatchingSink(pino.destination({ dest: file, sync: false }));
  const time = isoTimeCached();
  const base = { pid: process.pid };
  const log = pino({ level: 'info', base, timestamp: time }, sink);
  const access = accessLogWriter(log, { write: (line) => sink.queue(line) }, time, base);
  return { request: () => access(RECORD), close: () => sink.flushSync() };
}

/** CPU microseconds per request for n requests, one per turn of the event loop. */
async function cpuPerRequest(request: Request, n: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    request();
    await new Promise((r) => setImmediate(r));
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

async function compare(
  n: number,
  rounds: number,
  baseline: () => Request,
  mine: () => Request,
): Promise<{ base: number[]; mine: number[]; ratios: number[] }> {
  const base: number[] = [];
  const own: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Interleaved, alternating which goes first, so drifting load hits both alike.
    const pair = r % 2 === 0 ? [baseline, mine] : [mine, baseline];
    for (const make of pair) (make === baseline ? base : own).push(await cpuPerRequest(make(), n));
  }
  return { base, mine: own, ratios: base.map((b, i) => (own[i] ?? NaN) / b) };
}

function row(name: string, refName: string, c: { base: number[]; mine: number[]; ratios: number[] }): Row {
  const spread = `ratio per round ${Math.min(...c.ratios).toFixed(2)}–${Math.max(...c.ratios).toFixed(2)} (median ${median(c.ratios).toFixed(2)})`;
  return {
    bench: 'bookkeeping',
    name,
    unit: 'µs CPU/request',
    godepot: median(c.mine),
    refName,
    reference: median(c.base),
    detail: `${spread}; godepot's own code saves ${(median(c.base) - median(c.mine)).toFixed(2)} µs per request`,
    raw: c,
  };
}

export async function benchOverhead(o: OverheadOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const n = o.quick ? 5_000 : 20_000;
  const rounds = o.quick ? 3 : 7;
  const tmp = await mkdtemp(join(tmpdir(), 'godepot-bench-log-'));
  const closers: Array<() => void> = [];
  const track = (made: { request: Request; close: () => void }): Request => {
    closers.push(made.close);
    return made.request;
  };
  let k = 0;
  const logs = await compare(
    n,
    rounds,
    () => track(pinoAccess(join(tmp, `pino-${k++}.log`))),
    () => track(batchedAccess(join(tmp, `batched-${k++}.log`))),
  );
  for (const close of closers) close();
  await rm(tmp, { recursive: true, force: true });
  const rows = [row('access log: BatchingSink + accessLogWriter', "pino's log.info to its async destination", logs)];
  for (const r of rows) o.say(`  ${r.name}: ${r.godepot.toFixed(2)} vs ${r.reference?.toFixed(2)} µs; ${r.detail}`);
  return { rows, notes: [] };
}
