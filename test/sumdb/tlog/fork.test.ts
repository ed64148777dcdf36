// golang/mod TestClientFork: a client whose latest tree is timeline B at
// size 6 sees a note for timeline A at size 5.
import { describe, expect, it } from 'vitest';
import { newVerifier, openNote, Verifiers } from '../../../src/sumdb/note/index.js';
import {
  emptyTreeHash,
  findFork,
  formatSecurityError,
  hashToString,
  parseTilePath,
  parseTree,
  readTileData,
  tileHashReader,
  treeHash,
} from '../../../src/sumdb/tlog/index.js';
import { b64, loadVectors, MapTileReader, MemoryLog } from './support.js';

const v = loadVectors();
const fork = v.fork;
const verifiers = new Verifiers(newVerifier(v.testlog.vkey));
const tree = (note: string): { n: number; hash: Buffer } => parseTree(openNote(Buffer.from(note), verifiers).text);

describe('fork detection', () => {
  it('timeline B rebuilds to its trees and tiles', async () => {
    const logB = await MemoryLog.of(fork.timelineB_records.map((r) => r.text));
    for (const t of fork.timelineB_trees) expect(hashToString(await treeHash(t.n, logB))).toBe(t.hash_b64);
    for (const [path, data] of Object.entries(fork.timelineB_tiles_h2)) {
      expect((await readTileData(parseTilePath(path), logB)).toString('base64')).toBe(data);
    }
  });

  it('the two notes verify and name trees 5 (timeline A) and 6 (timeline B)', () => {
    const older = tree(fork.older_note);
    const newer = tree(fork.newer_note);
    expect(older.n).toBe(5);
    expect(hashToString(older.hash)).toBe('nWzN20+pwMt62p7jbv1/NlN95ePTlHijabv5zO/s36w=');
    expect(newer.n).toBe(6);
    expect(hashToString(newer.hash)).toBe(fork.timelineB_trees[5]?.hash_b64);
  });

  it('finds the fork and reports it exactly as the go command does', async () => {
    const older = tree(fork.older_note);
    const newer = tree(fork.newer_note);
    const tr = MapTileReader.fromBase64(2, fork.timelineB_tiles_h2);
    const proof = await findFork(older, newer, tileHashReader(newer, tr));
    expect(proof).not.toBeNull();
    if (proof === null) return;
    expect(hashToString(proof.h)).toBe('T7i+H/8ER4nXOiw4Bj0koZOkGjkxoNvlI34GpvhHhQg=');
    expect(proof.internalError).toBeUndefined();
    const message = formatSecurityError(Buffer.from(fork.older_note), Buffer.from(fork.newer_note), proof);
    expect(message).toBe(fork.expected_security_error_message);
  });

  it('finds no fork between two trees of one timeline', async () => {
    const newer = tree(fork.newer_note);
    const sameTimeline = { n: 5, hash: b64(fork.timelineB_trees[4]?.hash_b64 ?? '') };
    const tr = MapTileReader.fromBase64(2, fork.timelineB_tiles_h2);
    expect(await findFork(sameTimeline, newer, tileHashReader(newer, tr))).toBeNull();
  });

  it('takes a tree of size 0 as a prefix of every tree, whether signed with Go\'s zero hash or SHA-256("")', async () => {
    const newer = tree(fork.newer_note);
    const tr = MapTileReader.fromBase64(2, fork.timelineB_tiles_h2);
    for (const hash of [Buffer.alloc(32), emptyTreeHash()])
      expect(await findFork({ n: 0, hash }, newer, tileHashReader(newer, tr))).toBeNull();
  });

  it('reports an internal error the way Go does when no proof can be built', () => {
    const message = formatSecurityError(Buffer.from('a\n'), Buffer.from('b\n'), {
      h: b64('T7i+H/8ER4nXOiw4Bj0koZOkGjkxoNvlI34GpvhHhQg='),
      treeProof: [],
      internalError: 'generated inconsistent proof',
    });
    expect(
      message.endsWith(
        'proof of misbehavior:\n\tT7i+H/8ER4nXOiw4Bj0koZOkGjkxoNvlI34GpvhHhQg=\tinternal error: generated inconsistent proof\n',
      ),
    ).toBe(true);
    expect(
      message.startsWith(
        'SECURITY ERROR\ngo.sum database server misbehavior detected!\n\nold database:\n\ta\n\t\nnew database:\n\tb\n\t\n',
      ),
    ).toBe(true);
  });
});
