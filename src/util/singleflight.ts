// Request dedupe (DESIGN invariant 5): concurrent callers for the same key
// share one execution. The shared work gets its own AbortSignal, aborted only
// when every caller waiting on it has gone (or at shutdown), so one client
// hanging up does not cancel a download others still wait for.
// An execution may answer before its work is done (holdUntil): callers that
// arrive until then share the answer instead of starting the work again.
// A generic primitive with no I/O and no imports of ours, shared by
// upstream/, sumdb/ and proxy/ (so sumdb/ need not depend on upstream/).
// Shutdown reaches the executions through one listener, not AbortSignal.any:
// Node 20 keeps, on each source of an AbortSignal.any, a reference to every
// signal ever combined with it until that source aborts (nodejs/node#55351),
// so combining the process-long shutdown signal with each flight's grew
// memory by one entry per miss for as long as godepot ran.

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
  /** fn has answered: nothing is left to cancel, and the flight stays for its held work. */
  answered: boolean;
}

export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();
  /** Every execution still running (abandoned ones no longer in `flights` and held answers included). */
  private readonly running = new Set<Promise<unknown>>();
  /** The controllers of executions not yet done (held work included): what shutdown aborts. */
  private readonly live = new Set<AbortController>();

  /**
   * holdUntil(value) names the rest of an execution's work after its
   * answer (a write behind it): until that settles, the key keeps its
   * flight, new callers get the same answer at once, and settled() waits.
   */
  constructor(
    private readonly shutdown?: AbortSignal,
    private readonly holdUntil?: (value: T) => Promise<unknown> | undefined,
  ) {
    shutdown?.addEventListener('abort', () => this.live.forEach((c) => c.abort(shutdown.reason)), { once: true });
  }

  /** Executions still running (abandoned ones included: they may still be writing). */
  get size(): number {
    return this.running.size;
  }

  /** Resolves when every execution started so far has settled (used at shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  private track(p: Promise<unknown>): void {
    this.running.add(p);
    void p.catch(() => undefined).finally(() => this.running.delete(p));
  }

  /** Runs fn once per key at a time; `shared` tells whether this caller joined an existing flight. */
  async do(
    key: string,
    fn: (signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<{ value: T; shared: boolean }> {
    let flight = this.flights.get(key);
    const shared = flight !== undefined;
    if (!flight) {
      const controller = new AbortController();
      if (this.shutdown?.aborted) controller.abort(this.shutdown.reason);
      this.live.add(controller);
      const f: Flight<T> = { promise: Promise.resolve() as Promise<T>, controller, waiters: 0, answered: false };
      const end = (): void => {
        this.live.delete(controller);
        if (this.flights.get(key) === f) this.flights.delete(key);
      };
      f.promise = (async () => {
        let held: Promise<unknown> | undefined;
        try {
          const value = await fn(controller.signal);
          f.answered = true;
          held = this.holdUntil?.(value);
          return value;
        } finally {
          if (held) this.track(held.then(end, end));
          else end();
        }
      })();
      // Callers that leave early must not turn the rejection into an unhandled one.
      f.promise.catch(() => undefined);
      this.track(f.promise);
      this.flights.set(key, f);
      flight = f;
    }
    const f = flight;
    f.waiters++;
    if (!signal) {
      try {
        return { value: await f.promise, shared };
      } finally {
        f.waiters--;
      }
    }
    signal.throwIfAborted();
    return await new Promise<{ value: T; shared: boolean }>((resolve, reject) => {
      let left = false;
      const leave = (): void => {
        if (left) return;
        left = true;
        f.waiters--;
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        leave();
        if (f.waiters === 0 && !f.answered) {
          // Nobody waits any more: cancel, and let the next caller start afresh.
          if (this.flights.get(key) === f) this.flights.delete(key);
          f.controller.abort(signal.reason);
        }
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      f.promise.then(
        (value) => {
          leave();
          resolve({ value, shared });
        },
        (err: unknown) => {
          leave();
          reject(err);
        },
      );
    });
  }
}
