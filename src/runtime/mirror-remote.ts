// Wires the checksum-database client's I/O seam (sumdb/remote.ts) to the
// upstream layer: hedged sources, breakers, deadlines, retries.
import { RemoteError, type RemoteResult, type RemoteSourceStatus, type SumdbRemote } from '../sumdb/remote.js';
import {
  BadBodyError,
  NotFoundError,
  readLimited,
  refusalOf,
  SourcesFailedError,
  UpstreamError,
  type MirrorSet,
  type SumdbSources,
} from '../upstream/index.js';

/** Lookups, tiles and tree heads are small; data tiles hold 256 records. */
const LIMIT = 4 << 20;

/**
 * How long a source that refused a data tile is not asked for another.
 * proxy.golang.org's /sumdb/ serves lookups, hash tiles and tree heads but
 * answers every data tile `403 Go module path not permitted` (seen
 * 2026-12-05): without this, each lookup's background fetch of the data
 * tile around it asked again.
 */
const REFUSED_DATA_MS = 60 * 60_000;

export class MirrorRemote implements SumdbRemote {
  constructor(
    private readonly mirrors: MirrorSet,
    private readonly known?: SumdbSources,
    /** The clock of the refusals below (the upstream breakers' clock). */
    private readonly now: () => number = Date.now,
    /** Sources that refused a data tile, until when (shared with the remotes made by without()). */
    private readonly refusedData = new Map<string, number>(),
  ) {}

  get urls(): readonly string[] {
    return this.mirrors.urls;
  }

  sources(): readonly RemoteSourceStatus[] {
    return this.known?.status() ?? this.mirrors.urls.map((url) => ({ url, via: 'mirror', state: 'unknown' }));
  }

  without(urls: ReadonlySet<string>): SumdbRemote | null {
    const rest = this.mirrors.without(urls);
    return rest.urls.length > 0 ? new MirrorRemote(rest, this.known, this.now, this.refusedData) : null;
  }

  async get(
    path: string,
    kind: 'latest' | 'lookup' | 'tile' | 'data',
    accept: (body: Buffer, from: string) => void,
    signal?: AbortSignal,
  ): Promise<RemoteResult> {
    const read = readLimited(LIMIT);
    let mirrors = this.mirrors;
    if (kind === 'data') {
      const now = this.now();
      const refusers = new Set([...this.refusedData].filter(([, until]) => until > now).map(([url]) => url));
      if (refusers.size > 0) {
        mirrors = mirrors.without(refusers);
        if (mirrors.urls.length === 0)
          throw new RemoteError(`no source serves data tiles (${[...refusers].join(', ')} refused them)`, false);
      }
    }
    try {
      const f = await mirrors.get(
        path,
        `sumdb-${kind}`,
        async (body, meta) => {
          const b = await read(body, meta);
          try {
            accept(b, meta.upstream);
          } catch (err) {
            // Refused by verification: this mirror failed, another may do better; never retried here.
            throw new BadBodyError((err as Error).message);
          }
          return b;
        },
        signal,
      );
      return { found: true, body: f.value, from: f.meta.upstream };
    } catch (err) {
      if (err instanceof NotFoundError)
        return {
          found: false,
          status: err.status,
          detail: err.detail,
          from: err.upstream,
          ...(err.othersFailed ? { alone: true } : {}),
        };
      if (signal?.aborted) throw err;
      if (kind === 'data' && err instanceof SourcesFailedError)
        for (const f of err.failures)
          if (f instanceof UpstreamError && refusalOf(f))
            this.refusedData.set(f.upstream, this.now() + REFUSED_DATA_MS);
      if (err instanceof SourcesFailedError) throw new RemoteError(`no source answered: ${err.message}`, err.timeout);
      if (err instanceof UpstreamError) throw new RemoteError(err.describe(), err.failure === 'timeout');
      throw err;
    }
  }
}
