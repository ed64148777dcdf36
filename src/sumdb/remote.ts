// The I/O seam of the checksum-database client (as golang.org/x/mod's
// ClientOps): how the mirror reaches the real database's mirrors. Wired to
// the upstream layer (hedged, breakers, deadlines) by the composition root,
// and to fakes in tests.

export type RemoteResult = { readonly found: true; readonly body: Buffer; readonly from: string } | { readonly found: false; readonly status: number; readonly detail: string; readonly from: string };

export interface SumdbRemote {
  /**
   * GETs path ('/latest', '/lookup/…', '/tile/…') from the database's mirrors.
   * `accept` may throw to refuse a body (a bad signature, a wrong size), which
   * makes the next mirror be asked. Throws (any Error) when no mirror answered;
   * a timed-out failure carries `failure === 'timeout'`.
   */
  get(path: string, kind: 'latest' | 'lookup' | 'tile' | 'data', accept: (body: Buffer) => void, signal?: AbortSignal): Promise<RemoteResult>;
  /** The mirror URLs, for messages. */
  readonly urls: readonly string[];
}
