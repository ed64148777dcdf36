// The I/O seam of the checksum-database client (as golang.org/x/mod's
// ClientOps): how the mirror reaches the real database's mirrors. Wired to
// the upstream layer (hedged, breakers, deadlines) by the composition root,
// and to fakes in tests.
import { SumdbError } from './errors.js';

export type RemoteResult =
  | { readonly found: true; readonly body: Buffer; readonly from: string }
  | {
      readonly found: false;
      readonly status: number;
      readonly detail: string;
      readonly from: string;
      /** Other sources failed rather than answer: the "not found" is this one source's alone. */
      readonly alone?: boolean;
    };

/** No source of the database answered: `message` says what each did (which URL, which failure). */
export class RemoteError extends Error {
  constructor(
    message: string,
    /** Every source timed out. */
    readonly timeout: boolean,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

/** What is known of one source of the database (for /readyz and the start-up log). */
export interface RemoteSourceStatus {
  readonly url: string;
  /** database: its own host; mirror: a URL given in --sumdb; upstream: an upstream proxy's /sumdb/<name>/. */
  readonly via: 'database' | 'mirror' | 'upstream';
  readonly state: 'ok' | 'failing' | 'unsupported' | 'unknown';
  readonly detail?: string;
  readonly at?: string;
}

export interface SumdbRemote {
  /**
   * GETs path ('/latest', '/lookup/…', '/tile/…') from the database's mirrors.
   * `accept` may throw to refuse a body (a bad signature, a wrong size), which
   * makes the next mirror be asked; `from` names the mirror that sent it.
   * Throws RemoteError when no mirror answered (or the caller's abort error).
   */
  get(
    path: string,
    kind: 'latest' | 'lookup' | 'tile' | 'data',
    accept: (body: Buffer, from: string) => void,
    signal?: AbortSignal,
  ): Promise<RemoteResult>;
  /** The mirror URLs, for messages. */
  readonly urls: readonly string[];
  /** Every source and what is known of it. */
  sources?(): readonly RemoteSourceStatus[];
  /** The same database through every mirror except `urls`; null when none is left. */
  without(urls: ReadonlySet<string>): SumdbRemote | null;
}

/**
 * Runs attempt against the mirrors. When it fails because answers from some
 * mirrors did not verify (SumdbError.suspects), it runs again without those
 * mirrors while others remain: a lying mirror costs one more try, not the
 * request. Anything else (unreachable, not found, a fork) is thrown as is.
 */
export async function askHonestMirrors<T>(
  remote: SumdbRemote,
  attempt: (remote: SumdbRemote) => Promise<T>,
  onSuspects?: (err: SumdbError) => void,
): Promise<T> {
  let current = remote;
  for (;;) {
    try {
      return await attempt(current);
    } catch (err) {
      if (!(err instanceof SumdbError) || err.suspects.size === 0) throw err;
      const next = current.without(err.suspects);
      onSuspects?.(err);
      if (!next) throw err;
      current = next;
    }
  }
}
