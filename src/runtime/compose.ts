// The composition root: builds every part of a godepot from its settings.
// `serve`, `warm` and `import` all use it, so they share one code path.
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { MirrorChecksums } from '../proxy/checksums.js';
import type { CachedArtifact, ServiceEvents } from '../proxy/context.js';
import { IncidentLog } from '../proxy/incidents.js';
import { MemoryCache } from '../proxy/memcache.js';
import { ReverifyLoop } from '../proxy/reverify.js';
import { ModuleService } from '../proxy/service.js';
import { createApp, type App } from '../server/app.js';
import { OperatorApi, operatorRoutes } from '../server/api.js';
import { OperatorStats } from '../server/stats.js';
import { Health } from '../server/health.js';
import { Metrics, registerLogMetrics } from '../server/metrics.js';
import { SumdbMirror } from '../sumdb/index.js';
import type { Storage } from '../storage/index.js';
import type { Coordination } from '../coord/index.js';
import { moduleCoordination, openCoord, openStorage, selfTag } from './stores.js';
import {
  EndpointRegistry,
  HttpPools,
  MirrorSet,
  netrcCredentials,
  ProxyList,
  proxyRules,
  Reachability,
  SumdbSources,
  trustOptions,
  UpstreamError,
  type EndpointObserver,
  type ProxyRules,
} from '../upstream/index.js';
import { redactText } from '../util/redact.js';
import { systemClock, type Clock, type WaitingClock } from '../util/clock.js';
import { MirrorRemote } from './mirror-remote.js';
import { droppedLineCount, makeLogging } from './logging.js';
import { probeAtStart, reprobeFailing } from './probe.js';
import { wirePrivate, type VcsOptions } from './private.js';
import { ShuttingDownError } from '../proxy/errors.js';
import { wireAuth } from './auth.js';
import { processWideController } from '../util/signals.js';
import { saidAt } from '../util/said-once.js';

export interface Godepot {
  readonly settings: Settings;
  readonly storage: Storage;
  /** What this process agrees on with the others: alone, the machine's workers, or the cluster's nodes. */
  readonly coord: Coordination;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly endpoints: EndpointRegistry;
  readonly upstream: ProxyList;
  readonly mirrors: readonly SumdbMirror[];
  /** Where each database's log is read (same order as mirrors). */
  readonly sources: readonly SumdbSources[];
  readonly reach: Reachability;
  /** Settles when the start-up probe of upstreams and database sources is done (at once without background work). */
  readonly probed: Promise<void>;
  readonly service: ModuleService;
  readonly incidents: IncidentLog;
  readonly reverify: ReverifyLoop;
  readonly app: App;
  /** What /readyz answers from. */
  readonly health: Health;
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
  /**
   * Fetch the data tile around each record looked up (default true): an
   * import replays a folder that holds no data tiles, and would warn of each.
   */
  readonly indexDataTiles?: boolean;
  /**
   * Where data-tile failures after the one logged are counted, as the warning says: a command without a
   * server (warm, export) has no /metrics to point at (default: the metric).
   */
  readonly dataTileFailuresCounted?: string;
  /** The machine's coordination when this process is one of `serve --workers N` (runtime/cluster-coord.ts). */
  readonly group?: Coordination;
  /** With workers: the operator page's statistics of the whole group, from this process's own (cluster-stats.ts). */
  readonly groupStats?: (own: OperatorStats) => () => Promise<OperatorStats>;
  readonly clock?: Clock;
  /** Keep an incident log in storage (default true); batch commands (warm, import, export) do not. */
  readonly recordIncidents?: boolean;
  /** Options for the upstream connection pools (tests resolve names with their own lookup). */
  readonly pools?: ConstructorParameters<typeof HttpPools>[1];
  /** Which upstream calls go through an HTTP proxy (default: HTTPS_PROXY, HTTP_PROXY, NO_PROXY of the environment). */
  readonly proxies?: ProxyRules;
  /** Credentials for upstream URLs that carry none (default: ~/.netrc or $NETRC, as the go command reads it). */
  readonly ambientAuth?: (url: string) => string | undefined;
  /** The go binary and environment of origin fetches (tests; default: `go` and process.env). */
  readonly vcs?: VcsOptions;
  /** The upstream client's clock (breakers, retry pauses, Retry-After, deadlines); tests pass a fake one. */
  readonly upstreamClock?: WaitingClock;
  /**
   * What the stale grace (and the checksum-database mirror's pause before
   * indexing data tiles) is waited on (default: the upstream client's clock).
   */
  readonly graceClock?: WaitingClock;
  /**
   * Say what the start-up probe found at its own level (default true). The
   * workers of `serve --workers N` each probe for their own /readyz; only the
   * first says it, the others at debug level, so the log says it once.
   */
  readonly saysStart?: boolean;
}

/** How long a call waits for the upstreams' /sumdb/<name>/supported answers before asking the sources known. */
const WAIT_FOR_PROBES_MS = 3_000;
/** A probe that got no answer is asked again after this long. */
const REPROBE_AFTER_MS = 30_000;

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
  const storage = opts.storage ?? (await openStorage(settings, true));
  const metrics = new Metrics(opts.processMetrics ?? true);
  // Per-node series that sum across nodes: a "node" label when named, else Prometheus' instance label.
  if (settings.nodeName !== '') metrics.registry.setDefaultLabels({ node: settings.nodeName });
  if (!given) registerLogMetrics(metrics.registry, droppedLineCount);
  const clock = opts.clock ?? systemClock;
  const graceClock = opts.graceClock ?? opts.upstreamClock ?? systemClock;
  // What every worker finds alike (at start, an outage, missing data tiles) is said once, by the first (saysStart).
  const startLevel = saidAt(opts.saysStart !== false);
  const coord = await openCoord(settings, log, metrics.registry, opts.group, () => clock.now(), startLevel);
  const incidents = new IncidentLog(storage, log, {
    clock,
    persist: opts.recordIncidents ?? true,
    // Workers and nodes (Redis, or one bucket) write incidents to one storage: show the group's view.
    shared: coord.kind !== 'local' || storage.kind === 's3',
    level: startLevel,
    serviceOf: (url) => {
      const db = sources.find((s) => s.current().includes(url));
      return db ? { name: `checksum database ${db.name}`, members: db.current() } : { name: url, members: [url] };
    },
  });
  const stats = new OperatorStats();
  await incidents.load();
  // https upstreams are trusted as the go command trusts them (roots.ts), unless the caller says otherwise.
  const proxies = opts.proxies ?? proxyRules();
  const pools = new HttpPools(settings.deadlines, opts.pools, proxies, () => trustOptions());
  if (proxies.any) log[startLevel('info')]({ proxies: proxies.describe() }, `upstream calls: ${proxies.describe()}`);
  const reach: Reachability = new Reachability(
    clock,
    (url): string | undefined => endpoints.get(url).status().lastFailure?.detail,
  );
  const ambientAuth = opts.ambientAuth ?? netrcCredentials();
  const fromNetrc = settings.upstream.entries.filter((e) => !e.credential && ambientAuth(e.url) !== undefined);
  if (fromNetrc.length > 0)
    log[startLevel('info')](
      { upstreams: fromNetrc.map((e) => e.url) },
      `credentials from .netrc (as the go command sends them) for ${fromNetrc.map((e) => e.url).join(', ')}`,
    );
  const self = selfTag(settings);
  const endpoints: EndpointRegistry = new EndpointRegistry(
    pools,
    { ...settings, ambientAuth, via: self },
    {
      ...combine(metrics.endpointObserver(), incidents.endpointObserver(), reach.observer(), stats.endpointObserver()),
      // A breaker that opens or closes here is news for the other processes; theirs is followed here.
      onHealthNews: (news) => coord.shareHealth(news),
    },
    opts.upstreamClock,
  );
  coord.onHealth((news) => endpoints.follow(news));
  const shutdown = processWideController();
  const upstream = new ProxyList(settings.upstream, endpoints);
  for (const e of settings.upstream.entries) endpoints.get(e.url);
  const auth = settings.auth === '' ? null : wireAuth(settings.auth, log, metrics.registry, () => clock.now());
  const incidentObserver = incidents.endpointObserver();
  const priv = await wirePrivate(settings, upstream, storage, log, metrics.registry, shutdown.signal, clock, {
    ...opts.vcs,
    onTagMoved: (e) =>
      incidents.recordEvent(
        `origin of ${e.module}`,
        'tag_moved',
        `${e.module}@${e.version} changed at its origin after it was recorded: zip ${e.recordedZip} then ${e.currentZip}; the recorded bytes are served`,
      ),
    onOriginState: (host, state, detail) =>
      state === 'forgotten'
        ? incidents.unfollow(`origin ${host}`)
        : incidentObserver.onBreaker?.(
            `origin ${host}`,
            state,
            state === 'open'
              ? new UpstreamError({ upstream: `origin ${host}`, failure: 'connect', detail, transient: true })
              : undefined,
          ),
  });

  const mirrors: SumdbMirror[] = [];
  const sources: SumdbSources[] = [];
  for (const spec of settings.sumdb) {
    const known = new SumdbSources({
      name: spec.name,
      fixed: spec.urls,
      upstreams: spec.viaUpstreams && !settings.offline ? upstream.urls : [],
      endpoints,
      reach,
      clock,
      reprobeAfterMs: REPROBE_AFTER_MS,
      waitForProbesMs: WAIT_FOR_PROBES_MS,
    });
    sources.push(known);
    mirrors.push(
      await SumdbMirror.open({
        key: spec.key,
        remote: new MirrorRemote(new MirrorSet(known, endpoints, settings.hedgeDelay), known, () =>
          (opts.upstreamClock ?? systemClock).now(),
        ),
        storage,
        log,
        offline: settings.offline,
        latestTtl: settings.ttl.sumdbLatest,
        staleGrace: settings.staleGrace,
        nosumdb: priv.settings.nosumdb,
        dataTileFailed: (db) => metrics.dataTileFailures.inc({ db }),
        storedDamaged: (kind) => metrics.storedDamaged.inc({ kind }),
        ...(opts.indexDataTiles === false ? { indexDataTiles: false } : {}),
        ...(opts.dataTileFailuresCounted ? { dataTileFailuresCounted: opts.dataTileFailuresCounted } : {}),
        dataTileLevel: startLevel,
        ...(coord.leases ? { leases: coord.leases } : {}),
        clock,
        waits: graceClock,
        events: {
          advanced: (db, size, at) => {
            metrics.treeSize.set({ db }, size);
            stats.treeAdvanced(db, size, at);
          },
          fork: (db, evidence) => {
            metrics.inconsistentTrees.inc({ db });
            // On the timeline too, beside the outages: a post-mortem starts from there.
            incidents.recordEvent(
              `checksum database ${db}`,
              'fork',
              `${evidence.from} served a tree head of size ${evidence.conflictingSize} that does not extend the verified one of size ${evidence.verifiedSize}: refused; the verified history is still served`,
            );
          },
        },
      }),
    );
    (mirrors[mirrors.length - 1] as SumdbMirror).tree.shared = coord.kind === 'local' ? null : coord;
    metrics.inconsistentTrees.inc({ db: spec.name }, 0);
    metrics.dataTileFailures.inc({ db: spec.name }, 0);
    for (const u of spec.urls) endpoints.get(u);
  }
  const primary = mirrors[0];
  const metricEvents = metrics.serviceEvents();
  const incidentEvents = incidents.serviceEvents();
  const statsEvents = stats.serviceEvents();
  const events: ServiceEvents = {
    checksumMismatch: (e) => {
      metricEvents.checksumMismatch?.(e);
      statsEvents.checksumMismatch?.(e);
    },
    served: (e) => {
      metricEvents.served?.(e);
      incidentEvents.served?.(e);
      statsEvents.served?.(e);
    },
    readAhead: (e) => metricEvents.readAhead?.(e),
    // The re-verifier lists the area at its next pass (it lists rarely while idle), and /readyz counts it at once;
    // a copy served again from the area changed nothing there.
    quarantined: () => reverify.quarantined(),
    storedDamaged: (kind) => metricEvents.storedDamaged?.(kind),
  };
  const serviceContext = {
    storage,
    upstream: priv.publicSource,
    checksums: primary ? new MirrorChecksums(primary) : null,
    settings: priv.settings,
    log,
    events,
    memory: new MemoryCache<CachedArtifact>(settings.memoryCache, settings.memoryCacheItem),
    shutdown: shutdown.signal,
    clock,
    waits: graceClock,
    ...moduleCoordination(coord, settings),
  };
  const service = new ModuleService(serviceContext, settings.memoryCacheItem, { readAhead: settings.readAhead });
  // One go run yields a version's .info, .mod and .zip (a private one, or a public one the proxies lack): the service
  // that asked for one stores all three from it, so that no other worker runs go again for the next one asked.
  priv.directSource?.whenDownloading((path, version, kind) => service.fetchingWholeVersion(path, version, kind));
  if (priv.privateSource) {
    const privateService = new ModuleService(
      {
        ...serviceContext,
        upstream: priv.privateSource,
        checksums: null,
        ...(priv.ledger ? { pins: priv.ledger } : {}),
      },
      settings.memoryCacheItem,
      { readAhead: settings.readAhead, notFoundScope: 'origin/' },
    );
    priv.privateSource.whenDownloading((path, version, kind) =>
      privateService.fetchingWholeVersion(path, version, kind),
    );
    service.routePrivate(priv.isPrivate, privateService);
  }
  const reverify = new ReverifyLoop(storage, service, settings.reverifyInterval, log, clock);
  if (opts.background ?? true) reverify.start();
  if (settings.sumdb.length === 0)
    log[startLevel('warn')](
      'checksum verification is off (--sumdb off): modules are served without being checked against any database',
    );
  const quorum = settings.verify.mode === 'quorum' || settings.verify.rules.some((r) => r.mode === 'quorum');
  const quorumSources = settings.upstream.entries.length + (settings.upstream.direct ? 1 : 0);
  if (quorum && quorumSources < 2)
    log[startLevel('warn')](
      `--verify quorum needs two sources serving identical bytes, and there is ${quorumSources === 1 ? `one (${settings.upstream.entries.map((e) => redactText(e.url)).join('') || 'direct'})` : 'none'}: while the checksum database is unreachable, every module it has not verified fails; add a second upstream or ",direct"`,
    );
  const probed =
    (opts.background ?? true) && !settings.offline
      ? probeAtStart(
          { upstreams: upstream.urls, sources, endpoints, reach, log, level: startLevel },
          shutdown.signal,
        ).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'start-up probe failed'))
      : Promise.resolve();
  // While an upstream fails, it is asked again every half-open period (at least every second, one round at a
  // time, on the upstreams' clock), so that /readyz clears when it is back.
  const reprobing =
    (opts.background ?? true) && !settings.offline
      ? (async () => {
          const clock = opts.upstreamClock ?? systemClock;
          const every = Math.max(1_000, settings.breaker.halfOpenAfter);
          while (
            await clock.sleep(every, shutdown.signal).then(
              () => true,
              () => false,
            )
          ) {
            const databaseSources = sources.flatMap((s) => s.current());
            await reprobeFailing({ upstreams: upstream.urls, databaseSources, endpoints }, shutdown.signal);
          }
        })()
      : Promise.resolve();
  const health = new Health(
    storage,
    endpoints,
    mirrors,
    settings.offline,
    async () => (await reverify.pending()).length,
    reach,
    () => coord.status(),
  );
  const app = createApp({
    clock,
    service,
    sumdbs: mirrors,
    metrics,
    health,
    log,
    accessLog: settings.accessLog ? logging.access : null,
    events,
    incidents: () => incidents.list(),
    ...(auth ? { authorize: auth.authorize, operatorUser: auth.operatorUser } : {}),
    self,
    ...(settings.nodeName !== '' ? { node: settings.nodeName } : {}),
    operator: operatorRoutes(
      new OperatorApi({
        stats,
        ...(opts.groupStats ? { groupStats: opts.groupStats(stats) } : {}),
        endpoints: () => endpoints.all().map((e) => e.status()),
        proxies: settings.upstream.entries.map((e) => e.url),
        sumdbMirrors: () => sources.map((s) => ({ name: s.name, urls: s.current() })),
        trees: mirrors,
        storage,
        unverified: async () => (await reverify.pending()).length,
        offline: settings.offline,
      }),
    ),
  });
  return {
    settings,
    health,
    storage,
    coord,
    log,
    metrics,
    endpoints,
    upstream,
    mirrors,
    sources,
    reach,
    probed,
    service,
    incidents,
    reverify,
    app,
    async close() {
      shutdown.abort(new ShuttingDownError());
      auth?.close();
      reverify.stop();
      await service.idle();
      await probed;
      await reprobing;
      await Promise.all(mirrors.map((m) => m.close()));
      await incidents.stop();
      await pools.close();
      await storage.close();
      await coord.close();
    },
  };
}
