// What the mirror keeps, under sumdb/<name>/ in storage. Only verified data
// is ever written here, and nothing beyond the stored tree head: records and
// tiles land after the head they were verified under (a process that reads
// them after a restart, or beside us, finds a head that covers them).
//   latest                       the verified signed tree head (note bytes)
//   inconsistent                 JSON evidence of a refused (forked) history
//   lookup/<escpath>@<escver>    "<id>\n<record text>" of a verified record
//   tile/8/<L>/<NNN>             a verified full hash tile (never changes)
//   tile/8/data/<NNN>            a verified full data tile
//   partial/8/<L|data>/<NNN>     the widest verified partial tile seen
//   exported                     tree sizes of the heads `godepot export` carried (newest last)
import { escapePath, escapeVersion } from '../module/index.js';
import { parseTree, tilePath, type Tile } from './tlog/index.js';
import type { Storage } from '../storage/index.js';

export const TILE_HEIGHT = 8;
const FULL = 1 << TILE_HEIGHT;

export interface StoredRecord {
  readonly id: number;
  /** Record text: go.sum lines, each ending in '\n'. */
  readonly text: Buffer;
}

/** Hash tiles kept in memory (at most 8 KB each): the tree's right edge is read by every lookup's proof. */
const RECENT_TILES = 256;
/** Writes of the verified tree head that may each find another node's head stored since the look before it. */
const MAX_HEAD_SWAPS = 5;

export class SumdbStore {
  readonly prefix: string;
  /** Verified hash tiles by level/number, the widest copy seen, least recently used first. */
  private readonly recent = new Map<string, Buffer>();

  /**
   * Writes behind the answer (keepRecord, keepTile, keepLatest) that have not
   * landed yet. Until they do, what they write is answered from memory:
   * records from `pendingRecords`, tiles from `recent`, the head by the tree.
   */
  private readonly writes = new Set<Promise<boolean>>();
  private readonly pendingRecords = new Map<
    string,
    { readonly rec: StoredRecord; readonly landed: Promise<boolean> }
  >();
  /** The last write of each tile (by level/index): the next write of the same tile starts after it. */
  private readonly tileWrites = new Map<string, Promise<void>>();
  /** The last tree-head write: the next one (and any record's or tile's) starts after it. */
  private latestWrites: Promise<unknown> = Promise.resolve();
  /** The newest tree head kept, and whether it is in storage yet. */
  private newest: { readonly note: Buffer; readonly n: number; landed: boolean } | null = null;

  constructor(
    readonly storage: Storage,
    name: string,
    /** A write behind the answer failed: what it was ("record", "tile", "tree head"); it is fetched and proven again. */
    private readonly writeFailed: (what: string, err: Error) => void = () => undefined,
    /** The size of the tree a stored head signs, or null when it does not verify (default: read without checking the signature). */
    private readonly storedTreeSize: (note: Buffer) => number | null = unsignedTreeSize,
  ) {
    this.prefix = `sumdb/${name}/`;
  }

  /** Writes behind the answer under way. */
  get pendingWrites(): number {
    return this.writes.size;
  }

  /** Resolves once the writes under way have landed or failed. */
  async writesSettled(): Promise<void> {
    await Promise.allSettled([...this.writes]);
  }

  /** Tracks write; resolves once it has landed (true) or failed (false: reported through writeFailed, not thrown). */
  private behind(what: string, write: Promise<void>): Promise<boolean> {
    const p = write.then(
      () => true,
      (err: unknown) => {
        this.writeFailed(what, err as Error);
        return false;
      },
    );
    this.writes.add(p);
    void p.finally(() => this.writes.delete(p));
    return p;
  }

  /**
   * Stores a verified tree head of n records behind the caller. Heads are
   * written in the order they were verified (each extends the one before),
   * so the last to land is the newest; a head whose write failed is written
   * again before the next record or tile (afterHead).
   */
  keepLatest(note: Buffer, n: number): void {
    this.newest = { note, n, landed: false };
    this.latestWrites = this.behind(
      'tree head',
      this.latestWrites.then(() => this.writeNewest()),
    );
  }

  /**
   * Writes the newest head kept unless it is in storage already, or storage
   * holds a larger tree (another node sharing the storage verified further:
   * the stored head is the cluster's durable truth and never moves back).
   */
  private async writeNewest(): Promise<void> {
    const head = this.newest;
    if (!head || head.landed) return;
    // A swap from what was read: a node whose write is late (a stalled link, a paused process) must not
    // replace a larger head another node stored since it looked.
    for (let tries = 1; ; tries++) {
      const stored = await this.storage.get(this.latestKey());
      const replace = !stored || (!stored.equals(head.note) && (this.storedTreeSize(stored) ?? -1) <= head.n);
      if (!replace || (await this.storage.swap(this.latestKey(), stored, head.note))) break;
      if (tries === MAX_HEAD_SWAPS)
        throw new Error(`the stored tree head changed under each of ${tries} writes of the verified one`);
    }
    head.landed = true;
  }

  /** Runs write once the newest head kept is in storage, writing it again first if its write failed. */
  private afterHead(write: () => Promise<void>): Promise<void> {
    if (!this.newest || this.newest.landed) return write();
    const landed = this.latestWrites.then(() => this.writeNewest());
    this.latestWrites = landed.catch(() => undefined);
    return landed.then(write);
  }

  /**
   * Stores a verified record behind the caller, after its head (afterHead);
   * readRecord answers it from memory meanwhile. Resolves once the write has
   * landed (true) or failed (false; the failure is reported, not thrown).
   */
  keepRecord(path: string, version: string, rec: StoredRecord): Promise<boolean> {
    const key = this.lookupKey(path, version);
    const landed = this.behind(
      'record',
      this.afterHead(() => this.writeRecord(path, version, rec)),
    ).finally(() => {
      if (this.pendingRecords.get(key)?.rec === rec) this.pendingRecords.delete(key);
    });
    this.pendingRecords.set(key, { rec, landed });
    return landed;
  }

  /**
   * writeTile behind the caller, after its head (afterHead): a hash tile is
   * answered from memory at once (readTile). Resolves once the write has
   * landed (true) or failed (false; the failure is reported, not thrown).
   */
  keepTile(t: Tile, data: Buffer, width: number): Promise<boolean> {
    if (t.l >= 0) this.remember(t, data);
    return this.behind(
      'tile',
      this.afterHead(() => this.oneAtATime(t, () => this.writeTile(t, data, width))),
    );
  }

  /**
   * Runs the writes of one tile one after another: writeTile keeps the widest
   * copy by looking first, and two writes of the same tile at once (a growing
   * tree verified twice in a row) could otherwise leave the narrower one.
   */
  private oneAtATime(t: Tile, write: () => Promise<void>): Promise<void> {
    const key = tileKey(t);
    const next = (this.tileWrites.get(key) ?? Promise.resolve()).then(write, write);
    this.tileWrites.set(key, next);
    const done = (): void => {
      if (this.tileWrites.get(key) === next) this.tileWrites.delete(key);
    };
    next.then(done, done);
    return next;
  }

  latestKey(): string {
    return this.prefix + 'latest';
  }

  inconsistentKey(): string {
    return this.prefix + 'inconsistent';
  }

  lookupKey(path: string, version: string): string {
    return `${this.prefix}lookup/${escapePath(path)}@${escapeVersion(version)}`;
  }

  /** Storage key of the full version of t (tile/8/L/NNN). */
  fullKey(t: Tile): string {
    return this.prefix + tilePath({ ...t, w: FULL });
  }

  /** Storage key of the widest partial version of t. */
  partialKey(t: Tile): string {
    return this.prefix + 'partial' + tilePath({ ...t, w: FULL }).slice('tile'.length);
  }

  async readRecord(path: string, version: string): Promise<StoredRecord | null> {
    return (await this.heldRecord(path, version))?.record ?? null;
  }

  /**
   * readRecord, saying for a record kept but not yet written when its write
   * lands (true) or fails (false): only then is it in storage for others.
   */
  async heldRecord(
    path: string,
    version: string,
  ): Promise<{ readonly record: StoredRecord; readonly landed?: Promise<boolean> } | null> {
    const key = this.lookupKey(path, version);
    const pending = this.pendingRecords.get(key);
    if (pending) return { record: pending.rec, landed: pending.landed };
    const b = await this.storage.get(key);
    if (!b) return null;
    const nl = b.indexOf(0x0a);
    const id = Number(b.subarray(0, nl).toString('ascii'));
    if (nl <= 0 || !Number.isSafeInteger(id)) return null;
    return { record: { id, text: b.subarray(nl + 1) } };
  }

  /** Removes a stored record (found damaged): the next lookup asks the database again. */
  async deleteRecord(path: string, version: string): Promise<void> {
    await this.storage.delete(this.lookupKey(path, version));
  }

  private async writeRecord(path: string, version: string, rec: StoredRecord): Promise<void> {
    await this.storage.put(this.lookupKey(path, version), Buffer.concat([Buffer.from(`${rec.id}\n`), rec.text]));
  }

  /**
   * Bytes of tile t (exactly its width's worth for hash tiles) from a stored
   * full or wide-enough partial copy, or null. For data tiles the whole
   * stored copy is returned with its record count; the caller cuts it.
   */
  async readTile(t: Tile): Promise<Buffer | null> {
    const want = t.w * 32;
    const known = t.l < 0 ? undefined : this.recent.get(tileKey(t));
    if (known && known.length >= want) {
      this.remember(t, known);
      return known.subarray(0, want);
    }
    const full = await this.storage.get(this.fullKey(t));
    if (full) return t.l < 0 ? full : this.remember(t, full).subarray(0, want);
    const part = await this.storage.get(this.partialKey(t));
    if (!part) return null;
    if (t.l < 0) return part;
    return part.length >= want ? this.remember(t, part).subarray(0, want) : null;
  }

  /** Keeps a verified tile: full tiles once, partial ones only when wider than what is kept. */
  private async writeTile(t: Tile, data: Buffer, width: number): Promise<void> {
    if (width === FULL) {
      if (!(await this.storage.stat(this.fullKey(t)))) await this.storage.put(this.fullKey(t), data);
      await this.storage.delete(this.partialKey(t));
      return;
    }
    if (await this.storage.stat(this.fullKey(t))) return;
    const have = await this.storage.stat(this.partialKey(t));
    if (have && have.size >= data.length) return;
    await this.storage.put(this.partialKey(t), data);
  }

  /**
   * Writes verified hash-tile bytes over a stored copy found damaged: in
   * place, never removing first (a crash in between loses nothing that
   * was good). A full copy whose prefix agrees is kept; one that does not
   * is replaced by these bytes (a narrower copy: it widens again later).
   */
  async replaceTile(t: Tile, data: Buffer): Promise<void> {
    // After any write of this tile under way here (keepTile), and in memory these bytes, not the damaged ones.
    await this.oneAtATime(t, async () => {
      this.recent.delete(tileKey(t));
      if (t.w === FULL) {
        await this.storage.put(this.fullKey(t), data);
        await this.storage.delete(this.partialKey(t));
      } else {
        const agrees = async (): Promise<boolean | null> => {
          const full = await this.storage.get(this.fullKey(t));
          return full ? full.subarray(0, data.length).equals(data) : null;
        };
        if ((await agrees()) !== true) {
          await this.storage.put(this.partialKey(t), data);
          // Only a full copy that still disagrees goes (another process may have written a good one meanwhile).
          if ((await agrees()) === false) await this.storage.delete(this.fullKey(t));
        }
      }
      // A read meanwhile may have put the damaged copy back in memory: these bytes replace it.
      this.recent.delete(tileKey(t));
      if (t.l >= 0) this.remember(t, data);
    });
  }

  /** Forgets every stored copy of t (one damaged in storage), so that it is fetched and verified again. */
  async dropTile(t: Tile): Promise<void> {
    this.recent.delete(tileKey(t));
    await this.storage.delete(this.fullKey(t));
    await this.storage.delete(this.partialKey(t));
  }

  /** Notes verified hash-tile bytes as the most recently used, unless a wider copy is known; returns the widest. */
  private remember(t: Tile, data: Buffer): Buffer {
    const key = tileKey(t);
    const known = this.recent.get(key);
    const widest = known && known.length > data.length ? known : data;
    this.recent.delete(key);
    this.recent.set(key, widest);
    if (this.recent.size > RECENT_TILES) this.recent.delete(this.recent.keys().next().value as string);
    return widest;
  }
}

/** A tile's identity whatever its width (level/number): the key of `recent` and of the writes of one tile. */
function tileKey(t: Tile): string {
  return `${t.l}/${t.n}`;
}

/** The tree size a stored head's text names, without checking its signature; null when it does not parse. */
function unsignedTreeSize(note: Buffer): number | null {
  try {
    return parseTree(note).n;
  } catch {
    return null;
  }
}
