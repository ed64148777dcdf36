// Hashes of the checksum-database Merkle tree (RFC 6962 §2.1).
import { createHash } from 'node:crypto';
import { decodeStdBase64 } from './base64.js';
import { MalformedHashError } from './errors.js';

/** A SHA-256 hash identifying a record or a (sub)tree; always HASH_SIZE bytes. */
export type Hash = Buffer;

export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** The content hash of a record: SHA-256(0x00 || data). */
export function recordHash(data: Uint8Array): Hash {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** The hash of an interior node: SHA-256(0x01 || left || right). */
export function nodeHash(left: Hash, right: Hash): Hash {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

const EMPTY_TREE_HASH = createHash('sha256').digest();

/**
 * The hash of the tree with no records, SHA-256("") as RFC 6962 defines it
 * (47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=). treeHash(0) returns this.
 * golang.org/x/mod's TreeHash(0) returns an all-zero hash instead, and Go's
 * server signs its empty tree with that; findFork takes a tree of size 0 as
 * a prefix of every tree, whichever of the two it names.
 */
export function emptyTreeHash(): Hash {
  return Buffer.from(EMPTY_TREE_HASH);
}

/** Standard base64 with padding: 44 characters. */
export function hashToString(h: Hash): string {
  return h.toString('base64');
}

/** Parses the base64 form of a hash; throws MalformedHashError ('malformed hash'). */
export function parseHash(s: string): Hash {
  const data = decodeStdBase64(s);
  if (data === null || data.length !== HASH_SIZE) throw new MalformedHashError(s);
  return data;
}

/** Reports whether a and b are the same hash. */
export function hashEqual(a: Hash, b: Hash): boolean {
  return a.length === b.length && a.equals(b);
}
