import { describe, expect, it } from 'vitest';
import {
  checkRecord,
  checkTree,
  InvalidInputsError,
  ProofError,
  proveRecord,
  proveTree,
  recordHash,
  splitStoredHashIndex,
  storedHashCount,
  storedHashesForRecordHash,
  storedHashIndex,
  treeHash,
  type Hash,
  type HashReader,
} from '../../../src/sumdb/tlog/index.js';
import { BigTree, bigRecordText } from './bigtree.js';
import { at, loadVectors, MemoryLog, prng, randomInt } from './support.js';

const v = loadVectors();

function flipped(proof: Hash[], k: number): Hash[] {
  return proof.map((h, i) => {
    if (i !== k) return h;
    const c = Buffer.from(h);
    c[0] = (c[0] ?? 0) ^ 1;
    return c;
  });
}

/** A reader that fails if indexes are not strictly increasing, as Go's test storage does. */
function ordered(reader: HashReader): HashReader {
  return {
    readHashes(indexes) {
      for (let i = 1; i < indexes.length; i++) {
        if ((indexes[i - 1] ?? 0) >= (indexes[i] ?? 0)) throw new Error('indexes out of order');
      }
      return reader.readHashes(indexes);
    },
  };
}

describe('stored hash indexes', () => {
  it.each(v.tlog['StoredHashIndex(level,n)'])('StoredHashIndex(%i, %i) = %i', (level, n, index) => {
    expect(storedHashIndex(level, n)).toBe(index);
    expect(splitStoredHashIndex(index)).toEqual([level, n]);
  });

  it('SplitStoredHashIndex inverts StoredHashIndex for small coordinates', () => {
    for (let l = 0; l < 10; l++) {
      for (let n = 0; n < 100; n++) expect(splitStoredHashIndex(storedHashIndex(l, n))).toEqual([l, n]);
    }
  });

  it('round-trips random coordinates up to 2^40 records, beyond 32-bit arithmetic', () => {
    const rand = prng(42);
    for (let i = 0; i < 2000; i++) {
      const level = randomInt(rand, 0, 20);
      const n = randomInt(rand, 0, 2 ** (40 - level));
      const x = storedHashIndex(level, n);
      expect(Number.isSafeInteger(x)).toBe(true);
      expect(splitStoredHashIndex(x)).toEqual([level, n]);
    }
    // Exact value near 2^40: StoredHashIndex(0, n) = 2n - popcount(n).
    const n = 2 ** 40 + 12345;
    expect(storedHashIndex(0, n)).toBe(2 * n - 7);
  });

  it('rejects coordinates that are negative, fractional or too large', () => {
    expect(() => storedHashIndex(-1, 0)).toThrow(RangeError);
    expect(() => storedHashIndex(0, 1.5)).toThrow(RangeError);
    expect(() => storedHashIndex(0, 2 ** 53)).toThrow(RangeError);
    expect(() => splitStoredHashIndex(-1)).toThrow(RangeError);
  });
});

describe('a log of 100 records (golang/mod TestTree)', async () => {
  const log = new MemoryLog();
  const trees: Hash[] = [];
  const leaves: Hash[] = [];
  for (let i = 0; i < 100; i++) {
    const data = Buffer.from(`leaf ${i}`);
    await log.append(data);
    leaves.push(recordHash(data));
    trees.push(await treeHash(i + 1, log));
  }

  it('StoredHashCount matches the hashes StoredHashes produced', async () => {
    const grow = new MemoryLog();
    for (let i = 0; i < 100; i++) {
      await grow.append(Buffer.from(`leaf ${i}`));
      expect(storedHashCount(i + 1)).toBe(grow.hashes.length);
    }
    expect(storedHashCount(0)).toBe(0);
  });

  it('every record proof checks, and fails when any proof hash is altered', async () => {
    for (let t = 1; t <= 100; t += 3) {
      const th = at(trees, t - 1);
      for (let n = 0; n < t; n++) {
        const p = await proveRecord(t, n, ordered(log));
        expect(() => checkRecord(p, t, th, n, at(leaves, n))).not.toThrow();
        for (let k = 0; k < p.length; k++) {
          expect(() => checkRecord(flipped(p, k), t, th, n, at(leaves, n))).toThrow(ProofError);
        }
        // A proof for another record or tree, or with a hash added or dropped, fails too.
        if (t > 1) {
          expect(() => checkRecord(p, t, th, (n + 1) % t, at(leaves, n))).toThrow(ProofError);
          expect(() => checkRecord(p.slice(1), t, th, n, at(leaves, n))).toThrow(ProofError);
        }
        expect(() => checkRecord([...p, th], t, th, n, at(leaves, n))).toThrow(ProofError);
      }
    }
  });

  it('every tree proof checks, and fails when any proof hash is altered', async () => {
    for (let t = 1; t <= 100; t += 7) {
      const th = at(trees, t - 1);
      for (let n = 1; n <= t; n++) {
        const p = await proveTree(t, n, ordered(log));
        const h = at(trees, n - 1);
        expect(() => checkTree(p, t, th, n, h)).not.toThrow();
        for (let k = 0; k < p.length; k++) expect(() => checkTree(flipped(p, k), t, th, n, h)).toThrow(ProofError);
        if (n < t) expect(() => checkTree(p, t, th, n, at(trees, n))).toThrow(ProofError);
        expect(() => checkTree([...p, h], t, th, n, h)).toThrow(ProofError);
      }
    }
  });

  it('rejects invalid proof inputs with Go’s messages', async () => {
    const th = at(trees, 9);
    await expect(proveRecord(10, 10, log)).rejects.toThrow('tlog: invalid inputs in ProveRecord');
    await expect(proveRecord(10, -1, log)).rejects.toThrow(InvalidInputsError);
    await expect(proveTree(10, 0, log)).rejects.toThrow('tlog: invalid inputs in ProveTree');
    await expect(proveTree(10, 11, log)).rejects.toThrow(InvalidInputsError);
    expect(() => checkRecord([], 10, th, 10, th)).toThrow('tlog: invalid inputs in CheckRecord');
    expect(() => checkTree([], 10, th, 0, th)).toThrow('tlog: invalid inputs in CheckTree');
    expect(() => checkRecord([Buffer.alloc(31)], 2, th, 0, th)).toThrow(ProofError);
  });

  it('rejects a HashReader that returns the wrong number of hashes', async () => {
    const short: HashReader = { readHashes: async (ix) => (await log.readHashes(ix)).slice(1) };
    await expect(treeHash(5, short)).rejects.toThrow(/^tlog: ReadHashes\(2 indexes\) = 1 hashes$/);
  });
});

describe('trees near 2^40 records', () => {
  const big = new BigTree();

  it('the synthetic tree agrees with a real log for the first 300 sizes', async () => {
    const texts: string[] = [];
    for (let p = 0; p < 300; p++) texts.push(bigRecordText(p));
    const log = await MemoryLog.of(texts);
    for (let n = 1; n <= 300; n++) expect((await treeHash(n, big)).equals(await treeHash(n, log))).toBe(true);
    for (let x = 0; x < log.hashes.length; x++) {
      const [level, n] = splitStoredHashIndex(x);
      expect(big.hashAt(level, n).equals(at(log.hashes, x))).toBe(true);
    }
  });

  it('proves and checks records and prefixes of a 2^40+ tree', async () => {
    const rand = prng(7);
    for (const t of [2 ** 40, 2 ** 40 + 1, 2 ** 40 + 123_456_789, 2 ** 41 - 1, 3 * 2 ** 39 + 5]) {
      const th = await treeHash(t, big);
      for (let i = 0; i < 10; i++) {
        const n = i === 0 ? t - 1 : randomInt(rand, 0, t - 1);
        const p = await proveRecord(t, n, big);
        expect(p.length).toBeGreaterThanOrEqual(1);
        expect(p.length).toBeLessThanOrEqual(42);
        checkRecord(p, t, th, n, big.leafHash(n));
        expect(() => checkRecord(p, t, th, n, big.leafHash(n + 1))).toThrow(ProofError);
        expect(() => checkRecord(flipped(p, i % p.length), t, th, n, big.leafHash(n))).toThrow(ProofError);

        const old = n + 1;
        const tp = await proveTree(t, old, big);
        const oh = await treeHash(old, big);
        checkTree(tp, t, th, old, oh);
        if (tp.length > 0) expect(() => checkTree(flipped(tp, i % tp.length), t, th, old, oh)).toThrow(ProofError);
      }
    }
  });

  it('StoredHashes for a record near 2^40 yields the hashes stored after it', async () => {
    for (const n of [2 ** 40 - 1, 2 ** 40 + 7, 2 ** 40 + 2 ** 20 - 1]) {
      const hashes = await storedHashesForRecordHash(n, big.leafHash(n), big);
      const first = storedHashIndex(0, n);
      expect(hashes.length).toBe(storedHashCount(n + 1) - first);
      const want = await big.readHashes(hashes.map((_, i) => first + i));
      hashes.forEach((h, i) => expect(h.equals(at(want, i))).toBe(true));
    }
  });
});
