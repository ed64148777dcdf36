// @v/list, @latest and .info of branch/commit queries: answers that change.
// They are kept with their write time, read from the injected clock and
// recorded by the storage as the blob's mtime, so that their age is measured
// on that one clock (answers stored before godepot recorded it carry the
// storage's own write time, which is the system clock's). They are refreshed
// after a TTL, and served stale — never dropped — when the upstream fails or
// is slow (DESIGN invariant 2). A refresh is shared like an artifact's
// fetch: one process of those sharing the store asks the upstream, the
// others read the answer it stored.
import { NotFoundError } from '../upstream/index.js';
import { CLOCK_SKEW_MS, LATE, systemClock, within, type Clock } from '../util/clock.js';
import { fetchOnceAcross } from '../util/leases.js';
import { SingleFlight } from '../util/singleflight.js';
import { CONTENT_TYPES, etagOf, type Artifact, type CacheOutcome } from './artifact.js';
import type { ServiceContext } from './context.js';
import { fromNotFound, GodepotError, toGodepotError } from './errors.js';
import { fetchSmall } from './fetch.js';
import { describeRequest, storageKey, type ProxyRequest } from './request.js';
import { failureOutcome, sharedError, slotBody, slotKey, slotRecord, type NotFoundMemory } from './shared-fetch.js';
import { SAID_EVERY_MS, Spacing } from '../util/spacing.js';

/** list, @latest, or an .info whose `query` is true. */
export type MutableRequest = Extract<ProxyRequest, { kind: 'list' | 'latest' | 'info' }>;

interface Refreshed {
  readonly body: Buffer;
  readonly etag: string;
  /** Absent when another process asked the upstream and this one read what it stored. */
  readonly upstream?: { readonly url: string; readonly ms: number };
}

interface Stored {
  readonly body: Buffer;
  readonly etag: string;
  readonly mtimeMs: number;
}

export class MutableCache {
  private readonly flights: SingleFlight<Refreshed>;
  private readonly clock: Clock;
  /** Every list and @latest a client asks for in an upstream outage is served stale: said once per SAID_EVERY_MS. */
  private readonly staleSaid: Spacing<'stale'>;

  constructor(
    private readonly ctx: ServiceContext,
    /** Recent 404/410 answers (shared with the service's artifacts). */
    private readonly notFound: NotFoundMemory,
  ) {
    this.flights = new SingleFlight<Refreshed>(ctx.shutdown);
    this.clock = ctx.clock ?? systemClock;
    this.staleSaid = new Spacing(SAID_EVERY_MS, () => this.clock.now());
  }

  async idle(): Promise<void> {
    await this.flights.settled();
  }

  private ttl(req: MutableRequest): number {
    return req.kind === 'info' ? this.ctx.settings.ttl.query : this.ctx.settings.ttl.list;
  }

  async get(req: MutableRequest): Promise<Artifact> {
    const key = storageKey(req);
    const stored = await this.read(key);
    const serve = (body: Buffer, etag: string, cache: CacheOutcome, upstream?: Refreshed['upstream']): Artifact => ({
      kind: req.kind,
      contentType: CONTENT_TYPES[req.kind],
      size: body.length,
      body,
      etag,
      immutable: false,
      verification: 'n/a',
      cache,
      ...(upstream ? { upstream } : {}),
    });
    // A copy dated ahead of this clock by more than nodes' clocks differ (a skewed node's, an object's metadata,
    // a hand edit) has no known age: it is refreshed as a stale one, not a hit until that date.
    const age = stored ? this.clock.now() - stored.mtimeMs : NaN;
    if (stored && age > -CLOCK_SKEW_MS && age < this.ttl(req)) return serve(stored.body, stored.etag, 'hit');
    if (this.ctx.settings.offline || this.ctx.upstream.disabled) {
      if (stored) return serve(stored.body, stored.etag, 'stale');
      throw new GodepotError(
        'offline_miss',
        `not found: ${describeRequest(req)} is not in godepot's cache and godepot is offline`,
      );
    }
    const neg = stored ? null : await this.notFound.known(key);
    if (neg) throw fromNotFound(neg, describeRequest(req), req.path);

    const refresh = this.flights
      .do(key, (signal) => this.refreshShared(req, key, stored?.mtimeMs, signal))
      .then((r) => r.value);
    if (!stored) {
      try {
        const r = await refresh;
        return serve(r.body, r.etag, 'miss', r.upstream);
      } catch (err) {
        const what = describeRequest(req);
        throw await this.notFound.inOutage(key, toGodepotError(err, what, req.path), what, req.path);
      }
    }
    // A stale copy is at hand: give the refresh a short grace, then serve stale.
    const s = stored;
    try {
      const r = await within(refresh, this.ctx.settings.staleGrace, this.ctx.waits ?? systemClock);
      if (r === LATE) {
        refresh.catch(() => undefined);
        return serve(s.body, s.etag, 'stale');
      }
      return serve(r.body, r.etag, 'revalidated', r.upstream);
    } catch (err) {
      if (err instanceof NotFoundError) throw fromNotFound(err, describeRequest(req), req.path);
      const record = { module: req.path, kind: req.kind, err: (err as Error).message };
      const msg = 'refresh failed; serving the stale copy';
      this.staleSaid.say(this.ctx.log, 'warn', 'stale', record, msg, 'alsoServedSince');
      return serve(s.body, s.etag, 'stale');
    }
  }

  /**
   * The stored answer for key. A query's is in its slot (QUERY_SLOTS), with its key; one stored before the
   * slots, under its own key, is read still.
   */
  private async read(key: string): Promise<Stored | null> {
    if (!isQueryKey(key)) return this.readAt(key);
    const slot = await this.readAt(querySlot(key));
    const e = slot && slotRecord(slot.body, key);
    if (slot && typeof e?.body === 'string') return { ...slot, body: Buffer.from(e.body, 'base64') };
    return this.readAt(key);
  }

  /** Stores body as key's answer, dated now; returns the stored copy's etag, null when it could not be stored. */
  private async write(key: string, body: Buffer): Promise<string | null> {
    const at = isQueryKey(key) ? querySlot(key) : key;
    const stored = isQueryKey(key) ? slotBody(key, { body: body.toString('base64') }) : body;
    await this.ctx.storage.put(at, stored, { mtimeMs: this.clock.now() });
    const st = await this.ctx.storage.stat(at);
    return st && etagOf(st);
  }

  private async readAt(key: string): Promise<Stored | null> {
    const blob = await this.ctx.storage.open(key);
    if (!blob) return null;
    try {
      return { body: await blob.read(), etag: etagOf(blob), mtimeMs: blob.mtimeMs };
    } finally {
      await blob.close();
    }
  }

  /**
   * refresh, once across the processes sharing the store: a process that
   * waited reads the answer the holder stored (one written since this
   * process read `staleMtime`'s copy), or gives the holder's 404 or upstream failure.
   */
  private async refreshShared(
    req: MutableRequest,
    key: string,
    staleMtime: number | undefined,
    signal: AbortSignal,
  ): Promise<Refreshed> {
    const { value } = await fetchOnceAcross<Refreshed>(this.ctx.leases, key, signal, {
      held: async () => {
        const s = await this.read(key);
        return s && s.mtimeMs !== staleMtime ? { value: { body: s.body, etag: s.etag } } : null;
      },
      fetch: async (s) => {
        const r = await this.refresh(req, key, s);
        return { value: r, stored: Promise.resolve(r.stored) };
      },
      failure: (err) => failureOutcome(err, describeRequest(req), signal),
      sharedError,
    });
    return value;
  }

  private async refresh(
    req: MutableRequest,
    key: string,
    signal: AbortSignal,
  ): Promise<Refreshed & { readonly stored: boolean }> {
    const started = performance.now();
    let fetched;
    try {
      fetched = await fetchSmall(this.ctx.upstream, req, signal);
    } catch (err) {
      if (err instanceof NotFoundError) await this.notFound.remember(key, err);
      throw err;
    }
    this.notFound.forget(key);
    let etag: string | null = null;
    try {
      etag = await this.write(key, fetched.value);
    } catch (err) {
      // Not keeping a list is no reason to withhold it from this client.
      this.ctx.log.error(
        { module: req.path, kind: req.kind, err: (err as Error).message },
        'cannot store refreshed answer',
      );
    }
    return {
      body: fetched.value,
      etag: etag ?? etagOf({ size: fetched.value.length, mtimeMs: this.clock.now() }),
      upstream: { url: fetched.meta.upstream, ms: performance.now() - started },
      stored: etag !== null,
    };
  }
}

/**
 * How many answers to branch and commit queries the store keeps. Which ones a
 * client asks for is its choice (every prefix of every commit of a large
 * repository answers): each goes to one of this many slots (`query/slot/`, by
 * a hash of its key) with its key, replacing the one there.
 */
export const QUERY_SLOTS = 16_384;

function isQueryKey(key: string): boolean {
  return key.startsWith('query/');
}

function querySlot(key: string): string {
  return slotKey('query/slot/', key, QUERY_SLOTS);
}
