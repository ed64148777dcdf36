// Shared helpers for the tlog tests: the vector file, an in-memory log built
// with storedHashes, tile readers over fixed tile maps, and a seeded PRNG.
import { readFileSync } from 'node:fs';
import { vectorPath } from '../../support/txtar.js';
import {
  parseTilePath,
  readTileData,
  storedHashes,
  tilePath,
  treeHash,
  type Hash,
  type HashReader,
  type Tile,
  type TileReader,
} from '../../../src/sumdb/tlog/index.js';
import { prng } from '../../support/prng.js';
export { prng };

export interface TreeVector {
  n: number;
  hash_b64: string;
  note_text?: string;
  signed_note: string;
}
export interface RecordProofVector {
  tree_size: number;
  record_id: number;
  proof_b64: string[];
}
export interface TreeProofVector {
  new_size: number;
  old_size: number;
  proof_b64: string[];
}
export interface TileRequestVector {
  H?: number;
  tree_size: number;
  record_id: number;
  tiles_in_request_order: string[];
}
export interface Vectors {
  note: {
    keyHash_rule: string;
    keys: { skey?: string; vkey: string }[];
    signed_examples: { msg?: string; verifiers?: string[]; expect?: string; sigs?: string[]; unverified?: string[] }[];
    bad_vkeys: string[];
  };
  tlog: Record<string, unknown> & {
    ParseTree_bad: string[];
    ParseTree_good_with_trailing_junk: string[];
    FormatRecord_bad_texts: string[];
    ParseRecord: { in: string; id: number; text: string; rest: string }[];
    ParseRecord_bad: string[];
    tilePaths: { path: string; tile: [number, number, number, number] | null }[];
    'NewTiles(10, old, new) counts': [number, number, number][];
    'StoredHashIndex(level,n)': [number, number, number][];
  };
  testlog: {
    name: string;
    vkey: string;
    skey: string;
    records: { id: number; path: string; version: string; text: string; record_hash_b64: string }[];
    trees: TreeVector[];
    lookups: { url_path: string; record_id: number; signed_tree_size: number; body: string; body_at_latest: string }[];
    tiles: Record<string, string>;
    data_tiles: Record<string, string>;
    proofs: { record: RecordProofVector[]; tree: TreeProofVector[] };
    client_tile_requests: TileRequestVector[];
  };
  fork: {
    timelineB_records: { id: number; text: string }[];
    timelineB_trees: TreeVector[];
    older_note: string;
    newer_note: string;
    expected_security_error_message: string;
    timelineB_tiles_h2: Record<string, string>;
  };
  biglog_h8: {
    record_hash_b64_first_3: string[];
    record_hash_b64_last: string;
    trees: TreeVector[];
    tiles_at_600: Record<string, string>;
    partial_tiles_at_other_sizes: Record<string, string>;
    data_tile_at_600_sample: Record<string, string>;
    client_tile_requests: TileRequestVector[];
    client_tile_requests_treehash_consistency: { old: number; new: number; tiles_in_request_order: string[] }[];
    proofs: { record: RecordProofVector[]; tree: TreeProofVector[] };
  };
}

export function loadVectors(): Vectors {
  return JSON.parse(readFileSync(vectorPath('sumdb-tlog-note-vectors.json'), 'utf8')) as Vectors;
}

export const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

/** A log in memory: the stored-hash array, appended to with storedHashes. */
export class MemoryLog implements HashReader {
  readonly hashes: Hash[] = [];
  readonly texts: Buffer[] = [];
  reads = 0;

  get size(): number {
    return this.texts.length;
  }

  async readHashes(indexes: readonly number[]): Promise<Hash[]> {
    this.reads++;
    return indexes.map((i) => {
      const h = this.hashes[i];
      if (h === undefined) throw new Error(`hash ${i} not stored`);
      return h;
    });
  }

  async append(text: Uint8Array): Promise<void> {
    this.hashes.push(...(await storedHashes(this.size, text, this)));
    this.texts.push(Buffer.from(text));
  }

  static async of(texts: readonly (string | Uint8Array)[]): Promise<MemoryLog> {
    const log = new MemoryLog();
    for (const t of texts) await log.append(typeof t === 'string' ? Buffer.from(t) : t);
    return log;
  }

  async tree(n = this.size): Promise<{ n: number; hash: Hash }> {
    return { n, hash: await treeHash(n, this) };
  }
}

/**
 * A TileReader serving tiles from a fixed map of path → data; records every
 * readTiles request and every saveTiles call. Partial tiles missing from the
 * map are cut from the full tile, as the go command's client does.
 */
export class MapTileReader implements TileReader {
  readonly requests: string[][] = [];
  readonly saved: string[] = [];

  constructor(
    private readonly h: number,
    private readonly tiles: Map<string, Buffer>,
  ) {}

  static fromBase64(h: number, tiles: Record<string, string>): MapTileReader {
    return new MapTileReader(h, new Map(Object.entries(tiles).map(([p, d]) => [p, b64(d)])));
  }

  height(): number {
    return this.h;
  }

  async readTiles(tiles: readonly Tile[]): Promise<Buffer[]> {
    this.requests.push(tiles.map(tilePath));
    return tiles.map((t) => {
      const exact = this.tiles.get(tilePath(t));
      if (exact) return Buffer.from(exact);
      const full = this.tiles.get(tilePath({ ...t, w: 2 ** t.h }));
      if (full) return Buffer.from(full.subarray(0, t.w * 32));
      throw new Error(`no tile ${tilePath(t)}`);
    });
  }

  saveTiles(tiles: readonly Tile[]): void {
    this.saved.push(...tiles.map(tilePath));
  }
}

/** A TileReader computing tiles from a HashReader, optionally altering them. */
export class ComputedTileReader implements TileReader {
  readonly requests: string[][] = [];
  readonly saved: string[] = [];

  constructor(
    private readonly h: number,
    private readonly source: HashReader,
    private readonly alter?: (t: Tile, data: Buffer) => Buffer,
  ) {}

  height(): number {
    return this.h;
  }

  async readTiles(tiles: readonly Tile[]): Promise<Buffer[]> {
    this.requests.push(tiles.map(tilePath));
    const out: Buffer[] = [];
    for (const t of tiles) {
      const data = await readTileData(t, this.source);
      out.push(this.alter ? this.alter(t, data) : data);
    }
    return out;
  }

  saveTiles(tiles: readonly Tile[]): void {
    this.saved.push(...tiles.map(tilePath));
  }
}

export function tileOf(path: string): Tile {
  return parseTilePath(path);
}

/** A random integer in [lo, hi], for hi - lo up to 2^53. */
export function randomInt(rand: () => number, lo: number, hi: number): number {
  const span = hi - lo + 1;
  const hiPart = Math.floor(rand() * 2 ** 21) * 2 ** 32 + Math.floor(rand() * 2 ** 32);
  return lo + (hiPart % span);
}

/** xs[i], or a thrown error when it is missing (instead of a type assertion). */
export function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i}`);
  return x;
}
