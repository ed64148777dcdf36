import { describe, expect, it } from 'vitest';
import {
  BadTilePathError,
  hashFromTile,
  InconsistentTileError,
  IndexNotInTreeError,
  newTiles,
  NO_TILE,
  parseTilePath,
  proveRecord,
  checkRecord,
  readTileData,
  storedHashIndex,
  tileForIndex,
  tileHashReader,
  tileParent,
  tilePath,
  TileError,
  tileHash,
  nodeHash,
  treeHash,
  type Tile,
} from '../../../src/sumdb/tlog/index.js';
import { BigTree } from './bigtree.js';
import { at, ComputedTileReader, loadVectors, MemoryLog, prng, randomInt } from './support.js';

const v = loadVectors();

describe('tile paths', () => {
  for (const { path, tile } of v.tlog.tilePaths) {
    if (tile === null) {
      it(`rejects ${path}`, () => {
        expect(() => parseTilePath(path)).toThrow(BadTilePathError);
        expect(() => parseTilePath(path)).toThrow(`malformed tile path "${path}"`);
      });
    } else {
      const [h, l, n, w] = tile;
      it(`${path} <-> [${tile.join(', ')}]`, () => {
        expect(tilePath({ h, l, n, w })).toBe(path);
        expect(parseTilePath(path)).toEqual({ h, l, n, w });
      });
    }
  }

  it.each([
    'tile/0/0/000',
    'tile/31/0/000',
    'tile/8/0/000.p/0',
    'tile/8/0/000.p/256',
    'tile/8/0/000.p/-1',
    'tile/8/0/000.p/01',
    'tile/08/0/000',
    'tile/+8/0/000',
    'tile/8/00/000',
    'tile/8/0/0',
    'tile/8/0/1000',
    'tile/8/0/x000/001',
    'tile/8/0/x001',
    'tile/8/0/001/002',
    'tile/8/0/x001/x-02/003',
    'tile/8/-1/000',
    'tile/8/Data/000',
    'tile/8/0/000.p',
    'tile/8/0/000.p/',
    'tile/8/0/000/',
    '/tile/8/0/000',
    'tiles/8/0/000',
    'tile/8/0',
    'tile/8/0/ 000',
    'tile/8/0/x999/x999/x999/x999/x999/x999/999',
  ])('rejects non-canonical %s', (path) => {
    expect(() => parseTilePath(path)).toThrow(BadTilePathError);
  });

  it('round-trips random tiles, including huge N and data tiles', () => {
    const rand = prng(3);
    for (let i = 0; i < 3000; i++) {
      const h = randomInt(rand, 1, 30);
      const l = randomInt(rand, -1, 8);
      const n = randomInt(rand, 0, i % 2 ? 2 ** 45 : 2000);
      const w = rand() < 0.5 ? 2 ** h : randomInt(rand, 1, 2 ** h - 1);
      const t: Tile = { h, l, n, w };
      expect(parseTilePath(tilePath(t))).toEqual(t);
    }
  });

  it('rejects random mutations of valid paths unless they re-encode identically', () => {
    const rand = prng(4);
    const alphabet = 'tilex0123456789/.p-+data';
    for (let i = 0; i < 3000; i++) {
      const base = tilePath({
        h: randomInt(rand, 1, 12),
        l: randomInt(rand, 0, 3),
        n: randomInt(rand, 0, 10 ** 7),
        w: 1,
      });
      const chars = [...base];
      chars[randomInt(rand, 0, chars.length - 1)] = alphabet[randomInt(rand, 0, alphabet.length - 1)] ?? '';
      const path = chars.join('');
      try {
        expect(tilePath(parseTilePath(path))).toBe(path);
      } catch (err) {
        expect(err).toBeInstanceOf(BadTilePathError);
      }
    }
  });
});

describe('NewTiles', () => {
  it.each(v.tlog['NewTiles(10, old, new) counts'])('NewTiles(10, %i, %i) has %i tiles', (oldSize, newSize, count) => {
    expect(newTiles(10, oldSize, newSize)).toHaveLength(count);
  });

  it('publishes, step by step, tiles that extend earlier ones and hold the stored hashes', async () => {
    const log = new MemoryLog();
    const published = new Map<string, Buffer>();
    for (let i = 0; i < 100; i++) {
      const before = log.hashes.length;
      await log.append(Buffer.from(`leaf ${i}`));
      for (const tile of newTiles(2, i, i + 1)) {
        const data = await readTileData(tile, log);
        const old = published.get(tilePath({ ...tile, w: tile.w - 1 })) ?? Buffer.alloc(0);
        expect(data.subarray(0, old.length).equals(old)).toBe(true);
        expect(data.length).toBe(old.length + 32);
        published.set(tilePath(tile), data);
      }
      for (const tile of [...newTiles(2, 0, i + 1), ...newTiles(2, Math.floor(i / 2), i + 1)]) {
        expect(published.get(tilePath(tile))?.equals(await readTileData(tile, log))).toBe(true);
      }
      for (let j = before; j < log.hashes.length; j++) {
        const tile = tileForIndex(2, j);
        const data = published.get(tilePath(tile));
        expect(data, `tile ${tilePath(tile)} for index ${j}`).toBeDefined();
        expect(hashFromTile(tile, data ?? Buffer.alloc(0), j).equals(at(log.hashes, j))).toBe(true);
      }
    }
  });

  it('computes tiles for trees near 2^40 without losing precision', () => {
    const tiles = newTiles(8, 2 ** 40 - 3, 2 ** 40 + 300);
    expect(tiles.map(tilePath)).toEqual([
      'tile/8/0/x004/x294/x967/295',
      'tile/8/0/x004/x294/x967/296',
      'tile/8/0/x004/x294/x967/297.p/44',
      'tile/8/1/x016/x777/215',
      'tile/8/1/x016/x777/216.p/1',
      'tile/8/2/x065/535',
      'tile/8/3/255',
      'tile/8/4/000',
      'tile/8/5/000.p/1',
    ]);
  });
});

describe('tile math', () => {
  it('hashFromTile rejects the wrong tile and short data', () => {
    const t = tileForIndex(2, 0);
    expect(() => hashFromTile(t, Buffer.alloc(0), 0)).toThrow('data len 0 too short for tile tile/2/0/000.p/1');
    expect(() => hashFromTile({ ...t, l: -1 }, Buffer.alloc(32), 0)).toThrow(TileError);
    expect(() => hashFromTile(t, Buffer.alloc(32), storedHashIndex(0, 5))).toThrow(
      'index 8 is in tile/2/0/001.p/2 not tile/2/0/000.p/1',
    );
  });

  it('tileParent walks up to the partial right edge and ends in NO_TILE', () => {
    const t: Tile = { h: 2, l: 0, n: 5, w: 4 };
    expect(tileParent(t, 0, 22)).toEqual({ h: 2, l: 0, n: 5, w: 2 });
    expect(tileParent(t, 1, 22)).toEqual({ h: 2, l: 1, n: 1, w: 1 });
    expect(tileParent(t, 2, 22)).toEqual({ h: 2, l: 2, n: 0, w: 1 });
    expect(tileParent(t, 3, 22)).toEqual(NO_TILE);
    expect(tileParent(t, 1, 64)).toEqual({ h: 2, l: 1, n: 1, w: 4 });
  });

  it('tileForIndex finds the least-width tile for hashes above the bottom row', () => {
    // Level 1, n = 2 is the hash of records 4..5: inside level-0 tile 1 at width 2.
    expect(tileForIndex(2, storedHashIndex(1, 2))).toEqual({ h: 2, l: 0, n: 1, w: 2 });
    expect(tileForIndex(2, storedHashIndex(2, 1))).toEqual({ h: 2, l: 1, n: 0, w: 2 });
    expect(tileForIndex(8, storedHashIndex(0, 2 ** 40 + 5))).toEqual({ h: 8, l: 0, n: 2 ** 32, w: 6 });
  });
});

describe('tileHashReader', () => {
  it('serves every stored hash of every tree up to 40 records, and saves what it read', async () => {
    const log = new MemoryLog();
    for (let n = 1; n <= 40; n++) {
      await log.append(Buffer.from(`leaf ${n - 1}`));
      const tree = await log.tree();
      const tr = new ComputedTileReader(2, log);
      const reader = tileHashReader(tree, tr);
      const all = [...Array(log.hashes.length).keys()];
      const got = await reader.readHashes(all);
      got.forEach((h, i) => expect(h.equals(at(log.hashes, i))).toBe(true));
      for (const i of all) expect((await reader.readHashes([i]))[0]?.equals(at(log.hashes, i))).toBe(true);
      expect(tr.saved).toEqual(tr.requests.flat());
      await expect(reader.readHashes([storedHashIndex(0, n)])).rejects.toThrow(IndexNotInTreeError);
      await expect(reader.readHashes([(n + 1) * 2])).rejects.toThrow('indexes not in tree');
      for (let j = 1; j <= n; j++) expect((await treeHash(j, reader)).equals(await treeHash(j, log))).toBe(true);
    }
  });

  it('a full tile proven before is proven again from its bytes: a flipped bit after an honest read is refused', async () => {
    // Height 8: whole tiles of 256 hashes, whose subtree hashes tileHash looks up by their bytes' own SHA-256.
    const log = await MemoryLog.of([...Array(600).keys()].map((i) => `leaf ${i}`));
    const tree = await log.tree();
    const indexes = [0, 255, 256, 511, 599].map((i) => storedHashIndex(0, i));
    const honest = new ComputedTileReader(8, log);
    const want = await tileHashReader(tree, honest).readHashes(indexes);
    expect(await tileHashReader(tree, new ComputedTileReader(8, log)).readHashes(indexes)).toEqual(want);
    const rand = prng(11);
    for (const victim of ['tile/8/0/000', 'tile/8/0/001', 'tile/8/0/002.p/88', 'tile/8/1/000.p/2']) {
      const r = randomInt(rand, 0, 1 << 30);
      const tr = new ComputedTileReader(8, log, (t, d) => {
        if (tilePath(t) !== victim) return d;
        const bit = r % (d.length * 8);
        const bad = Buffer.from(d);
        bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        return bad;
      });
      await expect(tileHashReader(tree, tr).readHashes(indexes), victim).rejects.toThrow(InconsistentTileError);
    }
  });

  it('tileHash of a whole tile is the subtree hash, however often it is asked and whatever the caller does with it', () => {
    const rand = prng(12);
    const data = Buffer.from(Array.from({ length: 256 * 32 }, () => randomInt(rand, 0, 255)));
    const naive = (d: Buffer): Buffer =>
      d.length === 32 ? d : nodeHash(naive(d.subarray(0, d.length / 2)), naive(d.subarray(d.length / 2)));
    const want = naive(data);
    const first = tileHash(data);
    expect(first.equals(want)).toBe(true);
    first.fill(0); // a caller scribbling on its copy changes nothing for the next
    expect(tileHash(data).equals(want)).toBe(true);
    const other = Buffer.from(data);
    other[4000] = (other[4000] ?? 0) ^ 1;
    expect(tileHash(other).equals(naive(other))).toBe(true);
    expect(tileHash(other).equals(want)).toBe(false);
  });

  it('throws and saves nothing when any bit of any tile is flipped', async () => {
    const log = await MemoryLog.of([...Array(37).keys()].map((i) => `leaf ${i}`));
    const tree = await log.tree();
    const indexes = [...Array(log.hashes.length).keys()];
    const honest = new ComputedTileReader(2, log);
    await tileHashReader(tree, honest).readHashes(indexes);
    const tiles = [...new Set(honest.requests.flat())];
    const rand = prng(9);
    for (const victim of tiles) {
      const data = await readTileData(parseTilePath(victim), log);
      for (let trial = 0; trial < 4; trial++) {
        const bit = randomInt(rand, 0, data.length * 8 - 1);
        const tr = new ComputedTileReader(2, log, (t, d) => {
          if (tilePath(t) !== victim) return d;
          const bad = Buffer.from(d);
          bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7));
          return bad;
        });
        await expect(tileHashReader(tree, tr).readHashes(indexes)).rejects.toThrow(InconsistentTileError);
        expect(tr.saved).toEqual([]);
      }
    }
  });

  it('detects a wrong tree hash', async () => {
    const log = await MemoryLog.of(['a\n', 'b\n', 'c\n', 'd\n', 'e\n']);
    const tree = await log.tree();
    const wrong = { n: tree.n, hash: await treeHash(4, log) };
    const tr = new ComputedTileReader(2, log);
    await expect(tileHashReader(wrong, tr).readHashes([0])).rejects.toThrow('downloaded inconsistent tile');
    expect(tr.saved).toEqual([]);
    const bigger = { n: 6, hash: tree.hash };
    await expect(tileHashReader(bigger, new ComputedTileReader(2, log)).readHashes([0])).rejects.toThrow();
  });

  it('rejects tile data of the wrong length', async () => {
    const log = await MemoryLog.of(['a\n', 'b\n', 'c\n']);
    const tr = new ComputedTileReader(2, log, (_t, d) => d.subarray(0, d.length - 1));
    await expect(tileHashReader(await log.tree(), tr).readHashes([0])).rejects.toThrow(
      /TileReader returned bad result slice/,
    );
  });

  it('authenticates records of a 2^40+ tree with height-8 tiles', async () => {
    const big = new BigTree();
    const rand = prng(11);
    for (const t of [2 ** 40, 2 ** 40 + 600, 2 ** 41 + 2 ** 33 + 17]) {
      const tree = { n: t, hash: await treeHash(t, big) };
      for (let i = 0; i < 5; i++) {
        const n = randomInt(rand, 0, t - 1);
        const tr = new ComputedTileReader(8, big);
        const reader = tileHashReader(tree, tr);
        const [h] = await reader.readHashes([storedHashIndex(0, n)]);
        expect(h?.equals(big.leafHash(n))).toBe(true);
        const p = await proveRecord(t, n, reader);
        checkRecord(p, t, tree.hash, n, big.leafHash(n));
        const lied = new ComputedTileReader(8, big, (tile, d) => {
          if (tile.l !== 0) return d;
          const bad = Buffer.from(d);
          bad[0] = (bad[0] ?? 0) ^ 0x80;
          return bad;
        });
        await expect(tileHashReader(tree, lied).readHashes([storedHashIndex(0, n)])).rejects.toThrow(
          InconsistentTileError,
        );
      }
    }
  });
});
