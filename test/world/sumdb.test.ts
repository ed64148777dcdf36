// The fake checksum database over HTTP: endpoints, status rules, tiles that
// hash to the signed tree (checked by an independent RFC 6962 computation
// here), and each content fault.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidSignatureError, newVerifier, openNote, Verifiers } from '../../src/sumdb/note/index.js';
import { parseRecord, parseTree } from '../../src/sumdb/tlog/index.js';
import { faults } from './faults.js';
import { FakeSumDb, recordText, type SumRecordInput } from './sumdb.js';
import { TEST_KEY } from './sumkeys.js';

function fakeRecord(i: number): SumRecordInput {
  const h = (s: string): string => `h1:${createHash('sha256').update(s).digest('base64')}`;
  return { path: `example.com/m${i}`, version: 'v1.0.0', h1: h(`zip${i}`), goModH1: h(`mod${i}`) };
}

const sha = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
const leaf = (text: string): Buffer => sha(Buffer.from([0]), Buffer.from(text));
/** RFC 6962 Merkle tree hash, written independently of src/sumdb/tlog. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return leaves[0] ?? sha();
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

async function get(url: string): Promise<{ status: number; body: Buffer; type: string }> {
  const res = await fetch(url);
  return {
    status: res.status,
    body: Buffer.from(await res.arrayBuffer()),
    type: res.headers.get('content-type') ?? '',
  };
}

const verifiers = new Verifiers(newVerifier(TEST_KEY.vkey));

describe('FakeSumDb', () => {
  const records = Array.from({ length: 300 }, (_, i) => fakeRecord(i));
  let db: FakeSumDb;

  beforeAll(async () => {
    db = await FakeSumDb.start({ records });
  });
  afterAll(async () => {
    await db.close();
  });

  it('signs /latest with the test key over the RFC 6962 tree of its records', async () => {
    const r = await get(`${db.url}/latest`);
    expect(r.status).toBe(200);
    const note = openNote(r.body, verifiers);
    const tree = parseTree(note.text);
    expect(tree.n).toBe(300);
    expect(tree.hash.equals(mth(records.map((m) => leaf(recordText(m)))))).toBe(true);
    expect(db.gosumdb).toBe(`${TEST_KEY.vkey} ${db.url}`);
  });

  it('answers lookups with the record and the signed tree; Go status rules otherwise', async () => {
    const r = await get(`${db.url}/lookup/example.com/m7@v1.0.0`);
    expect(r.status).toBe(200);
    const rec = parseRecord(r.body);
    expect(rec.id).toBe(7);
    expect(rec.text.toString()).toBe(recordText(fakeRecord(7)));
    expect(parseTree(openNote(rec.rest, verifiers).text).n).toBe(300);
    expect((await get(`${db.url}/lookup/example.com/nope@v1.0.0`)).status).toBe(404);
    expect((await get(`${db.url}/lookup/example.com/m7@latest`)).status).toBe(400);
    expect((await get(`${db.url}/lookup/example.com/Bad@v1.0.0`)).status).toBe(500);
    expect((await get(`${db.url}/nothing`)).status).toBe(404);
  });

  it('serves hash tiles of any width up to the tree, data tiles, and 404 beyond', async () => {
    const full = await get(`${db.url}/tile/8/0/000`);
    expect(full.status).toBe(200);
    expect(full.body.length).toBe(256 * 32);
    const leaves = records.map((m) => leaf(recordText(m)));
    expect(full.body.subarray(0, 32).equals(leaves[0] ?? Buffer.alloc(0))).toBe(true);
    // Level-1 tile 0 has one hash: the root of the first 256 records.
    const l1 = await get(`${db.url}/tile/8/1/000.p/1`);
    expect(l1.body.equals(mth(leaves.slice(0, 256)))).toBe(true);
    const partial = await get(`${db.url}/tile/8/0/001.p/44`);
    expect(partial.body.equals(Buffer.concat(leaves.slice(256, 300)))).toBe(true);
    expect((await get(`${db.url}/tile/8/0/001.p/45`)).status).toBe(404);
    expect((await get(`${db.url}/tile/8/0/001`)).status).toBe(404);
    expect((await get(`${db.url}/tile/8/1/000`)).status).toBe(404);
    expect((await get(`${db.url}/tile/8/0/1`)).status).toBe(400);
    const data = await get(`${db.url}/tile/8/data/000.p/2`);
    expect(data.body.toString()).toBe(`${recordText(fakeRecord(0))}\n${recordText(fakeRecord(1))}\n`);
  });

  it('alterRecord, alterTile and badSignature change exactly what they say', async () => {
    const undoRecord = db.setFault(faults.alterRecord(), '/lookup/', { times: 1 });
    const altered = parseRecord((await get(`${db.url}/lookup/example.com/m3@v1.0.0`)).body);
    expect(altered.id).toBe(3);
    expect(altered.text.toString()).not.toBe(recordText(fakeRecord(3)));
    expect(parseRecord((await get(`${db.url}/lookup/example.com/m3@v1.0.0`)).body).text.toString()).toBe(
      recordText(fakeRecord(3)),
    );
    undoRecord();

    const good = (await get(`${db.url}/tile/8/0/000`)).body;
    db.setFault(faults.alterTile(), '/tile/');
    const bad = (await get(`${db.url}/tile/8/0/000`)).body;
    expect(bad.length).toBe(good.length);
    expect(bad.equals(good)).toBe(false);
    db.clearFaults();

    db.setFault(faults.badSignature());
    const forged = (await get(`${db.url}/latest`)).body;
    expect(() => openNote(forged, verifiers)).toThrow(InvalidSignatureError);
    expect(forged.toString()).toContain('— localhost.localdev/sumdb AAAMZ');
    db.clearFaults();
  });

  it('fork keeps a prefix, then diverges into a larger tree under the same key', async () => {
    const forked = await FakeSumDb.start({ records: records.slice(0, 10) });
    try {
      const before = parseTree(openNote((await get(`${forked.url}/latest`)).body, verifiers).text);
      await forked.fork({ keep: 4 });
      const after = parseTree(openNote((await get(`${forked.url}/latest`)).body, verifiers).text);
      expect(after.n).toBe(11);
      expect((await forked.log.treeHash(4)).equals(mth(records.slice(0, 4).map((m) => leaf(recordText(m)))))).toBe(
        true,
      );
      expect((await forked.log.treeHash(10)).equals(before.hash)).toBe(false);
      // Old records are still found, at new ids.
      expect(parseRecord((await get(`${forked.url}/lookup/example.com/m5@v1.0.0`)).body).id).toBe(6);
    } finally {
      await forked.close();
    }
  });

  it('mounts under a prefix, answers supported, and can add records on first lookup', async () => {
    const mounted = await FakeSumDb.start({ key: 'generate', name: 'sum.example', prefix: '/sumdb/sum.example' });
    try {
      expect(mounted.name).toBe('sum.example');
      expect(mounted.url).toMatch(/\/sumdb\/sum\.example$/);
      expect((await get(`${mounted.url}/supported`)).status).toBe(200);
      expect((await get(`${mounted.url.replace('/sumdb/sum.example', '')}/latest`)).status).toBe(404);
      const m = fakeRecord(42);
      mounted.autoAddFrom({ get: (path, version) => (path === m.path && version === m.version ? m : undefined) });
      const r = await get(`${mounted.url}/lookup/example.com/m42@v1.0.0`);
      expect(r.status).toBe(200);
      const rec = parseRecord(r.body);
      expect(rec.id).toBe(0);
      expect(parseTree(openNote(rec.rest, new Verifiers(newVerifier(mounted.vkey))).text).n).toBe(1);
      expect((await get(`${mounted.url}/lookup/example.com/m43@v1.0.0`)).status).toBe(404);
    } finally {
      await mounted.close();
    }
  });
});
