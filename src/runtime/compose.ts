// The composition root: builds every part of a godepot from its settings.
// `serve`, `warm` and `import` all use it, so they share one code path.
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { MirrorChecksums } from '../proxy/checksums.js';
import type { CachedArtifact, FetchLeases, ServiceEvents } from '../proxy/context.js';
import { IncidentLog } from '../proxy/incidents.js';
import { MemoryCache } from '../proxy/memcache.js';
import { ReverifyLoop } from '../proxy/reverify.js';
import { ModuleService } from '../proxy/service.js';
import { createApp, type App } from '../server/app.js';
import { Health } from '../server/health.js';
import { Metrics } from '../server/metrics.js';
import { SumdbMirror } from '../sumdb/index.js';
import { FsStorage, type Storage } from '../storage/index.js';
import { EndpointRegistry, HttpPools, MirrorSet, ProxyList, type EndpointObserver } from '../upstream/index.js';
import type { Clock } from '../upstream/clock.js';
import { MirrorRemote } from './mirror-remote.js';
import { toSumdbEndpoint } from './sumdb-endpoint.js';
import { makeLogging } from './logging.js';

export interface Godepot {
  readonly settings: Settings;
  readonly storage: Storage;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly endpoints: EndpointRegistry;
  readonly upstream: ProxyList;
  readonly mirrors: readonly SumdbMirror[];
  readonly service: ModuleService;
  readonly incidents: IncidentLog;
  readonly reverify: ReverifyLoop;
  readonly app: App;
  /** Aborts pending upstream calls, stops background work, closes pools and storage. */
  close(): Promise<void>;
}

export interface ComposeOptions {
  readonly log?: Logger;
  /** Storage to use instead of FsStorage at settings.data (tests). */
  readonly storage?: Storage;
  /** Node process metrics in /metrics (default true; tests turn them off). */
  readonly processMetrics?: boolean;
  /** Start the background re-verifier (default true). */
  readonly background?: boolean;
  /** Fetch coordination with other processes sharing the data folder (serve --workers N). */
  readonly leases?: FetchLeases;
  /** The upstream client's clock (breakers, retry pauses, Retry-After, deadlines); tests pass a fake one. */
  readonly clock?: Clock;
}

function combine(...observers: EndpointObserver[]): EndpointObserver {
  return {
    onCall: (e) => observers.forEach((o) => o.onCall?.(e)),
    onBreaker: (u, s, f) => observers.forEach((o) => o.onBreaker?.(u, s, f)),
  };
}

export async function compose(settings: Settings, opts: ComposeOptions = {}): Promise<Godepot> {
  const given = opts.log;
  const logging = given
    ? { log: given, access: (record: object) => given.info(record, 'request') }
    : makeLogging(settings);
  const log = logging.log;
  const storage = opts.storage ?? (await FsStorage.open(settings.data));
  const metrics = new Metrics(opts.processMetrics ?? true);
  const incidents = new IncidentLog(storage, log);
  await incidents.load();
  const pools = new HttpPools(settings.deadlines);
  const endpoints = new EndpointRegistry(
    pools,
    settings,
    combine(metrics.endpointObserver(), incidents.endpointObserver()),
    opts.clock,
  );
  const shutdown = new AbortController();
  const upstream = new ProxyList(settings.upstream, endpoints);
  for (const e of settings.upstream.entries) endpoints.get(e.url);

  const mirrors: SumdbMirror[] = [];
  for (const spec of settings.sumdb) {
    mirrors.push(
      await SumdbMirror.open({
        key: spec.key,
        remote: new MirrorRemote(new MirrorSet(spec.urls, endpoints, settings.hedgeDelay)),
        storage,
        log,
        offline: settings.offline,
        latestTtl: settings.ttl.sumdbLatest,
        staleGrace: settings.staleGrace,
        nosumdb: settings.nosumdb,
        events: {
          advanced: (db, size) => metrics.treeSize.set({ db }, size),
          fork: (db) => metrics.inconsistentTrees.inc({ db }),
        },
      }),
    );
    metrics.inconsistentTrees.inc({ db: spec.name }, 0);
    for (const u of spec.urls) endpoints.get(u);
  }
  const primary = mirrors[0];
  const metricEvents = metrics.serviceEvents();
  const incidentEvents = incidents.serviceEvents();
  const events: ServiceEvents = {
    checksumMismatch: (e) => metricEvents.checksumMismatch?.(e),
    served: (e) => {
      metricEvents.served?.(e);
      incidentEvents.served?.(e);
    },
  };
  const service = new ModuleService(
    {
      storage,
      upstream,
      checksums: primary ? new MirrorChecksums(primary) : null,
      settings,
      log,
      events,
      memory: new MemoryCache<CachedArtifact>(settings.memoryCache, settings.memoryCacheItem),
      shutdown: shutdown.signal,
      ...(opts.leases ? { leases: opts.leases } : {}),
    },
    settings.memoryCacheItem,
  );
  const reverify = new ReverifyLoop(storage, service, settings.reverifyInterval, log);
  if (opts.background ?? true) reverify.start();
  const sumdbEndpoints = mirrors.map(toSumdbEndpoint);
  const health = new Health(
    storage,
    endpoints,
    sumdbEndpoints,
    settings.offline,
    async () => (await reverify.pending()).length,
  );
  const app = createApp({
    service,
    sumdbs: sumdbEndpoints,
    metrics,
    health,
    log,
    accessLog: settings.accessLog ? logging.access : null,
    events,
    incidents: () => incidents.list(),
  });
  return {
    settings,
    storage,
    log,
    metrics,
    endpoints,
    upstream,
    mirrors,
    service,
    incidents,
    reverify,
    app,
    async close() {
      shutdown.abort(new Error('godepot is shutting down'));
      reverify.stop();
      await service.idle();
      await Promise.all(mirrors.map((m) => m.close()));
      await incidents.flush();
      await pools.close();
      await storage.close();
    },
  };
}
