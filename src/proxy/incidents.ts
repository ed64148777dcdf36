// The incident log: each outage of an upstream service with start, end,
// duration, failure class, and how many requests were served from cache,
// served unverified, or failed meanwhile — the timeline a post-mortem starts
// from. Kept under incidents/ in storage, pruned to a bounded history.
//
// A service is one upstream proxy, or one checksum database with all its
// sources: an outage of a database is one incident, not one per mirror.
// A service is out when every one of its endpoints has an open breaker; the
// incident ends when any of them answers again. Incidents left open by a
// process that stopped end at their last record when the next one loads.
//
// An open record is rewritten every REFRESH_MS, so that one left by a dead
// process is known by its age — by `godepot incidents` too, which reads the
// storage while the server runs, alone or not.
// Several processes (workers, nodes) may write to one storage: each writes
// records of its own (the id names the process), and the log is read as the
// group's view (groupView): the records of one service that overlap in time
// are one outage, with the requests every process served meanwhile added up.
// Whoever reads the records (at load and for list()) deletes those beyond the
// limits, whichever process wrote them: a process that stopped (a restart, a
// respawned worker, a deploy) never prunes its own again. Deleting is idempotent, so processes that
// prune at once do no harm.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { saidAt, type SaidAt } from '../util/said-once.js';
import type { Storage } from '../storage/index.js';
import type { BreakerState, EndpointObserver, UpstreamError } from '../upstream/index.js';
import { CLOCK_SKEW_MS, passed, systemClock, type Clock } from '../util/clock.js';
import { SAID_EVERY_MS, Spacing } from '../util/spacing.js';
import type { ServiceEvents } from './context.js';
import { isProvisional } from './artifact.js';
import { isOriginLabel } from './origin-source.js';
import { Limiter } from '../util/limiter.js';

export interface Incident {
  readonly id: string;
  /** The service: an upstream URL, or "checksum database <name>". */
  readonly upstream: string;
  readonly start: string;
  end?: string;
  durationMs?: number;
  /** When this record last changed; a record left open by a stopped process ends here. */
  updatedAt?: string;
  /**
   * Set when the process recording it stopped while the outage was open: end
   * is when godepot last looked, and the outage may have gone on after.
   */
  endUnknown?: boolean;
  failureClass: string;
  detail: string;
  servedFromCache: number;
  servedUnverified: number;
  failed: number;
  /** An event that is over as soon as it happens (recordEvent), not an outage: never merged with others. */
  event?: true;
}

/** Which service an endpoint URL belongs to, and every endpoint of that service. */
export type ServiceOf = (url: string) => { readonly name: string; readonly members: readonly string[] };

export interface IncidentLogOptions {
  readonly clock?: Clock;
  readonly serviceOf?: ServiceOf;
  /** Keep at most this many ended incidents (the newest). */
  readonly keep?: number;
  /** Drop ended incidents older than this (ms). */
  readonly maxAgeMs?: number;
  /** False for batch commands: nothing is read or written; outages are only logged. */
  readonly persist?: boolean;
  /** Other processes record incidents in the same storage: list() shows the group's view. */
  readonly shared?: boolean;
  /**
   * The level of the lines that say an outage began, goes on or ended
   * (default: their own): with `serve --workers N` every worker opens the
   * same outage, its breaker following the others', and only the first says
   * it (said-once.ts), so the log has one line per outage, not one per worker.
   */
  readonly level?: SaidAt;
}

const KEY_PREFIX = 'incidents/';
const FLUSH_EVERY_MS = 5_000;
const INCIDENTS_KEPT = 500;
export const INCIDENTS_MAX_AGE_MS = 90 * 24 * 3600_000;
/** An open record is rewritten this often while its outage lasts… */
const REFRESH_MS = 30_000;
/** …so one not rewritten for this long was left by a process that stopped: it ended at its last record. */
export const STALE_AFTER_MS = 3 * REFRESH_MS;
/** How long the group's view read from storage is reused (the operator page asks every few seconds). */
const VIEW_REUSE_MS = 5_000;
/**
 * An outage of a service that ended less than this long ago goes on when the
 * service fails again, in the same record: when only some requests fail (one
 * kind of artifact reset, truncated zips), one answer ends the incident and
 * the next failures open it again, and the history filled with sub-second
 * records that pushed the real ones out.
 */
export const REOPEN_WITHIN_MS = 60_000;

export class IncidentLog {
  private readonly open = new Map<string, Incident>();
  private closed: Incident[] = [];
  private readonly states = new Map<string, BreakerState>();
  private dirty = new Set<Incident>();
  private readonly removed = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly clock: Clock;
  private readonly serviceOf: ServiceOf;
  private readonly persist: boolean;
  private readonly shared: boolean;
  private readonly say: SaidAt;
  /** Names this process in its records' ids, so that processes sharing the storage never overwrite each other. */
  private readonly proc = randomBytes(3).toString('hex');
  private refreshTimer: NodeJS.Timeout | undefined;
  private view: { at: number; records: Promise<Incident[]> } | undefined;
  /**
   * Origin hosts are named by clients (`<proxy>,direct`, private patterns), as
   * many as they like: an origin outage opening (or going on) is said at most
   * once per SAID_EVERY_MS, with how many more were left unsaid; the others,
   * and their ends, at debug level. Each is still recorded (the operator page lists it).
   */
  private readonly originSaid = new Spacing<'origin'>(SAID_EVERY_MS, () => this.clock.now());
  /** Origin outages said at debug level: their end is too (not persisted, unlike a field of the record). */
  private readonly quiet = new WeakSet<Incident>();
  /** Damaged records already reported (the group's view is read again every few seconds). */
  private readonly reported = new Set<string>();
  private readonly damaged: DamagedRecord = (key, why) => {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.log.warn(
      { key, reason: why },
      'an incident record that does not read was left out of the incident history; remove it (the other incidents are kept)',
    );
  };

  constructor(
    private readonly storage: Storage,
    private readonly log: Logger,
    private readonly opts: IncidentLogOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.serviceOf = opts.serviceOf ?? ((url) => ({ name: url, members: [url] }));
    this.persist = opts.persist ?? true;
    this.shared = this.persist && (opts.shared ?? false);
    this.say = opts.level ?? saidAt(true);
  }

  /**
   * Reads past incidents; ones left open by a process that stopped end at
   * their last record (alone: every open one; shared: those not rewritten
   * for STALE_AFTER_MS, as the others' processes may still be running).
   */
  async load(): Promise<void> {
    if (!this.persist) return;
    const all = await readRecords(this.storage, this.damaged);
    const now = this.clock.now();
    for (const inc of all) {
      if (inc.end !== undefined) continue;
      if (this.shared && !isStale(inc, now)) continue;
      endAtLastRecord(inc);
      this.dirty.add(inc);
    }
    // Alone, every record is this process's to keep; shared, each process keeps its own, and the others'
    // beyond the limits go now.
    if (this.shared) this.pruneStored(all);
    else this.closed = all;
    this.prune();
    await this.flush();
  }

  /** Endpoints whose breaker is not closed (an endpoint it holds nothing of is closed). */
  get failingEndpoints(): number {
    return this.states.size;
  }

  endpointObserver(): EndpointObserver {
    return {
      onBreaker: (url, state, failure) => {
        // Only what is not closed is kept: origin hosts (`origin <host>`) are named by clients, without limit.
        if (state === 'closed') this.states.delete(url);
        else this.states.set(url, state);
        const service = this.serviceOf(url);
        if (state === 'open') this.maybeOpen(service, failure);
        else if (state === 'closed') this.end(service.name);
      },
      onCall: (e) => {
        if (e.outcome === 'ok' || e.outcome === 'not_found' || e.outcome === 'refused') {
          this.states.delete(e.upstream);
          this.end(this.serviceOf(e.upstream).name);
        }
      },
    };
  }

  /** Opens the service's incident when every one of its endpoints is failing. */
  private maybeOpen(service: { name: string; members: readonly string[] }, failure: UpstreamError | undefined): void {
    if (this.open.has(service.name)) return;
    if (!service.members.every((m) => (this.states.get(m) ?? 'closed') !== 'closed')) return;
    const now = this.clock.now();
    if (this.reopen(service.name, now)) return;
    // The outage began with the failure streak that opened the breaker, not when it opened.
    const since = failure?.since;
    const start = new Date(since !== undefined && since <= now ? since : now);
    const inc: Incident = {
      id: `${start.toISOString().replace(/[:.]/g, '-')}-${slug(service.name)}-${this.proc}`,
      upstream: service.name,
      start: start.toISOString(),
      failureClass: failure?.failure ?? 'unknown',
      detail: failure?.detail ?? '',
      servedFromCache: 0,
      servedUnverified: 0,
      failed: 0,
    };
    this.open.set(service.name, inc);
    this.keepFresh();
    const unsaid = this.sayOrigin(inc);
    this.log[unsaid === null ? 'debug' : this.say('error')](
      {
        upstream: service.name,
        failure: inc.failureClass,
        detail: inc.detail,
        incident: inc.id,
        ...(unsaid ? { moreOriginOutages: unsaid } : {}),
      },
      `outage of ${service.name}: ${inc.failureClass}${inc.detail ? ` (${inc.detail})` : ''}; godepot serves what it ` +
        'holds until it answers again: if others reach it, check how this host does (network, DNS, HTTPS_PROXY)' +
        (unsaid ? `; ${unsaid} more origin hosts failed since the last one said (see the incidents page)` : ''),
    );
    this.touch(inc);
  }

  /** Goes on with the service's last outage if it ended within REOPEN_WITHIN_MS; false if there is none such. */
  private reopen(name: string, now: number): boolean {
    // The one that ended last: those read at load come newest first, then this start's in the order they ended.
    let last: Incident | undefined;
    for (const inc of this.closed)
      if (inc.upstream === name && inc.event === undefined && (last === undefined || endedAt(inc) > endedAt(last)))
        last = inc;
    const ended = last === undefined ? NaN : endedAt(last);
    if (!last || !(now - ended >= 0 && now - ended < REOPEN_WITHIN_MS) || last.endUnknown) return false;
    this.closed = this.closed.filter((inc) => inc !== last);
    delete last.end;
    delete last.durationMs;
    this.open.set(name, last);
    this.keepFresh();
    // A quiet outage stays quiet: "goes on" (and then its end) would be the first the log says of it.
    const said = this.quiet.has(last) ? null : this.sayOrigin(last);
    this.log[said === null ? 'debug' : this.say('info')](
      { upstream: name, incident: last.id, answeredForMs: now - ended },
      `${name} fails again ${Math.round((now - ended) / 1000)}s after answering: the outage goes on`,
    );
    this.touch(last);
    return true;
  }

  private end(name: string): void {
    const inc = this.open.get(name);
    if (!inc) return;
    this.open.delete(name);
    // Not before its start: the wall clock may have stepped back (NTP, a VM resumed) during the outage.
    const end = Math.max(this.clock.now(), Date.parse(inc.start));
    inc.end = new Date(end).toISOString();
    inc.durationMs = end - Date.parse(inc.start);
    this.closed.push(inc);
    this.log[this.quiet.has(inc) ? 'debug' : this.say('warn')](
      {
        upstream: name,
        incident: inc.id,
        durationMs: inc.durationMs,
        servedFromCache: inc.servedFromCache,
        servedUnverified: inc.servedUnverified,
        failed: inc.failed,
      },
      `${name} answers again: the outage is over`,
    );
    this.touch(inc);
    this.prune();
  }

  /**
   * Records an event that is over as soon as it happens (a private tag moved
   * at its origin): an incident that starts and ends now, so the timeline and
   * the post-mortem see it beside the outages.
   */
  recordEvent(service: string, failureClass: string, detail: string): void {
    const now = new Date(this.clock.now());
    const inc: Incident = {
      id: `${now.toISOString().replace(/[:.]/g, '-')}-${slug(service)}-${slug(failureClass)}-${this.proc}`,
      upstream: service,
      start: now.toISOString(),
      end: now.toISOString(),
      durationMs: 0,
      failureClass,
      detail,
      servedFromCache: 0,
      servedUnverified: 0,
      failed: 0,
      event: true,
    };
    this.closed.push(inc);
    this.touch(inc);
    this.prune();
  }

  /**
   * Whether the line that inc (an outage) opens or goes on is said: always
   * for a configured service; for an origin host, null (marked quiet) when
   * another was said less than SAID_EVERY_MS ago, else how many went
   * unsaid since the last.
   */
  private sayOrigin(inc: Incident): number | null {
    if (!isOriginLabel(inc.upstream)) return 0;
    const unsaid = this.originSaid.take('origin');
    if (unsaid === null) this.quiet.add(inc);
    else this.quiet.delete(inc);
    return unsaid;
  }

  /** Keeps this process's newest `keep` ended incidents, none older than maxAgeMs; the rest are deleted from storage. */
  private prune(): void {
    const gone = this.beyondLimits(this.closed);
    this.closed = this.closed.filter((inc) => !gone.has(inc.id));
    this.forget(gone);
  }

  /**
   * Shared: deletes the stored records beyond the limits, whichever process
   * wrote them; returns the rest. This process's open ones are alive, whatever
   * their stored copy says.
   */
  private pruneStored(records: readonly Incident[]): Incident[] {
    const open = new Set([...this.open.values()].map((inc) => inc.id));
    const gone = this.beyondLimits(records.filter((inc) => !open.has(inc.id)));
    this.closed = this.closed.filter((inc) => !gone.has(inc.id));
    this.forget(gone);
    return records.filter((inc) => !gone.has(inc.id));
  }

  /**
   * The ids of the ended records beyond the limits: all but the newest
   * `keep`, and any that ended more than maxAgeMs ago. An open record left by
   * a process that stopped counts as ended at its last record.
   */
  private beyondLimits(records: readonly Incident[]): Set<string> {
    const keep = this.opts.keep ?? INCIDENTS_KEPT;
    const now = this.clock.now();
    const oldest = now - (this.opts.maxAgeMs ?? INCIDENTS_MAX_AGE_MS);
    const ended = records
      .filter((inc) => inc.end !== undefined || isStale(inc, now))
      .sort((a, b) => b.start.localeCompare(a.start));
    const endOf = (inc: Incident): number => Date.parse(inc.end ?? inc.updatedAt ?? inc.start);
    return new Set(ended.filter((inc, i) => i >= keep || endOf(inc) < oldest).map((inc) => inc.id));
  }

  /** Deletes these records from storage (and drops any pending write of them). */
  private forget(ids: ReadonlySet<string>): void {
    if (ids.size === 0) return;
    for (const id of ids) this.removed.add(id);
    for (const inc of this.dirty) if (ids.has(inc.id)) this.dirty.delete(inc);
    void this.flush();
  }

  serviceEvents(): ServiceEvents {
    return {
      served: (e) => {
        if (this.open.size === 0) return;
        // A client's own mistake (400, 404 of a module that is not there, 401/403) is not a failure of the outage.
        if (e.outcome === 'error' && (e.status ?? 500) < 500) return;
        for (const inc of this.open.values()) {
          if (e.outcome === 'error') inc.failed++;
          else if (e.verification && isProvisional(e.verification)) inc.servedUnverified++;
          else if (e.outcome === 'hit' || e.outcome === 'stale') inc.servedFromCache++;
          this.touch(inc);
        }
      },
    };
  }

  /** All incidents, newest first; open ones have no end. Shared: the group's view (groupView). */
  async list(): Promise<Incident[]> {
    const mine = [...this.open.values(), ...this.closed];
    // Alone, the records of earlier starts (with --workers N, one per worker) are merged as the group's are.
    if (!this.shared)
      return [...this.open.values(), ...groupView(this.closed, this.clock.now())].sort((a, b) =>
        b.start.localeCompare(a.start),
      );
    const now = this.clock.now();
    if (!this.view || passed(this.view.at, VIEW_REUSE_MS, now)) {
      const records = this.flush()
        .then(() => readRecords(this.storage, this.damaged))
        .then((all) => this.pruneStored(all));
      this.view = { at: now, records };
    }
    const view = this.view;
    // A storage that cannot be read now: this process's own records, read again at the next call.
    const stored = await view.records.catch(() => {
      if (this.view === view) this.view = undefined;
      return [];
    });
    // This process's own records as they are now, the others' as last read.
    const ids = new Set(mine.map((i) => i.id));
    const others = stored.filter((i) => !ids.has(i.id));
    return groupView([...others, ...mine.map((i) => ({ ...i }))], now);
  }

  /**
   * An endpoint is no longer followed (an origin host forgotten among more
   * failing hosts than are kept): its open outage ends when it was last seen
   * failing, marked endUnknown, as at shutdown; not "answers again", which
   * nothing has seen.
   */
  unfollow(url: string): void {
    this.states.delete(url);
    const name = this.serviceOf(url).name;
    const inc = this.open.get(name);
    if (!inc) return;
    this.open.delete(name);
    endAtLastRecord(inc);
    this.closed.push(inc);
    this.log[this.quiet.has(inc) ? 'debug' : this.say('info')](
      { upstream: name, incident: inc.id },
      `${name} is no longer followed (other hosts failed since): its outage is recorded as ending when it was last seen failing`,
    );
    this.touch(inc);
    this.prune();
  }

  /**
   * This process stops watching (shutdown): its open records end where it
   * stopped, marked endUnknown, so that a reader meanwhile (godepot incidents,
   * the next start) does not take them for ongoing; another process still
   * watching keeps the outage open in the group's view (groupView).
   */
  async stop(): Promise<void> {
    clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    const now = new Date(this.clock.now()).toISOString();
    for (const inc of this.open.values()) {
      inc.updatedAt = now;
      endAtLastRecord(inc);
      this.closed.push(inc);
      if (this.persist) this.dirty.add(inc);
    }
    this.open.clear();
    await this.flush();
  }

  /**
   * Rewrites open records every REFRESH_MS while any is open, so that their age tells they are alive. Alone
   * too: a lone server's open outage, unchanged for STALE_AFTER_MS, read as "stopped" in `godepot incidents`
   * while /api/incidents said ongoing.
   */
  private keepFresh(): void {
    if (!this.persist || this.refreshTimer) return;
    this.refreshTimer = setInterval(() => {
      if (this.open.size === 0) {
        clearInterval(this.refreshTimer);
        this.refreshTimer = undefined;
        return;
      }
      for (const inc of this.open.values()) this.touch(inc);
    }, REFRESH_MS);
    this.refreshTimer.unref();
  }

  private touch(inc: Incident): void {
    inc.updatedAt = new Date(this.clock.now()).toISOString();
    if (!this.persist) return;
    this.dirty.add(inc);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, FLUSH_EVERY_MS);
    this.flushTimer.unref();
    if (inc.end !== undefined || inc.servedFromCache + inc.servedUnverified + inc.failed === 0) void this.flush();
  }

  /** Writes changed incidents and deletes pruned ones; resolves after every earlier flush has finished too. */
  flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.open.size === 0 && this.refreshTimer) {
      clearInterval(this.refreshTimer);
      this.refreshTimer = undefined;
    }
    this.flushTimer = undefined;
    if (!this.persist) return this.flushing;
    this.flushing = this.flushing.then(() => this.writeDirty());
    return this.flushing;
  }

  private async writeDirty(): Promise<void> {
    const batch = [...this.dirty];
    this.dirty.clear();
    const removed = [...this.removed];
    this.removed.clear();
    for (const inc of batch) {
      try {
        await this.storage.put(KEY_PREFIX + inc.id + '.json', Buffer.from(JSON.stringify(inc, null, 2)));
      } catch (err) {
        this.log.error({ incident: inc.id, err: (err as Error).message }, 'cannot record incident');
      }
    }
    for (const id of removed) {
      try {
        await this.storage.delete(KEY_PREFIX + id + '.json');
      } catch (err) {
        this.log.warn({ incident: id, err: (err as Error).message }, 'cannot delete an old incident record');
      }
    }
  }
}

function slug(name: string): string {
  return name
    .replace(/^https?:\/\//, '')
    .replace(/[^A-Za-z0-9.-]+/g, '_')
    .slice(0, 80);
}

/**
 * The incidents recorded in a storage, as the group of processes that wrote
 * them saw them (used by `godepot incidents` without a running server).
 */
export async function readIncidents(
  storage: Storage,
  now = Date.now(),
  damaged: DamagedRecord = () => undefined,
): Promise<Incident[]> {
  return groupView(await readRecords(storage, damaged), now);
}

/** When an ended incident ended (ms); NaN for one that has not. */
function endedAt(inc: Incident): number {
  return inc.end === undefined ? NaN : Date.parse(inc.end);
}

/**
 * Whether an open record was left by a process that stopped: not rewritten for STALE_AFTER_MS, or dated ahead of
 * now by more than clocks differ (its writer's wall clock was ahead, or this one stepped back since: NTP, a VM
 * resumed), which is no date: else the outage of a process that died then read as ongoing for the step's length.
 */
function isStale(inc: Incident, now: number): boolean {
  const updated = Date.parse(inc.updatedAt ?? inc.start);
  return now - updated > STALE_AFTER_MS || updated - now > CLOCK_SKEW_MS;
}

function endAtLastRecord(inc: Incident): void {
  // Not before its start: the wall clock may have stepped back (NTP, a VM resumed) since the outage began, and the
  // record rewritten at the stepped clock since.
  const start = Date.parse(inc.start);
  const end = Math.max(Date.parse(inc.updatedAt ?? inc.start), start);
  inc.end = new Date(end).toISOString();
  inc.durationMs = end - start;
  inc.endUnknown = true;
}

/**
 * One outage per service and span of time, whichever processes recorded it:
 * records of one service that overlap in time are merged (the earliest
 * start and its failure, the latest end — open while any is — and the
 * counts added up). An open record not rewritten for STALE_AFTER_MS was
 * left by a process that stopped and ends at its last record. Events are
 * kept as they are. Newest first.
 */
function groupView(records: readonly Incident[], now: number): Incident[] {
  const out: Incident[] = [];
  const byService = new Map<string, Incident[]>();
  for (const r of records) {
    const inc = { ...r };
    if (inc.end === undefined && isStale(inc, now)) endAtLastRecord(inc);
    if (inc.event) out.push(inc);
    else byService.set(inc.upstream, [...(byService.get(inc.upstream) ?? []), inc]);
  }
  const endOf = (i: Incident): number => (i.end === undefined ? Infinity : Date.parse(i.end));
  for (const list of byService.values()) {
    list.sort((a, b) => a.start.localeCompare(b.start));
    let cur: Incident | undefined;
    for (const r of list) {
      if (cur && Date.parse(r.start) <= endOf(cur)) {
        const end = Math.max(endOf(cur), endOf(r));
        if (end === Infinity) {
          delete cur.end;
          delete cur.durationMs;
          delete cur.endUnknown;
        } else {
          // The record that ends last says whether that end was seen or is only when godepot stopped looking.
          const last = endOf(r) >= endOf(cur) ? r : cur;
          if (last.endUnknown) cur.endUnknown = true;
          else delete cur.endUnknown;
          cur.end = new Date(end).toISOString();
          cur.durationMs = end - Date.parse(cur.start);
        }
        cur.servedFromCache += r.servedFromCache;
        cur.servedUnverified += r.servedUnverified;
        cur.failed += r.failed;
        if ((r.updatedAt ?? '') > (cur.updatedAt ?? '')) cur.updatedAt = r.updatedAt;
        continue;
      }
      if (cur) out.push(cur);
      cur = r;
    }
    if (cur) out.push(cur);
  }
  return out.sort((a, b) => b.start.localeCompare(a.start));
}

/** What a reader is told of a record it left out: its key and why. */
export type DamagedRecord = (key: string, why: string) => void;

/**
 * Every incident record in a storage, as written. One that does not read as
 * an incident (torn, edited by hand, another program's file) is left out and
 * given to damaged: a history with a hole beats a server that does not start.
 */
async function readRecords(storage: Storage, damaged: DamagedRecord): Promise<Incident[]> {
  const out: Incident[] = [];
  const keys = (await storage.list(KEY_PREFIX)).filter((key) => key.endsWith('.json'));
  // Sixteen reads at a time: one after the other, the 500 records kept took seconds on an object store, at every
  // start of every worker and every few seconds while the operator page is open.
  const reads = new Limiter(16, keys.length);
  const read = async (key: string): Promise<void> => {
    let b: Buffer | null;
    try {
      b = await storage.get(key);
    } catch (err) {
      damaged(key, `it could not be read: ${(err as Error).message}`);
      return;
    }
    if (!b) return; // removed since the listing (pruned by another process)
    const inc = parseIncident(b.toString('utf8'));
    if (typeof inc === 'string') damaged(key, inc);
    // Pruning deletes a record by its id: one filed under another name is not this record.
    else if (KEY_PREFIX + inc.id + '.json' !== key) damaged(key, `its id ${JSON.stringify(inc.id)} is not its name`);
    else out.push(inc);
  };
  await Promise.all(keys.map((key) => reads.run(() => read(key))));
  return out.sort((a, b) => b.start.localeCompare(a.start) || a.id.localeCompare(b.id));
}

/** A stored record as an Incident, or why it is not one. */
function parseIncident(text: string): Incident | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const r = v as Record<string, unknown>;
  for (const f of ['id', 'upstream', 'start', 'failureClass', 'detail'])
    if (typeof r[f] !== 'string') return `its ${f} is not a string`;
  for (const f of ['servedFromCache', 'servedUnverified', 'failed'])
    if (typeof r[f] !== 'number') return `its ${f} is not a number`;
  if (Number.isNaN(Date.parse(r.start as string))) return 'its start is not a time';
  // Not a time, they made the group's view throw (new Date(NaN).toISOString()) or kept the record open forever.
  for (const f of ['end', 'updatedAt'])
    if (r[f] !== undefined && (typeof r[f] !== 'string' || Number.isNaN(Date.parse(r[f]))))
      return `its ${f} is not a time`;
  return r as unknown as Incident;
}
