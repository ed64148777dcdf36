// Running the go command for origin fetches (DESIGN invariant 9: every wait
// is bounded). Each run gets a fresh GOPATH under the data folder, so a tag
// moved at the origin is seen as moved (a shared module cache would keep
// answering with the old bytes); the run's folder is removed afterwards.
// At most `concurrency` runs at once for private modules and as many for
// public ones (`direct`), in two queues: public fetches name hosts and
// repositories the client chose, and ones that hang or clone for long must
// not hold the slots a private fetch needs. Each run has a deadline, and on the
// deadline or an abort the whole process group (go and the git processes
// it started) is killed and the run ends, whatever still holds its output.
// Only a private module's run gets godepot's credentials (.netrc, GOAUTH,
// Git's credential helpers, …): a public module's path is the client's
// choice, and its host may redirect go (go-import) to a private repository.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, readlink, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Limiter } from '../util/limiter.js';
import { eitherSignal } from '../util/signals.js';

export interface GoRunnerOptions {
  /** The go binary (default: `go` on PATH). */
  readonly go: string;
  /**
   * godepot's own environment: a private module's run gets all of it but
   * godepot's settings (GODEPOT_*: upstream and Redis credentials); a public
   * module's run only what reaches the network (publicEnvironment).
   */
  readonly env: NodeJS.ProcessEnv;
  /** GOPRIVATE-syntax patterns of private modules ('' for none). */
  readonly privatePatterns: string;
  /** Folder for the per-run GOPATHs (inside the data folder). */
  readonly workRoot: string;
  /** Runs at once, for private modules and again for public ones. */
  readonly concurrency: number;
  /** Deadline of one run (ms). */
  readonly timeoutMs: number;
}

export interface GoRun {
  /** Exit code; null when the process was killed. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** The run's GOMODCACHE (exists only inside the callback given to run()). */
  readonly modcache: string;
}

/** A fetch waited a whole run deadline for a free slot (the runs ahead of it are slow or stuck): not started. */
export class GoQueueTimeoutError extends Error {
  override readonly name = 'GoQueueTimeoutError';
}

/** The go binary is not installed where godepot runs. */
export class GoMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoMissingError';
  }
}

/** At most 16 MiB of output is kept per stream; `go mod download -json` prints far less. */
const MAX_OUTPUT = 16 << 20;

/**
 * How long the pipes are read after go exits. Something go started may have left its group (setsid: an ssh
 * ControlPersist master, a credential daemon) and outlive go with its output open; what go wrote is in the
 * pipes already, and the run ends without waiting for that process (Go's exec.Cmd.WaitDelay).
 */
const PIPE_GRACE_MS = 1_000;

export class GoRunner {
  /** Runs for private modules and for public ones; the others queued (as many as ask: each holds a request). */
  private readonly privateSlots: Limiter;
  private readonly publicSlots: Limiter;

  constructor(private readonly opts: GoRunnerOptions) {
    this.privateSlots = new Limiter(opts.concurrency, Number.MAX_SAFE_INTEGER);
    this.publicSlots = new Limiter(opts.concurrency, Number.MAX_SAFE_INTEGER);
  }

  /**
   * Removes run folders left by a process that died mid-run; resolves with
   * how many. Other processes sharing the data folder (the workers of
   * `--workers N`) may be running go right now, so every folder found is
   * only a candidate: it is removed a run deadline later (`later`: a timer,
   * which the wall clock does not move) if it is still there with the same
   * date. A run is killed at its deadline and removes its folder, so by then
   * every live run has ended; what is left unchanged was left by a process
   * that died, however recently (a service manager restarts at once). A
   * `later` that rejects (shutdown) ends the sweep, with nothing removed.
   */
  async sweep(later: (ms: number) => Promise<void>): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.opts.workRoot);
    } catch {
      return 0;
    }
    const dated = async (dir: string): Promise<number | undefined> =>
      stat(dir).then(
        (st) => st.mtimeMs,
        () => undefined,
      );
    const candidates: Array<[string, number]> = [];
    for (const name of names) {
      if (!name.startsWith('run-')) continue;
      const dir = join(this.opts.workRoot, name);
      const mtimeMs = await dated(dir);
      if (mtimeMs !== undefined) candidates.push([dir, mtimeMs]);
    }
    if (candidates.length === 0) return 0;
    await later(this.opts.timeoutMs);
    const left: string[] = [];
    for (const [dir, mtimeMs] of candidates) if ((await dated(dir)) === mtimeMs) left.push(dir);
    // The go of a single godepot that was SIGKILLed (no primary to kill its group) may run on in there, with no
    // deadline: killed with the git it started, before its folder goes.
    await killGroupsIn(left);
    let removed = 0;
    for (const dir of left) {
      // Not ours to remove after all (permissions): not worth failing anything for.
      await rm(dir, { recursive: true, force: true }).then(
        () => removed++,
        () => undefined,
      );
    }
    return removed;
  }

  /**
   * The environment of a run: godepot's own (for a public module's run,
   * without credentials), with the module settings of an origin fetch on top.
   */
  environment(gopath: string, credentials: boolean): NodeJS.ProcessEnv {
    const p = this.opts.privatePatterns;
    return {
      ...lowerCaseProxies(
        credentials ? withoutSettings(this.opts.env) : publicEnvironment(this.opts.env, join(gopath, 'home')),
      ),
      GOPATH: gopath,
      GOMODCACHE: join(gopath, 'pkg', 'mod'),
      GOPROXY: 'direct',
      // godepot checks public modules against its own verified database mirror, and private ones against its ledger.
      GOSUMDB: 'off',
      GOFLAGS: '-mod=mod -modcacherw',
      GO111MODULE: 'on',
      GOTOOLCHAIN: 'local',
      GOWORK: 'off',
      GOENV: 'off',
      // go keeps telemetry (a mode file, counters) under the user's config folder, outside the data folder,
      // and its GOTELEMETRY variable is read-only; this variable, which the go command reads (cmd/internal/
      // telemetry), moves it into the run's folder, where a mode file says off (run()).
      TEST_TELEMETRY_DIR: join(gopath, 'telemetry'),
      GOPRIVATE: p,
      GONOSUMDB: p,
      GONOPROXY: '',
      GIT_TERMINAL_PROMPT: '0',
    };
  }

  /**
   * Runs `go args` in a fresh GOPATH, then `use` with the result while the
   * run's module cache still exists. Never rejects for a failed go command
   * (use looks at code and stderr); rejects with signal's reason on abort.
   * credentials: a private module's run (see environment()).
   */
  async run<T>(
    args: readonly string[],
    signal: AbortSignal,
    use: (r: GoRun) => Promise<T>,
    credentials = false,
  ): Promise<T> {
    const slots = credentials ? this.privateSlots : this.publicSlots;
    // The wait for a slot has the run's deadline too: behind --vcs-concurrency stuck runs, a fetch would wait for
    // each of them to be killed, then run its own deadline. It gives up instead, saying so (it then runs in full).
    const queue = new AbortController();
    const timer = setTimeout(
      () =>
        queue.abort(
          new GoQueueTimeoutError(
            `every one of the ${this.opts.concurrency} fetches from version control allowed at once (--vcs-concurrency) ran for the whole ${Math.round(this.opts.timeoutMs / 1000)}s (--vcs-timeout) while this one waited for its turn`,
          ),
        ),
      this.opts.timeoutMs,
    );
    const waiting = eitherSignal(signal, queue.signal);
    try {
      return await slots.run(async () => {
        clearTimeout(timer);
        return this.runInSlot(args, signal, use, credentials);
      }, waiting.signal);
    } finally {
      clearTimeout(timer);
      waiting.release();
    }
  }

  private async runInSlot<T>(
    args: readonly string[],
    signal: AbortSignal,
    use: (r: GoRun) => Promise<T>,
    credentials: boolean,
  ): Promise<T> {
    await mkdir(this.opts.workRoot, { recursive: true });
    // Absolute: go refuses a relative GOPATH, and --data is relative by default (./data).
    const gopath = await mkdtemp(join(resolve(this.opts.workRoot), 'run-'));
    try {
      // go runs in a module of its own, empty: else a go.mod above the data folder would be the main
      // module, and a query such as @upgrade would answer from (and fetch) that module's requirements.
      const cwd = join(gopath, 'work');
      await mkdir(cwd);
      await writeFile(join(cwd, 'go.mod'), 'module godepot.invalid/fetch\n');
      // Telemetry off, in the run's folder (see environment()).
      await mkdir(join(gopath, 'telemetry'));
      await writeFile(join(gopath, 'telemetry', 'mode'), 'off\n');
      if (!credentials) await mkdir(join(gopath, 'home'));
      const r = await this.spawn(args, gopath, cwd, signal, credentials);
      return await use(r);
    } finally {
      await rm(gopath, { recursive: true, force: true });
    }
  }

  private spawn(
    args: readonly string[],
    gopath: string,
    cwd: string,
    signal: AbortSignal,
    credentials: boolean,
  ): Promise<GoRun> {
    signal.throwIfAborted();
    return new Promise<GoRun>((resolve, reject) => {
      const child = spawn(this.opts.go, args, {
        cwd,
        env: this.environment(gopath, credentials),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      running.add(child);
      const pid = child.pid;
      if (pid !== undefined) groupWatcher?.(pid, true);
      child.once('exit', (_code, killedBy) => {
        running.delete(child);
        // go waits for the git it starts, unless it was killed (the OOM killer, an operator): then they are left
        // in its group, running with no deadline.
        if (killedBy !== null) killGroup(pid);
        if (pid !== undefined) groupWatcher?.(pid, false);
      });
      if (!exitHooked) {
        exitHooked = true;
        process.once('exit', () => running.forEach((c) => killGroup(c.pid)));
      }
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outLen = 0;
      let errLen = 0;
      child.stdout.on('data', (b: Buffer) => {
        if ((outLen += b.length) <= MAX_OUTPUT) out.push(b);
      });
      child.stderr.on('data', (b: Buffer) => {
        if ((errLen += b.length) <= MAX_OUTPUT) err.push(b);
      });
      let timedOut = false;
      // A process that left the group (setsid: an ssh or credential daemon) may hold the pipes open and
      // survive the kill; the run ends anyway, so the pipes are closed on our side too.
      const kill = (): void => {
        killGroup(child.pid);
        child.stdout.destroy();
        child.stderr.destroy();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, this.opts.timeoutMs);
      const onAbort = (): void => kill();
      signal.addEventListener('abort', onAbort, { once: true });
      let grace: NodeJS.Timeout | undefined;
      child.on('exit', () => {
        // go ended by itself: not a time-out, whatever still holds its pipes.
        clearTimeout(timer);
        grace = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
        }, PIPE_GRACE_MS);
      });
      const done = (): void => {
        clearTimeout(timer);
        clearTimeout(grace);
        signal.removeEventListener('abort', onAbort);
      };
      child.on('error', (e: NodeJS.ErrnoException) => {
        done();
        reject(
          e.code === 'ENOENT'
            ? new GoMissingError(
                `godepot cannot run the go command (${this.opts.go}): not found on godepot's PATH; install Go on the godepot host to fetch from version control`,
              )
            : e,
        );
      });
      child.on('close', (code) => {
        done();
        if (signal.aborted) {
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
          return;
        }
        resolve({
          code: timedOut ? null : code,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          timedOut,
          modcache: join(gopath, 'pkg', 'mod'),
        });
      });
    });
  }
}

/**
 * The go processes running now, in every runner. Each runs detached (its own process group, killed whole), so a
 * signal to godepot's group never reaches it: a process that ends by process.exit (a worker whose primary died,
 * which Node's cluster ends so; the stop time-out) kills them first, or they would run on, adopted, unbounded.
 * A killed one cannot (groupWatcher).
 */
const running = new Set<ChildProcess>();
let exitHooked = false;

/**
 * A killed process (SIGKILL: an operator, the OOM killer, the primary's watch of a hung worker) runs no exit hook:
 * a worker of --workers N tells its primary each run's process group, as it starts (true) and as go exits (false),
 * and the primary kills those still running when the worker exits (runtime/cluster-goruns.ts).
 */
let groupWatcher: ((pgid: number, running: boolean) => void) | undefined;

/** Tells watcher of every go run's process group from now on, in every runner (one watcher). */
export function watchGoGroups(watcher: (pgid: number, running: boolean) => void): void {
  groupWatcher = watcher;
}

/**
 * Kills go and every git (and ssh, …) it started: they share its process group (go runs detached, as its
 * group's leader). Only the group: with it gone, go has exited, and its PID may be another process's by now.
 */
export function killGroup(pgid: number | undefined): void {
  // Never 0 or 1: kill(-1) signals every process the user may signal, kill(0) the caller's own group.
  if (pgid === undefined || pgid <= 1) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Kills the process group of every process whose working folder is in one of folders (run folders unchanged for a
 * run deadline: what runs there was left by a godepot that died), reading /proc once; elsewhere than on Linux
 * nothing is found. Never godepot's own group.
 */
async function killGroupsIn(folders: readonly string[]): Promise<void> {
  if (folders.length === 0) return;
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n));
  } catch {
    return;
  }
  // As /proc says a working folder: absolute, through no symlink.
  const dirs = (await Promise.all(folders.map((f) => realpath(f).catch(() => null)))).filter((d) => d !== null);
  const own = await groupOf(String(process.pid));
  for (const pid of pids) {
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => null);
    if (cwd === null || !dirs.some((d) => cwd.startsWith(d + '/'))) continue;
    const pgid = await groupOf(pid);
    if (pgid !== undefined && pgid !== own) killGroup(pgid);
  }
}

/** The process group of pid, from /proc/PID/stat (field 5, after the command name in parentheses). */
async function groupOf(pid: string): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgid = Number(fields?.[2]);
  return Number.isInteger(pgid) ? pgid : undefined;
}

/**
 * godepot's environment without its own settings (GODEPOT_*: credentials of upstreams, Redis, users) and
 * without SSH_ASKPASS: git asks that program (a desktop session's password window) for a password it lacks,
 * GIT_TERMINAL_PROMPT=0 or not, and a run nobody answers for would wait its whole deadline, then be called a
 * hanging host. Credentials come from .netrc, GOAUTH, Git's credential helpers or a GIT_ASKPASS set on purpose.
 */
function withoutSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('GODEPOT_') && k !== 'SSH_ASKPASS'));
}

/** What a public module's run keeps: the way to the network (proxies, certificates, GOINSECURE), no credentials. */
const PUBLIC_VARIABLES =
  /^(PATH|LANG|LC_[A-Z]+|TZ|TMPDIR|GOROOT|GODEBUG|GOINSECURE|GIT_EXEC_PATH|GIT_SSL_CAINFO|GIT_SSL_CAPATH|SSL_CERT_FILE|SSL_CERT_DIR|HTTPS?_PROXY|https?_proxy|ALL_PROXY|all_proxy|NO_PROXY|no_proxy)$/;

/**
 * A public module's environment: an empty home (no .netrc, Git
 * configuration or credential store), GOAUTH off, Git's system
 * configuration (where credential helpers may be set) not read, and Git
 * over http(s) only: ssh takes its keys from the passwd entry's home, not
 * $HOME, and a go-import tag may name ssh://. Other version-control tools
 * are not used (GOVCS), as Mercurial would read its own system files.
 */
function publicEnvironment(env: NodeJS.ProcessEnv, home: string): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(env).filter(([k]) => PUBLIC_VARIABLES.test(k))),
    HOME: home,
    NETRC: join(home, '.netrc'),
    GOAUTH: 'off',
    GOVCS: '*:git',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ALLOW_PROTOCOL: 'https:http',
    GIT_SSH_COMMAND: 'false',
  };
}

/**
 * The go command reads HTTP_PROXY and http_proxy alike; git (libcurl) reads
 * only the lower-case http_proxy. The lower-case names are given the
 * upper-case values when unset, so git goes the way go does.
 */
function lowerCaseProxies(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY'])
    if (out[name] !== undefined && out[name.toLowerCase()] === undefined) out[name.toLowerCase()] = out[name];
  return out;
}
