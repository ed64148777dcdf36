// Prometheus metrics (GET /metrics). The lower layers only emit events
// through their observer interfaces; this is where they become series.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServiceEvents } from '../proxy/context.js';
import type { BreakerState, EndpointObserver } from '../upstream/index.js';

/** godepot_log_lines_dropped_total in registry, read from count (runtime/logging.ts's droppedLineCount). */
export function registerLogMetrics(registry: Registry, count: () => number): void {
  let reported = 0;
  new Counter({
    name: 'godepot_log_lines_dropped_total',
    help: 'Access-log lines dropped because the log destination (stdout) was 16 MiB behind: memory stays bounded; other log lines are always kept.',
    registers: [registry],
    collect() {
      const now = count();
      this.inc(now - reported);
      reported = now;
    },
  });
}

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export class Metrics {
  readonly registry = new Registry();
  /**
   * The text GET /metrics answers with: this process's series, or with
   * --workers N the whole group's (see cli/cluster-metrics.ts).
   */
  exposition: () => Promise<string> = () => this.registry.metrics();
  private readonly requestsTotal = new Counter({
    name: 'godepot_http_requests_total',
    help: 'HTTP requests by route and status code.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly requestSeconds = new Histogram({
    name: 'godepot_http_request_duration_seconds',
    help: 'Time to answer a request, by route.',
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 15, 60],
    registers: [this.registry],
  });
  private readonly cacheTotal = new Counter({
    name: 'godepot_cache_requests_total',
    help: 'Artifact lookups by kind and outcome (hit, miss, stale, revalidated).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });
  /** Counted on every request, with the label values in the order the series names them. */
  readonly httpRequests = { inc: (route: string, status: string): void => this.requestsTotal.inc({ route, status }) };
  readonly httpDuration = {
    observe: (route: string, seconds: number): void => this.requestSeconds.observe({ route }, seconds),
  };
  readonly cache = { inc: (kind: string, outcome: string): void => this.cacheTotal.inc({ kind, outcome }) };
  readonly upstreamRequests = new Counter({
    name: 'godepot_upstream_requests_total',
    help: 'Upstream calls (attempts) by upstream URL, artifact kind and outcome (ok, not_found, refused: a definite 4xx that is no outage, dns, connect, tls, timeout, status, body, breaker_open).',
    labelNames: ['upstream', 'kind', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly upstreamDuration = new Histogram({
    name: 'godepot_upstream_request_duration_seconds',
    help: 'Upstream call latency by upstream URL and artifact kind.',
    labelNames: ['upstream', 'kind'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
    registers: [this.registry],
  });
  readonly breakerState = new Gauge({
    name: 'godepot_upstream_breaker_state',
    // With several workers each has its own breaker: show the worst.
    aggregator: 'max',
    help: 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });
  readonly checksumMismatch = new Counter({
    name: 'godepot_checksum_mismatch_total',
    help: 'Upstream bytes refused because they contradict the checksum database (kind: zip or mod).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly storedDamaged = new Counter({
    name: 'godepot_storage_damaged_total',
    help: 'Stored copies found damaged when first read (disk damage, or changed by hand): removed and fetched again (kind: info, mod, zip, record, tile).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly inconsistentTrees = new Counter({
    name: 'godepot_sumdb_inconsistent_trees_total',
    help: 'Checksum-database tree heads refused because they do not extend the verified history (a fork).',
    labelNames: ['db'] as const,
    registers: [this.registry],
  });
  readonly dataTileFailures = new Counter({
    name: 'godepot_sumdb_data_tile_failures_total',
    help: 'Data tiles godepot could not fetch and verify in the background (their records answer lookups during an outage).',
    labelNames: ['db'] as const,
    registers: [this.registry],
  });
  readonly treeSize = new Gauge({
    name: 'godepot_sumdb_verified_tree_size',
    aggregator: 'max',
    help: 'Size of the latest verified checksum-database tree.',
    labelNames: ['db'] as const,
    registers: [this.registry],
  });
  readonly served = new Counter({
    name: 'godepot_served_total',
    help: 'Artifacts served by kind and verification state (verified, unverified, quorum, skipped, n/a).',
    labelNames: ['kind', 'verification'] as const,
    registers: [this.registry],
  });

  readonly readAhead = new Counter({
    name: 'godepot_read_ahead_total',
    help: "Read-aheads (--read-ahead): a version's .info or .zip (its .mod too when it comes from the origin: private, or direct) fetched before a client asked for it (fetched), found held already (held), failed, or dropped with the queue full.",
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(withProcessMetrics = true) {
    this.checksumMismatch.inc({ kind: 'zip' }, 0);
    this.checksumMismatch.inc({ kind: 'mod' }, 0);
    for (const kind of ['info', 'mod', 'zip', 'record', 'tile']) this.storedDamaged.inc({ kind }, 0);
    // The event-loop lag histogram samples every 100 ms, not prom-client's 10 ms: the 10 ms timer woke an idle
    // process 100 times a second (0.4-0.6 s of CPU a minute per process, against 0.16 s at 100 ms); a stall of
    // 100 ms or more still shows in full.
    if (withProcessMetrics)
      collectDefaultMetrics({ register: this.registry, prefix: 'godepot_', eventLoopMonitoringPrecision: 100 });
  }

  endpointObserver(): EndpointObserver {
    return {
      onCall: (e) => {
        this.upstreamRequests.inc({ upstream: e.upstream, kind: e.kind, outcome: e.outcome });
        if (e.outcome !== 'breaker_open')
          this.upstreamDuration.observe({ upstream: e.upstream, kind: e.kind }, e.seconds);
      },
      onBreaker: (upstream, state) => this.breakerState.set({ upstream }, BREAKER_VALUE[state]),
    };
  }

  serviceEvents(): ServiceEvents {
    return {
      checksumMismatch: (e) => this.checksumMismatch.inc({ kind: e.kind }),
      storedDamaged: (kind) => this.storedDamaged.inc({ kind }),
      served: (e) => {
        if (e.verification) this.served.inc({ kind: e.kind, verification: e.verification });
      },
      readAhead: (e) => this.readAhead.inc({ kind: e.kind, outcome: e.outcome }),
    };
  }
}
