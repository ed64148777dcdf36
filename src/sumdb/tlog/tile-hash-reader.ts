// The authenticating HashReader of a checksum-database client: it answers
// hash reads from tiles fetched through a TileReader, and only returns
// hashes after proving the tiles belong to a signed tree head.
import { InconsistentTileError, IndexNotInTreeError, TileError, TlogInternalError } from './errors.js';
import { HASH_SIZE, hashEqual, nodeHash, type Hash } from './hash.js';
import { storedHashIndex, subTreeIndex } from './indexes.js';
import type { Tree } from './note.js';
import type { HashReader } from './reader.js';
import { hashFromTile, locateIndex, tileHash, tileParent } from './tile-math.js';
import { tilePath, type Tile } from './tile-path.js';

/** Where tiles come from: typically a disk cache, then the network. */
export interface TileReader {
  /** The height of the tiles to read (8 for the go command). */
  height(): number;
  /**
   * The data of each requested tile, exactly tiles[i].w * 32 bytes each.
   * Data fetched from a server is suspect: keep it out of any persistent
   * cache until saveTiles is called for it.
   */
  readTiles(tiles: readonly Tile[]): Promise<Buffer[]>;
  /** Called with tiles (and their data) once they are authenticated. */
  saveTiles(tiles: readonly Tile[], data: readonly Buffer[]): void | Promise<void>;
}

const tileKey = (t: Tile): string => `${t.h}/${t.l}/${t.n}/${t.w}`;

/**
 * A HashReader that reads the hashes of `tree` from tiles. Every hash it
 * returns is proven to be in the tree: the tree-hash tiles must rebuild
 * tree.hash, and every other tile must hash to its entry in a parent tile.
 * Otherwise it throws InconsistentTileError ('downloaded inconsistent tile')
 * and saves nothing.
 */
export function tileHashReader(tree: Tree, reader: TileReader): HashReader {
  return { readHashes: (indexes) => readTileHashes(tree, reader, indexes) };
}

async function readTileHashes(tree: Tree, reader: TileReader, indexes: readonly number[]): Promise<Hash[]> {
  const h = reader.height();
  const treeEnd = storedHashIndex(0, tree.n);
  for (const x of indexes) {
    if (!(Number.isSafeInteger(x) && x >= 0 && x < treeEnd)) throw new IndexNotInTreeError(x, tree.n);
  }
  if (tree.n === 0) return [];

  const tiles: Tile[] = [];
  const tileOrder = new Map<string, number>();
  const plan = (t: Tile): number => {
    tileOrder.set(tileKey(t), tiles.length);
    tiles.push(t);
    return tiles.length - 1;
  };

  // First the tiles that rebuild the tree hash: once that matches, they are
  // authenticated, and they are the roots the other tiles chain up to.
  const stx = subTreeIndex(0, tree.n);
  const stxTileOrder = stx.map((x) => {
    const tile = tileParent(locateIndex(h, x).tile, 0, tree.n);
    return tileOrder.get(tileKey(tile)) ?? plan(tile);
  });
  // Several subtrees often share a tile, so there are usually fewer tree-hash
  // tiles than subtrees; every tile planned after them must be authenticated
  // against its parent. (golang.org/x/mod at fe2ec04f, the vectors' commit,
  // started that loop at len(stx), skipping the first index tiles whenever
  // subtrees share a tile; later x/mod starts it after the tree-hash tiles.)
  const treeHashTiles = tiles.length;

  // Then the tile of each index, plus parents up to an already planned tile,
  // listed parents first so each is authenticated before its children.
  const indexTileOrder = indexes.map((x) => {
    const tile = locateIndex(h, x).tile;
    let k = 0;
    let found: number | undefined;
    for (; ; k++) {
      found = tileOrder.get(tileKey(tileParent(tile, k, tree.n)));
      if (found !== undefined) break;
      if (k > 64) throw new TlogInternalError(`bad math in tileHashReader: ${tree.n} ${x}: no planned ancestor`);
    }
    if (k === 0) return found;
    let order = found;
    for (k--; k >= 0; k--) {
      const p = tileParent(tile, k, tree.n);
      // Only full tiles have parents.
      if (p.w !== 2 ** p.h) throw new TlogInternalError(`bad math in tileHashReader: ${tree.n} ${x} ${tilePath(p)}`);
      order = plan(p);
    }
    return order;
  });

  const data = await reader.readTiles(tiles);
  if (data.length !== tiles.length) {
    throw new TileError(`TileReader returned bad result slice (len=${data.length}, want ${tiles.length})`);
  }
  tiles.forEach((tile, i) => {
    const len = data[i]?.length ?? -1;
    if (len !== tile.w * HASH_SIZE) {
      throw new TileError(
        `TileReader returned bad result slice (${tilePath(tile)} len=${len}, want ${tile.w * HASH_SIZE})`,
      );
    }
  });
  const at = (i: number): Buffer => {
    const d = data[i];
    if (d === undefined) throw new TlogInternalError('bad math in tileHashReader: lost tile');
    return d;
  };
  const tileAt = (i: number): Tile => {
    const t = tiles[i];
    if (t === undefined) throw new TlogInternalError('bad math in tileHashReader: lost tile');
    return t;
  };

  // Authenticate the tree-hash tiles against the signed tree hash.
  let th: Hash | undefined;
  for (let i = stx.length - 1; i >= 0; i--) {
    const j = stxTileOrder[i] ?? -1;
    const part = hashFromTile(tileAt(j), at(j), stx[i] ?? -1);
    th = th === undefined ? part : nodeHash(part, th);
  }
  if (th === undefined || !hashEqual(th, tree.hash)) throw new InconsistentTileError(tree.n);

  // Authenticate every other tile against its (already authenticated) parent.
  for (let i = treeHashTiles; i < tiles.length; i++) {
    const tile = tileAt(i);
    const p = tileParent(tile, 1, tree.n);
    const j = tileOrder.get(tileKey(p));
    if (j === undefined)
      throw new TlogInternalError(`bad math in tileHashReader ${tree.n}: lost parent of ${tilePath(tile)}`);
    const expected = hashFromTile(p, at(j), storedHashIndex(p.l * p.h, tile.n));
    if (!hashEqual(expected, tileHash(at(i)))) throw new InconsistentTileError(tree.n);
  }

  await reader.saveTiles(tiles, data);

  return indexes.map((x, i) => {
    const j = indexTileOrder[i] ?? -1;
    return hashFromTile(tileAt(j), at(j), x);
  });
}
