// The data-tile index of a checksum-database mirror: around every record it
// looks up, the mirror fetches the data tile (256 records), proves each
// record against the verified tree and keeps the tile — so that while no
// source of the database answers it can still answer lookups it never made,
// from the records of the tiles it holds. Failures in the background are
// counted and logged once per run.
//
// The tiles are the index: nothing is written per record (the log spreads
// the module versions a build needs over as many tiles, so that would be
// 256 files, or 256 object-store writes, per module version looked up).
// Two ways in:
//  - near(): the records of the 64 tiles used last, in memory, answer at
//    once, outage or not (modules released together sit side by side);
//  - find(): the first lookup the database cannot answer reads the newest
//    INDEXED_TILES stored data tiles (by their place in the log: the newest
//    module versions, the ones a build is likeliest to want next) into a map
//    from a 30-bit hash of each record's subject to its record number (about
//    40 bytes per record, 10 KB per tile); tiles fetched afterwards are added
//    to it, and past the bound it is dropped, to be read again at the next
//    such lookup. A year of lookups can hold tens of thousands of tiles
//    (gigabytes): reading them all held the first lookup of an outage for
//    minutes and could pass a Map's 2^24 entries. A hash only names a
//    candidate: the record is read back from its verified tile and must be
//    about the module version asked for.
//
// Indexing waits for a pause in lookups (later()): a build's cold fill asks
// for tens of module versions in a burst, and on sum.golang.org's log each
// lies in a data tile of its own (~70 KB to fetch, prove and store: a few
// ms of this process's one thread each), which would otherwise delay the
// very answers the build is waiting for. Each lookup is verified on its own
// either way; only the outage index comes after the burst. A tile a second
// lookup of the burst falls in is indexed at once: its neighbours are being
// asked for now, and it answers the rest of them without a lookup each.
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import type { SaidAt } from '../util/said-once.js';
import type { WaitingClock } from '../util/clock.js';
import { fetchOnceAcross, type FetchLeases } from '../util/leases.js';
import { Limiter } from '../util/limiter.js';
import { SingleFlight } from '../util/singleflight.js';
import { parseTilePath, tilePath, type Tile } from './tlog/index.js';
import { SumdbError } from './errors.js';
import { remoteGet, tileHashes, unprovenRecord } from './proven.js';
import { recordSubject, splitDataTile, type ModuleVersionRef } from './records.js';
import { askHonestMirrors, type SumdbRemote } from './remote.js';
import { TILE_HEIGHT, type StoredRecord, type SumdbStore } from './store.js';
import type { TreeState, VerifiedHead } from './tree-state.js';

const FULL = 1 << TILE_HEIGHT;
/** A signal that never aborts (a lease asked for without one). */
const NEVER = new AbortController().signal;
/** Data tiles whose records are kept in memory (see DataTileIndex.recent): about 4.5 MB at most. */
const RECENT_DATA_TILES = 64;
/** How long lookups must pause before the data tiles around them are indexed (ms). */
const DATA_TILE_QUIET_MS = 250;
/** Tiles waiting for that pause beyond which indexing starts anyway (lookups that never pause). */
const PENDING_MAX = 64;
/** Data tiles in the outage index at most: 524,288 records, ~20 MB of index, ~140 MB read to fill it. */
const INDEXED_TILES = 2_048;
/** Data tiles indexed at once after a pause. */
const INDEXING_WIDTH = 4;

export interface DataTileContext {
  readonly name: string;
  readonly store: SumdbStore;
  readonly tree: TreeState;
  readonly remote: SumdbRemote;
  readonly log: Logger;
  readonly offline: boolean;
  /** Called when sources served data that does not verify (askHonestMirrors then asks the others). */
  readonly suspected: (err: SumdbError) => void;
  /** A background fetch failed. */
  readonly failed?: (db: string) => void;
  /**
   * Where the background failures after the first (the one logged) are counted, as its warning says it
   * (default: the metric /metrics exposes; a command without a server says where it counts them).
   */
  readonly laterFailures?: string;
  /**
   * The level of the lines that say data tiles cannot be had and can again (default: their own): every worker of
   * `serve --workers N` finds the same tiles missing, and only the first says it (said-once.ts).
   */
  readonly level?: SaidAt;
  /** A stored data tile was found damaged (reported by the mirror: logged at error level and counted). */
  readonly damaged: (t: Tile, reason: string) => void;
  /** What the pause in lookups is waited on (tests move a fake one). */
  readonly waits: WaitingClock;
  /** Data tiles indexed for find() at most (default INDEXED_TILES; tests give fewer). */
  readonly indexedTiles?: number;
  /** Set when other processes share the storage: one of them fetches a data tile, the others read it (around()). */
  readonly leases?: FetchLeases;
}

export class DataTileIndex {
  private readonly flights = new SingleFlight<{ records: Buffer[]; stored: boolean }>();
  private failures = 0;
  /** Subject hash → record number(s): filled from storage by load(), kept up to date by fetch(); null before. */
  private bySubject: Map<number, number | number[]> | null = null;
  private loaded: Promise<Map<number, number | number[]>> | null = null;
  /**
   * The tiles in bySubject (read by load(), or fetched or read back since), by number: a tile read again (every
   * lookup of an outage reads its tile back, around()) or widened counts once toward the bound.
   */
  private indexed = new Set<number>();
  /**
   * The records of the data tiles fetched or read last, by tile number (least
   * recent first): modules released together (a multi-module repository's
   * tag) sit side by side in the log, so the tile around one lookup often
   * holds the next ones. About 70 KB per tile.
   */
  private readonly recent = new Map<
    number,
    { readonly records: readonly Buffer[]; readonly ids: Map<string, number> }
  >();

  /** Data tiles to index after the next pause in lookups: tile number → a record id in it. */
  private readonly pending = new Map<number, number>();
  /** Ends the current wait for a pause (a new lookup restarts it). */
  private quiet: AbortController | undefined;
  private indexing: Promise<void> | null = null;
  /** Tiles indexed at once, without waiting for the pause (see later()). */
  private readonly eager = new Set<Promise<void>>();

  constructor(private readonly c: DataTileContext) {}

  /** The verified record of ref from a data tile fetched or read lately, or null (no storage read, no request). */
  near(ref: ModuleVersionRef): StoredRecord | null {
    const key = `${ref.path}@${ref.version}`;
    for (const [n, tile] of this.recent) {
      const i = tile.ids.get(key);
      const text = i === undefined ? undefined : tile.records[i];
      if (i !== undefined && text) return { id: n * FULL + i, text };
    }
    return null;
  }

  /**
   * Drops a stored data tile found damaged (verified when it was kept: this
   * is damage in storage), reported, so that it is fetched and verified
   * again.
   */
  async dropDamaged(t: Tile, reason: string): Promise<void> {
    this.c.damaged(t, reason);
    this.forget(t.n);
    await this.c.store.dropTile(t);
  }

  /** Forgets data tile n's records held in memory (its stored copy was found damaged and dropped). */
  forget(n: number): void {
    this.recent.delete(n);
  }

  private keepRecent(n: number, records: readonly Buffer[]): void {
    const have = this.recent.get(n);
    this.recent.delete(n);
    if (have && have.records.length >= records.length) {
      this.recent.set(n, have);
      return;
    }
    const ids = new Map<string, number>();
    records.forEach((text, i) => {
      const ref = recordSubject(text.toString('utf8'));
      if (ref) ids.set(`${ref.path}@${ref.version}`, i);
    });
    this.recent.set(n, { records, ids });
    if (this.recent.size > RECENT_DATA_TILES) this.recent.delete(this.recent.keys().next().value as number);
  }

  /** Fetches under way or waiting for a pause. */
  get size(): number {
    return this.flights.size + this.pending.size + this.eager.size + (this.indexing ? 1 : 0);
  }

  /** Starts what waits for a pause now, and resolves when it and every fetch under way have settled. */
  settled(signal: AbortSignal): Promise<unknown> {
    return Promise.allSettled([this.indexPending(signal), this.flights.settled(), ...this.eager]);
  }

  /**
   * Indexes the data tile around record id once lookups pause for
   * DATA_TILE_QUIET_MS (each call restarts the wait), or at once when PENDING_MAX tiles wait
   * or a second record of the same tile is looked up. Failures are reported
   * as aroundReported() does. Nothing starts after signal aborts.
   */
  later(id: number, signal: AbortSignal): void {
    if (signal.aborted) return;
    const n = Math.floor(id / FULL);
    if (this.pending.delete(n)) {
      // A second lookup in one tile within the burst: its neighbours are being asked for now (modules
      // released together), and the tile answers the rest of them at once.
      const task = this.aroundReported(id, signal).finally(() => this.eager.delete(task));
      this.eager.add(task);
      return;
    }
    this.pending.set(n, id);
    this.quiet?.abort();
    if (this.pending.size >= PENDING_MAX) {
      void this.indexPending(signal);
      return;
    }
    // The wait is on quiet alone: combining it with signal, which lives as long as the mirror, left one entry
    // per lookup on signal (AbortSignal.any in Node 20: see util/singleflight.ts). Closing needs no abort of its
    // own: settled() indexes what waits and so ends the wait, and a wait that ends after signal starts nothing.
    const quiet = (this.quiet = new AbortController());
    this.c.waits.sleep(DATA_TILE_QUIET_MS, quiet.signal).then(
      () => void this.indexPending(signal),
      () => undefined, // another lookup came first, or the mirror closed
    );
  }

  /** Indexes the tiles waiting (and those added meanwhile), INDEXING_WIDTH at a time; never rejects. */
  private indexPending(signal: AbortSignal): Promise<void> {
    this.quiet?.abort();
    this.quiet = undefined;
    const next = (): number | undefined => {
      if (signal.aborted) this.pending.clear();
      const first = this.pending.entries().next();
      if (first.done) return undefined;
      this.pending.delete(first.value[0]);
      return first.value[1];
    };
    this.indexing ??= Promise.all(
      Array.from({ length: INDEXING_WIDTH }, async () => {
        for (let id = next(); id !== undefined; id = next()) await this.aroundReported(id, signal);
      }),
    ).then(() => {
      this.indexing = null;
      // Tiles added as the last worker finished found indexing still running and no wait of their own.
      if (this.pending.size > 0) void this.indexPending(signal);
    });
    return this.indexing;
  }

  /**
   * Fetches data tile n as wide as head allows, checks every record against
   * head's level-0 hashes, keeps and indexes it; returns once its write has
   * landed (stored) or failed.
   */
  async fetch(n: number, head: VerifiedHead, signal?: AbortSignal): Promise<{ records: Buffer[]; stored: boolean }> {
    const w = Math.min(FULL, head.tree.n - n * FULL);
    if (w <= 0) throw new SumdbError('not_found', 'not found: data tile beyond the verified tree');
    const { value } = await this.flights.do(
      `${n}/${w}`,
      async (s) => {
        const t: Tile = { h: TILE_HEIGHT, l: -1, n, w };
        // The records of each body the check below accepted (hedged attempts may each bring one), split once.
        const split = new WeakMap<Buffer, Buffer[]>();
        const { body, records } = await askHonestMirrors(
          this.c.remote,
          async (remote) => {
            const r = await remoteGet(
              this.c.name,
              remote,
              '/' + tilePath(t),
              'data',
              (b) => {
                const records = splitDataTile(b);
                if (records.length !== w) throw new Error(`${tilePath(t)} does not hold ${w} records`);
                split.set(b, records);
              },
              s,
            );
            if (!r.found) throw new SumdbError('not_found', `not found: ${tilePath(t)} (${r.detail})`);
            const records = split.get(r.body) ?? splitDataTile(r.body);
            const hashes = await tileHashes(
              this.c.name,
              head,
              this.c.tree.verifiedReader(true, s, remote),
              t,
              `cannot verify ${tilePath(t)}`,
            );
            const bad = unprovenRecord(records, hashes);
            if (bad >= 0)
              throw new SumdbError(
                'inconsistent',
                `checksum database ${this.c.name}: record ${n * FULL + bad} of ${tilePath(t)} from ${r.from} does not match the verified tree`,
                false,
                new Set([r.from]),
              );
            return { body: r.body, records };
          },
          this.c.suspected,
        );
        // After the head it was verified under (nothing is stored beyond the stored head).
        const stored = await this.c.store.keepTile(t, body, w);
        this.keepRecent(n, records);
        this.index(n, records);
        return { records, stored };
      },
      signal,
    );
    return value;
  }

  /**
   * The verified record whose subject is ref, from the data tiles held, or
   * null. Reads every stored data tile on first use (see the top of the file).
   */
  async find(ref: ModuleVersionRef): Promise<StoredRecord | null> {
    this.loaded ??= this.load().catch((err: unknown) => {
      [this.loaded, this.bySubject] = [null, null];
      throw err;
    });
    const index = await this.loaded;
    const ids = index.get(subjectHash(ref.path, ref.version));
    for (const id of typeof ids === 'number' ? [ids] : (ids ?? [])) {
      const text = await this.heldRecord(id);
      const subject = text ? recordSubject(text.toString('utf8')) : null;
      if (text && subject?.path === ref.path && subject.version === ref.version) return { id, text };
    }
    return null;
  }

  /** Record id's text from its stored data tile, or null (not held, or the stored copy no longer parses). */
  private async heldRecord(id: number): Promise<Buffer | null> {
    const stored = await this.c.store.readTile({ h: TILE_HEIGHT, l: -1, n: Math.floor(id / FULL), w: (id % FULL) + 1 });
    try {
      return (stored && splitDataTile(stored)[id % FULL]) ?? null;
    } catch {
      return null;
    }
  }

  /** Adds a tile's records to the outage index, if there is one; past the bound, drops it (read again when needed). */
  private index(n: number, records: readonly Buffer[]): void {
    if (!this.bySubject) return;
    remember(this.bySubject, n, records);
    this.indexed.add(n);
    if (this.indexed.size > (this.c.indexedTiles ?? INDEXED_TILES)) [this.loaded, this.bySubject] = [null, null];
  }

  private async load(): Promise<Map<number, number | number[]>> {
    const index = new Map<number, number | number[]>();
    // Tiles fetched while the stored ones are read are added too (twice is harmless).
    this.bySubject = index;
    // This load's own set: a load dropped meanwhile (past the bound) and started again counts into its own.
    const indexed = new Set<number>();
    this.indexed = indexed;
    const prefix = this.c.store.prefix;
    const tiles: Array<{ key: string; n: number }> = [];
    for (const key of [
      ...(await this.c.store.storage.list(`${prefix}tile/${TILE_HEIGHT}/data/`)),
      ...(await this.c.store.storage.list(`${prefix}partial/${TILE_HEIGHT}/data/`)),
    ]) {
      try {
        tiles.push({ key, n: parseTilePath(key.slice(prefix.length).replace(/^partial\//, 'tile/')).n });
      } catch {
        // not a tile godepot wrote
      }
    }
    // The newest first (the end of the log: the module versions released last), as many as the bound allows; a
    // tile stored both full and partial (a partial not yet deleted) is read once, full (listed first; sort is stable).
    const bound = this.c.indexedTiles ?? INDEXED_TILES;
    const newest: typeof tiles = [];
    for (const t of tiles.sort((a, b) => b.n - a.n)) {
      if (indexed.size >= bound) break;
      if (indexed.has(t.n)) continue;
      indexed.add(t.n);
      newest.push(t);
    }
    // Sixteen reads at a time: an object store answers each in milliseconds, and the lookup waiting is in an outage.
    const reads = new Limiter(16, newest.length);
    await Promise.all(newest.map(({ key, n }) => reads.run(() => this.readStoredTile(index, key, n))));
    return index;
  }

  private async readStoredTile(index: Map<number, number | number[]>, key: string, n: number): Promise<void> {
    const stored = await this.c.store.storage.get(key);
    try {
      if (stored) remember(index, n, splitDataTile(stored));
    } catch (err) {
      // Verified when it was kept: this is damage in storage. The other tiles still answer.
      this.c.log.warn({ db: this.c.name, key, err: (err as Error).message }, 'a stored data tile cannot be read');
    }
  }

  /** around() in the background: a failure is counted, and logged once until indexing works again. */
  async aroundReported(id: number, signal: AbortSignal): Promise<void> {
    try {
      await this.around(id, signal);
      if (this.failures > 0)
        this.c.log[this.c.level?.('info') ?? 'info'](
          { db: this.c.name, failures: this.failures },
          'data tiles are fetched again',
        );
      this.failures = 0;
    } catch (err) {
      if (signal.aborted) return;
      this.c.failed?.(this.c.name);
      if (this.failures++ === 0)
        this.c.log[this.c.level?.('warn') ?? 'warn'](
          { db: this.c.name, err: (err as Error).message },
          `checksum database ${this.c.name}: no data tile around record ${id} (${(err as Error).message}). Every module is still verified by its own lookup; what is lost is answering lookups of that record's neighbours from the tile while the database is down. Nothing to do unless the database's own host should be reachable from here (${this.c.laterFailures ?? 'further failures are counted in godepot_sumdb_data_tile_failures_total, not logged'})`,
        );
    }
  }

  /**
   * The data tiles holding records ids, each fetched and indexed unless held (around()), INDEXING_WIDTH at a
   * time: how many tiles that is, how many could not be had, and the first failure.
   */
  async aroundAll(
    ids: Iterable<number>,
    signal?: AbortSignal,
  ): Promise<{ tiles: number; missing: number; error?: string }> {
    const byTile = new Map<number, number>();
    for (const id of ids) byTile.set(Math.floor(id / FULL), id);
    const width = new Limiter(INDEXING_WIDTH, byTile.size);
    let missing = 0;
    let error: string | undefined;
    await Promise.all(
      [...byTile.values()].map((id) =>
        width
          .run(() => this.around(id, signal), signal)
          .catch((err: unknown) => {
            if (signal?.aborted) return;
            missing++;
            error ??= (err as Error).message;
          }),
      ),
    );
    return { tiles: byTile.size, missing, ...(error === undefined ? {} : { error }) };
  }

  /** Background: fetch and index the data tile holding record id (unless already held at the current width). */
  async around(id: number, signal?: AbortSignal): Promise<void> {
    const head = this.c.tree.head;
    if (!head || this.c.offline) return;
    const n = Math.floor(id / FULL);
    const w = Math.min(FULL, head.tree.n - n * FULL);
    if ((this.recent.get(n)?.records.length ?? 0) >= w || (await this.readHeld(n, w))) return;
    // Once across the processes sharing the storage: the others read the tile the holder stored.
    await fetchOnceAcross(this.c.leases, `${this.c.store.prefix}data/${n}/${w}`, signal ?? NEVER, {
      held: async () => ((await this.readHeld(n, w)) ? { value: undefined } : null),
      fetch: async (s) => ({ value: undefined, stored: Promise.resolve((await this.fetch(n, head, s)).stored) }),
      failure: () => ({ kind: 'failed' }),
      sharedError: () => null,
    });
  }

  /** Whether data tile n is stored at least w records wide; if so, its records are kept near (and indexed). */
  private async readHeld(n: number, w: number): Promise<boolean> {
    const t: Tile = { h: TILE_HEIGHT, l: -1, n, w };
    const stored = await this.c.store.readTile(t);
    let records: Buffer[];
    try {
      records = stored ? splitDataTile(stored) : [];
    } catch (err) {
      await this.dropDamaged(t, `the stored ${tilePath(t)} does not split into records: ${(err as Error).message}`);
      return false;
    }
    if (records.length < w) return false;
    this.keepRecent(n, records);
    // Stored by another process after this one read every stored tile into the index: added now.
    this.index(n, records);
    return true;
  }
}

/** Files the records of data tile n under their subjects (a record that names no valid subject is skipped). */
function remember(index: Map<number, number | number[]>, n: number, records: readonly Buffer[]): void {
  records.forEach((text, i) => {
    const ref = recordSubject(text.toString('utf8'));
    if (!ref) return;
    const id = n * FULL + i;
    const key = subjectHash(ref.path, ref.version);
    const have = index.get(key);
    if (have === undefined) index.set(key, id);
    else if (typeof have === 'number') {
      if (have !== id) index.set(key, [have, id]);
    } else if (!have.includes(id)) have.push(id);
  });
}

function subjectHash(path: string, version: string): number {
  return crc32(`${path}@${version}`) & 0x3fffffff;
}
