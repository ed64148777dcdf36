// The real go command as the independent judge of what the world (and later
// godepot) serves: finding the binary, a hermetic environment built from
// scratch, a runner with a hard timeout, and writing the app module to disk.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/** Thrown in CI (CI=true) when no go binary exists: e2e tests must fail there, not skip. */
export class GoMissingError extends Error {
  constructor(readonly searched: string[]) {
    super(
      `the go command is required for end-to-end tests in CI but was not found ` +
        `(looked in PATH and ${searched.join(', ')}); install Go 1.21+ on the CI machine`,
    );
    this.name = 'GoMissingError';
  }
}

const FALLBACK_GO = ['/usr/local/go/bin/go', '/usr/lib/go/bin/go'];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let cachedGo: string | null | undefined;

/**
 * The first executable `go` in the directories of pathVar, else the first
 * executable fallback; null when there is none, unless ci is true: then a
 * missing go is a GoMissingError.
 */
export function locateGo(pathVar: string, fallbacks: readonly string[], ci: boolean): string | null {
  const onPath = pathVar
    .split(delimiter)
    .filter((d) => d !== '')
    .map((d) => join(d, 'go'));
  const found = [...onPath, ...fallbacks].find(isExecutable) ?? null;
  if (found === null && ci) throw new GoMissingError([...fallbacks]);
  return found;
}

/**
 * The go binary: first `go` on PATH, then /usr/local/go/bin/go. Returns null
 * when none exists so tests can `describe.skipIf(findGo() === null)`, except
 * when `CI=true`, where a missing go is an error that fails the run.
 */
export function findGo(): string | null {
  if (cachedGo === undefined) {
    cachedGo = locateGo(process.env.PATH ?? '', FALLBACK_GO, process.env.CI === 'true');
    // Every test file that needs go asks here: a skip is never silent.
    if (cachedGo === null) process.stderr.write(GO_MISSING);
  }
  return cachedGo;
}

const GO_MISSING =
  '\n*** SKIPPING end-to-end tests: the go command was not found ' +
  `(looked in PATH and ${FALLBACK_GO.join(', ')}). ` +
  'They are the independent judge of what godepot serves: install Go 1.21+ to run them ' +
  '(under CI=true a missing go fails the run). ***\n\n';

/** Like findGo, but a missing binary is always an error (for code that already decided to run go). */
export function requireGo(): string {
  const go = findGo();
  if (go === null) throw new GoMissingError(FALLBACK_GO);
  return go;
}

/**
 * The compiled-package cache shared by every go invocation of the test run
 * (and later runs): it holds only build outputs, never modules or sums, so
 * sharing it speeds builds without weakening hermeticity.
 */
export function sharedGoCache(): string {
  const uid = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  // Outside the run's own temporary folder (test/support/global-tmp.ts), which goes when the run ends.
  const dir = join(process.env.GODEPOT_TEST_OUTER_TMP ?? tmpdir(), `godepot-test-gocache-${uid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface GoEnvOptions {
  /** A per-test temporary directory: HOME, GOPATH (`home/gopath`) and GOMODCACHE (`home/modcache`) live in it. */
  home: string;
  /** The GOPROXY value, e.g. `http://127.0.0.1:1234`. */
  proxy: string;
  /** The GOSUMDB value: `off`, a key, or `<vkey> <url>`. */
  sumdb: string;
  /** Extra variables, applied last (they may override any default). */
  extra?: Record<string, string>;
}

export interface GoPaths {
  gopath: string;
  modcache: string;
  /** `$GOPATH/pkg/sumdb`: the go command's memory of the latest signed trees; survives `go clean -modcache`. */
  sumdbState: string;
  gobin: string;
}

export function goPaths(home: string): GoPaths {
  const gopath = join(home, 'gopath');
  return {
    gopath,
    modcache: join(home, 'modcache'),
    sumdbState: join(gopath, 'pkg', 'sumdb'),
    gobin: join(gopath, 'bin'),
  };
}

/**
 * A hermetic environment for the go command, built from nothing: no variable
 * of the calling process leaks in except what a process needs to run (PATH is
 * reduced to the go binary's directory and the system directories, TMPDIR is
 * kept). Every module and sumdb setting is written out.
 */
export function goEnv(options: GoEnvOptions): Record<string, string> {
  const go = requireGo();
  const paths = goPaths(options.home);
  telemetryOff(options.home);
  const env: Record<string, string> = {
    HOME: options.home,
    PATH: [dirname(go), '/usr/local/bin', '/usr/bin', '/bin'].join(delimiter),
    GOPROXY: options.proxy,
    GOSUMDB: options.sumdb,
    GOFLAGS: '-modcacherw',
    GOPATH: paths.gopath,
    GOMODCACHE: paths.modcache,
    GOCACHE: sharedGoCache(),
    GOTOOLCHAIN: 'local',
    GONOSUMDB: '',
    GOPRIVATE: '',
    GONOPROXY: '',
    GOINSECURE: '',
    GOVCS: '*:off',
    GOAUTH: 'off',
    GOENV: 'off',
    GOWORK: 'off',
    CGO_ENABLED: '0',
  };
  const tmp = process.env.TMPDIR;
  if (tmp !== undefined && tmp !== '') env.TMPDIR = tmp;
  return { ...env, ...options.extra };
}

export interface RunGoOptions {
  cwd: string;
  env: Record<string, string>;
  /** Hard limit: the whole process group is killed with SIGKILL after it. Default 120 s. */
  timeoutMs?: number;
}

export interface GoResult {
  /** Exit code; null when the process was killed (see timedOut). */
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** The command line, for failure messages. */
  command: string;
}

/**
 * Runs `go <args>`. Never rejects for a non-zero exit: the caller asserts on
 * code and stderr. The process runs in its own process group so the timeout
 * also kills the compilers and linkers it started.
 */
export function runGo(args: string[], options: RunGoOptions): Promise<GoResult> {
  const go = requireGo();
  const timeoutMs = options.timeoutMs ?? 120_000;
  const started = performance.now();
  const command = ['go', ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code: timedOut ? null : code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: Math.round(performance.now() - started),
        timedOut,
        command,
      });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** A one-line summary of a go run for assertion messages. */
export function describeRun(r: GoResult): string {
  const status = r.timedOut ? 'timed out' : `exit ${String(r.code)}`;
  return `${r.command}: ${status} after ${r.durationMs} ms\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`;
}

/** A main module on disk: file names relative to the module root. */
export interface AppFiles {
  files: Record<string, string>;
}

/** Writes the app's files under dir (creating directories). */
export async function writeApp(dir: string, app: AppFiles): Promise<void> {
  for (const [name, content] of Object.entries(app.files)) {
    const file = join(dir, name);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

/** `go version` output, or null when go is missing; handy for test titles. */
export function goVersion(): string | null {
  const go = findGo();
  if (go === null) return null;
  const r = spawnSync(go, ['version'], { encoding: 'utf8', env: { PATH: dirname(go), HOME: tmpdir() } });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * Turns the go command's telemetry off for a HOME the way the go command reads
 * it: a `mode` file under `$HOME/.config/go/telemetry` (the GOTELEMETRY
 * variable is read-only and ignored). With telemetry on, go writes counter
 * files there, from a process that can outlive the command and race a test's
 * cleanup of HOME (ENOTEMPTY in rmdir).
 */
export function telemetryOff(home: string): void {
  const dir = join(home, '.config', 'go', 'telemetry');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'mode'), 'off\n');
}
