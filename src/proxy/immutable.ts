// .info, .mod and .zip of canonical versions: fetched once, verified, stored
// atomically, served from storage forever after (DESIGN invariants 1, 3, 5).
import { bufferSource, hashGoMod, rangedSource, verifyModuleZip, ZipError } from '../modzip/index.js';
import type { OpenBlob, StagedBlob } from '../storage/index.js';
import { readLimited, type Fetched } from '../upstream/index.js';
import { isProvisional, storedArea, type Verification } from './artifact.js';
import { GodepotError, type ErrorCode } from './errors.js';
import { Limiter, QueueFullError } from '../util/limiter.js';
import { checkInfo, fetchSmall, fetchZip, smallLimit, stageZipReader } from './fetch.js';
import { storageKey, upstreamPath, type ProxyRequest } from './request.js';
import type { ServiceContext } from './context.js';
import type { ReverifyResult } from './reverify.js';
import { isOriginLabel } from './origin-source.js';
import { ChecksumUnavailableError, policyFor, type DatabaseAnswer, type GoSumHashes, type Policy } from './verify.js';
import { LATE, systemClock, within } from '../util/clock.js';
import { SAID_EVERY_MS, Spacing } from '../util/spacing.js';

export type ImmutableRequest = Extract<ProxyRequest, { kind: 'info' | 'mod' | 'zip' }>;

/** Where a freshly fetched artifact is going. */
export interface StoreOutcome {
  readonly key: string;
  readonly verification: Verification;
  readonly upstream: { readonly url: string; readonly ms: number };
  /**
   * The verified bytes of an artifact small enough for the memory cache:
   * served from here while they are still being stored (`stored`).
   * Absent for a large zip (staged).
   */
  readonly body?: Buffer;
  /**
   * For a large zip: the verified bytes on their staged blob, served from
   * there while they are being stored (each request gets its own view and
   * closes it). Null once the staged blob is gone (stored and every reader
   * done): storage has it then.
   */
  readonly staged?: () => OpenBlob | null;
  /** The stored file's write time (for its ETag), known before the write lands. */
  readonly mtimeMs: number;
  /**
   * Settles when the artifact is durably under key: true, or false when
   * that write failed (logged; the bytes were verified, so what was
   * answered stands, and the next request after they leave memory fetches
   * again). Never rejects.
   */
  readonly stored: Promise<boolean>;
}

/** The hash the database must confirm, computed from fetched bytes. */
/** A turn of the event loop for other requests, taken while a large zip is verified. */
const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** from: where the bytes came from (an upstream), named when they are not a valid module zip. */
export async function hashArtifact(
  req: ImmutableRequest,
  bytes: Buffer | OpenBlob,
  signal?: AbortSignal,
  from?: string,
): Promise<string> {
  if (req.kind === 'mod') return hashGoMod(Buffer.isBuffer(bytes) ? bytes : await bytes.read());
  const source = Buffer.isBuffer(bytes) ? bufferSource(bytes) : rangedSource(bytes);
  try {
    const mod = { path: req.path, version: req.version };
    const summary = await verifyModuleZip(source, mod, { yieldTurn, ...(signal ? { signal } : {}) });
    return summary.h1;
  } catch (err) {
    if (err instanceof ZipError)
      throw new GodepotError(
        'bad_upstream_content',
        `godepot: malformed module zip for ${req.path}@${req.version}${from ? ` from ${from}` : ''}: ${err.message}; refused and not stored`,
        from ? { upstream: from } : {},
      );
    throw err;
  }
}

type Lookup = Promise<GoSumHashes | ChecksumUnavailableError>;

/**
 * Zip verifications at once, and queued behind them. Each running one keeps
 * a CPU busy and holds its bounded working memory; a queued one holds only
 * its staged file and request, so the queue is deep enough for a go
 * command's parallel downloads (a 503 fails its build) and still bounded.
 */
const VERIFY_RUNNING = 4;
const VERIFY_WAITING = 256;
/** Checks of stored copies at once, and queued (each queued one holds a copy of at most --memory-cache-item). */
const STORED_CHECKS_RUNNING = 2;
const STORED_CHECKS_WAITING = 256;

/** How each answer of the database that no policy falls back from refuses a module (ImmutableFetcher.refused). */
export const REFUSALS: Record<
  DatabaseAnswer,
  {
    readonly level: 'warn' | 'error';
    readonly note: string;
    readonly code: ErrorCode;
    readonly message: (what: string, why: ChecksumUnavailableError) => string;
  }
> = {
  // As the go command refuses a module the database does not know.
  not_in_log: {
    level: 'warn',
    note: 'refused: the checksum database has no record of this module version; nothing stored',
    code: 'not_in_checksum_db',
    message: (what, why) =>
      `godepot: ${what} is not in checksum database ${why.database} (${why.reason}); the go command refuses a module the database does not know, and so does godepot. If the module is private, add its path to godepot's --private and to GOPRIVATE where go runs`,
  },
  // What the sources served contradicts the verified tree: evidence of tampering, not an outage.
  inconsistent: {
    level: 'error',
    note: "refused: the checksum database's history contradicts the verified tree (a fork, refused now or earlier and not cleared); nothing stored",
    code: 'sumdb_inconsistent',
    message: (what, why) =>
      `godepot: cannot verify ${what}: ${why.message}. That is evidence of tampering, not an outage, so godepot does not serve it unverified under any --verify policy; modules whose go.sum lines you have keep building, keep GOSUMDB on, and see /readyz and the log`,
  },
  // Whether the history was forked cannot be told (the fork evidence did not read): a storage failure.
  undecidable: {
    level: 'error',
    note: 'refused: whether the checksum database was forked cannot be told (its recorded evidence could not be read); nothing stored',
    code: 'storage_failed',
    message: (what, why) =>
      `godepot: cannot verify ${what}: ${why.message}; until that can be told, nothing is served on an upstream's word alone: check the data folder or object store (see the log), then retry`,
  },
};

/** req as go.sum names it: path@version, with /go.mod for a .mod. */
function goSumName(req: ImmutableRequest): string {
  return `${req.path}@${req.version}${req.kind === 'mod' ? '/go.mod' : ''}`;
}

export class ImmutableFetcher {
  private readonly verifications = new Limiter(VERIFY_RUNNING, VERIFY_WAITING);
  /** Checks of stored copies (damage): apart from fetches, so a burst of first reads never makes a miss busy. */
  private readonly storedChecks = new Limiter(STORED_CHECKS_RUNNING, STORED_CHECKS_WAITING);
  /**
   * In a checksum-database outage every artifact a client asks for is served unverified (or by quorum): said at
   * warn level once per SAID_EVERY_MS with how many more since, the others at debug (the incident counts each,
   * the operator page lists them).
   */
  private readonly degradedSaid = new Spacing<Verification>(SAID_EVERY_MS, () => (this.ctx.clock ?? systemClock).now());

  /** memoryItemLimit: the largest artifact answered from memory while it is being stored. */
  constructor(
    private readonly ctx: ServiceContext,
    private readonly memoryItemLimit: number,
  ) {}

  /** hashArtifact for a zip, within the bound on verifications; a full queue is a 503 the client may retry. */
  private async hashZip(
    req: ImmutableRequest,
    zip: Buffer | OpenBlob,
    signal: AbortSignal,
    from?: string,
  ): Promise<string> {
    try {
      return await this.verifications.run(() => hashArtifact(req, zip, signal, from), signal);
    } catch (err) {
      if (!(err instanceof QueueFullError)) throw err;
      throw new GodepotError(
        'busy',
        `godepot: too many verifications in progress, retry in a moment (${req.path}@${req.version}.zip was not fetched)`,
      );
    }
  }

  /**
   * Whether a copy read from storage is still what was verified when it was
   * stored: the zip rules and its h1: (or the go.mod's), compared with the
   * checksum database's record: the one this process has proven and holds
   * (asking the database nothing), else the database's answer to a lookup
   * (for --stale-grace at most); a .info parsed again. A storage read that
   * fails is thrown (an I/O error is not damage: nothing is removed for it).
   * 'unchecked' when every check slot is taken or the database gave no
   * record in time (served as stored, checked on a later read).
   */
  async damage(
    req: ImmutableRequest,
    bytes: Buffer | OpenBlob,
    signal: AbortSignal,
  ): Promise<{ readonly damaged: string } | 'intact' | 'unchecked'> {
    if (req.kind === 'info') {
      try {
        checkInfo(req, Buffer.isBuffer(bytes) ? bytes : await bytes.read(), 'storage');
        return 'intact';
      } catch (err) {
        if (err instanceof GodepotError)
          return { damaged: `the stored .info is not valid: ${err.message.replace(/^.*: /, '')}` };
        throw err;
      }
    }
    let got: string;
    try {
      got = await this.storedChecks.run(() => hashArtifact(req, bytes, signal), signal);
    } catch (err) {
      // Only a zip the rules refuse is damage; a storage read that failed (modzip passes it on as it is) is the
      // request's error.
      if (err instanceof QueueFullError) return 'unchecked';
      if (err instanceof GodepotError && err.code === 'bad_upstream_content')
        return { damaged: err.message.replace(/^godepot: /, '').replace(/; refused and not stored$/, '') };
      throw err;
    }
    const policy = policyFor(req.path, this.ctx.settings, this.ctx.checksums !== null);
    const held =
      policy === 'skip' ? await this.pinned(req) : await this.ctx.checksums?.held(req.path, req.version, signal);
    // The ledger's record could not be read: served as stored (its zip rules held), not remembered as intact.
    if (held === 'unreadable') return 'unchecked';
    const want = req.kind === 'zip' ? held?.zip : held?.mod;
    if (want !== undefined)
      return want === got
        ? 'intact'
        : {
            damaged: `its h1: is ${got}, ${policy === 'skip' ? "the private ledger's record" : "the checksum database's record (proven against the verified tree)"} says ${want}`,
          };
    if (policy !== 'skip' && this.ctx.checksums) {
      // A copy stored as verified with no proven record held: the record was lost, or removed beside a copy
      // changed in the store, which would then pass on its own word. The database is asked, for --stale-grace
      // at most (a stored copy waits no longer on it); its answer decides, and is held from now on. With no
      // answer in time, the copy is served as stored, not remembered, and checked again on the next read.
      const asked = await within(this.lookup(req, signal), this.ctx.settings.staleGrace, this.ctx.waits ?? systemClock);
      const said = asked === LATE || asked instanceof ChecksumUnavailableError ? undefined : asked[req.kind];
      if (said === undefined) return 'unchecked';
      return said === got ? 'intact' : { damaged: `its h1: is ${got}, the checksum database's record says ${said}` };
    }
    // No database is asked about it (--nosumdb, a private module the ledger has no record of): what the zip rules
    // hold (they tie a zip to its path and version, its entries' CRC-32s to their bytes) is all there is.
    return 'intact';
  }

  /**
   * The hashes the private ledger recorded for req's version; null when none
   * is recorded; 'unreadable' when its record could not be read (a storage
   * failure, or a damaged record: its fix is in the warning).
   */
  private async pinned(req: ImmutableRequest): Promise<{ zip: string; mod: string } | null | 'unreadable'> {
    try {
      return (await this.ctx.pins?.get(req.path, req.version)) ?? null;
    } catch (err) {
      this.ctx.log.warn(
        { module: req.path, version: req.version, err: (err as Error).message },
        'the private ledger record of a stored copy could not be read; the copy is served as stored and checked again on its next read',
      );
      return 'unreadable';
    }
  }

  /**
   * Fetches from the upstream, verifies and stores; the caller dedupes
   * (singleflight) and keeps deduping until `stored` settles. The bytes go
   * to a private staging file (an artifact small enough for memory in one
   * write, a larger zip as it arrives) whose flush starts before they are
   * verified; once verified, an artifact small enough for memory is answered
   * at once and moved under its key behind the answer (the flush, the rename
   * and the folder's flush take longer than the rest of a miss on a fast
   * network). A larger zip is verified on its staging file and answered
   * from there too, while it is flushed and renamed (or uploaded) behind.
   */
  async fetchAndStore(req: ImmutableRequest, signal: AbortSignal): Promise<StoreOutcome> {
    const started = performance.now();
    const policy = req.kind === 'info' ? 'skip' : policyFor(req.path, this.ctx.settings, this.ctx.checksums !== null);
    const lookup: Lookup | null = policy === 'skip' ? null : this.lookup(req, signal);
    if (req.kind === 'zip') {
      const fetched = await fetchZip(this.ctx.upstream, this.ctx.storage, req, this.memoryItemLimit, signal);
      const { staged, blob, bytes } = fetched.value;
      let behind = false;
      try {
        const h1 = await this.hashZip(req, bytes ?? blob, signal, fetched.meta.upstream);
        const verification = await this.decide(req, policy, lookup, h1, fetched, signal);
        const key = storageKey(req, storedArea(verification));
        const upstream = { url: fetched.meta.upstream, ms: performance.now() - started };
        behind = true;
        if (!bytes) {
          // Answered from the verified staged file while its flush, rename and upload land behind.
          const readers = new StagedReaders(blob, () => staged.discard());
          return {
            key,
            verification,
            upstream,
            staged: () => readers.open(),
            mtimeMs: blob.mtimeMs,
            stored: this.commitBehind(req, staged, key, verification, () => readers.end()),
          };
        }
        return {
          key,
          verification,
          upstream,
          body: bytes,
          mtimeMs: blob.mtimeMs,
          stored: this.commitBehind(req, staged, key, verification),
        };
      } finally {
        if (!behind) await staged.discard();
      }
    }
    const fetched = await fetchSmall(this.ctx.upstream, req, signal);
    // Written (and flushed) to a private staging file while the database is
    // asked; only the verdict's commit puts it under a key.
    const staging = this.stageBytes(fetched.value);
    // Its failure is thrown where it is awaited, not while the verdict is pending.
    staging.catch(() => undefined);
    let behind = false;
    try {
      const verification =
        req.kind === 'info' ? 'n/a' : await this.decide(req, policy, lookup, hashGoMod(fetched.value), fetched, signal);
      const key = storageKey(req, storedArea(verification));
      // A staging write that failed (a full disk) fails the request here, before anything is answered.
      const { staged, blob } = await staging;
      behind = true;
      return {
        key,
        verification,
        upstream: { url: fetched.meta.upstream, ms: performance.now() - started },
        body: fetched.value,
        mtimeMs: blob.mtimeMs,
        stored: this.commitBehind(req, staged, key, verification),
      };
    } finally {
      if (!behind)
        await staging.then(
          (s) => s.staged.discard(),
          () => undefined,
        );
    }
  }

  /**
   * Moves a verified staged blob under key after the answer; resolves false (logged) when that fails.
   * Then calls done: by default discards the staged blob (a large zip's readers discard it after the last).
   */
  private async commitBehind(
    req: ImmutableRequest,
    staged: StagedBlob,
    key: string,
    verification: Verification,
    done: () => Promise<void> = () => staged.discard(),
  ): Promise<boolean> {
    try {
      await staged.commit(key);
      // Told once it is there to be listed, whoever asked for it (a client, a read-ahead).
      if (isProvisional(verification)) this.ctx.events.quarantined?.();
      return true;
    } catch (err) {
      this.ctx.log.error(
        { module: req.path, version: req.version, kind: req.kind, key, err: (err as Error).message },
        'a verified artifact was served but could not be stored; it will be fetched again when next asked for',
      );
      return false;
    } finally {
      await done().catch(() => undefined);
    }
  }

  /** Stages bytes and starts flushing them (StagedBlob.finish); the caller commits or discards. */
  private async stageBytes(bytes: Buffer): Promise<{ staged: StagedBlob; blob: OpenBlob }> {
    const staged = await this.ctx.storage.stage();
    try {
      await staged.write(bytes);
      return { staged, blob: await staged.finish() };
    } catch (err) {
      await staged.discard();
      throw err;
    }
  }

  private lookup(req: ImmutableRequest, signal: AbortSignal): Lookup {
    const source = this.ctx.checksums;
    if (!source) return Promise.resolve(new ChecksumUnavailableError('(none)', 'no checksum database configured'));
    const p = source.lookup(req.path, req.version, signal).catch((err: unknown) => {
      if (err instanceof ChecksumUnavailableError) return err;
      if (signal.aborted) throw err;
      return new ChecksumUnavailableError(source.name, (err as Error).message);
    });
    // The lookup starts with the download; if the download fails first, nobody awaits it.
    p.catch(() => undefined);
    return p;
  }

  /**
   * Compares the fetched hash with the database's. A mismatch is refused
   * (nothing stored); when the database cannot vouch, the policy decides.
   */
  private async decide(
    req: ImmutableRequest,
    policy: Policy,
    lookup: Lookup | null,
    got: string,
    fetched: Fetched<unknown>,
    signal: AbortSignal,
  ): Promise<Verification> {
    if (policy === 'skip' || lookup === null) return 'skipped';
    const r = await lookup;
    if (!(r instanceof ChecksumUnavailableError)) {
      const want = req.kind === 'zip' ? r.zip : r.mod;
      if (want === got) return 'verified';
      if (want !== undefined) throw this.mismatch(req, want, got, fetched.meta.upstream);
      return this.whenUnavailable(
        req,
        policy,
        fetched.meta.upstream,
        new ChecksumUnavailableError(
          this.ctx.checksums?.name ?? '',
          `its record has no ${req.kind === 'zip' ? 'zip' : 'go.mod'} hash`,
        ),
        got,
        signal,
      );
    }
    if (r.answer) throw this.refused(req, r, r.answer, fetched.meta.upstream);
    return this.whenUnavailable(req, policy, fetched.meta.upstream, r, got, signal);
  }

  /**
   * The database's sources answered, and the answer refuses req under every
   * --verify policy (REFUSALS): logged, nothing stored.
   */
  private refused(
    req: ImmutableRequest,
    why: ChecksumUnavailableError,
    answer: DatabaseAnswer,
    upstream: string,
  ): GodepotError {
    const r = REFUSALS[answer];
    this.ctx.log[r.level](
      { module: req.path, version: req.version, kind: req.kind, upstream, reason: why.reason },
      r.note,
    );
    return new GodepotError(r.code, r.message(goSumName(req), why));
  }

  private async whenUnavailable(
    req: ImmutableRequest,
    policy: Policy,
    /** Where the bytes came from (Fetched meta.upstream): a proxy's URL, or an origin (originLabel). */
    from: string,
    why: ChecksumUnavailableError,
    got: string,
    signal: AbortSignal,
  ): Promise<Verification> {
    const what = goSumName(req);
    // Bytes from a public module's origin (direct) came from wherever the client's module path sent godepot's
    // go run, a repository the client cannot read included; and the client can make the lookup of its own
    // module fail (its host hangs for the database's fetcher) while the database answers every other. So
    // fallback does not serve them unverified: strict does not either, and quorum needs a proxy to agree.
    if (policy === 'fallback' && isOriginLabel(from)) {
      throw new GodepotError(
        'verification_unavailable',
        `godepot: cannot verify ${what}: ${why.message}; it was fetched from its origin (direct), and godepot serves a public module fetched from its origin only once the checksum database vouches for it, so it is not served (try again when the database is reachable, or get it through an upstream proxy that has it)`,
      );
    }
    if (policy === 'strict') {
      throw new GodepotError(
        'verification_unavailable',
        `godepot: cannot verify ${what}: ${why.message}; the verify policy for this module is strict, so it is not served (try again when the database is reachable)`,
      );
    }
    if (policy === 'quorum') {
      const agreeing = await this.quorum(req, got, signal);
      if (agreeing < 2) {
        throw new GodepotError(
          'quorum_failed',
          `godepot: cannot verify ${what}: ${why.message}; the quorum policy needs two sources (upstream proxies, and the origin with direct) serving identical bytes, ${agreeing} did`,
        );
      }
      this.saySpaced(
        'quorum',
        { module: req.path, version: req.version, kind: req.kind, reason: why.message, agreeing },
        'accepted by quorum while the checksum database is unavailable; will re-verify',
      );
      return 'quorum';
    }
    this.saySpaced(
      'unverified',
      { module: req.path, version: req.version, kind: req.kind, reason: why.message },
      'serving unverified: checksum database unavailable; will re-verify',
    );
    return 'unverified';
  }

  private saySpaced(kind: Verification, record: object, msg: string): void {
    this.degradedSaid.say(this.ctx.log, 'warn', kind, record, msg, 'alsoServedSince');
  }

  /** How many sources (each proxy; the origin with direct) serve bytes hashing to `got` (the copy already fetched counts once). */
  private async quorum(req: ImmutableRequest, got: string, signal: AbortSignal): Promise<number> {
    if (req.kind === 'zip') {
      const each = await this.ctx.upstream.getEach(
        upstreamPath(req),
        'zip',
        'zip',
        stageZipReader(this.ctx.storage),
        signal,
      );
      let n = 0;
      for (const f of each.found) {
        try {
          if ((await this.hashZip(req, f.value.blob, signal)) === got) n++;
        } catch {
          // A malformed copy simply does not agree.
        } finally {
          await f.value.staged.discard();
        }
      }
      return n;
    }
    const each = await this.ctx.upstream.getEach(
      upstreamPath(req),
      req.kind,
      'metadata',
      readLimited(smallLimit(req)),
      signal,
    );
    return each.found.filter((f) => hashGoMod(f.value) === got).length;
  }

  private mismatch(req: ImmutableRequest, want: string, got: string, upstream: string): GodepotError {
    const what = goSumName(req);
    this.ctx.events.checksumMismatch?.({
      module: req.path,
      version: req.version,
      kind: req.kind,
      expected: want,
      received: got,
      upstream,
    });
    this.ctx.log.error(
      {
        module: req.path,
        version: req.version,
        kind: req.kind,
        expected: want,
        received: got,
        upstream,
        alert: 'checksum_mismatch',
      },
      'SECURITY: upstream bytes do not match the checksum database; refused, nothing stored',
    );
    return new GodepotError(
      'checksum_mismatch',
      `godepot: checksum mismatch for ${what} from ${upstream}: the checksum database ${this.ctx.checksums?.name ?? ''} has ${want}, the upstream served ${got}; refused and not stored (the upstream may be compromised or corrupt)`,
      { expected: want, received: got, upstream },
    );
  }

  /** Re-checks a quarantined artifact; promotes it when the database confirms it, purges it on mismatch. */
  async reverify(req: ImmutableRequest, signal: AbortSignal): Promise<ReverifyResult> {
    const key = storageKey(req, 'unverified');
    const blob = await this.ctx.storage.open(key);
    if (!blob) return 'purged';
    let got: string;
    try {
      got = req.kind === 'zip' ? await this.hashZip(req, blob, signal) : await hashArtifact(req, blob, signal);
    } catch (err) {
      // Only a copy that is not a module zip is purged: a storage read that failed, a full verification queue
      // or an abort leave it for the next pass.
      if (!(err instanceof GodepotError && err.code === 'bad_upstream_content')) {
        this.ctx.log.warn(
          { module: req.path, version: req.version, kind: req.kind, key, err: String(err) },
          'a quarantined copy could not be read for re-verification; kept for the next pass',
        );
        return 'unreadable';
      }
      await blob.close();
      await this.ctx.storage.delete(key);
      return 'purged';
    } finally {
      await blob.close();
    }
    const r = await this.lookup(req, signal);
    if (r instanceof ChecksumUnavailableError) {
      // A "not found" is kept as it is: one source's 404 proves nothing (a lagging or hostile mirror may say
      // it while the database is away), and only an answer the tree proves may purge a copy.
      if (r.answer === 'inconsistent') return 'contradicted';
      // 'undecidable' too: kept for the next pass (serveQuarantined refuses it meanwhile, saying why).
      if (r.answer !== 'not_in_log') return 'unavailable';
      this.ctx.log.warn(
        { module: req.path, version: req.version, kind: req.kind, reason: r.reason },
        'quarantined copy kept: a source of the checksum database says it has no record of this module version',
      );
      return 'unknown';
    }
    const want = req.kind === 'zip' ? r.zip : r.mod;
    if (want === undefined) return 'unavailable';
    if (want !== got) {
      this.mismatch(req, want, got, '(quarantined copy)');
      await this.ctx.storage.delete(key);
      this.ctx.memory.delete(key);
      return 'purged';
    }
    await this.ctx.storage.move(key, storageKey(req, 'mod'));
    this.ctx.memory.delete(key);
    this.ctx.log.info(
      { module: req.path, version: req.version, kind: req.kind },
      'unverified artifact verified against the checksum database and promoted',
    );
    return 'verified';
  }
}

/**
 * The readers of a large zip's verified staged blob while it is stored: each
 * gets a view of its own; the staged blob is discarded once the commit has
 * settled (end) and the last view is closed, and no view is given after that.
 */
class StagedReaders {
  private readers = 0;
  private ended = false;
  private gone = false;

  constructor(
    private readonly blob: OpenBlob,
    private readonly discard: () => Promise<void>,
  ) {}

  open(): OpenBlob | null {
    if (this.gone) return null;
    this.readers++;
    const { blob } = this;
    let closed = false;
    return {
      size: blob.size,
      mtimeMs: blob.mtimeMs,
      stream: (start, end) => blob.stream(start, end),
      read: (start, end, into) => blob.read(start, end, into),
      close: async () => {
        if (closed) return;
        closed = true;
        this.readers--;
        await this.settle();
      },
    };
  }

  /** The commit has settled: discard now, or when the last reader closes. */
  async end(): Promise<void> {
    this.ended = true;
    await this.settle();
  }

  private async settle(): Promise<void> {
    if (!this.ended || this.readers > 0 || this.gone) return;
    this.gone = true;
    await this.discard();
  }
}
