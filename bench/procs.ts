// Servers under test as child processes, so the load generator's CPU is not
// theirs and their memory can be read from /proc: godepot (the built CLI) and
// nginx with a generated config serving godepot's data/mod tree, which is in
// GOPROXY layout.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { NODE_START_FLAGS } from '../src/runtime/v8-flags.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const GODEPOT_BIN = join(REPO_ROOT, 'bin', 'godepot.js');

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Polls url until it answers `status` (default 200; 'any' for any answer); resolves with the ms it took. */
export async function waitFor(
  url: string,
  timeoutMs = 30_000,
  child?: ChildProcess,
  status: number | 'any' = 200,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null))
      throw new Error(`process exited (${child.exitCode ?? child.signalCode}) before ${url} answered`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (status === 'any' || r.status === status) return performance.now() - started;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > timeoutMs)
      throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** Pids of pid and its descendants (for --workers N and nginx's workers). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    try {
      for (const tid of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // gone, or no /proc
    }
  }
  return out;
}

function statusField(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Peak resident memory (VmHWM) summed over the process tree, in bytes. */
export function peakRss(pid: number): number {
  return processTree(pid).reduce((n, p) => n + statusField(p, 'VmHWM'), 0);
}

/** The largest peak resident memory (VmHWM) of any one process in the tree, in bytes. */
export function peakRssPerProcess(pid: number): number {
  return Math.max(0, ...processTree(pid).map((p) => statusField(p, 'VmHWM')));
}

export interface Child {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and waits for it. */
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

function pick(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = env[n];
    if (v !== undefined) out[n] = v;
  }
  return out;
}

export interface GodepotOptions {
  readonly data: string;
  readonly upstream: string;
  readonly sumdb: string;
  readonly workers?: number;
  readonly logFile: string;
  readonly extra?: readonly string[];
  /** More environment (e.g. the AWS credentials of an object store). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Spawns `node bin/godepot.js serve` on a free loopback port with its log
 * (access log on, the default) going to a file, and waits for /healthz.
 */
export async function startGodepot(o: GodepotOptions): Promise<Child & { readonly startMs: number }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = openSync(o.logFile, 'a');
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      // As `npm start` runs it, with any flags asked for to look inside it (--cpu-prof, --heap-prof…).
      ...NODE_START_FLAGS,
      ...(process.env.GODEPOT_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f !== ''),
      GODEPOT_BIN,
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--data',
      o.data,
      '--upstream',
      o.upstream,
      '--sumdb',
      o.sumdb,
      '--workers',
      String(o.workers ?? 1),
      ...(o.extra ?? []),
    ],
    {
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        // Knobs of Node's cluster and of libuv's accept, passed through for experiments.
        ...pick(process.env, ['NODE_CLUSTER_SCHED_POLICY', 'UV_TCP_SINGLE_ACCEPT', 'UV_THREADPOOL_SIZE']),
        ...o.env,
      },
    },
  );
  closeSync(log);
  try {
    await waitFor(`${url}/healthz`, 30_000, child);
    // With several workers, wait until each has started listening (a few probes reach them all).
    if ((o.workers ?? 1) > 1) await sleep(300);
  } catch (err) {
    await stopChild(child);
    throw new Error(`godepot did not start: ${(err as Error).message}; see ${o.logFile}`);
  }
  return { url, pid: child.pid ?? 0, child, startMs: performance.now() - started, stop: () => stopChild(child) };
}

export interface NginxOptions {
  readonly binary: string;
  /** The folder served at / (godepot's data/mod). */
  readonly root: string;
  readonly workers: number;
  /** Where config, pid file, temp folders and error log go. */
  readonly dir: string;
}

/**
 * The reference: nginx serving files straight from disk, sendfile on,
 * access log off, keep-alive without a request limit (as godepot has),
 * `workers` worker processes.
 */
export function nginxConfig(o: NginxOptions, port: number): string {
  const dir = resolve(o.dir);
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return `# generated by godepot's bench/: the reference static-file server
${asRoot ? 'user root;\n' : ''}worker_processes ${o.workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 100000000;
  client_body_temp_path ${dir}/tmp-body;
  proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fastcgi;
  uwsgi_temp_path ${dir}/tmp-uwsgi;
  scgi_temp_path ${dir}/tmp-scgi;
  types { application/json info; text/plain mod; application/zip zip; }
  default_type text/plain;
  server {
    listen 127.0.0.1:${port};
    root ${resolve(o.root)};
    location / { }
  }
}
`;
}

export async function startNginx(o: NginxOptions): Promise<Child> {
  await mkdir(o.dir, { recursive: true });
  const port = await freePort();
  const conf = join(o.dir, 'nginx.conf');
  await writeFile(conf, nginxConfig(o, port));
  const child = spawn(o.binary, ['-c', conf, '-p', o.dir, '-e', join(o.dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/`, 15_000, child, 'any');
  } catch (e) {
    await stopChild(child);
    throw new Error(`nginx did not start: ${(e as Error).message}\n${err}`);
  }
  return { url, pid: child.pid ?? 0, child, stop: () => stopChild(child) };
}

export interface PeerOptions {
  /** A goproxy binary built from goproxy/goproxy (`go build ./cmd/goproxy`). */
  readonly binary: string;
  /** The upstream GOPROXY URL (the bench world's). */
  readonly upstream: string;
  /** GOSUMDB for the peer: "KEY URL" of the bench world's database. */
  readonly sumdb: string;
  /** Its cache, temp folder and log go here. */
  readonly dir: string;
  /** GOMAXPROCS: the cores it may use at once (absent: all, Go's default). */
  readonly procs?: number;
}

/**
 * The peer: goproxy/goproxy (goproxy.cn's engine) with its directory cacher,
 * fetching from the same upstream and checking the same checksum database.
 */
export async function startGoproxy(o: PeerOptions): Promise<Child> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = resolve(o.dir);
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const log = openSync(join(dir, 'goproxy.log'), 'a');
  const child = spawn(
    o.binary,
    ['server', '--address', `127.0.0.1:${port}`, '--cacher-dir', join(dir, 'cache'), '--temp-dir', join(dir, 'tmp')],
    {
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        GOPROXY: o.upstream,
        GOSUMDB: o.sumdb,
        GONOSUMDB: '',
        GOPRIVATE: '',
        GOFLAGS: '-mod=mod',
        GOTOOLCHAIN: 'local',
        ...(o.procs === undefined ? {} : { GOMAXPROCS: String(o.procs) }),
        GOPATH: join(dir, 'gopath'),
        GOMODCACHE: join(dir, 'gopath', 'pkg', 'mod'),
      },
    },
  );
  closeSync(log);
  try {
    await waitFor(`${url}/`, 30_000, child, 'any');
  } catch (err) {
    await stopChild(child);
    throw new Error(`goproxy did not start: ${(err as Error).message}; see ${join(dir, 'goproxy.log')}`);
  }
  return { url, pid: child.pid ?? 0, child, stop: () => stopChild(child) };
}

export interface BareNodeOptions {
  /** The folder served at / (godepot's data/mod). */
  readonly root: string;
  readonly workers: number;
}

/** A bare node:http server (bare-node.ts) serving root from memory: the Node floor beside nginx. */
export async function startBareNode(o: BareNodeOptions): Promise<Child> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const script = fileURLToPath(new URL('./bare-node.js', import.meta.url));
  const child = spawn(process.execPath, [script, resolve(o.root), String(port), String(o.workers)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitFor(`${url}/`, 15_000, child, 'any');
  } catch (err) {
    await stopChild(child);
    throw new Error(`the bare node:http server did not start: ${(err as Error).message}`);
  }
  return { url, pid: child.pid ?? 0, child, stop: () => stopChild(child) };
}
