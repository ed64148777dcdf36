// The fake checksum database's log: record texts, the stored-hash array the
// Merkle tree is read from, and an index path@version → record id. Appends
// are serialized, because each one reads hashes the previous one stored.
import {
  readTileData,
  storedHashes,
  storedHashIndex,
  treeHash,
  type Hash,
  type HashReader,
  type Tile,
} from '../../src/sumdb/tlog/index.js';

/** Raised by readHashes for an index the log has not stored (mapped to 404). */
export class HashNotStoredError extends Error {
  constructor(
    readonly index: number,
    readonly stored: number,
  ) {
    super(`hash ${index} not stored (log holds ${stored} hashes)`);
    this.name = 'HashNotStoredError';
  }
}

export interface LogRecord {
  /** `path@version` key, or null for records added without one (e.g. fork markers). */
  key: string | null;
  text: Buffer;
}

export class SumLog implements HashReader {
  private records: LogRecord[] = [];
  private hashes: Hash[] = [];
  private ids = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();
  private treeHashes = new Map<number, Hash>();

  get size(): number {
    return this.records.length;
  }

  /** The id of a module version's record, if the log holds one. */
  idOf(path: string, version: string): number | undefined {
    return this.ids.get(`${path}@${version}`);
  }

  record(id: number): LogRecord | undefined {
    return this.records[id];
  }

  /** A copy of all records, oldest first. */
  all(): LogRecord[] {
    return [...this.records];
  }

  async readHashes(indexes: readonly number[]): Promise<Hash[]> {
    return indexes.map((i) => {
      const h = this.hashes[i];
      if (h === undefined) throw new HashNotStoredError(i, this.hashes.length);
      return h;
    });
  }

  /**
   * Appends a record (unless key is already present: then its id is returned
   * and nothing changes). Resolves to the record id.
   */
  append(key: string | null, text: Buffer): Promise<number> {
    const run = async (): Promise<number> => {
      if (key !== null) {
        const existing = this.ids.get(key);
        if (existing !== undefined) return existing;
      }
      const id = this.records.length;
      const added = await storedHashes(id, text, this);
      this.hashes.push(...added);
      this.records.push({ key, text });
      if (key !== null) this.ids.set(key, id);
      return id;
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Replaces the whole history (fork): the log is rebuilt from these records. */
  replace(records: LogRecord[]): Promise<void> {
    const run = async (): Promise<void> => {
      this.records = [];
      this.hashes = [];
      this.ids = new Map();
      this.treeHashes = new Map();
      for (const r of records) {
        const id = this.records.length;
        this.hashes.push(...(await storedHashes(id, r.text, this)));
        this.records.push(r);
        if (r.key !== null && !this.ids.has(r.key)) this.ids.set(r.key, id);
      }
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** The root hash of the first n records (default: all). */
  async treeHash(n = this.size): Promise<Hash> {
    const cached = this.treeHashes.get(n);
    if (cached !== undefined) return cached;
    const h = await treeHash(n, this);
    this.treeHashes.set(n, h);
    return h;
  }

  /**
   * Whether the log (at its current size) has everything tile t covers: for a
   * hash tile, the W hashes at level H*L starting at N*2^H; for a data tile,
   * the W records starting at N*2^H.
   */
  covers(t: Tile): boolean {
    const first = t.n * 2 ** t.h;
    if (t.l === -1) return first + t.w <= this.size;
    const recordsPerHash = 2 ** (t.h * t.l);
    return (first + t.w) * recordsPerHash <= this.size;
  }

  /** The bytes of hash tile t (the caller checked covers(t)). */
  async tileData(t: Tile): Promise<Buffer> {
    return Buffer.from(await readTileData(t, this));
  }

  /** Data tile: each covered record's text followed by a blank line. */
  dataTile(t: Tile): Buffer {
    const first = t.n * 2 ** t.h;
    const parts: Buffer[] = [];
    for (let i = first; i < first + t.w; i++) {
      const r = this.records[i];
      if (r === undefined) throw new HashNotStoredError(storedHashIndex(0, i), this.hashes.length);
      parts.push(r.text, Buffer.from('\n'));
    }
    return Buffer.concat(parts);
  }
}
