// The synthetic 600-record log of the vectors ("biglog_h8"), tiled with
// height 8 as sum.golang.org is.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newSigner, newVerifier, openNote, signNote, Verifiers } from '../../../src/sumdb/note/index.js';
import {
  checkRecord,
  checkTree,
  formatTree,
  hashToString,
  newTiles,
  parseTilePath,
  parseTree,
  proveRecord,
  proveTree,
  readTileData,
  storedHashIndex,
  tileHashReader,
  tilePath,
  treeHash,
} from '../../../src/sumdb/tlog/index.js';
import { b64, loadVectors, MapTileReader, MemoryLog } from './support.js';

const v = loadVectors();
const big = v.biglog_h8;
const sha = (s: string): string => createHash('sha256').update(s).digest('base64');
const recordText = (i: number): string => {
  const p = `example.com/mod${i}`;
  const ver = `v1.0.${i}`;
  return `${p} ${ver} h1:${sha(`zip${i}`)}\n${p} ${ver}/go.mod h1:${sha(`mod${i}`)}\n`;
};
const log = await MemoryLog.of([...Array(600).keys()].map(recordText));
const signer = newSigner(v.testlog.skey);
const verifiers = new Verifiers(newVerifier(v.testlog.vkey));
const treeAt = async (n: number): Promise<{ n: number; hash: Buffer }> => ({ n, hash: await treeHash(n, log) });
const allTiles = { ...big.partial_tiles_at_other_sizes, ...big.tiles_at_600 };

describe('biglog_h8', () => {
  it('record texts follow record_text_format', () => {
    expect(log.hashes[0]?.toString('base64')).toBe(big.record_hash_b64_first_3[0]);
    expect(
      big.record_hash_b64_first_3.map((_, i) => hashToString(log.hashes[storedHashIndex(0, i)] ?? Buffer.alloc(0))),
    ).toEqual(big.record_hash_b64_first_3);
    expect(hashToString(log.hashes[storedHashIndex(0, 599)] ?? Buffer.alloc(0))).toBe(big.record_hash_b64_last);
  });

  it.each(big.trees)('tree of size $n and its signed note', async (t) => {
    expect(hashToString(await treeHash(t.n, log))).toBe(t.hash_b64);
    const text = formatTree({ n: t.n, hash: b64(t.hash_b64) });
    expect(signNote({ text }, signer).toString()).toBe(t.signed_note);
    expect(parseTree(openNote(Buffer.from(t.signed_note), verifiers).text).n).toBe(t.n);
  });

  it('tiles_at_600 is NewTiles(8, 0, 600), byte for byte', async () => {
    expect(newTiles(8, 0, 600).map(tilePath).sort()).toEqual(Object.keys(big.tiles_at_600).sort());
    for (const [path, data] of Object.entries(big.tiles_at_600)) {
      expect((await readTileData(parseTilePath(path), log)).toString('base64'), path).toBe(data);
    }
  });

  it.each(Object.entries(big.partial_tiles_at_other_sizes))('partial tile %s', async (path, data) => {
    expect((await readTileData(parseTilePath(path), log)).toString('base64')).toBe(data);
  });

  it.each(Object.entries(big.data_tile_at_600_sample))('data tile %s', (path, data) => {
    const t = parseTilePath(path);
    const first = t.n * 2 ** t.h;
    const texts = log.texts.slice(first, first + t.w).map((x) => x.toString() + '\n');
    expect(texts.join('')).toBe(data);
  });

  it.each(big.client_tile_requests)('client reads record $record_id in tree $tree_size', async (c) => {
    const tr = MapTileReader.fromBase64(8, allTiles);
    const [h] = await tileHashReader(await treeAt(c.tree_size), tr).readHashes([storedHashIndex(0, c.record_id)]);
    expect(h?.equals(log.hashes[storedHashIndex(0, c.record_id)] ?? Buffer.alloc(0))).toBe(true);
    expect(tr.requests).toEqual([c.tiles_in_request_order]);
  });

  it.each(big.client_tile_requests_treehash_consistency)('client checks tree $old against tree $new', async (c) => {
    const tr = MapTileReader.fromBase64(8, allTiles);
    const h = await treeHash(c.old, tileHashReader(await treeAt(c.new), tr));
    expect(h.equals((await treeAt(c.old)).hash)).toBe(true);
    expect(tr.requests).toEqual([c.tiles_in_request_order]);
  });

  it.each(big.proofs.record)('record proof $record_id in $tree_size', async (p) => {
    const proof = await proveRecord(p.tree_size, p.record_id, log);
    expect(proof.map(hashToString)).toEqual(p.proof_b64);
    const leaf = log.hashes[storedHashIndex(0, p.record_id)] ?? Buffer.alloc(0);
    checkRecord(proof, p.tree_size, (await treeAt(p.tree_size)).hash, p.record_id, leaf);
  });

  it.each(big.proofs.tree)('tree proof $old_size in $new_size', async (p) => {
    const proof = await proveTree(p.new_size, p.old_size, log);
    expect(proof.map(hashToString)).toEqual(p.proof_b64);
    checkTree(proof, p.new_size, (await treeAt(p.new_size)).hash, p.old_size, (await treeAt(p.old_size)).hash);
  });

  it('proofs computed through the tile reader equal those from storage', async () => {
    const reader = tileHashReader(await treeAt(600), MapTileReader.fromBase64(8, allTiles));
    for (const p of big.proofs.tree) {
      expect((await proveTree(p.new_size, p.old_size, reader)).map(hashToString)).toEqual(p.proof_b64);
    }
  });
});
