// Tile readers for tlog's authenticating tileHashReader. Two modes:
//  - "verified": tiles of the tree godepot has verified. Stored copies are
//    used first; fetched ones are kept as soon as tlog has authenticated
//    them against that tree (in memory at once, in storage behind).
//  - "candidate": tiles of a tree head not yet accepted. Everything comes
//    from the network (stored tiles belong to the verified history and must
//    not be mixed in), and authenticated tiles are only held aside until
//    the candidate is proven to extend the verified tree.
import { tilePath, type Tile, type TileReader } from './tlog/index.js';
import type { SumdbRemote } from './remote.js';
import { TILE_HEIGHT, type SumdbStore } from './store.js';

const FULL = 1 << TILE_HEIGHT;

class TileFetchError extends Error {
  constructor(
    readonly tile: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'TileFetchError';
  }
}

/**
 * Fetches tile t from the mirrors: the exact tile, and on any failure the
 * full tile cut to size (as the go command does). The answering mirror is
 * added to `sources`, so a tile that fails verification can be blamed on it.
 */
async function fetchTile(remote: SumdbRemote, t: Tile, signal?: AbortSignal, sources?: Set<string>): Promise<Buffer> {
  const want = t.w * 32;
  const exact = async (): Promise<Buffer | null> => {
    const r = await remote.get(
      '/' + tilePath(t),
      'tile',
      (b) => {
        if (b.length !== want) throw new Error(`tile ${tilePath(t)} has ${b.length} bytes, want ${want}`);
      },
      signal,
    );
    if (!r.found) return null;
    sources?.add(r.from);
    return r.body;
  };
  let firstError: unknown;
  try {
    const b = await exact();
    if (b) return b;
  } catch (err) {
    if (signal?.aborted) throw err;
    firstError = err;
  }
  if (t.w !== FULL) {
    try {
      const full = { ...t, w: FULL };
      const r = await remote.get(
        '/' + tilePath(full),
        'tile',
        (b) => {
          if (b.length !== FULL * 32)
            throw new Error(`tile ${tilePath(full)} has ${b.length} bytes, want ${FULL * 32}`);
        },
        signal,
      );
      if (r.found) {
        sources?.add(r.from);
        return r.body.subarray(0, want);
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      firstError ??= err;
    }
  }
  throw new TileFetchError(
    tilePath(t),
    `cannot fetch ${tilePath(t)}${firstError ? `: ${(firstError as Error).message}` : ': not found on any mirror'}`,
    firstError,
  );
}

export interface TileReaderOptions {
  /** When false, tiles not in storage fail at once (offline mode). */
  readonly network: boolean;
  readonly signal?: AbortSignal;
  /** Told the stored tiles replaced by replaceStored (their paths). */
  readonly replaced?: (paths: readonly string[]) => void;
  /** Never reads storage: every tile from the sources (fromSources). */
  readonly sourcesOnly?: boolean;
}

/** Reads tiles of the verified tree: storage first, then mirrors; saves what tlog authenticated. */
export class VerifiedTileReader implements TileReader {
  /** Tiles that had to be fetched from a mirror during this reader's life. */
  fetched = 0;
  /** The mirrors those tiles came from. */
  readonly sources = new Set<string>();
  /** Tiles read from storage (by path): already kept at least this wide, so not saved again. */
  private readonly stored = new Set<string>();

  constructor(
    private readonly store: SumdbStore,
    private readonly remote: SumdbRemote,
    private readonly opts: TileReaderOptions,
  ) {}

  height(): number {
    return TILE_HEIGHT;
  }

  async readTiles(tiles: readonly Tile[]): Promise<Buffer[]> {
    return Promise.all(
      tiles.map(async (t) => {
        const stored = this.opts.sourcesOnly ? null : await this.store.readTile(t);
        if (stored) {
          this.stored.add(tilePath(t));
          return stored;
        }
        if (!this.opts.network)
          throw new TileFetchError(tilePath(t), `${tilePath(t)} is not stored and godepot is not fetching`);
        this.fetched++;
        return fetchTile(this.remote, t, this.opts.signal, this.sources);
      }),
    );
  }

  /** Whether this reader read any tile from storage. */
  readStored(): boolean {
    return this.stored.size > 0;
  }

  /**
   * A reader of the same tree that reads every tile from the sources (none
   * from storage); null when this one may not fetch (offline).
   */
  fromSources(): VerifiedTileReader | null {
    if (!this.opts.network) return null;
    return new VerifiedTileReader(this.store, this.remote, { ...this.opts, sourcesOnly: true });
  }

  /** Tiles a sources-only reader authenticated, by path (replaceStored writes them over the stored copies). */
  private readonly authenticated = new Map<string, { readonly tile: Tile; readonly data: Buffer }>();

  /**
   * For a sources-only reader whose proof held: writes the tiles it
   * authenticated over the stored copies that differ (one damaged in
   * storage), and says which; keeps those not stored (a source's tile in
   * the first proof did not fit: no damage here).
   */
  async replaceStored(): Promise<void> {
    const replaced: string[] = [];
    for (const [path, { tile, data }] of this.authenticated) {
      const stored = await this.store.readTile(tile);
      if (stored?.equals(data)) continue;
      if (!stored) {
        void this.store.keepTile(tile, data, tile.w);
        continue;
      }
      await this.store.replaceTile(tile, data);
      replaced.push(path);
    }
    if (replaced.length > 0) this.opts.replaced?.(replaced);
  }

  /** Keeps the tiles fetched (not the ones read from storage); they are answered from memory until their writes land. */
  saveTiles(tiles: readonly Tile[], data: readonly Buffer[]): void {
    tiles.forEach((t, i) => {
      if (this.opts.sourcesOnly) this.authenticated.set(tilePath(t), { tile: t, data: data[i] as Buffer });
      else if (!this.stored.has(tilePath(t))) void this.store.keepTile(t, data[i] as Buffer, t.w);
    });
  }
}

/** Reads tiles of a candidate tree head from the network only; authenticated tiles wait in `pending`. */
export class CandidateTileReader implements TileReader {
  readonly pending = new Map<string, { tile: Tile; data: Buffer }>();
  /** The mirrors the tiles came from. */
  readonly sources = new Set<string>();

  constructor(
    private readonly remote: SumdbRemote,
    private readonly signal?: AbortSignal,
  ) {}

  height(): number {
    return TILE_HEIGHT;
  }

  async readTiles(tiles: readonly Tile[]): Promise<Buffer[]> {
    return Promise.all(tiles.map((t) => fetchTile(this.remote, t, this.signal, this.sources)));
  }

  saveTiles(tiles: readonly Tile[], data: readonly Buffer[]): void {
    tiles.forEach((t, i) => this.pending.set(tilePath(t), { tile: t, data: data[i] as Buffer }));
  }

  /** Keeps the held tiles once the candidate has been accepted (in memory at once, in storage behind). */
  commit(store: SumdbStore): void {
    for (const { tile, data } of this.pending.values()) void store.keepTile(tile, data, tile.w);
  }
}
