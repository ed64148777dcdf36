// Which tile holds which stored hash, how a tile's hashes rebuild the
// subtree above them, and which tiles a server publishes as the log grows.
import { createHash } from 'node:crypto';
import { TileError, TlogInternalError } from './errors.js';
import { HASH_SIZE, nodeHash, type Hash } from './hash.js';
import { shiftRight, splitStoredHashIndex, storedHashIndex } from './indexes.js';
import { readHashesExactly, type HashReader } from './reader.js';
import { tilePath, type Tile } from './tile-path.js';

/** The value tileParent returns when a tile has no parent in the tree. */
export const NO_TILE: Tile = Object.freeze({ h: 0, l: 0, n: 0, w: 0 });

function checkHeight(h: number): void {
  if (!Number.isInteger(h) || h < 1 || h > 30) throw new RangeError(`tlog: invalid tile height ${h}`);
}

/**
 * The tile of height h and least width that stores the given hash index,
 * plus the byte range [start, end) of tile data whose tileHash is that hash
 * (a level above the tile's bottom row is the hash of 2^k bottom hashes).
 */
export function locateIndex(h: number, index: number): { tile: Tile; start: number; end: number } {
  checkHeight(h);
  let [level, n] = splitStoredHashIndex(index);
  const l = Math.floor(level / h);
  level -= l * h; // level within the tile
  const tn = shiftRight(n * 2 ** level, h);
  n -= (tn * 2 ** h) / 2 ** level; // n within the tile, at that level
  const w = (n + 1) * 2 ** level;
  const start = n * 2 ** level * HASH_SIZE;
  const end = (n + 1) * 2 ** level * HASH_SIZE;
  return { tile: { h, l, n: tn, w }, start, end };
}

/** The tile of height h and least width storing the given hash index. */
export function tileForIndex(h: number, index: number): Tile {
  return locateIndex(h, index).tile;
}

/**
 * The hash at the given stored index, read from tile data of t, where t is
 * tileForIndex(t.h, index) or a wider version of it.
 */
export function hashFromTile(t: Tile, data: Uint8Array, index: number): Hash {
  if (t.h < 1 || t.h > 30 || t.l < 0 || t.l >= 64 || t.w < 1 || t.w > 2 ** t.h) {
    throw new TileError(`invalid tile ${tilePath(t)}`);
  }
  if (data.length < t.w * HASH_SIZE) {
    throw new TileError(`data len ${data.length} too short for tile ${tilePath(t)}`);
  }
  const { tile: t1, start, end } = locateIndex(t.h, index);
  if (t.l !== t1.l || t.n !== t1.n || t.w < t1.w) {
    throw new TileError(`index ${index} is in ${tilePath(t1)} not ${tilePath(t)}`);
  }
  return tileHash(data.subarray(start, end));
}

/** Subtree hashes computed lately, by the SHA-256 of the hashes they were computed from (see tileHash). */
const known = new Map<string, Hash>();
/** A few hundred KB of keys and hashes at most. */
const KNOWN_MAX = 2048;
/** Fewer hashes than this are hashed, not looked up. */
const KNOWN_MIN_BYTES = 16 * HASH_SIZE;

/**
 * The subtree hash of the 2^k hashes in data. Every read of a tile proves it
 * again (tileHashReader: a stored tile too), and for a full tile that is 255
 * node hashes, ~0.5 ms of this process's thread; the subtree hash is a pure
 * function of data, so one computed lately is looked up by the SHA-256 of
 * data itself (~6 µs). Data that differs in any byte has another key and is
 * hashed afresh: what is proven stays exactly what is computed.
 */
export function tileHash(data: Uint8Array): Hash {
  if (data.length < KNOWN_MIN_BYTES) return subtreeHash(data);
  const key = createHash('sha256').update(data).digest('base64');
  const hit = known.get(key);
  if (hit) return Buffer.from(hit);
  const h = subtreeHash(data);
  if (known.size >= KNOWN_MAX) known.delete(known.keys().next().value as string);
  known.set(key, Buffer.from(h));
  return h;
}

function subtreeHash(data: Uint8Array): Hash {
  if (data.length === 0) throw new TlogInternalError('bad math in tileHash');
  if (data.length === HASH_SIZE) return Buffer.from(data);
  const half = data.length / 2;
  return nodeHash(subtreeHash(data.subarray(0, half)), subtreeHash(data.subarray(half)));
}

/**
 * The tiles of height h to publish when the tree grows from oldTreeSize to
 * newTreeSize: every newly completed full tile and, per level whose width
 * changed, the new rightmost partial tile. Nothing for an unchanged tree.
 */
export function newTiles(h: number, oldTreeSize: number, newTreeSize: number): Tile[] {
  checkHeight(h);
  const full = 2 ** h;
  const tiles: Tile[] = [];
  for (let level = 0; shiftRight(newTreeSize, h * level) > 0; level++) {
    const oldN = shiftRight(oldTreeSize, h * level);
    const newN = shiftRight(newTreeSize, h * level);
    if (oldN === newN) continue;
    for (let n = shiftRight(oldN, h); n < shiftRight(newN, h); n++) tiles.push({ h, l: level, n, w: full });
    const n = shiftRight(newN, h);
    const w = newN - n * full;
    if (w > 0) tiles.push({ h, l: level, n, w });
  }
  return tiles;
}

/** The tile's data (t.w hashes of level t.h*t.l), read from a HashReader. */
export async function readTileData(t: Tile, reader: HashReader): Promise<Buffer> {
  const size = t.w === 0 ? 2 ** t.h : t.w;
  const start = t.n * 2 ** t.h;
  const indexes: number[] = [];
  for (let i = 0; i < size; i++) indexes.push(storedHashIndex(t.h * t.l, start + i));
  return Buffer.concat(await readHashesExactly(reader, indexes));
}

/**
 * t's k'th ancestor among the tiles of a tree of size n (k = 0 gives t at
 * the width the tree has), or NO_TILE when the tree has no such tile.
 */
export function tileParent(t: Tile, k: number, n: number): Tile {
  const l = t.l + k;
  const tn = shiftRight(t.n, k * t.h);
  const full = 2 ** t.h;
  const max = shiftRight(n, l * t.h);
  const first = tn * full;
  if (first + full >= max) {
    if (first >= max) return NO_TILE;
    return { h: t.h, l, n: tn, w: max - first };
  }
  return { h: t.h, l, n: tn, w: full };
}
