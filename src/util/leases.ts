// Fetch leases: the single flight of several processes (coord/ and
// runtime/cluster-leases.ts implement it; proxy/ and sumdb/ use it). Types
// only, so that every layer may name them.

/** How the holder of a fetch lease finished (sent between processes, so plain data). */
export type FetchOutcome =
  | { readonly kind: 'stored' }
  | { readonly kind: 'not_found'; readonly upstream: string; readonly status: number; readonly detail: string }
  /**
   * error: the holder's failure when it is the upstream's or the checksum
   * database's answer, the same for every node (waiters report it rather than
   * each fetch again); none when the holder gave up for its own reasons.
   */
  | { readonly kind: 'failed'; readonly error?: { readonly code: string; readonly message: string } };

/** A fetch lease: this process fetches (lead), or another one did and finished so. */
export type Lease =
  | {
      readonly lead: true;
      /** The fencing token of a shared lease (grows with every grant), when there is one. */
      readonly token?: number;
      release(outcome: FetchOutcome): void;
    }
  | { readonly lead: false; readonly outcome: FetchOutcome };

/**
 * Coordination between processes that share one store (--workers N, or nodes
 * through Redis): at most one of them fetches a given thing at a time — an
 * artifact from the upstreams, a record or data tile from a checksum
 * database — and the others wait for it and then read what it stored.
 */
export interface FetchLeases {
  /**
   * Resolves when this process may fetch key (release() when done), or when
   * the process that held it has finished, with how it did. Rejects
   * with signal's reason when signal aborts first.
   */
  acquire(key: string, signal: AbortSignal): Promise<Lease>;
}
