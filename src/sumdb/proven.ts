// The two steps every fetch of the checksum-database mirror shares: asking
// the sources (their failure becomes SumdbError 'unavailable', saying what
// each did), and reading hashes of the verified tree through tiles proven
// against its head (blaming the sources whose tiles did not fit) — among
// them the hashes a tile stands for, which prove that tile.
import {
  hashEqual,
  InconsistentTileError,
  recordHash,
  storedHashIndex,
  TileError,
  tileHashReader,
  type Tile,
} from './tlog/index.js';
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
  /** The proof failed with err: sources the suspects (their tiles did not fit), or none named. */
  const unavailable = (err: unknown, suspects?: ReadonlySet<string>): SumdbError =>
    new SumdbError('unavailable', `checksum database ${name}: ${what}: ${(err as Error).message}`, false, suspects);
  try {
    try {
      return await tileHashReader(head.tree, reader).readHashes(indexes);
    } catch (err) {
      // The tiles did not fit: a stored one changed since it was verified (a disk error, a hand edit), or a
      // source sent a wrong one. The proof is read again from the sources alone: once it holds, its tiles are
      // authentic (they prove the verified head), and stored copies that differ are replaced by them; nothing
      // is dropped before (in an outage a stored tile stays as it is). If the sources' own tiles do not fit
      // either, they are the suspects; if they could not be fetched, the first failure stands.
      const fresh = reader.fromSources();
      if (!(err instanceof InconsistentTileError || err instanceof TileError) || !fresh) throw err;
      let hashes: Buffer[];
      try {
        hashes = await tileHashReader(head.tree, fresh).readHashes(indexes);
      } catch (again) {
        if (again instanceof InconsistentTileError || again instanceof TileError)
          throw unavailable(again, fresh.sources);
        // The sources could not be asked again: with stored tiles in the first proof, which tile was wrong cannot
        // be told, so no source is blamed for it.
        if (reader.readStored()) throw unavailable(err);
        throw err;
      }
      await fresh.replaceStored();
      return hashes;
    }
  } catch (err) {
    if (err instanceof SumdbError) throw err;
    throw unavailable(err, err instanceof InconsistentTileError ? reader.sources : undefined);
  }
}

/**
 * The hashes of head's tree that tile t stands for, read by provenHashes: a
 * hash tile's own t.w hashes (its bytes are these, in order), a data tile's
 * records' (level 0: record i's is recordHash of its text). A copy of t
 * whose entries are these is the tree's.
 */
export function tileHashes(
  name: string,
  head: VerifiedHead,
  reader: VerifiedTileReader,
  t: Tile,
  what: string,
): Promise<Buffer[]> {
  const level = t.l < 0 ? 0 : t.h * t.l;
  const first = t.n * 2 ** t.h;
  return provenHashes(
    name,
    head,
    reader,
    Array.from({ length: t.w }, (_, i) => storedHashIndex(level, first + i)),
    what,
  );
}

/** The first of a data tile's records whose hash is not its hash in `hashes` (tileHashes), or -1: all are the tree's. */
export function unprovenRecord(records: readonly Buffer[], hashes: readonly Buffer[]): number {
  return records.findIndex((rec, i) => {
    const h = hashes[i];
    return !h || !hashEqual(h, recordHash(rec));
  });
}
