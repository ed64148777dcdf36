// /readyz: can godepot do its job? Storage must be writable (else 503);
// a failing upstream (failing since a call, the start-up probe's too, until
// one succeeds in any process; or its breaker open), a stale or forked checksum database make it "degraded" —
// still serving what it has verified, so still ready (200); a failing
// checksum-database source another one covers degrades nothing (coveredSources).
import type { CoordStatus, WorkersStatus } from '../coord/index.js';
import { LATE, systemClock, within } from '../util/clock.js';
import type { Storage } from '../storage/index.js';
import { isHealthy, type EndpointRegistry, type EndpointStatus, type Reachability } from '../upstream/index.js';
import type { SumdbEndpoint, SumdbStatus } from './sumdb-endpoint.js';

export interface Readiness {
  readonly ready: boolean;
  readonly status: 'ok' | 'degraded' | 'not-ready';
  /** Why the status is not ok, in words (empty when it is). */
  readonly reasons: readonly string[];
  readonly storage: { readonly kind: string; readonly writable: boolean; readonly error?: string };
  readonly config: 'loaded';
  readonly offline: boolean;
  readonly upstreams: ReadonlyArray<EndpointStatus & { readonly reachable?: boolean; readonly detail?: string }>;
  /** off only by the explicit --sumdb off. */
  readonly verification: 'on' | 'off';
  readonly sumdb: readonly SumdbStatus[];
  readonly unverifiedArtifacts?: number;
  /** How this node coordinates with the others (with --redis: whether Redis answers). */
  readonly coordination?: CoordStatus;
}

/**
 * The failing checksum-database sources another source of the same database
 * covers: a database's sources are copies of one signed log, hedged, so one
 * that fails while another is healthy degrades nothing (the field's outage:
 * sum.golang.org down, its log read through the proxy's /sumdb/). dbOf gives
 * a source URL's database (undefined for a module proxy). /readyz and the operator page
 * (/api/upstreams) both count by this.
 */
export function coveredSources(
  endpoints: readonly EndpointStatus[],
  dbOf: (url: string) => string | undefined,
): Set<string> {
  return new Set(
    endpoints
      .filter((e) => {
        const db = dbOf(e.url);
        return (
          !isHealthy(e) &&
          db !== undefined &&
          endpoints.some((o) => o.url !== e.url && dbOf(o.url) === db && isHealthy(o))
        );
      })
      .map((e) => e.url),
  );
}

export class Health {
  /**
   * What is wrong with the certificate this process serves (--tls-cert): expired or not valid yet, every client
   * refuses the handshake, though all else is well. Set by serve; null when nothing is.
   */
  certificate: () => string | null = () => null;

  /** The storage write check under way: every /readyz asked meanwhile waits for it rather than write again. */
  private writeCheck: Promise<void> | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly endpoints: EndpointRegistry,
    private readonly sumdbs: readonly SumdbEndpoint[],
    private readonly offline: boolean,
    private readonly unverifiedCount?: () => Promise<number>,
    private readonly reach?: Reachability,
    private readonly coordination?: () => CoordStatus,
    /**
     * How long the storage check may take: a load balancer's health check
     * gives up after a few seconds, and a hung object store would otherwise
     * hold /readyz for a write and a delete's deadlines in a row.
     */
    private readonly storageCheckMs = 3_000,
  ) {}

  /**
   * details false: without the failure texts (upstreams', checksum databases' and their sources'), which
   * quote what an upstream answered and so may name modules: /readyz stays open under --auth, and a
   * client without a user allowed every module must not learn there which modules others asked for.
   */
  async readiness(opts: { readonly details?: boolean } = {}): Promise<Readiness> {
    const details = opts.details ?? true;
    // Everything that may wait on the store or Redis, at once and within one bound.
    const late = `storage ${this.storage.name ?? this.storage.kind} did not answer within ${this.storageCheckMs / 1000}s`;
    const [check, unverified] = await Promise.all([
      settleWithin(this.checkWritable(), this.storageCheckMs, late).then(
        () => null,
        (err: unknown) => (err as Error).message,
      ),
      this.unverifiedCount
        ? settleWithin(this.unverifiedCount(), this.storageCheckMs, late).catch(() => undefined)
        : Promise.resolve(undefined),
      learnShared(this.sumdbs, this.storageCheckMs),
    ]);
    const writable = check === null;
    const error = check ?? undefined;
    const upstreams = this.endpoints.all().map((e) => {
      const s = e.status();
      const r = this.reach?.of(e.url);
      // This process's last call failed, but the upstream has answered since — in another process of the group,
      // whose news ended the streak: that failure is history, as for a database's sources (mirrors.ts).
      const answers = isHealthy(s);
      return {
        ...s,
        ...(r ? { reachable: r.reachable || answers } : {}),
        ...(r?.detail === undefined || answers ? {} : { detail: r.detail }),
      };
    });
    const sumdb = this.sumdbs.map((s) => s.status());
    const coordination = this.coordination?.();
    const dbOf = new Map(sumdb.flatMap((s) => s.sources.map((x) => [x.url, s.name] as const)));
    const covered = coveredSources(upstreams, (url) => dbOf.get(url));
    const certificate = this.certificate();
    const reasons = [
      ...(writable ? [] : [`storage ${this.storage.kind} is not writable: ${error ?? 'unknown error'}`]),
      ...(certificate === null ? [] : [certificate]),
      // Failing, not only once its breaker opens: a lone upstream that refuses every connection serves
      // nothing new, whatever number of modules it has failed so far. (Its start-up probe counts: it goes
      // through the endpoint. A call that succeeds, in any process, ends the streak.)
      ...upstreams
        .filter((u) => (u.state !== 'closed' || u.failingSince !== undefined) && !covered.has(u.url))
        .map((u) => {
          const db = dbOf.get(u.url);
          const what = db === undefined ? 'upstream' : `checksum database ${db} source`;
          const why = details
            ? (u.lastFailure?.detail ?? u.detail)
            : u.lastFailure && `${u.lastFailure.class}: ${WITHHELD}`;
          // What failed, then the state in the words every view of it uses (health-words.ts).
          return `${what} ${u.url}: ${why === undefined ? '' : `${why}; `}${u.health}`;
        }),
      ...sumdb
        .filter((s) => s.status !== 'ok' && s.status !== 'empty')
        .map((s) => `checksum database ${s.name}: ${s.status}${details && s.detail ? ` (${s.detail})` : ''}`),
      ...((unverified ?? 0) > 0 ? [`${unverified} artifacts served unverified, awaiting re-verification`] : []),
      ...(coordination?.redis?.state === 'down' ? ['Redis is down: this node coordinates alone'] : []),
      ...(coordination?.workers ? crashLooping(coordination.workers) : []),
    ];
    return {
      ready: writable,
      status: !writable ? 'not-ready' : reasons.length > 0 ? 'degraded' : 'ok',
      reasons,
      storage: { kind: this.storage.kind, writable, ...(error ? { error } : {}) },
      config: 'loaded',
      offline: this.offline,
      upstreams: details ? upstreams : upstreams.map(withoutDetail),
      verification: this.sumdbs.length > 0 ? 'on' : 'off',
      sumdb: details
        ? sumdb
        : sumdb.map((s) => ({ ...withoutDetail(s), sources: s.sources.map((x) => withoutDetail(x)) })),
      ...(unverified === undefined ? {} : { unverifiedArtifacts: unverified }),
      ...(coordination ? { coordination } : {}),
    };
  }

  /**
   * One storage write check at a time, shared by the /readyz requests that arrive while it runs: each open
   * operator page asks every 2 s and /readyz needs no credentials, so a write (an object-store PUT and DELETE)
   * per request let any number of clients make that many writes at once, queued before the artifacts' own.
   */
  private checkWritable(): Promise<void> {
    if (this.writeCheck) return this.writeCheck;
    const check = this.storage.checkWritable().finally(() => {
      if (this.writeCheck === check) this.writeCheck = null;
    });
    this.writeCheck = check;
    return check;
  }
}

/**
 * The workers that keep dying soon after they start, in words: the machine serves with less than its capacity.
 * (A slot whose worker is starting is no reason: a replacement listens within a second or so, and one that
 * dies at start is waited for, and said, after its second death.)
 */
export function crashLooping(w: WorkersStatus): string[] {
  return w.down
    .filter((d) => d.state === 'waiting')
    .map(
      (d) =>
        `worker ${d.slot} of ${w.of} does not serve since ${d.since}: its workers died ${d.youngDeaths ?? 'several'} times in a row soon after they started; the next starts at ${d.nextStart ?? 'a wait from now'} (the log says why they die)`,
    );
}

/** What a failure text reads as in a /readyz answer without details. */
export const WITHHELD = 'details withheld (shown to a user allowed every module)';

/** o with its failure texts (detail, lastFailure.detail) withheld: what an upstream said may name modules. */
function withoutDetail<T extends { readonly detail?: string; readonly lastFailure?: { readonly detail: string } }>(
  o: T,
): T {
  return {
    ...o,
    ...(o.detail === undefined ? {} : { detail: WITHHELD }),
    ...(o.lastFailure === undefined ? {} : { lastFailure: { ...o.lastFailure, detail: WITHHELD } }),
  };
}

/**
 * Has each checksum database learn at once what other workers or nodes
 * verified or refused (syncShared): a hung store or Redis holds the caller no
 * longer than ms, and a failure leaves the database as this process knew it.
 */
export async function learnShared(dbs: readonly { syncShared?(): Promise<void> }[], ms: number): Promise<void> {
  await Promise.all(
    dbs.map(async (db) => {
      const synced = db.syncShared?.().catch(() => undefined);
      if (synced) await within(synced, ms, systemClock);
    }),
  );
}

/** p, or a rejection with `late` once ms have passed (p then settles unheard). */
async function settleWithin<T>(p: Promise<T> | undefined, ms: number, late: string): Promise<T | undefined> {
  if (p === undefined) return undefined;
  p.catch(() => undefined);
  const r = await within(p, ms, systemClock);
  if (r === LATE) throw new Error(late);
  return r;
}
