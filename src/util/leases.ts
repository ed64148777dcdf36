// Fetch leases: the single flight of several processes (coord/ and
// runtime/cluster-leases.ts implement them), and the one protocol every user
// of them follows (fetchOnceAcross: artifacts in proxy/, checksum records and
// data tiles in sumdb/). No I/O of its own, so that every layer may use it.

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
      /**
       * The fencing token of a shared lease (grows with every grant), when there is one. For logs only: it starts
       * again when Redis loses its data (restarted empty, flushed, failed over to a replica behind), so it orders
       * no write; the lease's random id keeps its holders apart.
       */
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

/** What fetchOnceAcross needs of one kind of shared fetch. */
export interface SharedFetch<T> {
  /**
   * What this process holds now, or null. stored: for a value held in memory
   * while its write is still landing, settles once it has (true) or failed
   * (false); absent when the value was read from storage.
   */
  held(): Promise<{ readonly value: T; readonly stored?: Promise<boolean> } | null>;
  /** Fetches, verifies and stores; stored resolves once the write has landed (true) or failed (false). */
  fetch(signal: AbortSignal): Promise<{ readonly value: T; readonly stored: Promise<boolean> }>;
  /** How this process's failure is told to the waiters (see FetchOutcome). */
  failure(err: unknown): FetchOutcome;
  /** The error a waiter gives for the holder's outcome when that is the source's own answer; null: not so. */
  sharedError(outcome: FetchOutcome): Error | null;
  /** Told "stored", yet this process's storage has no copy (nodes that do not share one store). */
  storedElsewhere?(): void;
}

const STORED: FetchOutcome = { kind: 'stored' };
const FAILED: FetchOutcome = { kind: 'failed' };

/**
 * f.fetch, once across the processes sharing a store. The holder of key's
 * lease looks at storage once more (another process may have stored it
 * between this one's miss and the grant), else fetches, and tells the
 * waiters "stored" once the write has landed, or how it failed. A waiter
 * reads what was stored, or gives the holder's answer when it is the
 * source's own (sharedError). A holder that gave up for its own reasons
 * hands over: the waiters ask once more, so one of them fetches while the
 * rest wait again; only after that (or when told "stored" of a copy its
 * storage lacks) does each fetch alone. Without leases, f.fetch.
 * fetched: whether this process fetched the value.
 */
export async function fetchOnceAcross<T>(
  leases: FetchLeases | null | undefined,
  key: string,
  signal: AbortSignal,
  f: SharedFetch<T>,
): Promise<{ value: T; fetched: boolean }> {
  for (let ask = 0; leases && ask < 2; ask++) {
    const lease = await leases.acquire(key, signal);
    if (lease.lead) {
      let got: { readonly value: T; readonly stored: Promise<boolean> };
      try {
        const held = await f.held();
        if (held) {
          // "stored" only once others can read it there.
          if (held.stored) releaseWhen(lease, held.stored);
          else lease.release(STORED);
          return { value: held.value, fetched: false };
        }
        got = await f.fetch(signal);
      } catch (err) {
        lease.release(f.failure(err));
        throw err;
      }
      // The waiters read storage when told, so they are told once it is there; this answer need not wait.
      releaseWhen(lease, got.stored);
      return { value: got.value, fetched: true };
    }
    const shared = f.sharedError(lease.outcome);
    if (shared) throw shared;
    if (lease.outcome.kind === 'stored') {
      const held = await f.held();
      if (held) return { value: held.value, fetched: false };
      f.storedElsewhere?.();
      break;
    }
  }
  return { value: (await f.fetch(signal)).value, fetched: true };
}

/** Releases lease once stored settles: "stored" when the write landed, else a failure that hands over. */
function releaseWhen(lease: { release(outcome: FetchOutcome): void }, stored: Promise<boolean>): void {
  void stored.then(
    (ok) => lease.release(ok ? STORED : FAILED),
    () => lease.release(FAILED),
  );
}
