// The I/O seam of the tree code: everything that needs stored hashes asks a
// HashReader, which may be local storage, a test array or the authenticating
// tile reader.
import { HashReaderError } from './errors.js';
import { HASH_SIZE, type Hash } from './hash.js';

/**
 * Reads hashes by stored-hash index (see storedHashIndex). Must resolve to
 * exactly one 32-byte hash per index, in the order of `indexes`, or reject.
 * Callers in this package always ask for indexes in increasing order.
 */
export interface HashReader {
  readHashes(indexes: readonly number[]): Promise<Hash[]>;
}

/** Calls reader.readHashes and enforces its contract. */
export async function readHashesExactly(reader: HashReader, indexes: readonly number[]): Promise<Hash[]> {
  const hashes = await reader.readHashes(indexes);
  if (hashes.length !== indexes.length) throw new HashReaderError(indexes.length, hashes.length);
  for (const h of hashes) {
    if (h.length !== HASH_SIZE) {
      throw new HashReaderError(indexes.length, hashes.length, `tlog: ReadHashes returned a ${h.length}-byte hash`);
    }
  }
  return hashes;
}
