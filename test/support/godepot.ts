// Starting godepot for tests: in-process (fast, inspectable), or as a child
// process of the built CLI (for signals, crashes and restarts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { buildSettings } from '../../src/config/load.js';
import { findOption } from '../../src/config/options.js';
import { compose, type ComposeOptions, type Godepot } from '../../src/runtime/compose.js';
import type { Storage } from '../../src/storage/index.js';
import { NO_PROXY_RULES } from '../../src/upstream/index.js';
import { createHttpServer, type GodepotServer, type HttpServerLimits } from '../../src/server/http-server.js';
import type { VcsOptions } from '../../src/runtime/private.js';
import { waitFor } from './ports.js';
import { track } from './spawned.js';

export type RawSettings = Record<string, string | string[]>;

export function settingsFrom(raw: RawSettings) {
  for (const k of Object.keys(raw)) if (!findOption(k)) throw new Error(`test: unknown setting ${k}`);
  return buildSettings({ values: raw, from: {} });
}

export interface RunningGodepot {
  readonly url: string;
  readonly g: Godepot;
  readonly data: string;
  readonly server: GodepotServer;
  /** Collected log lines (JSON objects). */
  readonly logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function tempDir(prefix = 'godepot-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * Starts godepot in this process on 127.0.0.1:0. `raw` holds settings by
 * option name (as flags would give them); `data` defaults to a new temp dir.
 */
export async function startGodepot(
  raw: RawSettings,
  opts: {
    storage?: Storage;
    background?: boolean;
    compose?: Pick<ComposeOptions, 'clock' | 'upstreamClock' | 'graceClock' | 'pools' | 'proxies' | 'ambientAuth'>;
    limits?: Partial<HttpServerLimits>;
    vcs?: VcsOptions;
  } = {},
): Promise<RunningGodepot> {
  const data = typeof raw.data === 'string' ? raw.data : await tempDir();
  const settings = settingsFrom({ 'log-level': 'info', 'access-log': 'false', ...raw, data });
  const logs: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: settings.logLevel },
    {
      write(line: string) {
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          logs.push({ raw: line });
        }
      },
    },
  );
  const g = await compose(settings, {
    log,
    processMetrics: false,
    background: opts.background ?? false,
    // The test's world is on loopback: an HTTP proxy set in the environment running the tests is not its business.
    proxies: NO_PROXY_RULES,
    // Nor are the credentials in the ~/.netrc of whoever runs them.
    ambientAuth: () => undefined,
    ...(opts.storage ? { storage: opts.storage } : {}),
    ...opts.compose,
    ...(opts.vcs ? { vcs: opts.vcs } : {}),
  });
  // The production server and its options (serve.ts uses the same), not Node's defaults.
  const server = createHttpServer(g.app, opts.limits);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  const url = `http://127.0.0.1:${addr.port}`;
  return {
    url,
    g,
    data,
    server,
    logs,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await g.close();
    },
  };
}

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(REPO_ROOT, 'bin', 'godepot.js');

let emptyHome: string | undefined;
/**
 * The HOME of every godepot a test spawns: empty, so no developer's
 * ~/.netrc, ~/.gitconfig or ~/.config reaches it (hermetic); made once per
 * test file, removed when it ends.
 */
export function testHome(): string {
  if (emptyHome === undefined) {
    const home = mkdtempSync(join(tmpdir(), 'godepot-test-home-'));
    process.once('exit', () => rmSync(home, { recursive: true, force: true }));
    emptyHome = home;
  }
  return emptyHome;
}

export interface ChildGodepot {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `node bin/godepot.js serve <args>` and waits until it listens (needs
 * `npm run build`). `nofile` limits the server's open descriptors (`prlimit`).
 * One process unless args say `--workers` or `defaultWorkers` is set (then
 * the default, one worker per core: the tests about workers and defaults).
 */
export async function spawnGodepot(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  opts: { nofile?: number; cwd?: string; defaultWorkers?: boolean } = {},
): Promise<ChildGodepot> {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  // Hermetic: godepot's defaults are the public proxy and checksum database, which no test may reach (even a DNS
  // lookup of them): every served child names its own, or is --offline.
  for (const [flag, variable] of [
    ['--upstream', 'GODEPOT_UPSTREAM'],
    ['--sumdb', 'GODEPOT_SUMDB'],
  ] as const)
    if (!args.includes(flag) && env[variable] === undefined && !args.includes('--offline'))
      throw new Error(`spawnGodepot: give ${flag} (the defaults are the public Go infrastructure)`);
  const workers = opts.defaultWorkers || args.includes('--workers') ? [] : ['--workers', '1'];
  const argv = [BIN, 'serve', '--listen', '127.0.0.1:0', ...workers, ...args];
  const [cmd, cmdArgs] =
    opts.nofile === undefined
      ? [process.execPath, argv]
      : ['prlimit', [`--nofile=${opts.nofile}:${opts.nofile}`, '--', process.execPath, ...argv]];
  const child = spawn(cmd, cmdArgs, {
    env: { PATH: process.env.PATH ?? '', HOME: testHome(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
  });
  track(child);
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: string): void => {
      out += chunk;
      // A JSON log line ("url":"…"), or the text one (--log-format text: "godepot listening on …;").
      const m = /"url":"(https?:\/\/127\.0\.0\.1:\d+)"|listening on (https?:\/\/127\.0\.0\.1:\d+);/.exec(out);
      if (m) resolve((m[1] ?? m[2]) as string);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: string) => (out += c));
    child.once('exit', (code) => reject(new Error(`godepot exited with ${code} before listening:\n${out}`)));
    setTimeout(() => reject(new Error(`godepot did not start within 20s:\n${out}`)), 20_000).unref();
  }).catch((err: unknown) => {
    // Never leave a server behind when the test gives up on it.
    child.kill('SIGKILL');
    throw err;
  });
  return {
    url,
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

/**
 * The start-up lines a served child logged so far, one per worker: the first
 * worker's "godepot listening on …" (first here), each other's "listening
 * (worker N of M)".
 */
export function listeningLines(g: ChildGodepot): Array<{ pid: number; msg: string; data?: string }> {
  const lines = g
    .output()
    .split('\n')
    .filter((l) => l.includes('"msg":"godepot listening') || l.includes('"msg":"listening (worker '))
    .map((l) => JSON.parse(l) as { pid: number; msg: string; data?: string });
  return [...lines.filter((l) => l.data !== undefined), ...lines.filter((l) => l.data === undefined)];
}

/** Waits (bounded) until n workers of a served child have said they listen; returns their lines. */
export async function allListening(
  g: ChildGodepot,
  n: number,
): Promise<Array<{ pid: number; msg: string; data?: string }>> {
  await waitFor(async () => listeningLines(g).length >= n, 10_000, `${n} workers did not say they listen`);
  return listeningLines(g);
}

/** Whether a process is alive (signal 0). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Closes godepots a test started and removes their data folders (for afterEach); empties the list. */
export async function closeAll(running: RunningGodepot[]): Promise<void> {
  for (const g of running.splice(0)) {
    await g.close();
    await removeDir(g.data);
  }
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
