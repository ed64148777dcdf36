// golang.org/x/mod/sumdb/tlog in TypeScript: the tamper-evident log of the
// checksum database. Pure: all I/O goes through HashReader and TileReader.
export * from './errors.js';
export {
  HASH_SIZE,
  recordHash,
  nodeHash,
  emptyTreeHash,
  hashToString,
  parseHash,
  hashEqual,
  type Hash,
} from './hash.js';
export * from './tree.js';
export * from './tile.js';
export { formatTree, parseTree, formatRecord, parseRecord, isValidRecordText, type Tree } from './note.js';
export { findFork, formatSecurityError, type ForkProof } from './fork.js';
