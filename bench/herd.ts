// The thundering herd: 500 simultaneous requests for one uncached 50 MB zip.
// godepot must fetch it from the upstream once (single flight), verify it,
// store it, and stream it to all 500 from storage with bounded memory. The
// reference is nginx serving the stored file to 500 simultaneous clients.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Row } from './report.js';
import { peakRss, REPO_ROOT, startGodepot, startNginx } from './procs.js';
import { artifactPath, type BenchWorld } from './world.js';

export interface HerdOptions {
  readonly world: BenchWorld;
  readonly nginx: string | null;
  readonly clients: number;
  readonly say: (line: string) => void;
}

export interface HerdResult {
  readonly requests: number;
  readonly statuses: Record<string, number>;
  readonly errors: string[];
  readonly errorCount: number;
  readonly bytes: number;
  readonly minBytes: number;
  readonly firstByteMaxMs: number;
  readonly lastByteMs: number;
}

export async function runHerd(url: string, clients: number): Promise<HerdResult> {
  const script = join(REPO_ROOT, 'dist', 'bench', 'bench', 'herd-client.js');
  const child = spawn(process.execPath, [script, url, String(clients)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const m = /^HERDJSON (\{.*\})$/m.exec(out);
  if (code !== 0 || !m?.[1]) throw new Error(`herd client failed (exit ${code}):\n${out}`);
  return JSON.parse(m[1]) as HerdResult;
}

const MB = 2 ** 20;

function describe(r: HerdResult, size: number): string {
  const ok = r.statuses['200'] ?? 0;
  const whole = r.minBytes === size ? 'all whole' : `shortest body ${r.minBytes} bytes`;
  return `${ok}/${r.requests} answered 200, ${whole}${r.errorCount ? `, ${r.errorCount} errors (${r.errors.join('; ')})` : ''}`;
}

export async function benchHerd(o: HerdOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const { world } = o;
  const path = artifactPath(world.herd, 'zip');
  const size = world.herd.zip.length;
  const data = join(world.tmp, 'herd-data');
  const rows: Row[] = [];
  const notes: string[] = [];
  world.upstream.resetLog();
  const g = await startGodepot({
    data,
    upstream: world.upstream.url,
    sumdb: world.sumdbSetting,
    logFile: join(world.tmp, 'herd-godepot.log'),
  });
  let cold: HerdResult;
  let coldRss: number;
  let warm: HerdResult;
  let warmRss: number;
  try {
    cold = await runHerd(g.url + path, o.clients);
    coldRss = peakRss(g.pid);
    o.say(
      `  cold: ${describe(cold, size)}; last byte after ${cold.lastByteMs.toFixed(0)} ms; peak RSS ${(coldRss / MB).toFixed(0)} MB`,
    );
  } finally {
    await g.stop();
  }
  const fetches = world.upstream.count(path);
  // The same again with the zip stored: godepot's streaming alone.
  const g2 = await startGodepot({
    data,
    upstream: world.upstream.url,
    sumdb: world.sumdbSetting,
    logFile: join(world.tmp, 'herd-godepot-warm.log'),
  });
  try {
    warm = await runHerd(g2.url + path, o.clients);
    warmRss = peakRss(g2.pid);
    o.say(
      `  stored: ${describe(warm, size)}; last byte after ${warm.lastByteMs.toFixed(0)} ms; peak RSS ${(warmRss / MB).toFixed(0)} MB`,
    );
  } finally {
    await g2.stop();
  }
  let ref: HerdResult | null = null;
  let refRss: number | null = null;
  if (o.nginx) {
    const n = await startNginx({
      binary: o.nginx,
      root: join(data, 'mod'),
      workers: 1,
      dir: join(world.tmp, 'nginx-herd'),
    });
    try {
      ref = await runHerd(n.url + path, o.clients);
      refRss = peakRss(n.pid);
      o.say(
        `  nginx: ${describe(ref, size)}; last byte after ${ref.lastByteMs.toFixed(0)} ms; peak RSS ${(refRss / MB).toFixed(0)} MB`,
      );
    } finally {
      await n.stop();
    }
  } else {
    notes.push('thundering herd: nginx missing, no reference figures');
  }
  const refName = ref ? 'nginx, file stored' : null;
  const name = `${o.clients} × one uncached ${(size / MB).toFixed(0)} MB zip, 1 worker`;
  rows.push(
    {
      bench: 'thundering herd',
      name: `${name}: upstream fetches`,
      unit: 'fetches',
      godepot: fetches,
      refName: null,
      reference: null,
      detail: describe(cold, size),
      target: { on: 'godepot', op: '==', value: 1 },
    },
    {
      bench: 'thundering herd',
      name: `${name}: peak RSS`,
      unit: 'MB',
      godepot: coldRss / MB,
      refName,
      reference: refRss === null ? null : refRss / MB,
      target: { on: 'godepot', op: '<', value: 300 },
      detail: 'VmHWM of the server process(es)',
    },
    {
      bench: 'thundering herd',
      name: `${name}: time to last byte`,
      unit: 'ms',
      godepot: cold.lastByteMs,
      refName,
      reference: ref?.lastByteMs ?? null,
      detail: `godepot includes fetching (${(size / MB).toFixed(0)} MB), verifying and storing; last first byte at ${cold.firstByteMaxMs.toFixed(0)} ms`,
      raw: { cold, ref },
    },
    {
      bench: 'thundering herd',
      name: `${o.clients} × the same zip once stored: time to last byte`,
      unit: 'ms',
      godepot: warm.lastByteMs,
      refName,
      reference: ref?.lastByteMs ?? null,
      detail: `${describe(warm, size)}; peak RSS ${(warmRss / MB).toFixed(0)} MB${refRss === null ? '' : ` vs nginx ${(refRss / MB).toFixed(0)} MB`}`,
      raw: { warm },
    },
  );
  return { rows, notes };
}
