// The mirror of one checksum database: answers /sumdb/<name>/… from verified
// storage, fetches what it lacks from the database's mirrors, and verifies
// every byte against the signed, append-only tree before keeping it.
import type { Logger } from 'pino';
import { escapePath, escapeVersion, matchPrefixPatterns } from '../module/index.js';
import { LATE, passed, systemClock, within, type Clock, type WaitingClock } from '../util/clock.js';
import { fetchOnceAcross, type FetchLeases, type FetchOutcome } from '../util/leases.js';
import { SingleFlight } from '../util/singleflight.js';
import type { Storage } from '../storage/index.js';
import { newVerifier, Verifiers } from './note/index.js';
import {
  formatRecord,
  hashEqual,
  parseRecord,
  recordHash,
  storedHashIndex,
  tilePath,
  type Tile,
} from './tlog/index.js';
import { NotInLogError, SumdbError } from './errors.js';
import { parseSumdbRequest, type SumdbRequest } from './request.js';
import { dataTilePrefix, recordMentions, splitDataTile, type ModuleVersionRef } from './records.js';
import { askHonestMirrors, type RemoteSourceStatus, type SumdbRemote } from './remote.js';
import { DataTileIndex } from './data-tiles.js';
import { SAID_EVERY_MS, Spacing } from '../util/spacing.js';
import { provenHashes, remoteGet, tileHashes, unprovenRecord } from './proven.js';
import { SumdbStore, TILE_HEIGHT, type StoredRecord } from './store.js';
import { signedTree, TreeState, type TreeEvents, type VerifiedHead } from './tree-state.js';
import { processWideController } from '../util/signals.js';
import type { SaidAt } from '../util/said-once.js';

const FULL = 1 << TILE_HEIGHT;
const TEXT = 'text/plain; charset=utf-8';
/**
 * A tile beyond the verified tree refreshes the head (a client may have seen
 * a newer one elsewhere), at most once in this long (ms): asked again and
 * again for a tile no tree holds yet, godepot answers 404 without asking.
 */
const BEYOND_TREE_REFRESH_MS = 2_000;

export interface SumdbStatus {
  readonly name: string;
  readonly treeSize: number;
  /** ISO time the tree head was last confirmed by a source. */
  readonly checkedAt?: string;
  readonly status: 'ok' | 'stale' | 'inconsistent' | 'misconfigured' | 'empty' | 'unreachable';
  readonly detail?: string;
  /** Where the log is read and whether each place answers. */
  readonly sources: readonly RemoteSourceStatus[];
}

/** Where an answer came from: storage (hit), upstream (miss), storage after a failed or slow refresh (stale), a refresh (revalidated). */
export type CacheOutcome = 'hit' | 'miss' | 'stale' | 'revalidated';

/** One answer to GET /sumdb/<name>/…, as the HTTP layer sends it. */
export interface SumdbAnswer {
  readonly body: Buffer;
  readonly contentType: string;
  /** Lookup records and full tiles never change; tree heads and partial tiles do. */
  readonly immutable: boolean;
  readonly cache: CacheOutcome;
}

export interface SumdbMirrorOptions {
  /** Verifier key name+hash+keydata; the name is the database name. */
  readonly key: string;
  readonly remote: SumdbRemote;
  readonly storage: Storage;
  readonly log: Logger;
  readonly events?: TreeEvents;
  /** Never contact the database: answer from storage only. */
  readonly offline: boolean;
  /** The tree head is refreshed after this age (ms). */
  readonly latestTtl: number;
  /** With a stale head at hand, a refresh may take this long before the stale one is served (ms). */
  readonly staleGrace: number;
  /** GONOSUMDB-syntax patterns never sent to the database. */
  readonly nosumdb: string;
  /** Fetch and index the data tile around every record looked up (default true). */
  readonly indexDataTiles?: boolean;
  /** What the stale grace and the pause in lookups before data tiles are indexed are waited on (default: the system clock). */
  readonly waits?: WaitingClock;
  /** Ages the tree head (default: the system clock). */
  readonly clock?: Clock;
  /** A background data-tile fetch failed (counted; logged once per run of failures). */
  readonly dataTileFailed?: (db: string) => void;
  /** Where the data-tile failures after the one logged are counted, as the warning says (default: the metric). */
  readonly dataTileFailuresCounted?: string;
  /** The level of the data-tile warnings (DataTileContext.level; default: their own). */
  readonly dataTileLevel?: SaidAt;
  /** A stored record or tile was found damaged (counted; logged at error level). */
  readonly storedDamaged?: (kind: 'record' | 'tile') => void;
  /**
   * Set when other processes share this storage (--workers N, nodes through
   * Redis): one of them asks the database for a record or a data tile, the
   * others wait and read what it stored.
   */
  readonly leases?: FetchLeases;
}

/** The code a lookup lease's holder reports when the database's sources timed out (waiters answer 504 too). */
const TIMEOUT = 'sumdb_timeout';

/** Stored records remembered as proven by this process (then forgotten all at once). */
const PROVEN_RECORDS = 100_000;
/** Bytes of stored tiles remembered as proven by this process (then forgotten all at once): 2,048 full hash tiles. */
const PROVEN_TILE_BYTES = 16 << 20;

export class SumdbMirror {
  readonly name: string;
  readonly store: SumdbStore;
  readonly tree: TreeState;
  /** Lookups of the database, by path@version (a verified record is stored behind the answer: SumdbStore.keepRecord). */
  private readonly lookups = new SingleFlight<{ record: StoredRecord; cache: CacheOutcome }>();
  private readonly refreshes = new SingleFlight<VerifiedHead>();
  private readonly dataTiles: DataTileIndex;
  private lastRefresh: { ok: boolean; at: number; error?: string } | null = null;
  /** When a request beyond the verified tree last refreshed the head (headCovering). */
  private beyondRefreshAt = -Infinity;
  private readonly stopping = processWideController();
  private readonly clock: Clock;
  /** path@version of stored records this process proved against the verified tree (storedRecord). */
  private readonly provenRecords = new Set<string>();
  /**
   * Stored tiles this process proved against the verified tree and served
   * (hashTile, dataTile), by path: the bytes proven. A stored copy that
   * differs from them is proven again; one that equals them needs no hash.
   */
  private readonly provenTiles = new Map<string, Buffer>();
  private provenTileBytes = 0;

  private constructor(private readonly opts: SumdbMirrorOptions) {
    const verifier = newVerifier(opts.key);
    const verifiers = new Verifiers(verifier);
    this.name = verifier.name;
    // A full or failing disk fails every such write: said once per 10 s per kind, the rest counted (at debug level).
    const clock = opts.clock ?? systemClock;
    const unstored = new Spacing<string>(SAID_EVERY_MS, () => clock.now());
    this.store = new SumdbStore(
      opts.storage,
      this.name,
      (what, err) =>
        unstored.say(
          opts.log,
          'warn',
          what,
          { db: this.name, err: err.message },
          `a verified checksum-database ${what} could not be stored; it will be fetched and proven again when needed`,
          'alsoNotStored',
        ),
      (note) => signedTree(note, verifiers)?.n ?? null,
    );
    this.clock = opts.clock ?? systemClock;
    this.tree = new TreeState(this.name, this.store, opts.remote, verifiers, opts.log, opts.events ?? {}, this.clock);
    this.dataTiles = new DataTileIndex({
      name: this.name,
      store: this.store,
      tree: this.tree,
      remote: opts.remote,
      log: opts.log,
      offline: opts.offline,
      suspected: this.suspected,
      ...(opts.dataTileFailed ? { failed: opts.dataTileFailed } : {}),
      ...(opts.dataTileFailuresCounted ? { laterFailures: opts.dataTileFailuresCounted } : {}),
      ...(opts.dataTileLevel ? { level: opts.dataTileLevel } : {}),
      damaged: (t, reason) => this.storedTileDamaged(t, reason),
      waits: opts.waits ?? systemClock,
      ...(opts.leases ? { leases: opts.leases } : {}),
    });
  }

  static async open(opts: SumdbMirrorOptions): Promise<SumdbMirror> {
    const m = new SumdbMirror(opts);
    await m.tree.load();
    return m;
  }

  /** Stops background work and waits for it (and for lookups in flight) to settle. */
  async close(): Promise<void> {
    this.stopping.abort(new Error('closing'));
    await this.idle();
  }

  /** Resolves when no background work or lookup is under way (data tiles waiting for a pause in lookups are indexed now). */
  async idle(): Promise<void> {
    // Settling one task can start another (a lookup starts indexing): wait until quiet.
    while (
      this.lookups.size > 0 ||
      this.dataTiles.size > 0 ||
      this.refreshes.size > 0 ||
      this.store.pendingWrites > 0
    ) {
      await Promise.allSettled([
        this.lookups.settled(),
        this.dataTiles.settled(this.stopping.signal),
        this.refreshes.settled(),
        this.store.writesSettled(),
      ]);
    }
  }

  /**
   * Learns what other processes know that status() shows: a newer head one
   * of them verified and stored, a fork one of them refused.
   */
  async syncShared(): Promise<void> {
    await Promise.all([this.tree.catchUp(), this.tree.learnFork()]);
  }

  status(): SumdbStatus {
    const head = this.tree.head;
    const sources = this.opts.remote.sources?.() ?? [];
    const base = {
      name: this.name,
      treeSize: head?.tree.n ?? 0,
      ...(head ? { checkedAt: new Date(head.checkedAt).toISOString() } : {}),
      sources,
    };
    if (this.tree.fork)
      return {
        ...base,
        status: 'inconsistent',
        detail: `refused a tree head of size ${this.tree.fork.conflictingSize} from ${this.tree.fork.from} at ${this.tree.fork.detectedAt}`,
      };
    if (this.tree.foreign)
      return {
        ...base,
        status: 'misconfigured',
        detail: `the cluster's head does not verify under this node's key (${this.tree.foreign.reason}): another node checks ${this.name} with another key; give every node the same --sumdb`,
      };
    // Heads that do not verify, and none ever did here: the configured key is wrong (or every source forged).
    // (After a head verified, one that does not is a forgery: an alert, and the head is stale.)
    const bad = this.tree.lastBadHead;
    if (bad && !head)
      return {
        ...base,
        status: 'misconfigured',
        detail: `${bad.from} sent a tree head that does not verify under the configured key (${bad.why}): the key for ${this.name} in --sumdb is wrong, or that source is forged; lookups fail until a head verifies`,
      };
    if (sources.length > 0 && sources.every((s) => s.state === 'failing' || s.state === 'unsupported'))
      return {
        ...base,
        status: 'unreachable',
        detail: `no source of ${this.name} answers: ${sources.map((s) => `${s.url} ${s.state}${s.detail ? ` (${s.detail})` : ''}`).join('; ')}`,
      };
    if (!head) return { ...base, status: 'empty' };
    if (this.lastRefresh && !this.lastRefresh.ok)
      return { ...base, status: 'stale', detail: `last refresh failed: ${this.lastRefresh.error ?? ''}` };
    return { ...base, status: 'ok' };
  }

  /** Answers GET /sumdb/<name>/<sub>: a request parsed at the edge (a raw sub-path is parsed here). */
  async serve(request: SumdbRequest | string, signal?: AbortSignal): Promise<SumdbAnswer> {
    const r = typeof request === 'string' ? parseSumdbRequest(request) : request;
    switch (r.kind) {
      case 'supported':
        return { body: Buffer.alloc(0), contentType: TEXT, immutable: false, cache: 'hit' };
      case 'latest': {
        const { head, cache } = await this.latest(signal);
        return { body: head.note, contentType: TEXT, immutable: false, cache };
      }
      case 'lookup': {
        const { record, cache } = await this.lookup(r.ref, signal);
        // The record comes with a head that covers it (the go command refuses one that does not).
        const head = await this.headForRecord(record.id, signal);
        return {
          body: Buffer.concat([formatRecord(record.id, record.text), head.note]),
          contentType: TEXT,
          immutable: false,
          cache,
        };
      }
      case 'tile': {
        const t = r.tile;
        if (t.h !== TILE_HEIGHT)
          throw new SumdbError('not_found', `godepot mirrors tiles of height ${TILE_HEIGHT} only`);
        const { body, cache } = t.l < 0 ? await this.dataTile(t, signal) : await this.hashTile(t, signal);
        return { body, contentType: t.l < 0 ? TEXT : 'application/octet-stream', immutable: t.w === FULL, cache };
      }
    }
  }

  /** A verified head that covers record id: the go command refuses a record served with a head that does not. */
  private async headForRecord(id: number, signal?: AbortSignal): Promise<VerifiedHead> {
    let head = this.tree.head;
    // Another process on the same storage may have stored the record under a newer head.
    if (!head || id >= head.tree.n) head = await this.tree.adoptPersisted();
    // Stored beyond every stored head (by a release that did not order its writes): the database's head covers it.
    if ((!head || id >= head.tree.n) && !this.opts.offline) head = await this.refresh(signal);
    if (head && id < head.tree.n) return head;
    throw new SumdbError(
      'unavailable',
      `checksum database ${this.name}: record ${id} lies beyond the verified tree head godepot holds (size ${head?.tree.n ?? 0})` +
        (this.opts.offline
          ? '; it is served once godepot, run online, has verified a newer head'
          : `; the database's own head does not cover it either: remove the stored record to have it fetched again`),
    );
  }

  /** The verified tree head, refreshed after the TTL; served stale when every mirror fails. */
  async latest(signal?: AbortSignal): Promise<{ head: VerifiedHead; cache: CacheOutcome }> {
    const head = this.tree.head;
    if (head && (this.opts.offline || !passed(head.checkedAt, this.opts.latestTtl, this.clock.now())))
      return { head, cache: 'hit' };
    if (this.opts.offline)
      throw new SumdbError('not_found', `checksum database ${this.name}: no tree head stored and godepot is offline`);
    const refresh = this.refresh(signal);
    if (!head) return { head: await refresh, cache: 'miss' };
    try {
      const r = await within(refresh, this.opts.staleGrace, this.opts.waits ?? systemClock);
      if (r === LATE) {
        refresh.catch(() => undefined);
        return { head, cache: 'stale' };
      }
      return { head: r, cache: 'revalidated' };
    } catch {
      return { head: this.tree.head ?? head, cache: 'stale' };
    }
  }

  private async refresh(signal?: AbortSignal): Promise<VerifiedHead> {
    const { value } = await this.refreshes.do(
      'latest',
      async (s) => {
        try {
          const head = await askHonestMirrors(
            this.opts.remote,
            async (remote) => {
              const r = await remoteGet(
                this.name,
                remote,
                '/latest',
                'latest',
                (b, from) => this.tree.openHead(b, from),
                s,
              );
              if (!r.found)
                throw new SumdbError(
                  'unavailable',
                  `checksum database ${this.name}: ${r.from} has no tree head (${r.status})`,
                );
              return this.tree.merge(r.body, r.from, s, remote);
            },
            this.suspected,
          );
          this.lastRefresh = { ok: true, at: this.clock.now() };
          return head;
        } catch (err) {
          this.lastRefresh = { ok: false, at: this.clock.now(), error: (err as Error).message };
          throw err;
        }
      },
      signal,
    );
    return value;
  }

  /** The verified record for path@version: stored, or fetched and proven to be in the verified tree. */
  async lookup(ref: ModuleVersionRef, signal?: AbortSignal): Promise<{ record: StoredRecord; cache: CacheOutcome }> {
    // Before storage: the answer for a --nosumdb path must not depend on whether a data tile happened to hold it.
    if (this.neverAsked(ref.path)) {
      throw new SumdbError(
        'forbidden',
        `godepot does not send ${ref.path} to checksum database ${this.name}: it matches --private or --nosumdb; set GONOSUMDB (or GOPRIVATE) for it in the go command too`,
      );
    }
    // A stored record answers only once proven: online, the tiles that prove it are fetched if not held; one
    // that cannot be proven is not answered (the database is asked, and in an outage --verify decides).
    const stored = await this.storedRecord(ref, signal, !this.opts.offline);
    if (stored?.proven) return { record: stored.record, cache: 'hit' };
    // Offline, one stored beyond the verified head is refused saying so (and how it heals), and so is one the
    // tiles held cannot prove.
    if (stored && this.opts.offline) {
      await this.headForRecord(stored.record.id, signal);
      throw new SumdbError(
        'unavailable',
        `checksum database ${this.name}: the stored record of ${ref.path}@${ref.version} cannot be proven with the tiles godepot holds; it is served once godepot, run online (or \`godepot warm\`), has fetched them`,
      );
    }
    // A neighbour of a record looked up lately, from its verified data tile: no request to the database.
    const near = await this.provenTileRecord(ref, this.nearRecord(ref), signal);
    if (near) return this.held(ref, near);
    if (this.opts.offline) {
      const held = await this.provenTileRecord(ref, await this.tileRecord(ref), signal);
      if (held) return this.held(ref, held);
      throw new SumdbError(
        'not_found',
        `not found: ${ref.path}@${ref.version} is not in godepot's copy of ${this.name} and godepot is offline`,
      );
    }
    try {
      const { value } = await this.lookups.do(`${ref.path}@${ref.version}`, (s) => this.lookupShared(ref, s), signal);
      return value;
    } catch (err) {
      // No source gave a verified answer: a data tile held may have the record (verified when it was kept).
      if (!(err instanceof SumdbError) || err.kind === 'unavailable' || err.kind === 'inconsistent') {
        const held = await this.provenTileRecord(ref, await this.tileRecord(ref).catch(() => null), signal);
        if (held) return this.held(ref, held);
      }
      throw err;
    }
  }

  /**
   * The record for path@version if godepot holds one and this process has
   * proven it against the verified tree (storedRecord), without asking the
   * database; null otherwise (or for a --nosumdb path). What a stored
   * artifact is held against before it is removed as damaged.
   */
  async heldRecord(ref: ModuleVersionRef, signal?: AbortSignal): Promise<StoredRecord | null> {
    if (this.neverAsked(ref.path)) return null;
    const held = await this.storedRecord(ref, signal);
    if (held?.proven) return held.record;
    // Else from a data tile godepot keeps, proven the same way.
    return this.provenTileRecord(ref, await this.tileRecord(ref).catch(() => null), signal);
  }

  /**
   * A record from storage, proven once per process against the verified
   * tree with the tiles godepot holds (no request to the database): proven
   * true then, or when this process kept it moments ago. One damaged on disk
   * or changed by hand is removed and not answered (the lookup asks the
   * database afresh); with no verified head to prove it by (the stored head
   * lost, or not made with the configured key) it is not answered either,
   * and kept. One that cannot be proven with the tiles held (with network,
   * nor with those the sources have) is given as proven false: not a
   * record to verify anything by.
   */
  private async storedRecord(
    ref: ModuleVersionRef,
    signal?: AbortSignal,
    network = false,
  ): Promise<{ readonly record: StoredRecord; readonly proven: boolean; readonly landed?: Promise<boolean> } | null> {
    const held = await this.store.heldRecord(ref.path, ref.version);
    if (!held) return null;
    // Kept by this process moments ago (its write pending: landed settles once it is stored).
    if (held.landed) return { record: held.record, proven: true, landed: held.landed };
    const id = provenKey(ref, held.record);
    // Proven since this process started.
    if (this.provenRecords.has(id)) return { record: held.record, proven: true };
    // A head another process stored (godepot warm, a worker) proves it as well; with none that verifies under
    // the configured key (a wrong key, a lost head), nothing stored is answered.
    let head = this.tree.head ?? (await this.tree.adoptPersisted());
    if (!head) return null;
    // Stored under a newer head another process verified: that head proves it.
    if (held.record.id >= head.tree.n) head = (await this.tree.adoptPersisted()) ?? head;
    let damage = await this.recordDamage(ref, held.record, head, signal);
    if (damage === undefined && network) damage = await this.recordDamage(ref, held.record, head, signal, true);
    if (damage === undefined) return { record: held.record, proven: false };
    if (damage === null) {
      this.rememberProven(id);
      return { record: held.record, proven: true };
    }
    await this.removeDamagedRecord(ref, damage);
    return null;
  }

  private rememberProven(key: string): void {
    if (this.provenRecords.size >= PROVEN_RECORDS) this.provenRecords.clear();
    this.provenRecords.add(key);
  }

  /** Whether body is what this process proved tile t's stored copy to be (one map lookup and a compare). */
  private provenTile(t: Tile, body: Buffer): boolean {
    return this.provenTiles.get(tilePath(t))?.equals(body) === true;
  }

  private rememberProvenTile(t: Tile, body: Buffer): void {
    if (this.provenTileBytes + body.length > PROVEN_TILE_BYTES) {
      this.provenTiles.clear();
      this.provenTileBytes = 0;
    }
    // A copy: a view would keep the whole buffer it was read into. (One replaced is counted twice: cleared sooner.)
    this.provenTiles.set(tilePath(t), Buffer.from(body));
    this.provenTileBytes += body.length;
  }

  /** A stored record that is not the verified tree's: logged, counted, removed (the lookup asks the database). */
  private async removeDamagedRecord(ref: ModuleVersionRef, reason: string): Promise<void> {
    this.opts.log.error(
      { db: this.name, module: ref.path, version: ref.version, reason, alert: 'stored_record_damaged' },
      'a stored checksum-database record is not what the verified tree holds (disk damage, or changed by hand): removed, and looked up again',
    );
    this.opts.storedDamaged?.('record');
    await this.store.deleteRecord(ref.path, ref.version).catch(() => undefined);
  }

  /** Why record is not the verified tree's for ref; null when it is; undefined when that cannot be told here now. */
  private async recordDamage(
    ref: ModuleVersionRef,
    record: StoredRecord,
    head: VerifiedHead,
    signal?: AbortSignal,
    network = false,
  ): Promise<string | null | undefined> {
    if (!recordMentions(record.text.toString('utf8'), ref.path, ref.version))
      return `the stored record ${record.id} is not about ${ref.path}@${ref.version}`;
    if (record.id < 0) return `the stored record id ${record.id} is not in any tree`;
    // Beyond the verified tree: with network, a head that covers it is asked for; else it cannot be told now.
    if (record.id >= head.tree.n) {
      const covering = network ? await this.headCovering(record.id + 1, signal).catch(() => null) : null;
      if (!covering) return undefined;
      head = covering;
    }
    let h: Buffer | undefined;
    try {
      [h] = await provenHashes(
        this.name,
        head,
        this.tree.verifiedReader(network, signal),
        [storedHashIndex(0, record.id)],
        `cannot prove stored record ${record.id}`,
      );
    } catch {
      return undefined; // the tiles to prove it are not held here: as it was before this check
    }
    return h && hashEqual(h, recordHash(record.text))
      ? null
      : `the stored record ${record.id} does not match the verified tree`;
  }

  /**
   * A record of a data tile godepot holds, once proven against the verified
   * tree with the hash tiles it holds: the tile was verified when it was
   * kept, but storage is input (a disk error, a hand edit, a co-tenant of the
   * bucket), and its record would verify the module's zip. Null when it is
   * not proven; one that is not the tree's is logged and its tile dropped.
   */
  private async provenTileRecord(
    ref: ModuleVersionRef,
    record: StoredRecord | null,
    signal?: AbortSignal,
  ): Promise<StoredRecord | null> {
    const head = this.tree.head;
    if (!record || !head) return null;
    const damage = await this.recordDamage(ref, record, head, signal).catch(() => undefined);
    if (typeof damage === 'string') {
      this.opts.log.error(
        { db: this.name, module: ref.path, version: ref.version, reason: damage, alert: 'stored_record_damaged' },
        'a record of a stored checksum-database data tile is not what the verified tree holds (disk damage, or changed by hand): its tile is dropped, and the record looked up again',
      );
      this.opts.storedDamaged?.('record');
      this.dataTiles.forget(Math.floor(record.id / FULL));
      await this.store
        .dropTile({ h: TILE_HEIGHT, l: -1, n: Math.floor(record.id / FULL), w: FULL })
        .catch(() => undefined);
    }
    // Proven: when it is stored as this lookup's record (held()), it is not proven again.
    if (damage === null) this.rememberProven(provenKey(ref, record));
    return damage === null ? record : null;
  }

  /** A --nosumdb path: never sent to the database, and answered from nothing godepot holds either. */
  private neverAsked(path: string): boolean {
    return this.opts.nosumdb !== '' && matchPrefixPatterns(this.opts.nosumdb, path);
  }

  /**
   * ref's record from a data tile godepot looked at lately (nearRecord) or
   * holds in storage (tileRecord), verified against the tree when it was
   * kept. None without a verified head: the tiles kept may be another log's
   * (a head that no longer verifies under the configured key was dropped).
   */
  private nearRecord(ref: ModuleVersionRef): StoredRecord | null {
    return this.tree.head ? this.dataTiles.near(ref) : null;
  }

  private async tileRecord(ref: ModuleVersionRef): Promise<StoredRecord | null> {
    return (this.tree.head ?? (await this.tree.adoptPersisted())) ? this.dataTiles.find(ref) : null;
  }

  /** A record from a data tile godepot holds (verified when it was kept): the answer, and stored under its own key. */
  private held(ref: ModuleVersionRef, record: StoredRecord): { record: StoredRecord; cache: CacheOutcome } {
    void this.store.keepRecord(ref.path, ref.version, record);
    return { record, cache: 'hit' };
  }

  /**
   * fetchRecord, once across the processes sharing this storage
   * (fetchOnceAcross): a waiter reads the record the holder stored, or gives
   * its not-found or its no-source-answered.
   */
  private async lookupShared(
    ref: ModuleVersionRef,
    signal: AbortSignal,
  ): Promise<{ record: StoredRecord; cache: CacheOutcome }> {
    const { value, fetched } = await fetchOnceAcross(
      this.opts.leases,
      `${this.store.prefix}lookup/${ref.path}@${ref.version}`,
      signal,
      {
        held: async () => {
          // This process's own pending write, or one read from storage (another process stored it with the tiles
          // of its proof, or it was there and lookup() could not prove it) proven with the tiles held.
          const held = await this.storedRecord(ref, signal);
          return held?.proven ? { value: held.record, ...(held.landed ? { stored: held.landed } : {}) } : null;
        },
        fetch: async (s) => {
          const { record, written } = await this.fetchRecord(ref, s);
          return { value: record, stored: written };
        },
        failure: (err) => this.lookupOutcome(err, signal),
        sharedError: (o) => {
          if (o.kind === 'not_found') return new NotInLogError(o.detail);
          // The database's sources failed the holder: they would fail this process too (no second timeout).
          if (o.kind === 'failed' && o.error)
            return new SumdbError('unavailable', o.error.message, o.error.code === TIMEOUT, new Set(), true);
          return null;
        },
      },
    );
    return { record: value, cache: fetched ? 'miss' : 'hit' };
  }

  /**
   * How a lookup's holder failed, for the waiters: the database's own answer
   * (not found, or no source answering) is theirs too; anything else (this
   * process's clients left, it is stopping, its storage or the coordination
   * failed it) leaves the asking to them.
   */
  private lookupOutcome(err: unknown, signal: AbortSignal): FetchOutcome {
    if (!(err instanceof SumdbError) || signal.aborted) return { kind: 'failed' };
    // Only the database's own "not found" is the waiters' answer too (not "beyond the verified tree").
    if (err instanceof NotInLogError)
      return { kind: 'not_found', upstream: this.name, status: 404, detail: err.message };
    if (err.kind === 'unavailable' && err.fromSources)
      return { kind: 'failed', error: { code: err.timeout ? TIMEOUT : 'sumdb_unavailable', message: err.message } };
    return { kind: 'failed' };
  }

  /**
   * Looks ref up and proves it; written resolves once the record's write
   * behind the answer has landed (true) or failed (false).
   */
  private async fetchRecord(
    ref: ModuleVersionRef,
    signal: AbortSignal,
  ): Promise<{ record: StoredRecord; written: Promise<boolean> }> {
    const record = await askHonestMirrors(
      this.opts.remote,
      (remote) => this.fetchVerifiedRecord(remote, ref, signal),
      this.suspected,
    );
    if (this.opts.indexDataTiles !== false) this.dataTiles.later(record.id, this.stopping.signal);
    // Written once the record and the tiles of its proof (kept while it was proven) have landed: a waiter told
    // so proves the stored record with stored tiles, asking the database nothing.
    const record$ = this.store.keepRecord(ref.path, ref.version, record);
    const written = Promise.all([record$, this.store.writesSettled()]).then(([ok]) => ok);
    return { record, written };
  }

  /** Logs a mirror whose answers did not verify; askHonestMirrors then asks the others. */
  private readonly suspected = (err: SumdbError): void => {
    this.opts.log.error(
      { db: this.name, suspects: [...err.suspects], err: err.message },
      'a checksum-database mirror served data that does not verify against the signed tree; refused, asking the other mirrors',
    );
  };

  private async fetchVerifiedRecord(
    remote: SumdbRemote,
    ref: ModuleVersionRef,
    signal: AbortSignal,
  ): Promise<StoredRecord> {
    const path = `/lookup/${escapePath(ref.path)}@${escapeVersion(ref.version)}`;
    const r = await remoteGet(
      this.name,
      remote,
      path,
      'lookup',
      (body, from) => {
        const { id, text, rest } = parseRecord(body);
        if (!recordMentions(text.toString('utf8'), ref.path, ref.version))
          throw new Error(`record is not about ${ref.path}@${ref.version}`);
        // Go's checkRecord: a record id must lie in the tree of the head served with it.
        const tree = this.tree.openHead(rest, from);
        if (id < 0 || id >= tree.n)
          throw new Error(`record id ${id} is not in the tree of size ${tree.n} served with it`);
      },
      signal,
    );
    if (!r.found) {
      // The database's words are usually "not found: …" already: said once.
      const said = r.detail || `${ref.path}@${ref.version} is not in ${this.name}`;
      // One source's "not found" while the others do not answer proves nothing (a lagging or hostile mirror
      // may say it): an outage, not an answer.
      if (r.alone)
        throw new SumdbError(
          'unavailable',
          `checksum database ${this.name}: only ${r.from} answered, and it has no record of ${ref.path}@${ref.version} (${said}); the other sources did not answer`,
          false,
          new Set(),
          true,
        );
      throw new NotInLogError(/^not found\b/i.test(said) ? said : `not found: ${said}`);
    }
    const { id, text, rest } = parseRecord(r.body);
    let head: VerifiedHead | null;
    try {
      head = await this.tree.merge(rest, r.from, signal, remote);
    } catch (err) {
      // A refused (forked) head does not stop us checking the record against the verified tree.
      if (!(err instanceof SumdbError && err.kind === 'inconsistent')) throw err;
      head = this.tree.head;
      if (!head) throw err;
    }
    await this.verifyInclusion(remote, head, id, text, r.from, signal);
    return { id, text };
  }

  /** Proves the record `from` served is leaf id of head's tree; blames the mirror that served what does not verify. */
  private async verifyInclusion(
    remote: SumdbRemote,
    head: VerifiedHead,
    id: number,
    text: Buffer,
    from: string,
    signal?: AbortSignal,
  ): Promise<void> {
    // accept() checked id against the head served with it; beyond ours, that head was refused: blame its mirror.
    if (id < 0 || id >= head.tree.n)
      throw new SumdbError(
        'inconsistent',
        `godepot: checksum database ${this.name}: record ${id} from ${from} is not in the verified tree of size ${head.tree.n}${this.tree.fork ? ': the database serves a history that does not extend the verified one (a fork, refused as a security event: see /readyz and the log); modules whose go.sum lines you have keep building, and keep GOSUMDB on' : ''}`,
        false,
        new Set([from]),
      );
    const reader = this.tree.verifiedReader(!this.opts.offline, signal, remote);
    const [h] = await provenHashes(
      this.name,
      head,
      reader,
      [storedHashIndex(0, id)],
      `cannot prove record ${id} is in the verified tree`,
    );
    if (!h || !hashEqual(h, recordHash(text))) {
      throw new SumdbError(
        'inconsistent',
        `checksum database ${this.name}: record ${id} from ${from} does not match the verified tree (cannot authenticate record data)`,
        false,
        new Set([from]),
      );
    }
  }

  /** Makes sure head covers `size` records, refreshing it when it does not (at most once per BEYOND_TREE_REFRESH_MS). */
  private async headCovering(size: number, signal?: AbortSignal): Promise<VerifiedHead> {
    const head = this.tree.head;
    if (head && head.tree.n >= size) return head;
    const now = this.clock.now();
    const due = passed(this.beyondRefreshAt, BEYOND_TREE_REFRESH_MS, now);
    // No tree holds more than Number.MAX_SAFE_INTEGER records (parseTree): such a tile is never asked upstream.
    // A refresh in flight is joined (a client reads several tiles at once), which costs no request.
    if (!this.opts.offline && Number.isSafeInteger(size) && (due || this.refreshes.size > 0)) {
      if (due) this.beyondRefreshAt = now;
      const fresh = await this.refresh(signal).catch((err: unknown) => {
        if (err instanceof SumdbError && err.kind === 'inconsistent') return this.tree.head;
        throw err;
      });
      if (fresh && fresh.tree.n >= size) return fresh;
    }
    // A client asks beyond the tree godepot holds only with a larger tree head it has seen elsewhere (another
    // source, or its $GOPATH/pkg/sumdb carried over): the go command refuses the smaller one, so say how to heal.
    throw new SumdbError(
      'not_found',
      `not found: beyond the verified tree of ${this.name} (size ${this.tree.head?.tree.n ?? 0}), smaller than the one this client has seen; ${
        this.opts.offline
          ? 'godepot is offline: import an export made since then (godepot export, godepot import)'
          : 'the database has not given godepot that tree yet: try again in a minute'
      }, or give the client a fresh $GOPATH/pkg/sumdb`,
    );
  }

  /**
   * Hash tile t, proven against the verified tree: its bytes are the hashes
   * it stands for (tileHashes). A stored copy is proven the first time this
   * process serves it, through the tiles held (no request to the database),
   * and then remembered; one that is not the tree's is damage, never served:
   * the proof that showed it read the sources' copies and wrote them over it
   * (provenHashes), and those are the answer.
   */
  private async hashTile(t: Tile, signal?: AbortSignal): Promise<{ body: Buffer; cache: CacheOutcome }> {
    const stored = await this.store.readTile(t);
    if (stored && this.provenTile(t, stored)) return { body: stored, cache: 'hit' };
    if (!stored) await this.notStoredOffline(t, signal);
    const body = Buffer.concat(await this.tileHashes(t, stored !== null, signal));
    if (!stored) return { body, cache: 'miss' };
    if (!body.equals(stored)) {
      this.storedTileDamaged(t, `the stored ${tilePath(t)} holds hashes that are not the verified tree's`);
      return { body, cache: 'miss' };
    }
    this.rememberProvenTile(t, stored);
    return { body: stored, cache: 'hit' };
  }

  /** Data tile t: a stored copy once proven (provenDataTile), else fetched from the sources and proven. */
  private async dataTile(t: Tile, signal?: AbortSignal): Promise<{ body: Buffer; cache: CacheOutcome }> {
    const stored = await this.store.readTile(t);
    const held = stored && (await this.provenDataTile(t, stored, signal));
    if (held) return { body: held, cache: 'hit' };
    await this.notStoredOffline(t, signal);
    const head = await this.headCovering(t.n * FULL + t.w, signal);
    const { records } = await this.dataTiles.fetch(t.n, head, signal);
    return { body: dataTilePrefix(records, t.w), cache: 'miss' };
  }

  /**
   * Offline, a tile not stored (as wide as asked) is not found, as a lookup
   * not stored is (--offline: nothing is asked upstream; the client moves on);
   * one beyond the verified tree says so (headCovering).
   */
  private async notStoredOffline(t: Tile, signal?: AbortSignal): Promise<void> {
    if (!this.opts.offline) return;
    await this.headCovering((t.n * FULL + t.w) * FULL ** Math.max(t.l, 0), signal);
    throw new SumdbError(
      'not_found',
      `not found: ${tilePath(t)} is not in godepot's copy of ${this.name} and godepot is offline`,
    );
  }

  /**
   * The first t.w records of a stored data tile, proven against the verified
   * tree (tileHashes) the first time this process serves them, as hashTile
   * does; null when it holds fewer. One that no longer splits into records,
   * or whose records are not the tree's, is damage: dropped (to be fetched
   * again), never served.
   */
  private async provenDataTile(t: Tile, stored: Buffer, signal?: AbortSignal): Promise<Buffer | null> {
    let records: Buffer[];
    try {
      records = splitDataTile(stored);
    } catch (err) {
      await this.dropDamagedDataTile(
        t,
        `the stored ${tilePath(t)} does not split into records: ${(err as Error).message}`,
      );
      return null;
    }
    if (records.length < t.w) return null;
    const body = dataTilePrefix(records, t.w);
    if (this.provenTile(t, body)) return body;
    const bad = unprovenRecord(records.slice(0, t.w), await this.tileHashes(t, true, signal));
    if (bad < 0) {
      this.rememberProvenTile(t, body);
      return body;
    }
    await this.dropDamagedDataTile(
      t,
      `record ${t.n * FULL + bad} of the stored ${tilePath(t)} is not the verified tree's`,
    );
    return null;
  }

  /** A damaged stored data tile: logged, counted and dropped; offline, the request fails saying so. */
  private async dropDamagedDataTile(t: Tile, reason: string): Promise<void> {
    await this.dataTiles.dropDamaged(t, reason);
    if (this.opts.offline)
      throw new SumdbError(
        'unavailable',
        `checksum database ${this.name}: the stored ${tilePath(t)} was damaged and godepot is offline; it is fetched again once godepot runs online`,
      );
  }

  /**
   * The hashes tile t stands for in the verified tree (tileHashes), read
   * through the tiles held, fetching those not held (online). For a stored
   * copy, a head another process verified and stored covers it too (the
   * copy was kept under it).
   */
  private async tileHashes(t: Tile, stored: boolean, signal?: AbortSignal): Promise<Buffer[]> {
    const size = (t.n * FULL + t.w) * FULL ** Math.max(t.l, 0);
    if (stored && (this.tree.head?.tree.n ?? 0) < size) await this.tree.adoptPersisted();
    const head = await this.headCovering(size, signal);
    const what = stored
      ? `the stored ${tilePath(t)} is not served: it does not prove against the verified tree${this.opts.offline ? ' with the tiles godepot holds, and godepot is offline' : ''}`
      : `cannot fetch and verify ${tilePath(t)}`;
    return askHonestMirrors(
      this.opts.remote,
      (remote) => tileHashes(this.name, head, this.tree.verifiedReader(!this.opts.offline, signal, remote), t, what),
      this.suspected,
    );
  }

  /** A stored tile that is not the verified tree's (disk damage, or changed by hand): logged and counted; the caller serves the tree's. */
  private storedTileDamaged(t: Tile, reason: string): void {
    this.opts.log.error(
      { db: this.name, tile: tilePath(t), reason, alert: 'stored_tile_damaged' },
      'a stored checksum-database tile is not what the verified tree holds (disk damage, or changed by hand): not served, and replaced by the copy the sources give, proven against the tree',
    );
    this.opts.storedDamaged?.('tile');
  }

  /** Fetches and indexes the data tile holding record id (unless already held at the current width). */
  indexAround(id: number, signal?: AbortSignal): Promise<void> {
    return this.dataTiles.around(id, signal);
  }

  /**
   * Makes sure the data tiles holding records ids are kept, fetching those
   * that are not (a command preparing for an outage, at its end: records it
   * found stored were never fetched, so their tiles were not indexed then).
   * Nothing when this mirror does not index data tiles.
   */
  async keepDataTilesAround(
    ids: Iterable<number>,
    signal?: AbortSignal,
  ): Promise<{ tiles: number; missing: number; error?: string }> {
    if (this.opts.indexDataTiles === false) return { tiles: 0, missing: 0 };
    return this.dataTiles.aroundAll(ids, signal);
  }
}

/** What provenRecords remembers a record by: what was proven, not only whose (a record changed since is proven again). */
function provenKey(ref: ModuleVersionRef, record: StoredRecord): string {
  return `${ref.path}@${ref.version} ${record.id} ${recordHash(record.text).toString('base64')}`;
}
