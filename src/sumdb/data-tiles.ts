// The data-tile index of a checksum-database mirror: around every record it
// looks up, the mirror fetches the data tile (256 records), proves each
// record against the verified tree and files it as the lookup answer for its
// module version — so that during an outage it can answer lookups it never
// made. Failures in the background are counted and logged once per run.
import type { Logger } from 'pino';
import { SingleFlight } from '../util/singleflight.js';
import { hashEqual, recordHash, storedHashIndex, tilePath, type Tile } from './tlog/index.js';
import { SumdbError } from './errors.js';
import { provenHashes, remoteGet } from './proven.js';
import { recordSubject, splitDataTile } from './records.js';
import { askHonestMirrors, type SumdbRemote } from './remote.js';
import { TILE_HEIGHT, type SumdbStore } from './store.js';
import type { TreeState, VerifiedHead } from './tree-state.js';

const FULL = 1 << TILE_HEIGHT;

export interface DataTileContext {
  readonly name: string;
  readonly store: SumdbStore;
  readonly tree: TreeState;
  readonly remote: SumdbRemote;
  readonly log: Logger;
  readonly offline: boolean;
  /** Called when sources served data that does not verify (askHonestMirrors then asks the others). */
  readonly suspected: (err: SumdbError) => void;
  /** A background fetch failed. */
  readonly failed?: (db: string) => void;
}

export class DataTileIndex {
  private readonly flights = new SingleFlight<Buffer[]>();
  private failures = 0;

  constructor(private readonly c: DataTileContext) {}

  /** Fetches under way. */
  get size(): number {
    return this.flights.size;
  }

  settled(): Promise<unknown> {
    return this.flights.settled();
  }

  /** Fetches data tile n as wide as head allows, checks every record against head's level-0 hashes, keeps and indexes it. */
  async fetch(n: number, head: VerifiedHead, signal?: AbortSignal): Promise<Buffer[]> {
    const w = Math.min(FULL, head.tree.n - n * FULL);
    if (w <= 0) throw new SumdbError('not_found', 'not found: data tile beyond the verified tree');
    const { value } = await this.flights.do(
      `${n}/${w}`,
      async (s) => {
        const t: Tile = { h: TILE_HEIGHT, l: -1, n, w };
        const { body, records } = await askHonestMirrors(
          this.c.remote,
          async (remote) => {
            const r = await remoteGet(
              this.c.name,
              remote,
              '/' + tilePath(t),
              'data',
              (b) => {
                if (splitDataTile(b).length !== w) throw new Error(`${tilePath(t)} does not hold ${w} records`);
              },
              s,
            );
            if (!r.found) throw new SumdbError('not_found', `not found: ${tilePath(t)} (${r.detail})`);
            const records = splitDataTile(r.body);
            const indexes = records.map((_, i) => storedHashIndex(0, n * FULL + i));
            const hashes = await provenHashes(
              this.c.name,
              head,
              this.c.tree.verifiedReader(true, s, remote),
              indexes,
              `cannot verify ${tilePath(t)}`,
            );
            records.forEach((rec, i) => {
              if (!hashEqual(hashes[i] as Buffer, recordHash(rec))) {
                throw new SumdbError(
                  'inconsistent',
                  `checksum database ${this.c.name}: record ${n * FULL + i} of ${tilePath(t)} from ${r.from} does not match the verified tree`,
                  false,
                  new Set([r.from]),
                );
              }
            });
            return { body: r.body, records };
          },
          this.c.suspected,
        );
        await this.c.store.writeTile(t, body, w);
        await this.index(n, records);
        return records;
      },
      signal,
    );
    return value;
  }

  /** Stores every record of a verified data tile as the lookup answer for its module version (the index used when the mirrors are down). */
  private async index(n: number, records: readonly Buffer[]): Promise<void> {
    for (let i = 0; i < records.length; i++) {
      const text = records[i] as Buffer;
      const ref = recordSubject(text.toString('utf8'));
      if (!ref) continue;
      try {
        if (!(await this.c.store.hasRecord(ref.path, ref.version)))
          await this.c.store.writeRecord(ref.path, ref.version, { id: n * FULL + i, text });
      } catch {
        // A record line that is not a valid module path cannot be a lookup answer; skip it.
      }
    }
  }

  /** around() in the background: a failure is counted, and logged once until indexing works again. */
  async aroundReported(id: number, signal: AbortSignal): Promise<void> {
    try {
      await this.around(id, signal);
      if (this.failures > 0)
        this.c.log.info({ db: this.c.name, failures: this.failures }, 'data tiles are fetched again');
      this.failures = 0;
    } catch (err) {
      if (signal.aborted) return;
      this.c.failed?.(this.c.name);
      if (this.failures++ === 0)
        this.c.log.warn(
          { db: this.c.name, err: (err as Error).message },
          `cannot fetch the data tile around record ${id}; lookups of its neighbours will not be answered during an outage (further failures are counted, not logged)`,
        );
    }
  }

  /** Background: fetch and index the data tile holding record id (unless already held at the current width). */
  async around(id: number, signal?: AbortSignal): Promise<void> {
    const head = this.c.tree.head;
    if (!head || this.c.offline) return;
    const n = Math.floor(id / FULL);
    const w = Math.min(FULL, head.tree.n - n * FULL);
    const stored = await this.c.store.readTile({ h: TILE_HEIGHT, l: -1, n, w });
    if (stored && splitDataTile(stored).length >= w) return;
    await this.fetch(n, head, signal);
  }
}
