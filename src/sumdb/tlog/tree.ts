// Building and hashing the log's Merkle tree through a HashReader.
// Index arithmetic lives in indexes.ts and proofs in proof.ts; both are
// re-exported here so callers import the tree API from one place.
import { TlogInternalError } from './errors.js';
import { emptyTreeHash, nodeHash, recordHash, type Hash } from './hash.js';
import { HashCursor, storedHashIndex, subTreeHash, subTreeIndex, trailingZeros, shiftRight } from './indexes.js';
import { readHashesExactly, type HashReader } from './reader.js';

export type { HashReader } from './reader.js';
export { storedHashIndex, splitStoredHashIndex, storedHashCount, subTreeIndex } from './indexes.js';
export { proveRecord, checkRecord, proveTree, checkTree, type RecordProof, type TreeProof } from './proof.js';

/**
 * The hashes to append to storage when adding record n with the given data,
 * to be stored starting at storedHashIndex(0, n): the record hash, then one
 * hash per subtree that record n completes. Reads up to log2(n) earlier hashes.
 */
export function storedHashes(n: number, data: Uint8Array, reader: HashReader): Promise<Hash[]> {
  return storedHashesForRecordHash(n, recordHash(data), reader);
}

/** Like storedHashes, given recordHash(data) instead of data. */
export async function storedHashesForRecordHash(n: number, h: Hash, reader: HashReader): Promise<Hash[]> {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`tlog: invalid record index ${n}`);
  // Each trailing 1 bit of n completes a subtree and consumes the hash of
  // its left sibling, which was stored earlier.
  const m = trailingZeros(n + 1);
  const indexes = new Array<number>(m);
  for (let i = 0; i < m; i++) {
    // Ascending order; n >> i is always odd here.
    indexes[m - 1 - i] = storedHashIndex(i, shiftRight(n, i) - 1);
  }
  const old = await readHashesExactly(reader, indexes);
  const hashes: Hash[] = [h];
  let top = h;
  for (let i = 0; i < m; i++) {
    const left = old[m - 1 - i];
    if (left === undefined) throw new TlogInternalError('bad math in StoredHashes');
    top = nodeHash(left, top);
    hashes.push(top);
  }
  return hashes;
}

/**
 * The root hash of the tree of n records, from at most 1 + log2(n) stored
 * hashes read in a single readHashes call. treeHash(0) is emptyTreeHash()
 * (see there for how this differs from golang.org/x/mod).
 */
export async function treeHash(n: number, reader: HashReader): Promise<Hash> {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`tlog: invalid tree size ${n}`);
  if (n === 0) return emptyTreeHash();
  const indexes = subTreeIndex(0, n);
  const cursor = new HashCursor(await readHashesExactly(reader, indexes));
  const hash = subTreeHash(0, n, cursor);
  if (cursor.remaining !== 0) throw new TlogInternalError('bad index math in TreeHash');
  return hash;
}
