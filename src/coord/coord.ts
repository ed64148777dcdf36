// What several godepot processes or nodes must agree on (DESIGN invariant 11),
// behind one interface; LocalCoord and RedisCoord run one contract test
// list (test/coord/contract.test.ts):
// - LocalCoord: this process alone;
// - WorkerCoord (runtime/cluster-coord.ts): the workers of one machine,
//   through their primary process, which keeps a LocalCoord for them;
// - RedisCoord (redis.ts): several nodes through one Redis, falling back to
//   local coordination while Redis is unreachable ("degrade, never down").
//
// What is shared:
// - fetch leases (single flight): one holder per artifact key, with an expiry
//   and a fencing token; waiters get the holder's outcome;
// - the verified checksum-database tree head, advanced only by
//   compare-and-set after the consistency proof, and the heads refused as
//   forks with their evidence, so a fork one node saw is refused by all;
// - the not-found cache (an upstream's 404/410), with its expiry;
// - upstream health: when a breaker opens or closes in one process, the
//   others follow it (news), so an outage costs its first timeouts once for
//   the group, not once per process, and every process reports the same
//   "failing since".
// @v/list and @latest answers are shared through the storage (one object
// store), with their age (the stored object's write time).
import type { FetchLeases, Lease } from '../proxy/context.js';
import { isFailureClass, isRefusalStatus } from '../upstream/errors.js';
import type { HealthNews } from '../upstream/endpoint.js';

export type { HealthNews } from '../upstream/endpoint.js';

/** A remembered 404/410 answer of the upstreams. */
export interface NotFoundEntry {
  readonly upstream: string;
  readonly status: number;
  readonly detail: string;
}

export interface CoordStatus {
  /** local: this process alone; workers: one machine's workers; redis: several nodes. */
  readonly kind: 'local' | 'workers' | 'redis';
  /** With --redis: whether Redis answers right now (down: coordinating locally). */
  readonly redis?: {
    readonly url: string;
    readonly state: 'up' | 'down';
    readonly since: string;
    readonly error?: string;
  };
  /** With --workers N: how many of them serve now (from the primary, at most a ping old). */
  readonly workers?: WorkersStatus;
}

/** The workers of `serve --workers N`, as their primary sees them. */
export interface WorkersStatus {
  readonly of: number;
  readonly serving: number;
  /** The slots that do not serve now, each since when (ISO time). */
  readonly down: ReadonlyArray<{
    readonly slot: number;
    readonly since: string;
    /** starting: its worker was started and does not listen yet; waiting: to be started after dying young. */
    readonly state: 'starting' | 'waiting';
    /** waiting: its workers died this many times in a row soon after they started, and the next starts then. */
    readonly youngDeaths?: number;
    readonly nextStart?: string;
  }>;
}

export interface Coordination {
  readonly kind: CoordStatus['kind'];
  /** Fetch leases across processes; null when this process is alone (its own single flight suffices). */
  readonly leases: FetchLeases | null;

  /** The cluster's verified tree head (a signed note) of database db, or null. */
  head(db: string): Promise<Buffer | null>;
  /**
   * Sets db's head to next when the shared head is still `expected` (or there
   * is none yet). False when another node moved it first, or when no answer
   * came (then it may or may not be set): either way next is not published;
   * read the head, prove, and try again.
   */
  compareAndSetHead(db: string, expected: Buffer | null, next: Buffer): Promise<boolean>;
  /** Records a refused (forked) head of db, by its "size:hash" key, with the evidence (JSON). */
  recordFork(db: string, head: string, evidence: string): Promise<void>;
  /** Whether any node refused this head of db. */
  isRefused(db: string, head: string): Promise<boolean>;
  /** The latest fork evidence (JSON) any node recorded for db, or null. */
  fork(db: string): Promise<string | null>;

  notFound(key: string): Promise<NotFoundEntry | null>;
  rememberNotFound(key: string, entry: NotFoundEntry, ttlMs: number): Promise<void>;
  forgetNotFound(key: string): Promise<void>;

  /** Tells the other processes that an upstream's breaker opened or closed here. */
  shareHealth(news: HealthNews): void;
  /** Calls listener with the other processes' news (never with this process's own). */
  onHealth(listener: (news: HealthNews) => void): void;

  status(): CoordStatus;
  close(): Promise<void>;
}

export type Clock = () => number;

const NOT_FOUND_ENTRIES = 10_000;

/** A lease that is always granted: this process fetches on its own. */
export const SOLO_LEASE: Lease = { lead: true, release: () => undefined };

/**
 * Coordination inside one process: `--workers 1`, the primary of the
 * workers (runtime/cluster-coord.ts), and RedisCoord's fallback.
 */
export class LocalCoord implements Coordination {
  readonly kind = 'local';
  /** Alone, this process's own single flight suffices. */
  readonly leases = null;
  private readonly heads = new Map<string, Buffer>();
  private readonly refused = new Map<string, Set<string>>();
  private readonly forks = new Map<string, string>();
  private readonly negative = new Map<string, { until: number; ttl: number; entry: NotFoundEntry }>();

  constructor(private readonly now: Clock = Date.now) {}

  async head(db: string): Promise<Buffer | null> {
    return this.heads.get(db) ?? null;
  }

  async compareAndSetHead(db: string, expected: Buffer | null, next: Buffer): Promise<boolean> {
    const cur = this.heads.get(db);
    // As in Redis: a head expected but gone is no match (the caller reads again).
    if (cur ? !(expected && cur.equals(expected)) : expected !== null) return false;
    this.heads.set(db, Buffer.from(next));
    return true;
  }

  async recordFork(db: string, head: string, evidence: string): Promise<void> {
    let set = this.refused.get(db);
    if (!set) this.refused.set(db, (set = new Set()));
    set.add(head);
    this.forks.set(db, evidence);
  }

  async isRefused(db: string, head: string): Promise<boolean> {
    return this.refused.get(db)?.has(head) ?? false;
  }

  async fork(db: string): Promise<string | null> {
    return this.forks.get(db) ?? null;
  }

  async notFound(key: string): Promise<NotFoundEntry | null> {
    const e = this.negative.get(key);
    if (!e) return null;
    const left = e.until - this.now();
    // More left than it was given: the wall clock stepped back (NTP, a VM resumed), and a 404 would be
    // answered from memory for as long as the step besides.
    if (left <= 0 || left > e.ttl) {
      this.negative.delete(key);
      return null;
    }
    return e.entry;
  }

  async rememberNotFound(key: string, entry: NotFoundEntry, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return;
    this.negative.delete(key);
    this.negative.set(key, { until: this.now() + ttlMs, ttl: ttlMs, entry });
    // Bounded, so requests for random names cannot grow memory without limit.
    if (this.negative.size > NOT_FOUND_ENTRIES) {
      const oldest = this.negative.keys().next();
      if (!oldest.done) this.negative.delete(oldest.value);
    }
  }

  async forgetNotFound(key: string): Promise<void> {
    this.negative.delete(key);
  }

  /** Alone, there is nobody to tell (workers share news through the primary: runtime/cluster-coord.ts). */
  shareHealth(): void {}

  onHealth(): void {}

  status(): CoordStatus {
    return { kind: this.kind };
  }

  async close(): Promise<void> {}
}

/** A time (ms since epoch) that is a date: status() prints it (toISOString throws a RangeError beyond ±8.64e15). */
function isDate(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 8.64e15;
}

/** A NotFoundEntry from untrusted JSON (another process, Redis): only a 4xx with its words is a remembered refusal. */
export function parseNotFoundEntry(value: unknown): NotFoundEntry | null {
  if (typeof value !== 'object' || value === null) return null;
  const o = value as Record<string, unknown>;
  return typeof o.upstream === 'string' && isRefusalStatus(o.status) && typeof o.detail === 'string'
    ? { upstream: o.upstream, status: o.status, detail: o.detail }
    : null;
}

/** A HealthNews from untrusted JSON (another process, Redis), or null when it is not one. */
export function parseHealthNews(value: unknown): HealthNews | null {
  if (typeof value !== 'object' || value === null) return null;
  const o = value as Record<string, unknown>;
  if (typeof o.upstream !== 'string' || (o.state !== 'open' && o.state !== 'closed' && o.state !== 'failing'))
    return null;
  if (!isDate(o.at)) return null;
  return {
    upstream: o.upstream,
    state: o.state,
    at: o.at,
    ...(isDate(o.since) ? { since: o.since } : {}),
    ...(isFailureClass(o.failure) ? { failure: o.failure } : {}),
    ...(typeof o.detail === 'string' ? { detail: o.detail } : {}),
  };
}
