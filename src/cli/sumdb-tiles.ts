// The checksum-database tiles a go client will ask for: to check a record it
// reads, through tlog's authenticating reader, exactly the tiles that prove
// that record against the tree head it was given. Reading the same hashes
// through the mirror's verified tile reader makes godepot keep those tiles
// (and lets export copy them, with their exact widths).
import type { SumdbMirror } from '../sumdb/index.js';
import {
  storedHashIndex,
  tileHashReader,
  tilePath,
  treeHash,
  type Tile,
  type TileReader,
} from '../sumdb/tlog/index.js';

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
  const { reader, seen } = recordingReader(mirror, network, signal);
  await tileHashReader(head.tree, reader).readHashes(wanted.map((id) => storedHashIndex(0, id)));
  return [...seen.values()];
}

/**
 * The tiles that prove the mirror's verified tree head extends an earlier
 * tree of each size given — what a godepot holding a head of that size reads
 * to take this one (TreeState: the hash of the older tree, computed from the
 * newer tree's tiles). Fetched and kept as proveRecords does.
 */
export async function proveExtends(
  mirror: SumdbMirror,
  sizes: Iterable<number>,
  network: boolean,
  signal?: AbortSignal,
): Promise<ReadTile[]> {
  const head = mirror.tree.head;
  if (!head) return [];
  const { reader, seen } = recordingReader(mirror, network, signal);
  const hashes = tileHashReader(head.tree, reader);
  for (const n of new Set(sizes)) if (n > 0 && n < head.tree.n) await treeHash(n, hashes);
  return [...seen.values()];
}

/** The mirror's verified tile reader, recording every tile it reads (with its exact width). */
function recordingReader(
  mirror: SumdbMirror,
  network: boolean,
  signal?: AbortSignal,
): { reader: TileReader; seen: Map<string, ReadTile> } {
  const inner = mirror.tree.verifiedReader(network, signal);
  const seen = new Map<string, ReadTile>();
  const reader: TileReader = {
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
  return { reader, seen };
}
