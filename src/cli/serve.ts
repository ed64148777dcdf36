// `godepot serve`: listen, serve, and shut down gracefully on SIGTERM/SIGINT
// (stop accepting, drain in-flight requests, then close). With --workers N,
// a primary process forks N workers that share the listen socket and the
// data folder (writes are atomic renames, so they never see each other's
// half-written files); the primary coordinates them as one small cluster —
// one fetch per artifact, one verified tree head, one breaker state and
// not-found cache (runtime/cluster-coord.ts) — and /metrics answers for all.
import { hostname } from 'node:os';
import cluster from 'node:cluster';
import { resolve as resolvePath } from 'node:path';
import type { Server } from 'node:http';
import { buildSettings, ConfigError, serveValues } from '../config/load.js';
import { goEnvHints } from '../config/go-env.js';
import { OPTIONS, envName } from '../config/options.js';
import type { Settings } from '../config/settings.js';
import { formatUpstreamList } from '../config/values.js';
import { DataFolderError } from '../storage/fs.js';
import { serveFetchLeases } from '../runtime/cluster-leases.js';
import { serveCoordination, WorkerCoord } from '../runtime/cluster-coord.js';
import { groupStats, serveGroupStats } from '../runtime/cluster-stats.js';
import { groupMetricsText, serveGroupMetrics } from '../runtime/cluster-metrics.js';
import { openStorage } from '../runtime/stores.js';
import { flushLog, makeLogger } from '../runtime/logging.js';
import { holdProcessWarnings, type HeldWarnings } from '../runtime/warnings.js';
import { withStartFlags } from '../runtime/v8-flags.js';
import { WORKER_SLOT, workerSlot } from '../runtime/cluster-ipc.js';
import { RestartPacer, SlotBook } from '../runtime/cluster-restarts.js';
import { answerPings, watchWorkers } from '../runtime/cluster-watchdog.js';
import { reapGoRuns, tellGoRuns } from '../runtime/cluster-goruns.js';
import { saidAt } from '../util/said-once.js';
import { systemClock } from '../util/clock.js';

/** How long in-flight requests may finish after SIGTERM before their connections are closed. */
const DRAIN_MS = 10_000;
/** After SIGTERM the process ends within this time, whatever is still pending (a bounded drain). */
const STOP_MS = 18_000;
/** How long a stopping process waits for its last log lines to be written (a slow reader of stdout). */
const LOG_FLUSH_MS = 2_000;

/** A data-folder problem, as a settings error naming --data and where it was set when not by the flag. */
function dataError(err: unknown, folder: string, from: string | undefined): unknown {
  if (err instanceof DataFolderError)
    return new ConfigError(`--data ${folder}${from ? ` (from ${from})` : ''}: ${err.reason}`);
  return err;
}

function serveHelp(): string {
  const lines = [
    'Usage: godepot serve [flags]',
    '',
    'Every flag can also be set as GODEPOT_<NAME> in the environment or as "<name>" in a JSON file given with --config FILE.',
    'Precedence: flags, then environment, then config file, then defaults.',
    '',
  ];
  for (const o of OPTIONS) {
    const def = Array.isArray(o.default) ? o.default.join(' ; ') : o.default;
    lines.push(
      `  --${o.name}${o.type === 'boolean' ? '' : ' VALUE'}  (${envName(o.name)}${def === '' ? '' : `, default ${def}`})`,
      `      ${o.help}`,
    );
  }
  return lines.join('\n') + '\n';
}

export async function serveCommand(args: string[], warnings: HeldWarnings = holdProcessWarnings()): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(serveHelp());
    return 0;
  }
  const given = serveValues(args);
  const settings = buildSettings(given);
  // Said once, by the process that starts first (not by each worker).
  const hints = cluster.isWorker ? [] : goEnvHints(given, process.env, settings.listen.port);
  // Storage that cannot be used is said here, once, naming the setting (and where it came from).
  const named = (err: unknown): never => {
    throw dataError(err, settings.data, given.from.data);
  };
  if (settings.workers > 1 && cluster.isPrimary) return runPrimary(settings, hints, warnings).catch(named);
  if (!cluster.isWorker) return runWorker(settings, warnings, hints).catch(named);
  answerPings();
  tellGoRuns();
  try {
    return await runWorker(settings, warnings).catch(named);
  } catch (err) {
    // A worker that cannot start (--listen in use…) reports it and ends: its IPC channel would keep it alive.
    cluster.worker?.disconnect();
    throw err;
  }
}

async function runPrimary(settings: Settings, hints: readonly string[], warnings: HeldWarnings): Promise<number> {
  // Said once, here, rather than by every worker.
  if (settings.tls) (await import('../runtime/tls.js')).readTlsPair(settings.tls);
  if (settings.auth !== '') (await import('../runtime/auth.js')).checkAuthFile(settings.auth);
  const log = makeLogger(settings);
  warnings.logTo(log, 'warn');
  for (const h of hints) log.warn(h);
  // Storage godepot cannot use (a data folder, a missing or read-only bucket) fails here, once, before any worker starts.
  const storage = await openStorage(settings, 'check');
  log.info({ workers: settings.workers }, 'starting workers');
  serveGroupMetrics();
  serveFetchLeases();
  serveCoordination();
  serveGroupStats();
  reapGoRuns();
  let stopping = false;
  let listening = false;
  cluster.on('listening', () => (listening = true));
  // The workers accept connections themselves, the kernel handing each to one that waits for it: a burst of
  // new connections is not queued behind the primary's round-robin hand-over (p99 at 256 new connections
  // 177 → 34 ms; docs/performance.md). NODE_CLUSTER_SCHED_POLICY=rr chooses Node's even round-robin instead.
  if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ execArgv: withStartFlags(process.execArgv) });
  // Each worker has a slot, 1 to N, that its replacement takes over: slot 1 speaks for the group (runWorker).
  const slots = new Map<number, number>();
  // Durations within this process: a monotonic clock, which a stepped wall clock does not move.
  const pacer = new RestartPacer(() => performance.now());
  // Which slots serve, for /readyz: the workers learn it with the watch's pings.
  const book = new SlotBook(settings.workers, () => Date.now());
  /** Slots waiting for their next worker (cleared when stopping). */
  const waiting = new Set<NodeJS.Timeout>();
  // A worker that stops answering does not exit by itself: ended, it is replaced as one that died.
  const watch = watchWorkers(
    (worker, silentMs) => {
      const slot = slots.get(worker.id) ?? 1;
      log.error(
        { worker: slot, workerPid: worker.process.pid, silentMs: Math.round(silentMs) },
        `worker ${slot} has not answered for ${Math.round(silentMs / 1000)}s (its event loop is blocked, or the process is stopped); ending it so that its clients and the fetches it leads are not held`,
      );
      worker.process.kill('SIGKILL');
    },
    () => book.status(),
  );
  cluster.on('listening', (w) => {
    const slot = slots.get(w.id);
    if (slot === undefined) return;
    book.serving(slot);
    watch.tell();
  });
  const fork = (slot: number): void => {
    if (stopping) return;
    slots.set(cluster.fork({ [WORKER_SLOT]: String(slot) }).id, slot);
    pacer.started(slot);
    book.starting(slot);
  };
  for (let slot = 1; slot <= settings.workers; slot++) fork(slot);
  return await new Promise<number>((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) return;
      if (!listening) {
        // A worker that could not start (it said why): the others cannot either.
        exitCode = code ?? 1;
        stop();
        return;
      }
      const slot = slots.get(worker.id) ?? 1;
      slots.delete(worker.id);
      const r = pacer.died(slot);
      book.died(slot, r);
      watch.tell();
      const fields = { worker: slot, workerPid: worker.process.pid, code, signal, livedMs: Math.round(r.livedMs) };
      if (r.delayMs === 0) {
        log.error(fields, `worker ${slot} died; starting another`);
        fork(slot);
        return;
      }
      // Dying young again and again: its error lines (above this one) say why; waiting keeps the loop from
      // burning a core while the other workers serve on.
      log.error(
        { ...fields, youngDeaths: r.youngDeaths, delayMs: r.delayMs },
        `worker ${slot} died ${(r.livedMs / 1000).toFixed(1)}s after it started, ${r.youngDeaths} times in a row; ` +
          `starting another in ${r.delayMs / 1000}s (the lines before say why it dies)`,
      );
      // Not unref'd: while every worker waits to be started again, this is what keeps the primary alive.
      const t = setTimeout(() => {
        waiting.delete(t);
        fork(slot);
      }, r.delayMs);
      waiting.add(t);
    });
    let exitCode = 0;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      for (const t of waiting) clearTimeout(t);
      setTimeout(() => {
        // A worker still there cannot end by itself (hung, or stopped): left behind, it would keep the port.
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
        process.exit(1);
      }, STOP_MS).unref();
      void storage.close();
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      const stopped = (): void => {
        // Said here, once for the group, rather than by every worker.
        if (exitCode === 0) log.info('stopped');
        resolve(exitCode);
      };
      let alive = Object.keys(cluster.workers ?? {}).length;
      if (alive === 0) stopped();
      cluster.on('exit', () => {
        alive--;
        if (alive === 0) stopped();
      });
    };
    // Not once: a second signal (a unit's every process signalled, Ctrl-C twice) must not end the primary before
    // its workers, whose drain is bounded (STOP_MS) all the same.
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // A hangup (the terminal closed, the ssh session ended) stops as SIGTERM does: with no listener, Node's default
    // ended the primary at once, silently, and the workers with it. Nothing is reloaded (settings are read at start).
    process.on('SIGHUP', stop);
  });
}

async function runWorker(settings: Settings, warnings: HeldWarnings, hints: readonly string[] = []): Promise<number> {
  // Loaded here, not at the top: the primary of --workers N never serves, and stays small without them.
  const [{ compose }, { createHttpServer }, { createTlsServer, readTlsPair, certValidityWarning }] = await Promise.all([
    import('../runtime/compose.js'),
    import('../server/http-server.js'),
    import('../runtime/tls.js'),
  ]);
  // Before anything starts that would keep the process alive (the start-up probe, the background loops).
  const tls = settings.tls;
  const pair = tls ? readTlsPair(tls) : null;
  // With --workers N every worker finds the same at start; the one in slot 1 says it (the others at debug level).
  const slot = workerSlot();
  const says = slot === null || slot === 1;
  const g = await compose(settings, cluster.isWorker ? { group: new WorkerCoord(), groupStats, saysStart: says } : {});
  if (cluster.isWorker) g.metrics.exposition = groupMetricsText(g.metrics.registry);
  // What every worker finds alike (a library's notice as it loads) is said by the first, the others at debug.
  warnings.logTo(g.log, says ? 'warn' : 'debug');
  for (const h of hints) g.log.warn(h);
  const expiry = tls && pair && says ? certValidityWarning(tls.cert, pair.cert, systemClock) : null;
  if (expiry) g.log.warn(expiry);
  const server = createHttpServer(
    g.app,
    {},
    // https.Server answers requests exactly as http.Server does; only the socket differs.
    tls
      ? (options, handler) => {
          const s = createTlsServer(tls, options, handler, g.log, saidAt(says));
          g.health.certificate = s.certificateWarning;
          return s as unknown as Server;
        }
      : undefined,
  );
  if (settings.auth !== '' && !tls && says)
    g.log.warn(
      '--auth without --tls-cert (--insecure-auth): tokens cross the network in clear text unless a TLS-terminating proxy is in front',
    );
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(settings.listen.port, settings.listen.host, () => resolve());
    });
  } catch (err) {
    await g.close();
    const code = (err as { code?: unknown }).code;
    const where = `${settings.listen.host}:${settings.listen.port}`;
    if (code === 'EADDRINUSE')
      throw new ConfigError(
        `--listen ${where}: address already in use (another process listens there); choose another`,
      );
    if (code === 'EACCES')
      throw new ConfigError(`--listen ${where}: permission denied (ports below 1024 need privileges); choose another`);
    if (code === 'EADDRNOTAVAIL') throw new ConfigError(`--listen ${where}: no such local address on this machine`);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL')
      throw new ConfigError(
        `--listen ${where}: the host name ${settings.listen.host} does not resolve; give an address of this machine (or :PORT for all)`,
      );
    throw err;
  }
  // The signal handlers before the line that says godepot listens: a SIGTERM right after it (an orchestrator
  // stopping a fresh start, a test) found none yet under load, and Node's default ended the worker undrained.
  const stopped = new Promise<number>((resolve) => {
    let stopping: number | null = null;
    const stop = (sig: string): void => {
      if (stopping !== null) {
        // A second signal is the rule, not a mistake: systemd signals every process of the unit and the primary
        // passes its own on; a terminal's Ctrl-C reaches the whole group. It must not end the drain (Node's
        // default for a signal nobody listens to), so it is answered with how long the drain may still take.
        const left = Math.max(0, Math.ceil((STOP_MS - (performance.now() - stopping)) / 1000));
        g.log[saidAt(says)('info')](
          { signal: sig, inFlight: g.app.inFlight },
          `${sig} again: still draining ${g.app.inFlight} request(s) in flight; stopped within ${left}s`,
        );
        return;
      }
      stopping = performance.now();
      // Every worker gets the signal at once: the first says it; the primary says when all have stopped.
      g.log[saidAt(says)('info')](
        { signal: sig, inFlight: g.app.inFlight },
        'shutting down: draining in-flight requests',
      );
      // Whatever still hangs (a storage call, a pool that will not close) cannot keep the process past STOP_MS.
      setTimeout(() => {
        g.log.error({ inFlight: g.app.inFlight }, `not stopped within ${STOP_MS / 1000}s; exiting`);
        g.log.flush();
        process.exit(1);
      }, STOP_MS).unref();
      server.close();
      server.closeIdleConnections();
      void g.app.drain(DRAIN_MS).then(async (drained) => {
        if (!drained) g.log.warn({ inFlight: g.app.inFlight }, 'drain deadline passed; closing anyway');
        server.closeAllConnections();
        await g.close();
        g.log[cluster.isWorker ? 'debug' : 'info']('stopped');
        await flushLog(g.log, LOG_FLUSH_MS);
        // A worker's IPC channel to the primary keeps it alive until closed.
        if (cluster.isWorker) cluster.worker?.disconnect();
        resolve(0);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => stop('SIGHUP'));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : settings.listen.port;
  const url = `${settings.tls ? 'https' : 'http'}://${settings.listen.host.includes(':') ? `[${settings.listen.host}]` : settings.listen.host}:${port}`;
  // The first worker says where godepot listens and how; the others only that they do (the same line N times is noise).
  if (!says)
    g.log.info({ worker: slot, workers: settings.workers }, `listening (worker ${slot} of ${settings.workers})`);
  else
    g.log.info(
      {
        url,
        ...(cluster.isWorker ? { workers: settings.workers } : {}),
        data: resolvePath(settings.data),
        storage: g.storage.kind,
        coordination: g.coord.status(),
        upstream: formatUpstreamList(settings.upstream),
        sumdb: g.sources.map((s) => ({ name: s.name, sources: s.candidates() })),
        offline: settings.offline,
        verify: settings.verify.mode,
      },
      `godepot listening on ${url}; point Go at it with GOPROXY=${goproxyHint(settings.listen.host, url)} (keep GOSUMDB on); data in ${resolvePath(settings.data)}; upstream ${formatUpstreamList(settings.upstream) || 'off'}; ${
        g.sources.length === 0
          ? 'checksum verification off'
          : g.sources.map((s) => `checksum database ${s.name} at ${s.candidates().join(', ')}`).join('; ')
      }${cluster.isWorker ? `; ${settings.workers} workers` : ''}`,
    );
  return await stopped;
}

/** What to set GOPROXY to: the URL, or for a wildcard address (every interface) how to reach it from here and elsewhere. */
function goproxyHint(host: string, url: string): string {
  if (host !== '0.0.0.0' && host !== '::') return url;
  const here = url.replace(host === '::' ? '[::]' : '0.0.0.0', '127.0.0.1');
  return `${here} from this machine, ${url.replace(host === '::' ? '[::]' : '0.0.0.0', hostname())} from others`;
}
