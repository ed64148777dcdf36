// The module service: cache → single flight → upstream → verify → store →
// serve. One entry point, get(request), for every GOPROXY artifact.
import { NotFoundError } from '../upstream/index.js';
import { systemClock, within } from '../util/clock.js';
import { fetchOnceAcross } from '../util/leases.js';
import { SingleFlight } from '../util/singleflight.js';
import {
  CONTENT_TYPES,
  etagOf,
  isBlob,
  isProvisional,
  type Artifact,
  type CacheOutcome,
  type Verification,
} from './artifact.js';
import type { OpenBlob } from '../storage/index.js';
import type { CachedArtifact, ServiceContext } from './context.js';
import { fromNotFound, GodepotError, toGodepotError } from './errors.js';
import { ImmutableFetcher, REFUSALS, type ImmutableRequest, type StoreOutcome } from './immutable.js';
import { MutableCache, type MutableRequest } from './mutable.js';
import { ReadAhead } from './read-ahead.js';
import type { ReverifyResult } from './reverify.js';
import { describeRequest, storageKey, type ProxyRequest } from './request.js';
import { failureOutcome, NotFoundMemory, sharedError } from './shared-fetch.js';
import { ChecksumUnavailableError, policyFor } from './verify.js';

/** What the service answers for an immutable artifact, however it was found. */
function artifactOf<B extends Buffer | OpenBlob>(
  req: ImmutableRequest,
  verification: Verification,
  cache: CacheOutcome,
  body: B,
  etag: string,
  upstream?: StoreOutcome['upstream'],
): Artifact & { readonly body: B } {
  return {
    kind: req.kind,
    contentType: CONTENT_TYPES[req.kind],
    size: isBlob(body) ? body.size : body.length,
    body,
    etag,
    immutable: !isProvisional(verification),
    verification,
    cache,
    ...(upstream ? { upstream } : {}),
  };
}

/** Stored copies remembered as intact (then forgotten all at once: each is checked again on its next read). */
const INTACT_COPIES = 100_000;

function isMutable(req: ProxyRequest): req is MutableRequest {
  return req.kind === 'list' || req.kind === 'latest' || (req.kind === 'info' && req.query);
}

export class ModuleService {
  readonly mutable: MutableCache;
  readonly fetcher: ImmutableFetcher;
  private readonly flights: SingleFlight<StoreOutcome | null>;
  private readonly reverifyFlights: SingleFlight<ReverifyResult>;
  /** First reads from storage being checked (intact), by key and ETag. */
  private readonly storedChecks: SingleFlight<Awaited<ReturnType<ImmutableFetcher['damage']>>>;
  /** Stored copies this process found intact, with the ETag they had then. */
  private readonly intactCopies = new Map<string, string>();
  private readonly notFound: NotFoundMemory;
  /** Private modules (--private) go to a service of their own whose source is their origin, never a proxy. */
  private privateModules: { readonly matches: (path: string) => boolean; readonly service: ModuleService } | null =
    null;

  /** Fetches the artifacts a client asks for next (read-ahead.ts); null when off. */
  private readonly readAhead: ReadAhead | null;

  constructor(
    readonly ctx: ServiceContext,
    private readonly memoryItemLimit: number,
    options: {
      readonly readAhead?: boolean;
      /** Keeps this service's 404s apart from another's on the same store (see NotFoundMemory). */
      readonly notFoundScope?: string;
    } = {},
  ) {
    this.notFound = new NotFoundMemory(ctx.notFound, ctx.settings.ttl.notFound, ctx.storage, options.notFoundScope);
    this.mutable = new MutableCache(ctx, this.notFound);
    this.fetcher = new ImmutableFetcher(ctx, memoryItemLimit);
    this.readAhead = options.readAhead ? new ReadAhead((req) => this.fetchAhead(req), ctx.shutdown) : null;
    // A fetch answers once verified; its key stays in flight until the artifact is stored, so a request
    // meanwhile shares that answer rather than fetching again (and shutdown waits for the write).
    this.flights = new SingleFlight<StoreOutcome | null>(ctx.shutdown, (o) => o?.stored);
    this.reverifyFlights = new SingleFlight(ctx.shutdown);
    this.storedChecks = new SingleFlight(ctx.shutdown);
  }

  /** Serves modules for which matches() is true by service instead (private modules). */
  routePrivate(matches: (path: string) => boolean, service: ModuleService): void {
    this.privateModules = { matches, service };
  }

  /** Resolves when fetches and re-verifications in flight have settled. */
  async idle(): Promise<void> {
    await this.privateModules?.service.idle();
    while (this.flights.size + this.reverifyFlights.size + (this.readAhead?.size ?? 0) > 0) {
      await Promise.all([this.flights.settled(), this.reverifyFlights.settled(), this.readAhead?.idle()]);
    }
    await this.mutable.idle();
  }

  /** Number of distinct artifacts being fetched right now. */
  get inFlight(): number {
    return this.flights.size;
  }

  /**
   * The cache-hit fast path: an immutable artifact held in memory, with no
   * I/O and no promise; null when get() has to do the work. Answers exactly
   * what get() would for the same hit.
   */
  peek(req: ProxyRequest): (Artifact & { readonly body: Buffer }) | null {
    if (this.privateModules?.matches(req.path)) return this.privateModules.service.peek(req);
    if (isMutable(req)) return null;
    const r = req as ImmutableRequest;
    const key = storageKey(r);
    const mem = this.ctx.memory.get(key);
    if (!mem) return null;
    // get() does this for an answer from storage or upstream.
    if (r.kind === 'info') this.ahead(key, r, 'zip');
    // Its verification was decided when it was cached (policies do not change while running).
    return artifactOf(r, mem.verification, 'hit', mem.body, mem.etag);
  }

  async get(req: ProxyRequest, signal?: AbortSignal): Promise<Artifact> {
    if (this.privateModules?.matches(req.path)) return this.privateModules.service.get(req, signal);
    if (isMutable(req)) return this.mutable.get(req);
    const r = req as ImmutableRequest;
    const a = await this.getImmutable(r, signal, true);
    // peek() does this on a hit from memory.
    if (r.kind === 'info') this.ahead(storageKey(r), r, 'zip');
    return a;
  }

  /**
   * Starts fetching the `next` artifact of req's version for the client that
   * asked for req (stored under trigger), unless done lately or in memory (read-ahead.ts).
   */
  private ahead(trigger: string, req: ImmutableRequest, next: ImmutableRequest['kind']): void {
    if (!this.readAhead || this.ctx.settings.offline || this.ctx.upstream.disabled) return;
    if (!this.readAhead.first(trigger)) return;
    const { path, version } = req;
    const r: ImmutableRequest =
      next === 'info' ? { kind: next, path, version, query: false } : { kind: next, path, version };
    const key = storageKey(r);
    if (this.ctx.memory.has(key)) return;
    if (this.readAhead.request(key, r) === 'full') this.ctx.events.readAhead?.({ kind: next, outcome: 'dropped' });
  }

  /**
   * The source is fetching path@version's .info, .mod and .zip in one go run
   * (its origin, for kind: OriginSource.whenDownloading, for a private module
   * or where `--upstream …,direct` reached direct): the other two are stored
   * from that run as well. Only then: a .mod from a proxy does not
   * bring its .zip (the go command reads many go.mod files whose zips it
   * never needs, and a proxy serves each on its own); from the origin the zip
   * is fetched anyway. Started while the run is under way, they take their
   * leases then, so another worker asked for one waits and reads what this
   * one stored rather than run go again; one whose lease another worker
   * already holds (its own run) waits for that instead.
   */
  fetchingWholeVersion(path: string, version: string, kind: 'info' | 'mod' | 'zip'): void {
    // Once per version, not per artifact: the siblings' own fetches reach the same go run (the origin's listener
    // hears them too), and would each read the others ahead again, the client's own artifact among them.
    if (!this.readAhead?.first(`${path}@${version}>siblings`)) return;
    const req: ImmutableRequest = kind === 'info' ? { kind, path, version, query: false } : { kind, path, version };
    const key = storageKey(req);
    for (const next of ['info', 'mod', 'zip'] as const) if (next !== kind) this.ahead(`${key}>${next}`, req, next);
  }

  /** A read-ahead: getImmutable for no client; its failure is the client's own request's to report. */
  private async fetchAhead(req: ImmutableRequest): Promise<void> {
    const kind = req.kind;
    try {
      const a = await this.getImmutable(req, this.ctx.shutdown, false);
      if (isBlob(a.body)) await a.body.close();
      this.ctx.events.readAhead?.({ kind, outcome: a.cache === 'miss' ? 'fetched' : 'held' });
    } catch (err) {
      this.ctx.events.readAhead?.({ kind, outcome: 'failed' });
      this.ctx.log.debug(
        { module: req.path, version: req.version, kind: req.kind, err: (err as Error).message },
        'read-ahead did not fetch; a request for it will try again',
      );
    }
  }

  /** Whether the current configuration looks req's module up in a checksum database (it does not for --nosumdb paths, or with none). */
  checks(req: ImmutableRequest): boolean {
    return policyFor(req.path, this.ctx.settings, this.ctx.checksums !== null) !== 'skip';
  }

  /** Serves key from memory or storage; null when it is not stored. */
  private async fromStore(
    req: ImmutableRequest,
    key: string,
    verification: Verification,
    cache: CacheOutcome,
    upstream?: StoreOutcome['upstream'],
  ): Promise<Artifact | null> {
    const mem = this.ctx.memory.get(key);
    if (mem) return artifactOf(req, verification, cache, mem.body, mem.etag, upstream);
    const blob = await this.ctx.storage.open(key);
    if (!blob) return null;
    const etag = etagOf(blob);
    let body: Buffer | null = null;
    let verdict: 'intact' | 'unchecked' | 'damaged' = 'damaged';
    try {
      if (blob.size <= this.memoryItemLimit) {
        body = await blob.read();
        // In memory now: the handle is not held while the bytes wait for their check (close is idempotent).
        await blob.close();
      }
      // A quarantined copy (unverified/, of a module the database is asked about) is checked by re-verification
      // instead; one kept without a verdict (private, --nosumdb) is checked here like a verified one.
      verdict =
        key !== storageKey(req) && verification !== 'skipped'
          ? 'intact'
          : await this.intact(req, key, body ?? blob, etag);
    } finally {
      if (verdict === 'damaged' || body !== null) await blob.close();
    }
    if (verdict === 'damaged') return null;
    if (body === null) return artifactOf(req, verification, cache, blob, etag, upstream);
    // Held in memory only once checked: an unchecked copy is read, and checked, again next time.
    if (verdict === 'intact') this.ctx.memory.set(key, { body, etag, verification } satisfies CachedArtifact);
    return artifactOf(req, verification, cache, body, etag, upstream);
  }

  /**
   * Whether a copy read from storage is what was verified when it was stored
   * (ImmutableFetcher.damage): checked the first time this process reads it,
   * then remembered by its ETag, so damage on disk — or a file changed by
   * hand — is not served as verified, the client never sees a false
   * "SECURITY ERROR", and the copy heals. A damaged copy is removed (unless
   * it changed meanwhile: another process stored it again), logged at error
   * level and counted; the caller then fetches it again. A zip too large for
   * memory is checked on the filesystem only: an object store keeps objects
   * whole and checksummed, and reading one entry by entry would cost a GET
   * each.
   */
  private async intact(
    req: ImmutableRequest,
    key: string,
    bytes: Buffer | OpenBlob,
    etag: string,
  ): Promise<'intact' | 'unchecked' | 'damaged'> {
    if (this.intactCopies.get(key) === etag) return 'intact';
    if (!Buffer.isBuffer(bytes) && this.ctx.storage.kind !== 'fs') return 'intact';
    // Requests reading the same copy at once share one check, and its removal.
    const { value: verdict } = await this.storedChecks.do(`${key} ${etag}`, async (s) => {
      const v = await this.fetcher.damage(req, bytes, s);
      if (typeof v === 'object') await this.removeDamaged(req, key, etag, v.damaged);
      return v;
    });
    if (verdict === 'unchecked') return 'unchecked';
    if (verdict === 'intact') {
      this.rememberIntact(key, etag);
      return 'intact';
    }
    return 'damaged';
  }

  /** Removes a damaged copy, unless it changed meanwhile (another process stored it again: checked when read). */
  private async removeDamaged(req: ImmutableRequest, key: string, etag: string, why: string): Promise<void> {
    this.ctx.memory.delete(key);
    this.intactCopies.delete(key);
    const now = await this.ctx.storage.stat(key);
    if (!now || etagOf(now) !== etag) return;
    this.ctx.log.error(
      { module: req.path, version: req.version, kind: req.kind, key, reason: why, alert: 'stored_artifact_damaged' },
      'a stored copy is not what was verified when it was stored (disk damage, or changed by hand): removed; it is fetched again when next asked for',
    );
    this.ctx.events.storedDamaged?.(req.kind);
    await this.ctx.storage.delete(key);
  }

  private rememberIntact(key: string, etag: string): void {
    if (this.intactCopies.size >= INTACT_COPIES) this.intactCopies.clear();
    this.intactCopies.set(key, etag);
  }

  /** client: a client asked for req (a read-ahead is not one, and starts no other here). */
  private async getImmutable(
    req: ImmutableRequest,
    signal: AbortSignal | undefined,
    client: boolean,
  ): Promise<Artifact> {
    const key = storageKey(req);
    // A module no database is asked about: what was stored for it without a verdict is served as such.
    const unchecked = req.kind !== 'info' && !this.checks(req);
    // How a copy under mod/ is labelled: verified when stored (a .info: nothing verifies it).
    const inMod: Verification = req.kind === 'info' ? 'n/a' : unchecked ? 'skipped' : 'verified';
    if (unchecked) {
      const kept = await this.fromStore(req, storageKey(req, 'unverified'), 'skipped', 'hit');
      if (kept) return kept;
    }
    const hit = await this.fromStore(req, key, inMod, 'hit');
    if (hit) return hit;
    if (!unchecked && req.kind !== 'info' && (await this.ctx.storage.stat(storageKey(req, 'unverified')))) {
      return this.serveQuarantined(req);
    }
    if (this.ctx.settings.offline || this.ctx.upstream.disabled) {
      throw new GodepotError(
        'offline_miss',
        `not found: ${describeRequest(req)} is not in godepot's cache and godepot is ${this.ctx.settings.offline ? 'offline' : 'configured with --upstream off'}`,
      );
    }
    const neg = await this.notFound.known(key);
    if (neg) throw fromNotFound(neg, describeRequest(req), req.path);
    let outcome: StoreOutcome | null;
    try {
      outcome = (await this.flights.do(key, (s) => this.fetchShared(req, key, s), signal)).value;
    } catch (err) {
      if (err instanceof NotFoundError) await this.notFound.remember(key, err);
      const what = describeRequest(req);
      throw await this.notFound.inOutage(key, toGodepotError(err, what, req.path), what, req.path);
    }
    if (client && req.kind === 'mod') this.ahead(key, req, 'info');
    if (outcome === null) {
      // Another worker fetched it: serve what it stored.
      const stored =
        (await this.fromStore(req, key, inMod, 'miss')) ??
        (unchecked ? await this.fromStore(req, storageKey(req, 'unverified'), 'skipped', 'miss') : null);
      if (stored) return stored;
      if (unchecked)
        throw new GodepotError(
          'internal',
          `godepot: ${describeRequest(req)} vanished from storage right after it was stored`,
        );
      return this.serveQuarantined(req);
    }
    if (outcome.body) {
      const etag = etagOf({ size: outcome.body.length, mtimeMs: outcome.mtimeMs });
      if (!isProvisional(outcome.verification)) {
        this.ctx.memory.set(outcome.key, { body: outcome.body, etag, verification: outcome.verification });
      }
      return artifactOf(req, outcome.verification, 'miss', outcome.body, etag, outcome.upstream);
    }
    // A large zip: its verified staged bytes while they are stored, else the stored copy.
    const staged = outcome.staged?.();
    if (staged) {
      const etag = etagOf(staged);
      // Verified here: the stored copy (the same bytes, the same ETag) needs no check when this process reads it.
      this.rememberIntact(outcome.key, etag);
      return artifactOf(req, outcome.verification, 'miss', staged, etag, outcome.upstream);
    }
    const served = await this.fromStore(req, outcome.key, outcome.verification, 'miss', outcome.upstream);
    if (!served)
      throw new GodepotError(
        'internal',
        `godepot: ${describeRequest(req)} vanished from storage right after it was stored`,
      );
    return served;
  }

  /**
   * fetchAndStore, once across the processes sharing the data folder
   * (fetchOnceAcross): null when another process stored the artifact (or
   * its quarantined copy); a waiter gives the holder's NotFoundError, or its
   * error when the upstream or the database failed it (the same answer here).
   */
  private async fetchShared(req: ImmutableRequest, key: string, signal: AbortSignal): Promise<StoreOutcome | null> {
    const { value } = await fetchOnceAcross<StoreOutcome | null>(this.ctx.leases, key, signal, {
      held: async () => ((await this.storedAnywhere(req, key)) ? { value: null } : null),
      fetch: async (s) => {
        const outcome = await this.fetcher.fetchAndStore(req, s);
        return { value: outcome, stored: outcome.stored };
      },
      failure: (err) => failureOutcome(err, describeRequest(req), signal),
      sharedError,
      storedElsewhere: () =>
        this.ctx.log.warn(
          { module: req.path, version: req.version, kind: req.kind },
          "another node stored this artifact, but not in this node's storage: fetching it here; nodes coordinated through one Redis must share one object store",
        ),
    });
    return value;
  }

  private async storedAnywhere(req: ImmutableRequest, key: string): Promise<boolean> {
    return (
      (await this.ctx.storage.stat(key)) !== null ||
      (req.kind !== 'info' && (await this.ctx.storage.stat(storageKey(req, 'unverified'))) !== null)
    );
  }

  /**
   * A copy kept while the database was unreachable. Give re-verification a
   * moment (the database may be back); meanwhile serve it marked unverified,
   * unless the module's policy is now strict.
   */
  private async serveQuarantined(req: ImmutableRequest): Promise<Artifact> {
    const attempt = this.reverify(req);
    const result = await within(attempt, this.ctx.settings.staleGrace, this.ctx.waits ?? systemClock);
    if (result === 'verified') {
      const a = await this.fromStore(req, storageKey(req), 'verified', 'hit');
      if (a) return a;
    }
    // A fork not cleared (the database's history contradicts the verified tree): whatever the pass above said
    // in time, or not (a database that hangs outlasts the grace), the copy is kept and not served.
    const fork =
      result === 'contradicted'
        ? ({ text: 'it contradicts the verified tree', answer: 'inconsistent' } as const)
        : await this.ctx.checksums?.forked().catch(() => null);
    if (fork && result !== 'purged') {
      // Refused as a fetch would be (ImmutableFetcher.refused): a fork, or no telling whether there is one.
      const why = new ChecksumUnavailableError(this.ctx.checksums?.name ?? '', fork.text);
      const r = REFUSALS[fork.answer];
      throw new GodepotError(r.code, r.message(describeRequest(req), why));
    }
    if (result === 'purged') {
      throw new GodepotError(
        'checksum_mismatch',
        `godepot: the copy of ${describeRequest(req)} kept while the checksum database was unreachable does not match the database; it was purged`,
      );
    }
    const policy = policyFor(req.path, this.ctx.settings, this.ctx.checksums !== null);
    if (policy === 'strict') {
      throw new GodepotError(
        'verification_unavailable',
        `godepot: cannot verify ${describeRequest(req)}: the checksum database is unreachable and the verify policy for this module is strict`,
      );
    }
    // Under the quorum policy a quarantined copy got there only by agreeing proxies: it is served as such, every time.
    const provisional = policy === 'quorum' ? 'quorum' : 'unverified';
    const a = await this.fromStore(req, storageKey(req, 'unverified'), provisional, 'hit');
    if (!a) throw new GodepotError('internal', `godepot: unverified copy of ${describeRequest(req)} vanished`);
    return a;
  }

  /** Re-checks a quarantined artifact (deduplicated). */
  async reverify(req: ImmutableRequest): Promise<ReverifyResult> {
    // No database applies to it now (--nosumdb, or none configured): nothing to check it against, and its path must not be sent.
    if (!this.checks(req)) return 'unavailable';
    const key = storageKey(req, 'unverified');
    try {
      return (await this.reverifyFlights.do(key, (s) => this.fetcher.reverify(req, s))).value;
    } catch (err) {
      this.ctx.log.warn(
        { module: req.path, version: req.version, err: (err as Error).message },
        're-verification failed',
      );
      return 'unavailable';
    }
  }
}
