// Evidence of a forked checksum database: two signed tree heads that cannot
// both be true, reported in exactly the words of golang.org/x/mod/sumdb's
// Client.checkTrees so operators can compare reports from godepot and from
// the go command.
import { checkTree, proveTree, treeHash, type TreeProof } from './tree.js';
import { hashEqual, hashToString, type Hash } from './hash.js';
import type { Tree } from './note.js';
import type { HashReader } from './reader.js';

/**
 * The proof that newer does not extend older: h is the hash that newer's
 * (authenticated) tiles give for a tree of older.n records, which differs
 * from older.hash, and treeProof proves h is in newer.
 */
export interface ForkProof {
  readonly h: Hash;
  readonly treeProof: TreeProof;
  /** Set instead of a usable treeProof when building the proof failed. */
  readonly internalError?: string;
}

/**
 * Checks that newer extends older, reading newer's hashes through `reader`
 * (normally tileHashReader(newer, …)). Resolves to null when they are
 * consistent and to the fork proof when they are not; rejects when the
 * hashes cannot be read.
 */
export async function findFork(older: Tree, newer: Tree, reader: HashReader): Promise<ForkProof | null> {
  // The empty tree is a prefix of every tree, whatever hash it is signed with: Go's server signs
  // tlog.TreeHash(0), the all-zero hash, where RFC 6962 (and treeHash(0)) say SHA-256(""). No fork.
  if (older.n === 0) return null;
  const h = await treeHash(older.n, reader);
  if (hashEqual(h, older.hash)) return null;
  let treeProof: TreeProof;
  try {
    treeProof = await proveTree(newer.n, older.n, reader);
  } catch (err) {
    return { h, treeProof: [], internalError: err instanceof Error ? err.message : String(err) };
  }
  try {
    checkTree(treeProof, newer.n, newer.hash, older.n, h);
  } catch {
    return { h, treeProof, internalError: 'generated inconsistent proof' };
  }
  return { h, treeProof };
}

/**
 * The SECURITY ERROR report for a fork, byte for byte as the go command
 * prints it (without its 'go: ' prefix): both signed notes, indented by one
 * tab, then h and the tree proof.
 */
export function formatSecurityError(olderNote: Uint8Array, newerNote: Uint8Array, proof: ForkProof): string {
  const indent = (note: Uint8Array): string => Buffer.from(note).toString('utf8').replaceAll('\n', '\n\t');
  let out =
    'SECURITY ERROR\n' +
    'go.sum database server misbehavior detected!\n\n' +
    `old database:\n\t${indent(olderNote)}\n` +
    `new database:\n\t${indent(newerNote)}\n` +
    `proof of misbehavior:\n\t${hashToString(proof.h)}`;
  if (proof.internalError !== undefined) {
    out += `\tinternal error: ${proof.internalError}\n`;
  } else {
    for (const p of proof.treeProof) out += `\n\t${hashToString(p)}`;
  }
  return out;
}
