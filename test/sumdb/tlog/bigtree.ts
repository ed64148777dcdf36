// A consistent stored-hash source for trees of any size (up to 2^52 records)
// without storing them: record p's text is the decimal number of trailing
// zero bits of p (64 for p = 0). A full subtree then depends only on its
// height and on the trailing zeros of its first record, so every stored
// hash is a memoized function of (level, first-leaf zeros), and left and
// right children always differ.
import {
  nodeHash,
  recordHash,
  splitStoredHashIndex,
  type Hash,
  type HashReader,
} from '../../../src/sumdb/tlog/index.js';

export function trailingZeros(n: number): number {
  if (n === 0) return 64;
  let z = 0;
  while (n % 2 === 0) {
    n /= 2;
    z++;
  }
  return z;
}

export function bigRecordText(p: number): string {
  return String(trailingZeros(p));
}

export class BigTree implements HashReader {
  private readonly memo = new Map<string, Hash>();
  reads = 0;

  leafHash(p: number): Hash {
    return this.subtree(0, trailingZeros(p));
  }

  /** The stored hash (level, n). */
  hashAt(level: number, n: number): Hash {
    return this.subtree(level, n === 0 ? 64 : level + trailingZeros(n));
  }

  async readHashes(indexes: readonly number[]): Promise<Hash[]> {
    this.reads++;
    return indexes.map((x) => {
      const [level, n] = splitStoredHashIndex(x);
      return this.hashAt(level, n);
    });
  }

  private subtree(level: number, zeros: number): Hash {
    const key = `${level},${zeros}`;
    let h = this.memo.get(key);
    if (h === undefined) {
      h =
        level === 0
          ? recordHash(Buffer.from(String(zeros)))
          : nodeHash(this.subtree(level - 1, zeros), this.subtree(level - 1, level - 1));
      this.memo.set(key, h);
    }
    return h;
  }
}
