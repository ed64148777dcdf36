// Record (audit-path) and tree (consistency) proofs, RFC 6962 §2.1.1–2.1.2,
// compatible with golang.org/x/mod/sumdb/tlog and Certificate Transparency.
import { InvalidInputsError, ProofError, TlogInternalError } from './errors.js';
import { HASH_SIZE, hashEqual, nodeHash, type Hash } from './hash.js';
import { HashCursor, maxpow2, subTreeHash, subTreeIndex } from './indexes.js';
import { readHashesExactly, type HashReader } from './reader.js';

/** Proof that a tree contains a record ("Merkle audit path"). */
export type RecordProof = Hash[];

/** Proof that a tree contains an earlier tree as a prefix ("Merkle consistency proof"). */
export type TreeProof = Hash[];

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** The proof that the tree of size t contains the record with index n. */
export async function proveRecord(t: number, n: number, reader: HashReader): Promise<RecordProof> {
  if (!isCount(t) || !isCount(n) || n >= t) throw new InvalidInputsError('ProveRecord', t, n);
  const indexes = leafProofIndex(0, t, n, []);
  if (indexes.length === 0) return [];
  const cursor = new HashCursor(await readHashesExactly(reader, indexes));
  const proof = leafProof(0, t, n, cursor);
  if (cursor.remaining !== 0) throw new TlogInternalError('bad index math in ProveRecord');
  return proof;
}

/** Throws ProofError unless proof shows that the tree (t, th) has record n with hash h. */
export function checkRecord(proof: RecordProof, t: number, th: Hash, n: number, h: Hash): void {
  if (!isCount(t) || !isCount(n) || n >= t) throw new InvalidInputsError('CheckRecord', t, n);
  if (!proof.every((p) => p.length === HASH_SIZE)) throw new ProofError();
  const th2 = runRecordProof(proof, proof.length, 0, t, n, h);
  if (!hashEqual(th2, th)) throw new ProofError();
}

/** The proof that the tree of size t contains as a prefix the tree of size n. */
export async function proveTree(t: number, n: number, reader: HashReader): Promise<TreeProof> {
  if (!isCount(t) || !isCount(n) || t < 1 || n < 1 || n > t) throw new InvalidInputsError('ProveTree', t, n);
  const indexes = treeProofIndex(0, t, n, []);
  if (indexes.length === 0) return [];
  const cursor = new HashCursor(await readHashesExactly(reader, indexes));
  const proof = treeProof(0, t, n, cursor);
  if (cursor.remaining !== 0) throw new TlogInternalError('bad index math in ProveTree');
  return proof;
}

/** Throws ProofError unless proof shows that the tree (t, th) extends the tree (n, h). */
export function checkTree(proof: TreeProof, t: number, th: Hash, n: number, h: Hash): void {
  if (!isCount(t) || !isCount(n) || t < 1 || n < 1 || n > t) throw new InvalidInputsError('CheckTree', t, n);
  if (!proof.every((p) => p.length === HASH_SIZE)) throw new ProofError();
  const [h2, th2] = runTreeProof(proof, proof.length, 0, t, n, h);
  if (!hashEqual(th2, th) || !hashEqual(h2, h)) throw new ProofError();
}

// Indexes needed to prove that leaf n is in the subtree [lo, hi).
function leafProofIndex(lo: number, hi: number, n: number, need: number[]): number[] {
  if (!(lo <= n && n < hi)) throw new TlogInternalError('bad math in leafProofIndex');
  if (lo + 1 === hi) return need;
  const { k } = maxpow2(hi - lo);
  if (n < lo + k) {
    leafProofIndex(lo, lo + k, n, need);
    subTreeIndex(lo + k, hi, need);
  } else {
    subTreeIndex(lo, lo + k, need);
    leafProofIndex(lo + k, hi, n, need);
  }
  return need;
}

// The hashes of the paths not taken on the way down to leaf n, deepest first.
function leafProof(lo: number, hi: number, n: number, cursor: HashCursor): RecordProof {
  if (!(lo <= n && n < hi)) throw new TlogInternalError('bad math in leafProof');
  if (lo + 1 === hi) return []; // the verifier knows the leaf hash
  const { k } = maxpow2(hi - lo);
  let proof: RecordProof;
  let sibling: Hash;
  if (n < lo + k) {
    proof = leafProof(lo, lo + k, n, cursor);
    sibling = subTreeHash(lo + k, hi, cursor);
  } else {
    sibling = subTreeHash(lo, lo + k, cursor);
    proof = leafProof(lo + k, hi, n, cursor);
  }
  proof.push(sibling);
  return proof;
}

// Recomputes the hash of subtree [lo, hi) from leafHash and proof[0:end).
function runRecordProof(proof: RecordProof, end: number, lo: number, hi: number, n: number, leafHash: Hash): Hash {
  if (lo + 1 === hi) {
    if (end !== 0) throw new ProofError(); // no unnecessary hashes allowed
    return leafHash;
  }
  const sibling = proof[end - 1];
  if (sibling === undefined) throw new ProofError();
  const { k } = maxpow2(hi - lo);
  if (n < lo + k) return nodeHash(runRecordProof(proof, end - 1, lo, lo + k, n, leafHash), sibling);
  return nodeHash(sibling, runRecordProof(proof, end - 1, lo + k, hi, n, leafHash));
}

// Indexes needed for the consistency sub-proof of subtree [lo, hi) against old size n.
function treeProofIndex(lo: number, hi: number, n: number, need: number[]): number[] {
  if (!(lo < n && n <= hi)) throw new TlogInternalError('bad math in treeProofIndex');
  if (n === hi) return lo === 0 ? need : subTreeIndex(lo, hi, need);
  const { k } = maxpow2(hi - lo);
  if (n <= lo + k) {
    treeProofIndex(lo, lo + k, n, need);
    subTreeIndex(lo + k, hi, need);
  } else {
    subTreeIndex(lo, lo + k, need);
    treeProofIndex(lo + k, hi, n, need);
  }
  return need;
}

function treeProof(lo: number, hi: number, n: number, cursor: HashCursor): TreeProof {
  if (!(lo < n && n <= hi)) throw new TlogInternalError('bad math in treeProof');
  if (n === hi) {
    // At lo == 0 this subtree is exactly the old tree, whose hash the verifier has.
    return lo === 0 ? [] : [subTreeHash(lo, hi, cursor)];
  }
  const { k } = maxpow2(hi - lo);
  let proof: TreeProof;
  let sibling: Hash;
  if (n <= lo + k) {
    proof = treeProof(lo, lo + k, n, cursor);
    sibling = subTreeHash(lo + k, hi, cursor);
  } else {
    sibling = subTreeHash(lo, lo + k, cursor);
    proof = treeProof(lo + k, hi, n, cursor);
  }
  proof.push(sibling);
  return proof;
}

// Recomputes [old-tree hash, new-tree hash] of subtree [lo, hi) from proof[0:end).
function runTreeProof(proof: TreeProof, end: number, lo: number, hi: number, n: number, old: Hash): [Hash, Hash] {
  if (n === hi) {
    if (lo === 0) {
      if (end !== 0) throw new ProofError();
      return [old, old];
    }
    const only = proof[0];
    if (end !== 1 || only === undefined) throw new ProofError();
    return [only, only];
  }
  const sibling = proof[end - 1];
  if (sibling === undefined) throw new ProofError();
  const { k } = maxpow2(hi - lo);
  if (n <= lo + k) {
    const [oh, th] = runTreeProof(proof, end - 1, lo, lo + k, n, old);
    return [oh, nodeHash(th, sibling)];
  }
  const [oh, th] = runTreeProof(proof, end - 1, lo + k, hi, n, old);
  return [nodeHash(sibling, oh), nodeHash(sibling, th)];
}
