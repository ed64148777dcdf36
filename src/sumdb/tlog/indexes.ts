// Index arithmetic of the tree: where each hash is stored (Crosby–Wallach
// order) and which stored hashes make up a subtree. Tree sizes and indexes
// are JS numbers; everything here uses multiplication and Math.floor instead
// of 32-bit bit operators, so it is exact up to Number.MAX_SAFE_INTEGER.
import { TlogInternalError } from './errors.js';
import { nodeHash, type Hash } from './hash.js';

/** floor(n / 2^e) for n >= 0 (Go's n >> e). */
export function shiftRight(n: number, e: number): number {
  return Math.floor(n / 2 ** e);
}

/** The number of trailing zero bits of n > 0. */
export function trailingZeros(n: number): number {
  let z = 0;
  while (n > 0 && n % 2 === 0) {
    n /= 2;
    z++;
  }
  return z;
}

/** k = the largest power of two smaller than n (1 when n <= 2), and log2(k). */
export function maxpow2(n: number): { k: number; level: number } {
  let level = 0;
  while (2 ** (level + 1) < n) level++;
  return { k: 2 ** level, level };
}

function checkCount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`tlog: ${what} must be a non-negative safe integer, got ${n}`);
}

/**
 * Maps tree coordinates (level, n) to the dense storage order in which hashes
 * are appended: level L's n'th hash is stored right after level L-1's
 * (2n+1)'th hash.
 */
export function storedHashIndex(level: number, n: number): number {
  checkCount('level', level);
  checkCount('n', n);
  let m = n;
  for (let l = level; l > 0; l--) m = 2 * m + 1;
  let i = 0;
  for (; m > 0; m = Math.floor(m / 2)) i += m;
  const index = i + level;
  if (!Number.isSafeInteger(index)) throw new RangeError(`tlog: stored hash index for (${level}, ${n}) is too large`);
  return index;
}

/** The inverse of storedHashIndex. */
export function splitStoredHashIndex(index: number): [level: number, n: number] {
  checkCount('index', index);
  // storedHashIndex(0, n) < 2n, so the record that wrote index is in
  // [index/2, index/2 + log2(index)].
  let n = Math.floor(index / 2);
  let indexN = storedHashIndex(0, n);
  if (indexN > index) throw new TlogInternalError('bad math in SplitStoredHashIndex');
  for (;;) {
    // Record n adds 1 + trailingZeros(n+1) hashes.
    const x = indexN + 1 + trailingZeros(n + 1);
    if (x > index) break;
    n++;
    indexN = x;
  }
  const level = index - indexN;
  return [level, shiftRight(n, level)];
}

/** The number of stored hashes in a tree with n records. */
export function storedHashCount(n: number): number {
  checkCount('n', n);
  if (n === 0) return 0;
  let numHash = storedHashIndex(0, n - 1) + 1;
  for (let i = n - 1; i % 2 === 1; i = Math.floor(i / 2)) numHash++;
  return numHash;
}

/**
 * Appends to `need` the stored-hash indexes whose hashes, folded right to
 * left, give the hash of the subtree of records [lo, hi): one complete
 * subtree per set bit of hi - lo, largest first.
 */
export function subTreeIndex(lo: number, hi: number, need: number[] = []): number[] {
  while (lo < hi) {
    const { k, level } = maxpow2(hi - lo + 1);
    if (lo % k !== 0) throw new TlogInternalError('bad math in subTreeIndex');
    need.push(storedHashIndex(level, lo / k));
    lo += k;
  }
  return need;
}

/** Consumes hashes in order; the proofs and tree hashes share one cursor. */
export class HashCursor {
  private pos = 0;
  constructor(private readonly hashes: readonly Hash[]) {}

  take(count: number): Hash[] {
    if (this.pos + count > this.hashes.length) throw new TlogInternalError('bad index math: too few hashes');
    const out = this.hashes.slice(this.pos, this.pos + count);
    this.pos += count;
    return out;
  }

  get remaining(): number {
    return this.hashes.length - this.pos;
  }
}

/** Folds [h0, h1, ..., hk] into nodeHash(h0, nodeHash(h1, ... hk)). */
function foldRight(parts: readonly Hash[]): Hash {
  let h: Hash | undefined;
  for (let i = parts.length - 1; i >= 0; i--) {
    const left = parts[i];
    if (left === undefined) break;
    h = h === undefined ? left : nodeHash(left, h);
  }
  if (h === undefined) throw new TlogInternalError('bad math: nothing to fold');
  return h;
}

/**
 * The hash of the subtree of records [lo, hi), from the hashes that
 * subTreeIndex(lo, hi) named, taken from the cursor.
 */
export function subTreeHash(lo: number, hi: number, cursor: HashCursor): Hash {
  let numTree = 0;
  while (lo < hi) {
    const { k } = maxpow2(hi - lo + 1);
    if (lo % k !== 0) throw new TlogInternalError('bad math in subTreeHash');
    numTree++;
    lo += k;
  }
  if (numTree === 0) throw new TlogInternalError('bad math in subTreeHash: empty subtree');
  return foldRight(cursor.take(numTree));
}
