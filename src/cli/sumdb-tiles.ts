// The checksum-database tiles a go client will ask for: to check a record it
// reads, through tlog's authenticating reader, exactly the tiles that prove
// that record against the tree head it was given. Reading the same hashes
// through the mirror's verified tile reader makes godepot keep those tiles
// (and lets export copy them, with their exact widths).
import type { SumdbMirror } from '../sumdb/index.js';
import { storedHashIndex, tileHashReader, tilePath, type Tile, type TileReader } from '../sumdb/tlog/index.js';

export interface ReadTile {
  readonly tile: Tile;
  /** Exactly tile.w * 32 bytes. */
  readonly data: Buffer;
}

/**
 * Proves every record id against the mirror's verified tree head, fetching
 * (and keeping) tiles that are not stored yet when `network` is true.
 * Returns every tile involved. Throws when a tile cannot be had or does not
 * authenticate.
 */
export async function proveRecords(
  mirror: SumdbMirror,
  ids: Iterable<number>,
  network: boolean,
  signal?: AbortSignal,
): Promise<ReadTile[]> {
  const head = mirror.tree.head;
  if (!head) return [];
  const wanted = [...new Set(ids)].filter((id) => id < head.tree.n).sort((a, b) => a - b);
  if (wanted.length === 0) return [];
  const inner = mirror.tree.verifiedReader(network, signal);
  const seen = new Map<string, ReadTile>();
  const recording: TileReader = {
    height: () => inner.height(),
    async readTiles(tiles) {
      const data = await inner.readTiles(tiles);
      tiles.forEach((tile, i) => {
        const d = data[i];
        if (d) seen.set(tilePath(tile), { tile, data: d });
      });
      return data;
    },
    saveTiles: (tiles, data) => inner.saveTiles(tiles, data),
  };
  await tileHashReader(head.tree, recording).readHashes(wanted.map((id) => storedHashIndex(0, id)));
  return [...seen.values()];
}
