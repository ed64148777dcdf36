// The checksum-database mirror answering /sumdb/<name>/… from verified
// storage: lookups verified and kept, tiles of every width, the tile
// requests a go client makes at its own tree size, a tree growing through
// tile boundaries with consistency checks, and a restart.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newVerifier, openNote, Verifiers } from '../../src/sumdb/note/index.js';
import {
  parseRecord,
  parseTilePath,
  parseTree,
  recordHash,
  storedHashIndex,
  tileHashReader,
  tilePath,
  type Tile,
  type TileReader,
} from '../../src/sumdb/tlog/index.js';
import { MemoryStorage, type PutOptions } from '../../src/storage/index.js';
import { SumdbStore } from '../../src/sumdb/store.js';
import { FakeSumDb, faults, recordText, TEST_KEY } from '../world/index.js';
import { GatedStorage } from '../support/gated-storage.js';
import { b64, loadVectors } from './tlog/support.js';
import {
  biglogRecord,
  fakeModules,
  growBiglog,
  RecordingRemote,
  rig as fastRig,
  text,
  type Rig,
  type RigOptions,
} from './mirror-harness.js';

/**
 * Nothing here tests how fast a failure is noticed, so the deadlines are
 * roomy: a loaded CI machine must not turn a slow answer into a failure.
 */
const rig = (urls: readonly string[], opts: RigOptions = {}): Promise<Rig> =>
  fastRig(urls, {
    ...opts,
    settings: {
      'sumdb-first-byte-timeout': '10s',
      'sumdb-idle-timeout': '10s',
      'sumdb-total-timeout': '20s',
      ...opts.settings,
    },
  });

const v = loadVectors();
const big = v.biglog_h8;
const verifiers = new Verifiers(newVerifier(TEST_KEY.vkey));
const bigTiles = new Map(
  Object.entries({ ...big.partial_tiles_at_other_sizes, ...big.tiles_at_600 }).map(([p, d]) => [p, b64(d)]),
);
const bigNote = (n: number): Buffer => {
  const t = big.trees.find((x) => x.n === n);
  if (!t) throw new Error(`no biglog tree of size ${n}`);
  return Buffer.from(t.signed_note);
};

/** The bytes of hash tile t at tree size 600, from the vectors (partial tiles are prefixes of wider ones). */
function vectorTile(t: Tile): Buffer {
  const exact = bigTiles.get(tilePath(t));
  if (exact) return exact;
  for (let w = t.w + 1; w <= 256; w++) {
    const wider = bigTiles.get(tilePath({ ...t, w }));
    if (wider) return wider.subarray(0, t.w * 32);
  }
  throw new Error(`no vector tile for ${tilePath(t)}`);
}

/** A go client's tile reader that asks the mirror, as the go command asks godepot. */
class MirrorClientReader implements TileReader {
  readonly requested: string[] = [];
  constructor(private readonly r: Rig) {}
  height(): number {
    return 8;
  }
  async readTiles(tiles: readonly Tile[]): Promise<Buffer[]> {
    this.requested.push(...tiles.map(tilePath));
    return Promise.all(tiles.map(async (t) => (await this.r.mirror.serve(tilePath(t))).body));
  }
  saveTiles(): void {}
}

/** Memory storage that notes every get, stat, put and delete as "<op> <key>". */
class CountingStorage extends MemoryStorage {
  readonly ops: string[] = [];
  override async get(key: string): Promise<Buffer | null> {
    this.ops.push(`get ${key}`);
    return super.get(key);
  }
  override async stat(key: string): ReturnType<MemoryStorage['stat']> {
    this.ops.push(`stat ${key}`);
    return super.stat(key);
  }
  override async put(key: string, data: Uint8Array, opts?: PutOptions): Promise<void> {
    this.ops.push(`put ${key}`);
    return super.put(key, data, opts);
  }
  override async delete(key: string): Promise<void> {
    this.ops.push(`delete ${key}`);
    return super.delete(key);
  }
}

describe('SumdbMirror: lookups', () => {
  const modules = fakeModules(300);
  let db: FakeSumDb;
  let r: Rig;
  let remote: RecordingRemote;

  beforeAll(async () => {
    db = await FakeSumDb.start({ records: modules });
  });
  afterEach(async () => {
    db.clearFaults();
    await r?.close();
  });
  afterAll(async () => {
    await db.close();
  });

  it('a lookup whose proof needs only tiles seen lately neither reads nor writes a hash tile in storage (on an object store each is a request)', async () => {
    const storage = new CountingStorage();
    r = await rig([db.url], { storage });
    // Records 1 and 257 lie in different data tiles; the proof of 1 fetched every hash tile the proof of 257 needs.
    const [a, b] = [modules[1], modules[257]];
    if (!a || !b) throw new Error('fixture');
    await r.mirror.lookup(a);
    await r.mirror.idle();
    storage.ops.length = 0;
    expect((await r.mirror.lookup(b)).record.id).toBe(257);
    await r.mirror.idle();
    const tiles = storage.ops.filter((o) => /\/(tile|partial)\//.test(o));
    // Only the data tile around the record is looked at (and fetched and kept); the hash tiles come from memory.
    expect(tiles.length).toBeGreaterThan(0);
    expect(tiles.filter((o) => !o.includes('/data/'))).toEqual([]);
  });

  it('answers a neighbour of a record looked up lately from its data tile, without asking the database', async () => {
    r = await rig([db.url], { wrap: (x) => (remote = new RecordingRemote(x)) });
    const [a, b] = [modules[20], modules[21]];
    if (!a || !b) throw new Error('fixture');
    await r.mirror.lookup(a);
    await r.mirror.idle(); // the data tile around record 20 is fetched in the background
    const calls = remote.calls.length;
    const near = await r.mirror.lookup(b);
    expect(near).toMatchObject({ record: { id: 21 }, cache: 'hit' });
    expect(text(near.record.text)).toBe(recordText(b));
    expect(remote.calls.length).toBe(calls);
    await r.mirror.idle();
    expect(await r.storage.get(r.mirror.store.lookupKey(b.path, b.version))).not.toBeNull();
  });

  it('verifies a record by inclusion proof, keeps it, and answers it from storage when the database hangs', async () => {
    r = await rig([db.url], { wrap: (x) => (remote = new RecordingRemote(x)) });
    const m = modules[137];
    if (!m) throw new Error('fixture');
    const a = await r.mirror.serve(`lookup/${m.path}@${m.version}`);
    expect(a.cache).toBe('miss');
    const { id, text: rec, rest } = parseRecord(a.body);
    expect(id).toBe(137);
    expect(text(rec)).toBe(recordText(m));
    expect(parseTree(openNote(rest, verifiers).text).n).toBe(300);
    // The record is written in the background (the answer does not wait for the disk).
    await r.mirror.idle();
    expect(await r.storage.get(r.mirror.store.lookupKey(m.path, m.version))).not.toBeNull();
    // The hash tiles used for the proof were kept as well (full tile 0 and the partial level-1 tile).
    expect(await r.mirror.store.readTile(parseTilePath('tile/8/0/000'))).not.toBeNull();
    expect(remote.count('/lookup/')).toBe(1);

    db.setFault(faults.hang());
    const before = remote.calls.length;
    const b = await r.mirror.serve(`lookup/${m.path}@${m.version}`);
    expect(b.cache).toBe('hit');
    expect(b.body.equals(a.body)).toBe(true);
    expect(remote.calls.length).toBe(before);
  });

  it('answers a verified lookup before its record is stored, and from memory (not the database) until it is', async () => {
    const storage = new GatedStorage((key) => key.includes('/lookup/'));
    r = await rig([db.url], {
      storage,
      wrap: (x) => (remote = new RecordingRemote(x)),
      mirror: { indexDataTiles: false },
    });
    const m = modules[42];
    if (!m) throw new Error('fixture');
    const key = r.mirror.store.lookupKey(m.path, m.version);
    const a = await r.mirror.serve(`lookup/${m.path}@${m.version}`);
    expect(a.cache).toBe('miss');
    expect(parseRecord(a.body).id).toBe(42);
    expect(storage.held).toEqual([key]);
    expect(await r.storage.get(key)).toBeNull();
    const b = await r.mirror.serve(`lookup/${m.path}@${m.version}`);
    expect(b.body.equals(a.body)).toBe(true);
    expect(remote.count('/lookup/')).toBe(1);
    storage.letThrough();
    await r.mirror.idle();
    expect(await r.storage.get(key)).not.toBeNull();
    const reopened = await r.reopen();
    db.setFault(faults.hang());
    expect((await reopened.serve(`lookup/${m.path}@${m.version}`)).body.equals(a.body)).toBe(true);
    expect(remote.count('/lookup/')).toBe(1);
    await reopened.close();
  });

  it('answers a lookup before the tiles of its proof are stored, from memory until they are; closing waits for them', async () => {
    const storage = new GatedStorage((key) => /\/(tile|partial)\/8\/\d/.test(key));
    r = await rig([db.url], {
      storage,
      wrap: (x) => (remote = new RecordingRemote(x)),
      mirror: { indexDataTiles: false },
    });
    const [a, b] = [modules[10], modules[11]];
    if (!a || !b) throw new Error('fixture');
    expect((await r.mirror.lookup(a)).record.id).toBe(10);
    expect(storage.held.length).toBeGreaterThan(0);
    for (const key of storage.held) expect(await r.storage.get(key)).toBeNull();
    const tiles = remote.count('/tile/');
    expect((await r.mirror.lookup(b)).record.id).toBe(11);
    expect(remote.count('/tile/')).toBe(tiles);
    storage.letThrough();
    await r.mirror.close();
    expect(storage.written.length).toBe(storage.held.length);
  });

  it('stores new tree heads behind the answer in the order they were verified, and a record only after the head covering it', async () => {
    const local = await FakeSumDb.start({ records: modules.slice(0, 10) });
    const storage = new GatedStorage((key) => key.endsWith('/latest'));
    r = await rig([local.url], { storage, mirror: { indexDataTiles: false } });
    try {
      const [a, b] = [modules[3], modules[15]];
      if (!a || !b) throw new Error('fixture');
      expect((await r.mirror.lookup(a)).record.id).toBe(3);
      await local.addAll(modules.slice(10, 20));
      expect((await r.mirror.lookup(b)).record.id).toBe(15);
      expect(r.mirror.tree.head?.tree.n).toBe(20);
      // The second head waits for the first to land.
      const latest = r.mirror.store.latestKey();
      expect(storage.held).toEqual([latest]);
      expect(await storage.get(latest)).toBeNull();
      expect(await storage.get(r.mirror.store.lookupKey(b.path, b.version))).toBeNull();
      storage.letThrough();
      await r.mirror.idle();
      expect(storage.written).toEqual([latest, latest]);
      const stored = await storage.get(latest);
      expect(parseTree(openNote(stored ?? Buffer.alloc(0), verifiers).text).n).toBe(20);
      expect(await storage.get(r.mirror.store.lookupKey(b.path, b.version))).not.toBeNull();
    } finally {
      await local.close();
    }
  });

  it('when a verified record cannot be stored, says so and looks it up again next time', async () => {
    const storage = new MemoryStorage();
    r = await rig([db.url], {
      storage,
      wrap: (x) => (remote = new RecordingRemote(x)),
      mirror: { indexDataTiles: false },
    });
    const m = modules[43];
    if (!m) throw new Error('fixture');
    // Tiles and the tree head first, so that only the record's write fails below.
    await r.mirror.serve(`lookup/${modules[44]?.path ?? ''}@v1.0.0`);
    await r.mirror.idle();
    storage.writeError = new Error('disk full');
    const a = await r.mirror.serve(`lookup/${m.path}@${m.version}`);
    expect(parseRecord(a.body).id).toBe(43);
    await r.mirror.idle();
    expect(r.logs.some((l) => String(l.msg).includes('could not be stored'))).toBe(true);
    storage.writeError = null;
    await r.mirror.serve(`lookup/${m.path}@${m.version}`);
    expect(remote.count(`/lookup/${m.path}@`)).toBe(2);
  });

  it('refuses a lookup path that is malformed (400) and reports an unknown version as not found', async () => {
    r = await rig([db.url]);
    await expect(r.mirror.serve('lookup/example.com/m1@latest')).rejects.toMatchObject({ kind: 'bad_request' });
    await expect(r.mirror.serve('lookup/Example.com/m1@v1.0.0')).rejects.toMatchObject({ kind: 'bad_request' });
    await expect(r.mirror.serve('lookup/example.com/nothere@v1.0.0')).rejects.toMatchObject({ kind: 'not_found' });
    expect((await r.storage.list('sumdb/')).filter((k) => k.includes('nothere'))).toEqual([]);
  });

  it('shares one database lookup among many simultaneous requests for the same version, and merges heads safely when they differ', async () => {
    r = await rig([db.url], { wrap: (x) => (remote = new RecordingRemote(x)), mirror: { indexDataTiles: false } });
    const subs = Array.from({ length: 40 }, (_, i) => `lookup/example.com/m${i % 8}@v1.0.0`);
    const answers = await Promise.all(subs.map((s) => r.mirror.serve(s)));
    answers.forEach((a, i) => expect(parseRecord(a.body).id).toBe(i % 8));
    expect(remote.count('/lookup/')).toBe(8);
    // Grow the database while lookups are in flight: every merge sees a consistent, growing tree.
    const more = fakeModules(40, 300);
    const growing = db.addAll(more);
    const later = await Promise.all(more.map((m) => r.mirror.lookup(m).catch((e: unknown) => e)));
    await growing;
    // A lookup that raced ahead of its append may be 'not found'; nothing else may fail.
    for (const x of later) if (x instanceof Error) expect(x).toMatchObject({ kind: 'not_found' });
    const ok = later.filter((x) => !(x instanceof Error)).length;
    expect(ok).toBeGreaterThan(0);
    expect(r.forks).toEqual([]);
    expect(r.mirror.tree.head?.tree.n).toBeGreaterThanOrEqual(300);
    // Every retried lookup now succeeds.
    for (const m of more) expect((await r.mirror.lookup(m)).record.text.toString()).toBe(recordText(m));
  });
});

describe('SumdbMirror: tiles (biglog_h8 vectors)', () => {
  let db: FakeSumDb;
  let r: Rig;
  let remote: RecordingRemote;

  beforeAll(async () => {
    db = await FakeSumDb.start();
    await growBiglog(db, 600);
  });
  afterEach(async () => {
    db.clearFaults();
    await r?.close();
  });
  afterAll(async () => {
    await db.close();
  });

  it('re-confirms an unchanged tree head without reading a tile (a mirror may serve no tiles at all)', async () => {
    r = await rig([db.url], {
      wrap: (x) => (remote = new RecordingRemote(x)),
      mirror: { latestTtl: 0, staleGrace: 10_000 },
    });
    await r.mirror.serve('latest');
    db.setFault(faults.status(404), '/tile/');
    for (let i = 0; i < 3; i++) expect((await r.mirror.serve('latest')).cache).toBe('revalidated');
    expect(remote.calls.map((c) => c.kind)).toEqual(['latest', 'latest', 'latest', 'latest']);
    expect(r.mirror.status().status).toBe('ok');
  });

  it('serves the database tree head byte for byte', async () => {
    r = await rig([db.url]);
    const a = await r.mirror.serve('latest');
    expect(text(a.body)).toBe(text(bigNote(600)));
    expect((await r.mirror.serve('supported')).body.length).toBe(0);
  });

  it('answers every .p/W of a partial tile as a prefix once a wider tile is verified, without asking the database', async () => {
    r = await rig([db.url], { wrap: (x) => (remote = new RecordingRemote(x)) });
    await r.mirror.serve('latest');
    const widest = ['tile/8/0/000', 'tile/8/0/001', 'tile/8/0/002.p/88', 'tile/8/1/000.p/2'];
    for (const p of widest) expect((await r.mirror.serve(p)).body.equals(vectorTile(parseTilePath(p))), p).toBe(true);
    const calls = remote.calls.length;
    for (const base of [
      { l: 0, n: 0, max: 256 },
      { l: 0, n: 1, max: 256 },
      { l: 0, n: 2, max: 88 },
      { l: 1, n: 0, max: 2 },
    ]) {
      for (let w = 1; w <= base.max; w++) {
        const t: Tile = { h: 8, l: base.l, n: base.n, w };
        const a = await r.mirror.serve(tilePath(t));
        expect(a.body.equals(vectorTile(t)), tilePath(t)).toBe(true);
        expect(a.immutable).toBe(w === 256);
      }
    }
    expect(remote.calls.length).toBe(calls);
  });

  it('answers data tiles of every width as a prefix of the verified data tile', async () => {
    r = await rig([db.url], { wrap: (x) => (remote = new RecordingRemote(x)) });
    await r.mirror.serve('latest');
    const sample = big.data_tile_at_600_sample['tile/8/data/002.p/88'];
    expect(text((await r.mirror.serve('tile/8/data/002.p/88')).body)).toBe(sample);
    const calls = remote.calls.length;
    for (let w = 1; w <= 88; w++) {
      const want = Array.from({ length: w }, (_, i) => biglogRecord(512 + i).text + '\n').join('');
      expect(text((await r.mirror.serve(`tile/8/data/002.p/${w}`)).body)).toBe(want);
    }
    expect(remote.calls.length).toBe(calls);
    const full = await r.mirror.serve('tile/8/data/001');
    expect(text(full.body)).toBe(Array.from({ length: 256 }, (_, i) => biglogRecord(256 + i).text + '\n').join(''));
    expect(full.immutable).toBe(true);
    // Every record of a verified data tile is a lookup answer now.
    db.setFault(faults.hang());
    const rec = biglogRecord(300);
    const a = await r.mirror.serve(`lookup/${rec.path}@${rec.version}`);
    expect(a.cache).toBe('hit');
    expect(parseRecord(a.body).id).toBe(300);
  });

  it("answers every tile list a go client requests (client_tile_requests), at 600 and at the client's own size", async () => {
    for (const mirrorAt of ['600', 'client'] as const) {
      for (const req of big.client_tile_requests) {
        await r?.close();
        const local = await FakeSumDb.start();
        try {
          await growBiglog(local, mirrorAt === '600' ? 600 : req.tree_size);
          r = await rig([local.url]);
          await r.mirror.serve('latest');
          const client = new MirrorClientReader(r);
          const tree = parseTree(openNote(bigNote(req.tree_size), verifiers).text);
          const [h] = await tileHashReader(tree, client).readHashes([storedHashIndex(0, req.record_id)]);
          expect(
            h?.equals(recordHash(Buffer.from(biglogRecord(req.record_id).text))),
            `${mirrorAt} ${req.tree_size}/${req.record_id}`,
          ).toBe(true);
          expect(client.requested).toEqual(req.tiles_in_request_order);
          for (const p of req.tiles_in_request_order)
            expect((await r.mirror.serve(p)).body.equals(vectorTile(parseTilePath(p))), p).toBe(true);
        } finally {
          await local.close();
        }
      }
    }
  }, 60_000);

  it('for a client ahead of godepot, refreshes its tree head to cover the tile; beyond the database it is 404', async () => {
    const local = await FakeSumDb.start();
    try {
      await growBiglog(local, 257);
      r = await rig([local.url]);
      await r.mirror.serve('latest');
      expect(r.mirror.tree.head?.tree.n).toBe(257);
      await growBiglog(local, 600);
      // The go command saw tree 600 elsewhere (in a lookup) and asks tiles at that size.
      const client = new MirrorClientReader(r);
      const tree = parseTree(openNote(bigNote(600), verifiers).text);
      const [h] = await tileHashReader(tree, client).readHashes([storedHashIndex(0, 580)]);
      expect(h?.equals(recordHash(Buffer.from(biglogRecord(580).text)))).toBe(true);
      expect(r.mirror.tree.head?.tree.n).toBe(600);
      await expect(r.mirror.serve('tile/8/0/002.p/89')).rejects.toMatchObject({ kind: 'not_found' });
      await expect(r.mirror.serve('tile/8/data/003.p/1')).rejects.toMatchObject({ kind: 'not_found' });
      await expect(r.mirror.serve('tile/8/2/000.p/1')).rejects.toMatchObject({ kind: 'not_found' });
      // Tiles of another height are not mirrored; bad syntax is 400.
      await expect(r.mirror.serve('tile/2/0/000.p/1')).rejects.toMatchObject({ kind: 'not_found' });
      await expect(r.mirror.serve('tile/8/0/x')).rejects.toMatchObject({ kind: 'bad_request' });
    } finally {
      await local.close();
    }
  });
});

describe('SumdbMirror: a growing tree', () => {
  const sizes = big.trees.map((t) => t.n);

  it('follows the database through 1, 2, 3, 255, 256, 257, 511, 512, 513, 600 with a consistency proof each time', async () => {
    expect(sizes).toEqual([1, 2, 3, 255, 256, 257, 511, 512, 513, 600]);
    const db = await FakeSumDb.start();
    let remote: RecordingRemote | undefined;
    const r = await rig([db.url], {
      mirror: { latestTtl: 0, staleGrace: 10_000 },
      wrap: (x) => (remote = new RecordingRemote(x)),
    });
    try {
      for (const n of sizes) {
        await growBiglog(db, n);
        const before = remote?.calls.length ?? 0;
        const a = await r.mirror.serve('latest');
        expect(text(a.body), `size ${n}`).toBe(text(bigNote(n)));
        // /latest plus the few tiles of the consistency proof: never the whole tree.
        expect((remote?.calls.length ?? 0) - before).toBeLessThanOrEqual(6);
        const rec = biglogRecord(n - 1);
        const l = await r.mirror.serve(`lookup/${rec.path}@${rec.version}`);
        expect(parseRecord(l.body).id).toBe(n - 1);
      }
      expect(r.advanced).toEqual(sizes);
      expect(r.forks).toEqual([]);
      // Every record of the final tree answers from storage and verified tiles.
      db.setFault(faults.hang());
      for (const id of [0, 255, 256, 511, 512, 599]) {
        const rec = biglogRecord(id);
        const l = await r.mirror.lookup(rec);
        expect(l.record.id).toBe(id);
      }
    } finally {
      await r.close();
      await db.close();
    }
  }, 60_000);

  it('jumps across many tiles at once (levels 0, 1 and 2) with bounded work', async () => {
    const db = await FakeSumDb.start();
    let remote: RecordingRemote | undefined;
    const r = await rig([db.url], {
      mirror: { latestTtl: 0, staleGrace: 10_000, indexDataTiles: false },
      wrap: (x) => (remote = new RecordingRemote(x)),
    });
    try {
      await growBiglog(db, 300);
      await r.mirror.serve('latest');
      await growBiglog(db, 66_000);
      const before = remote?.calls.length ?? 0;
      const heapBefore = process.memoryUsage().heapUsed;
      const a = await r.mirror.serve('latest');
      expect(parseTree(openNote(a.body, verifiers).text).n).toBe(66_000);
      const used = (remote?.calls.length ?? 0) - before;
      expect(used).toBeLessThanOrEqual(8);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 << 20);
      const rec = biglogRecord(65_999);
      expect((await r.mirror.lookup(rec)).record.id).toBe(65_999);
      expect(r.forks).toEqual([]);
    } finally {
      await r.close();
      await db.close();
    }
  }, 120_000);
});

describe('SumdbMirror: restart', () => {
  it('reloads the persisted verified head, still checks consistency against it, and keeps fork evidence', async () => {
    const modules = fakeModules(50);
    const db = await FakeSumDb.start({ records: modules });
    const r = await rig([db.url], { mirror: { latestTtl: 0, staleGrace: 10_000 } });
    try {
      await r.mirror.lookup(modules[3] ?? { path: '', version: '' });
      const head = r.mirror.tree.head;
      expect(head?.tree.n).toBe(50);

      // Restart: the same storage, a new mirror. The head is there before any network call.
      db.setFault(faults.hang());
      const again = await r.reopen();
      expect(again.tree.head?.tree.n).toBe(50);
      expect(again.tree.head?.note.equals(head?.note ?? Buffer.alloc(0))).toBe(true);
      expect((await again.lookup(modules[3] ?? { path: '', version: '' })).cache).toBe('hit');
      db.clearFaults();

      // The database grows: the restarted mirror proves the new head extends the persisted one.
      await db.addAll(fakeModules(30, 50));
      expect(parseTree(openNote((await again.serve('latest')).body, verifiers).text).n).toBe(80);

      // A fork after another restart is still caught: the persisted head is the reference.
      await db.fork({ keep: 40 });
      const third = await r.reopen();
      expect(third.tree.head?.tree.n).toBe(80);
      const l = await third.serve('latest');
      expect(parseTree(openNote(l.body, verifiers).text).n).toBe(80);
      expect(third.status().status).toBe('inconsistent');
      const fourth = await r.reopen();
      expect(fourth.status()).toMatchObject({ status: 'inconsistent', treeSize: 80 });
      expect(fourth.tree.fork?.report).toContain('SECURITY ERROR');
    } finally {
      await r.close();
      await db.close();
    }
  });

  it('ignores a stored head that does not verify under the configured key', async () => {
    const db = await FakeSumDb.start({ records: fakeModules(5) });
    const other = await FakeSumDb.start({ key: 'generate', records: fakeModules(5) });
    const r = await rig([db.url]);
    try {
      await r.storage.put(r.mirror.store.latestKey(), await other.signedTree());
      const again = await r.reopen();
      expect(again.tree.head).toBeNull();
      expect(r.logs.some((l) => String(l.msg).includes('not signed with the configured key'))).toBe(true);
    } finally {
      await r.close();
      await db.close();
      await other.close();
    }
  });
});

describe('SumdbStore: hash tiles in memory', () => {
  const tile = (n: number, w = 256): Tile => ({ h: 8, l: 0, n, w });
  const bytes = (n: number, w = 256): Buffer => Buffer.alloc(w * 32, n % 251);

  it('answers the widest copy it has seen, and keeps the 256 most recently used', async () => {
    const storage = new CountingStorage();
    const store = new SumdbStore(storage, 'db.example');
    await store.keepTile(tile(0, 10), bytes(0, 10), 10);
    await store.keepTile(tile(0, 20), bytes(0, 20), 20);
    storage.ops.length = 0;
    expect((await store.readTile(tile(0, 15)))?.length).toBe(15 * 32);
    expect(storage.ops).toEqual([]);
    // Wider than any copy seen: storage is asked, and has nothing wider.
    expect(await store.readTile(tile(0, 30))).toBeNull();
    expect(storage.ops.length).toBeGreaterThan(0);

    for (let n = 1; n <= 256; n++) await store.keepTile(tile(n), bytes(n), 256);
    storage.ops.length = 0;
    expect((await store.readTile(tile(256)))?.equals(bytes(256))).toBe(true);
    expect(storage.ops).toEqual([]);
    // Tile 0 was the least recently used of 257: it is read from storage again.
    expect((await store.readTile(tile(0, 20)))?.equals(bytes(0, 20))).toBe(true);
    expect(storage.ops).toContain('get sumdb/db.example/partial/8/0/000');
  });
});
