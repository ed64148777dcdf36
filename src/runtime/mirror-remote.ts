// Wires the checksum-database client's I/O seam (sumdb/remote.ts) to the
// upstream layer: hedged sources, breakers, deadlines, retries.
import { RemoteError, type RemoteResult, type RemoteSourceStatus, type SumdbRemote } from '../sumdb/remote.js';
import {
  BadBodyError,
  NotFoundError,
  readLimited,
  SourcesFailedError,
  UpstreamError,
  type MirrorSet,
  type SumdbSources,
} from '../upstream/index.js';

/** Lookups, tiles and tree heads are small; data tiles hold 256 records. */
const LIMIT = 4 << 20;

export class MirrorRemote implements SumdbRemote {
  constructor(
    private readonly mirrors: MirrorSet,
    private readonly known?: SumdbSources,
  ) {}

  get urls(): readonly string[] {
    return this.mirrors.urls;
  }

  sources(): readonly RemoteSourceStatus[] {
    return this.known?.status() ?? this.mirrors.urls.map((url) => ({ url, via: 'mirror', state: 'unknown' }));
  }

  without(urls: ReadonlySet<string>): SumdbRemote | null {
    const rest = this.mirrors.without(urls);
    return rest.urls.length > 0 ? new MirrorRemote(rest, this.known) : null;
  }

  async get(
    path: string,
    kind: 'latest' | 'lookup' | 'tile' | 'data',
    accept: (body: Buffer) => void,
    signal?: AbortSignal,
  ): Promise<RemoteResult> {
    const read = readLimited(LIMIT);
    try {
      const f = await this.mirrors.get(
        path,
        `sumdb-${kind}`,
        async (body, meta) => {
          const b = await read(body, meta);
          try {
            accept(b);
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
        return { found: false, status: err.status, detail: err.detail, from: err.upstream };
      if (signal?.aborted) throw err;
      if (err instanceof SourcesFailedError) throw new RemoteError(`no source answered: ${err.message}`, err.timeout);
      if (err instanceof UpstreamError) throw new RemoteError(err.describe(), err.failure === 'timeout');
      throw err;
    }
  }
}
