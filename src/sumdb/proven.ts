// The two steps every fetch of the checksum-database mirror shares: asking
// the sources (their failure becomes SumdbError 'unavailable', saying what
// each did), and reading hashes of the verified tree through tiles proven
// against its head (blaming the sources whose tiles did not fit).
import { InconsistentTileError, TileError, tileHashReader } from './tlog/index.js';
import { SumdbError } from './errors.js';
import { RemoteError, type RemoteResult, type SumdbRemote } from './remote.js';
import type { VerifiedTileReader } from './tiles.js';
import type { VerifiedHead } from './tree-state.js';

/** GETs path from remote; no source answering is SumdbError('unavailable') naming database `name` once. */
export async function remoteGet(
  name: string,
  remote: SumdbRemote,
  path: string,
  kind: 'latest' | 'lookup' | 'tile' | 'data',
  accept: (b: Buffer, from: string) => void,
  signal?: AbortSignal,
): Promise<RemoteResult> {
  try {
    return await remote.get(path, kind, accept, signal);
  } catch (err) {
    if (err instanceof RemoteError)
      throw new SumdbError('unavailable', `checksum database ${name}: ${err.message}`, err.timeout, new Set(), true);
    throw err;
  }
}

/**
 * The hashes at indexes of head's tree, read through reader (stored tiles,
 * else fetched ones proven against head). Throws SumdbError('unavailable')
 * saying `what` failed, blaming the sources whose tiles did not fit.
 */
export async function provenHashes(
  name: string,
  head: VerifiedHead,
  reader: VerifiedTileReader,
  indexes: number[],
  what: string,
): Promise<Buffer[]> {
  try {
    try {
      return await tileHashReader(head.tree, reader).readHashes(indexes);
    } catch (err) {
      // A proof through tiles read from storage only (verified when kept) failed: storage changed since (a
      // disk error, a hand edit). The proof is read again from the sources alone, and only once it holds are
      // the stored copies replaced by the tiles it authenticated; if the sources cannot be reached (an
      // outage), nothing is dropped. With a tile from a source in the first proof, that source is the
      // suspect instead: a hostile mirror must not make godepot replace the verified tiles it holds.
      const fresh = reader.sources.size === 0 ? reader.fromSources() : null;
      if (!(err instanceof InconsistentTileError || err instanceof TileError) || !fresh) throw err;
      const hashes = await tileHashReader(head.tree, fresh)
        .readHashes(indexes)
        .catch(() => {
          throw err;
        });
      await fresh.replaceStored();
      return hashes;
    }
  } catch (err) {
    if (err instanceof SumdbError) throw err;
    const suspects = err instanceof InconsistentTileError ? reader.sources : new Set<string>();
    throw new SumdbError(
      'unavailable',
      `checksum database ${name}: ${what}: ${(err as Error).message}`,
      false,
      suspects,
    );
  }
}
