// `godepot serve`: listen, serve, and shut down gracefully on SIGTERM/SIGINT
// (stop accepting, drain in-flight requests, then close). With --workers N,
// a primary process forks N workers that share the listen socket and the
// data folder (writes are atomic renames, so they never see each other's
// half-written files); one of them at a time fetches a given artifact
// (cluster-leases.ts), and /metrics answers for all of them.
import cluster from 'node:cluster';
import { resolve as resolvePath } from 'node:path';
import { createServer, type Server } from 'node:http';
import { loadSettings } from '../config/load.js';
import { OPTIONS, envName } from '../config/options.js';
import type { Settings } from '../config/settings.js';
import { formatUpstreamList } from '../config/values.js';
import { FsStorage } from '../storage/index.js';
import { clusterFetchLeases, serveFetchLeases } from '../runtime/cluster-leases.js';
import { groupMetricsText, serveGroupMetrics } from '../runtime/cluster-metrics.js';
import { compose } from '../runtime/compose.js';
import { makeLogger } from '../runtime/logging.js';

const DRAIN_MS = 30_000;

export function serveHelp(): string {
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

export async function serveCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(serveHelp());
    return 0;
  }
  const settings = loadSettings(args);
  if (settings.workers > 1 && cluster.isPrimary) return runPrimary(settings);
  return runWorker(settings);
}

async function runPrimary(settings: Settings): Promise<number> {
  const log = makeLogger(settings);
  // A data folder godepot cannot use fails here, once, before any worker starts.
  await FsStorage.open(settings.data);
  log.info({ workers: settings.workers }, 'starting workers');
  serveGroupMetrics();
  serveFetchLeases();
  let stopping = false;
  const fork = (): void => {
    cluster.fork();
  };
  for (let i = 0; i < settings.workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log.error({ worker: worker.process.pid, code, signal }, 'worker died; starting another');
    fork();
  });
  return await new Promise<number>((resolve) => {
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      let alive = Object.keys(cluster.workers ?? {}).length;
      if (alive === 0) resolve(0);
      cluster.on('exit', () => {
        alive--;
        if (alive <= 0) resolve(0);
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

async function runWorker(settings: Settings): Promise<number> {
  const g = await compose(settings, cluster.isWorker ? { leases: clusterFetchLeases() } : {});
  if (cluster.isWorker) g.metrics.exposition = groupMetricsText(g.metrics.registry);
  const server: Server = createServer(
    { keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 30_000 },
    g.app.handle,
  );
  server.maxRequestsPerSocket = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.listen.port, settings.listen.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : settings.listen.port;
  const url = `http://${settings.listen.host.includes(':') ? `[${settings.listen.host}]` : settings.listen.host}:${port}`;
  g.log.info(
    {
      url,
      data: resolvePath(settings.data),
      upstream: formatUpstreamList(settings.upstream),
      sumdb: g.sources.map((s) => ({ name: s.name, sources: s.candidates() })),
      offline: settings.offline,
      verify: settings.verify.mode,
    },
    `godepot listening on ${url}; point Go at it with GOPROXY=${url} (keep GOSUMDB on); data in ${resolvePath(settings.data)}; upstream ${formatUpstreamList(settings.upstream) || 'off'}; ${
      g.sources.length === 0
        ? 'checksum verification off'
        : g.sources.map((s) => `checksum database ${s.name} at ${s.candidates().join(', ')}`).join('; ')
    }`,
  );
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (sig: string): void => {
      if (stopping) return;
      stopping = true;
      g.log.info({ signal: sig, inFlight: g.app.inFlight }, 'shutting down: draining in-flight requests');
      server.close();
      server.closeIdleConnections();
      void g.app.drain(DRAIN_MS).then(async (drained) => {
        if (!drained) g.log.warn({ inFlight: g.app.inFlight }, 'drain deadline passed; closing anyway');
        server.closeAllConnections();
        await g.close();
        g.log.info('stopped');
        // A worker's IPC channel to the primary keeps it alive until closed.
        if (cluster.isWorker) cluster.worker?.disconnect();
        g.log.flush();
        resolve(0);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
