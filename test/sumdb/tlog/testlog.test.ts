// The golang/mod client_test.go log (vectors "testlog"), rebuilt from its
// records: every tree hash, signed note, lookup body, tile, data tile and
// proof must come out byte for byte, and a verifying client must request
// exactly the tiles the Go client requests.
import { describe, expect, it } from 'vitest';
import { newSigner, newVerifier, openNote, signNote, Verifiers } from '../../../src/sumdb/note/index.js';
import {
  checkRecord,
  checkTree,
  formatRecord,
  formatTree,
  hashToString,
  newTiles,
  parseRecord,
  parseTilePath,
  parseTree,
  proveRecord,
  proveTree,
  readTileData,
  recordHash,
  storedHashIndex,
  tileHashReader,
  tilePath,
  treeHash,
  type Hash,
} from '../../../src/sumdb/tlog/index.js';
import { b64, loadVectors, MapTileReader, MemoryLog } from './support.js';

const tl = loadVectors().testlog;
const signer = newSigner(tl.skey);
const verifiers = new Verifiers(newVerifier(tl.vkey));
const log = await MemoryLog.of(tl.records.map((r) => r.text));
const treeAt = (n: number): { n: number; hash: Hash } => {
  const t = tl.trees.find((x) => x.n === n);
  if (!t) throw new Error(`no tree ${n}`);
  return { n, hash: b64(t.hash_b64) };
};
const signedAt = (n: number): string => tl.trees.find((x) => x.n === n)?.signed_note ?? '';

describe('testlog records and trees', () => {
  it.each(tl.records)('record $id hashes to $record_hash_b64', (r) => {
    expect(hashToString(recordHash(Buffer.from(r.text)))).toBe(r.record_hash_b64);
    expect(log.texts[r.id]?.toString()).toBe(r.text);
  });

  it.each(tl.trees)('tree of size $n: hash, note text and signed note', async (t) => {
    expect(hashToString(await treeHash(t.n, log))).toBe(t.hash_b64);
    const text = formatTree({ n: t.n, hash: b64(t.hash_b64) });
    expect(text).toBe(t.note_text);
    expect(signNote({ text }, signer).toString()).toBe(t.signed_note);
    const note = openNote(Buffer.from(t.signed_note), verifiers);
    expect(note.text).toBe(text);
    expect(parseTree(note.text)).toEqual({ n: t.n, hash: b64(t.hash_b64) });
  });
});

describe('testlog lookups', () => {
  it.each(tl.lookups)('$url_path body, then and at the latest tree', (l) => {
    const text = Buffer.from(tl.records[l.record_id]?.text ?? '');
    const record = formatRecord(l.record_id, text);
    expect(Buffer.concat([record, Buffer.from(signedAt(l.signed_tree_size))]).toString()).toBe(l.body);
    expect(Buffer.concat([record, Buffer.from(signedAt(6))]).toString()).toBe(l.body_at_latest);

    const parsed = parseRecord(Buffer.from(l.body));
    expect(parsed.id).toBe(l.record_id);
    expect(parsed.text.equals(text)).toBe(true);
    expect(parseTree(openNote(parsed.rest, verifiers).text).n).toBe(l.signed_tree_size);
  });
});

describe('testlog tiles', () => {
  it.each(Object.entries(tl.tiles))('%s', async (path, data) => {
    expect((await readTileData(parseTilePath(path), log)).toString('base64')).toBe(data);
  });

  it.each(Object.entries(tl.data_tiles))('%s', (path, data) => {
    const t = parseTilePath(path);
    const first = t.n * 2 ** t.h;
    const texts = log.texts.slice(first, first + t.w).map((x) => Buffer.concat([x, Buffer.from('\n')]));
    expect(Buffer.concat(texts).toString()).toBe(data);
  });

  it.each([2, 8])('the height-%i tiles are exactly those NewTiles publishes while the log grows', (h) => {
    const published = new Set<string>();
    for (let n = 1; n <= log.size; n++) for (const t of newTiles(h, n - 1, n)) published.add(tilePath(t));
    const inVectors = Object.keys(tl.tiles).filter((p) => p.startsWith(`tile/${h}/`));
    expect([...published].sort()).toEqual(inVectors.sort());
    const dataTiles = [...published].filter((p) => p.startsWith(`tile/${h}/0/`)).map((p) => p.replace('/0/', '/data/'));
    expect(dataTiles.sort()).toEqual(
      Object.keys(tl.data_tiles)
        .filter((p) => p.startsWith(`tile/${h}/`))
        .sort(),
    );
  });
});

describe('testlog proofs', () => {
  it.each(tl.proofs.record)('record $record_id in tree $tree_size', async (p) => {
    const proof = await proveRecord(p.tree_size, p.record_id, log);
    expect(proof.map(hashToString)).toEqual(p.proof_b64);
    const leaf = recordHash(Buffer.from(tl.records[p.record_id]?.text ?? ''));
    checkRecord(proof, p.tree_size, treeAt(p.tree_size).hash, p.record_id, leaf);
  });

  it.each(tl.proofs.tree)('tree $old_size in tree $new_size', async (p) => {
    const proof = await proveTree(p.new_size, p.old_size, log);
    expect(proof.map(hashToString)).toEqual(p.proof_b64);
    checkTree(
      proof.map((x) => Buffer.from(x)),
      p.new_size,
      treeAt(p.new_size).hash,
      p.old_size,
      treeAt(p.old_size).hash,
    );
  });
});

describe('testlog client tile requests', () => {
  it.each(tl.client_tile_requests)('H=$H, size $tree_size, record $record_id', async (c) => {
    const h = c.H ?? 8;
    const tiles = Object.fromEntries(Object.entries(tl.tiles).filter(([p]) => p.startsWith(`tile/${h}/`)));
    const tr = MapTileReader.fromBase64(h, tiles);
    const reader = tileHashReader(treeAt(c.tree_size), tr);
    const [got] = await reader.readHashes([storedHashIndex(0, c.record_id)]);
    expect(got?.equals(recordHash(Buffer.from(tl.records[c.record_id]?.text ?? '')))).toBe(true);
    expect(tr.requests).toEqual([c.tiles_in_request_order]);
    expect(tr.saved).toEqual(c.tiles_in_request_order);
  });
});
