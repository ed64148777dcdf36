// What the operator page needs beyond /metrics and /readyz, observed from the
// same events metrics and incidents listen to (no second source of truth):
// per-upstream latency percentiles and counts over the last five minutes, a
// ring of 10-second samples for the last hour (requests split into hit / miss
// / error, upstream latency), cache hit counts, when each checksum-database
// tree last took a new signed head, and the artifacts refused for
// contradicting the database. In memory, per process, since it started.
// Time is injected: every method reads `now()`, never the wall clock.
import type { MismatchEvent, ServiceEvents } from '../proxy/context.js';
import type { EndpointEvent, EndpointObserver } from '../upstream/index.js';

/** Length of one sample (ms) and how many are kept: one hour. */
export const STEP_MS = 10_000;
export const SAMPLES = 360;
/** The window of the per-upstream percentiles and counts: 30 samples. */
const WINDOW_SAMPLES = 30;
/** Latencies kept per upstream per sample; beyond that, older ones are overwritten in turn. */
const LATENCIES_PER_SAMPLE = 512;
/** Refused artifacts remembered (the newest). */
const REFUSED_MAX = 200;

interface UpstreamSample {
  calls: number;
  failures: number;
  /** Calls the open breaker refused without contacting the upstream. */
  refusals: number;
  latencies: number[];
}

interface Sample {
  /** Index of the 10 s slot: floor(ms / STEP_MS). */
  readonly slot: number;
  hit: number;
  miss: number;
  error: number;
  readonly upstreams: Map<string, UpstreamSample>;
}

export interface UpstreamStats {
  /** Calls that reached (or tried to reach) the upstream in the window; breaker refusals are not calls. */
  readonly requests: number;
  readonly failures: number;
  /** Refused by the open breaker without a call, in the window. */
  readonly breakerRefusals: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly requestsTotal: number;
  readonly failuresTotal: number;
}

export interface RefusedArtifact {
  readonly at: string;
  readonly module: string;
  readonly version: string;
  readonly kind: string;
  readonly expected: string;
  readonly received: string;
  readonly upstream: string;
}

export interface Series {
  readonly stepSeconds: number;
  /** Start of each sample, Unix seconds, oldest first. */
  readonly t: number[];
  /** Requests per second in each sample; null before the process started. */
  readonly hit: Array<number | null>;
  readonly miss: Array<number | null>;
  readonly error: Array<number | null>;
  /** Per upstream: p50 latency (ms) of the calls in each sample, null when there were none. */
  readonly latencyMs: Record<string, Array<number | null>>;
}

/** What one process's OperatorStats holds, as plain data: the workers send it to each other (runtime/cluster-stats.ts). */
export interface StatsSnapshot {
  readonly firstSlot: number;
  readonly hits: number;
  readonly misses: number;
  readonly samples: ReadonlyArray<{
    readonly slot: number;
    readonly hit: number;
    readonly miss: number;
    readonly error: number;
    readonly upstreams: Readonly<Record<string, UpstreamSample>>;
  }>;
  readonly totals: Readonly<Record<string, { readonly requests: number; readonly failures: number }>>;
  readonly refused: readonly RefusedArtifact[];
}

export class OperatorStats {
  private readonly ring: Sample[] = [];
  private readonly totals = new Map<string, { requests: number; failures: number }>();
  private readonly refusedList: RefusedArtifact[] = [];
  private readonly heads = new Map<string, { size: number; at: number }>();
  private hits = 0;
  private misses = 0;
  /** Slots before this one are before this process started: no data, not zero. */
  private firstSlot: number;

  constructor(private readonly now: () => number = Date.now) {
    this.firstSlot = this.slot();
  }

  snapshot(): StatsSnapshot {
    return {
      firstSlot: this.firstSlot,
      hits: this.hits,
      misses: this.misses,
      samples: this.ring.map((s) => ({ ...s, upstreams: Object.fromEntries(s.upstreams) })),
      totals: Object.fromEntries(this.totals),
      refused: this.refusedList,
    };
  }

  /**
   * The statistics of a group of processes (serve's workers): their
   * snapshots added up — counts summed per 10 s slot, latencies pooled, the
   * refused lists merged newest first. Head times are this process's.
   */
  static group(self: OperatorStats, snapshots: readonly StatsSnapshot[]): OperatorStats {
    const g = new OperatorStats(self.now);
    for (const [db, h] of self.heads) g.heads.set(db, h);
    g.firstSlot = Math.min(...snapshots.map((s) => s.firstSlot), self.firstSlot);
    const bySlot = new Map<number, Sample>();
    for (const snap of snapshots) {
      g.hits += snap.hits;
      g.misses += snap.misses;
      for (const [url, t] of Object.entries(snap.totals)) {
        const mine = g.totals.get(url) ?? { requests: 0, failures: 0 };
        g.totals.set(url, { requests: mine.requests + t.requests, failures: mine.failures + t.failures });
      }
      for (const s of snap.samples) {
        let m = bySlot.get(s.slot);
        if (!m) bySlot.set(s.slot, (m = { slot: s.slot, hit: 0, miss: 0, error: 0, upstreams: new Map() }));
        m.hit += s.hit;
        m.miss += s.miss;
        m.error += s.error;
        for (const [url, u] of Object.entries(s.upstreams)) {
          const mu = m.upstreams.get(url) ?? { calls: 0, failures: 0, refusals: 0, latencies: [] };
          mu.calls += u.calls;
          mu.failures += u.failures;
          mu.refusals += u.refusals;
          mu.latencies.push(...u.latencies);
          m.upstreams.set(url, mu);
        }
      }
      g.refusedList.push(...snap.refused);
    }
    g.ring.push(...[...bySlot.values()].sort((a, b) => a.slot - b.slot));
    g.refusedList.sort((a, b) => b.at.localeCompare(a.at));
    // The same bytes refused by several workers (or by a read-ahead and the request after it) are one artifact.
    const seen = new Set<string>();
    const distinct = g.refusedList.filter((r) => !seen.has(refusedKey(r)) && seen.add(refusedKey(r)));
    g.refusedList.splice(0, g.refusedList.length, ...distinct.slice(0, REFUSED_MAX));
    return g;
  }

  endpointObserver(): EndpointObserver {
    return { onCall: (e) => this.call(e) };
  }

  serviceEvents(): ServiceEvents {
    return {
      served: (e) => {
        const s = this.current();
        // Every request in the chart; the hit ratio is of artifacts (a lookup's record is not kept as one).
        const artifact = e.kind !== 'sumdb';
        if (e.outcome === 'error') s.error++;
        else if (e.outcome === 'hit' || e.outcome === 'stale') {
          s.hit++;
          if (artifact) this.hits++;
        } else {
          s.miss++;
          if (artifact) this.misses++;
        }
      },
      checksumMismatch: (e) => this.noteRefused(e),
    };
  }

  /** Called when a checksum-database tree takes a head (loaded, adopted or proven to extend the old one). */
  treeAdvanced(db: string, size: number, at: number = this.now()): void {
    const prev = this.heads.get(db);
    if (!prev || prev.size !== size) this.heads.set(db, { size, at });
  }

  /** When this process took the database's current head (ms since epoch), if it has one. */
  headTakenAt(db: string): number | undefined {
    return this.heads.get(db)?.at;
  }

  /** Share of artifact requests answered from the cache since start; null before the first one. */
  hitRatio(): number | null {
    const all = this.hits + this.misses;
    return all === 0 ? null : this.hits / all;
  }

  /** Artifacts refused for contradicting the checksum database, newest first. */
  refused(): RefusedArtifact[] {
    return [...this.refusedList];
  }

  private noteRefused(e: MismatchEvent): void {
    // One entry per artifact and received bytes, at its latest refusal.
    const again = this.refusedList.findIndex((r) => refusedKey(r) === refusedKey(e));
    if (again >= 0) this.refusedList.splice(again, 1);
    this.refusedList.unshift({
      at: new Date(this.now()).toISOString(),
      module: e.module,
      version: e.version,
      kind: e.kind,
      expected: e.expected,
      received: e.received,
      upstream: e.upstream,
    });
    this.refusedList.length = Math.min(this.refusedList.length, REFUSED_MAX);
  }

  /** Latency percentiles and counts of one upstream over the last five minutes, plus totals since start. */
  upstream(url: string): UpstreamStats {
    const recent = this.window(WINDOW_SAMPLES);
    let requests = 0;
    let failures = 0;
    let breakerRefusals = 0;
    const latencies: number[] = [];
    for (const s of recent) {
      const u = s.upstreams.get(url);
      if (!u) continue;
      requests += u.calls;
      failures += u.failures;
      breakerRefusals += u.refusals;
      for (const l of u.latencies) latencies.push(l);
    }
    latencies.sort((a, b) => a - b);
    const total = this.totals.get(url) ?? { requests: 0, failures: 0 };
    return {
      requests,
      failures,
      breakerRefusals,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      requestsTotal: total.requests,
      failuresTotal: total.failures,
    };
  }

  /** The last hour in 10 s samples, oldest first; samples without events are zeros. */
  series(): Series {
    const last = this.slot();
    const first = last - SAMPLES + 1;
    const hour = this.window(SAMPLES);
    const bySlot = new Map(hour.map((s) => [s.slot, s]));
    const urls = new Set<string>();
    for (const s of hour) for (const u of s.upstreams.keys()) urls.add(u);
    const out: Series = { stepSeconds: STEP_MS / 1000, t: [], hit: [], miss: [], error: [], latencyMs: {} };
    for (const u of urls) out.latencyMs[u] = [];
    for (let slot = first; slot <= last; slot++) {
      const s = bySlot.get(slot);
      const perSecond = (n: number | undefined): number | null =>
        slot < this.firstSlot ? null : (n ?? 0) / (STEP_MS / 1000);
      out.t.push((slot * STEP_MS) / 1000);
      out.hit.push(perSecond(s?.hit));
      out.miss.push(perSecond(s?.miss));
      out.error.push(perSecond(s?.error));
      for (const u of urls) {
        const l = [...(s?.upstreams.get(u)?.latencies ?? [])].sort((a, b) => a - b);
        out.latencyMs[u]?.push(percentile(l, 0.5));
      }
    }
    return out;
  }

  private call(e: EndpointEvent): void {
    const s = this.current();
    let u = s.upstreams.get(e.upstream);
    if (!u) {
      u = { calls: 0, failures: 0, refusals: 0, latencies: [] };
      s.upstreams.set(e.upstream, u);
    }
    if (e.outcome === 'breaker_open') {
      u.refusals++;
      return;
    }
    const failed = e.outcome !== 'ok' && e.outcome !== 'not_found';
    const total = this.totals.get(e.upstream) ?? { requests: 0, failures: 0 };
    total.requests++;
    if (failed) total.failures++;
    this.totals.set(e.upstream, total);
    const ms = e.seconds * 1000;
    if (u.latencies.length < LATENCIES_PER_SAMPLE) u.latencies.push(ms);
    else u.latencies[u.calls % LATENCIES_PER_SAMPLE] = ms;
    u.calls++;
    if (failed) u.failures++;
  }

  private slot(): number {
    return Math.floor(this.now() / STEP_MS);
  }

  /** The sample of the current 10 s slot, created (and the ring trimmed to an hour) when it starts. */
  private current(): Sample {
    const slot = this.slot();
    const last = this.ring[this.ring.length - 1];
    if (last && last.slot === slot) return last;
    if (last && last.slot > slot) {
      // The wall clock stepped back (NTP, a VM resumed). The samples dated ahead of it go: they would stay at the
      // front of the ring, which is trimmed from there, while it grew for as long as the step. Nor are the slots
      // from now on before the start (no data).
      while ((this.ring.at(-1)?.slot ?? slot) > slot) this.ring.pop();
      this.firstSlot = Math.min(this.firstSlot, slot);
      const kept = this.ring.at(-1);
      if (kept?.slot === slot) return kept;
    }
    const s: Sample = { slot, hit: 0, miss: 0, error: 0, upstreams: new Map() };
    this.ring.push(s);
    while (this.ring.length > 0 && (this.ring[0]?.slot ?? slot) <= slot - SAMPLES) this.ring.shift();
    return s;
  }

  /** The samples of the last n slots (the current one included). */
  private window(n: number): Sample[] {
    const cutoff = this.slot() - n;
    return this.ring.filter((s) => s.slot > cutoff);
  }
}

/** Nearest-rank percentile of sorted values; null for none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** What makes a refusal the same one again: the module version, the file, the bytes received, from where. */
function refusedKey(r: Pick<RefusedArtifact, 'module' | 'version' | 'kind' | 'received' | 'upstream'>): string {
  return `${r.module}@${r.version} ${r.kind} ${r.received} ${r.upstream}`;
}
