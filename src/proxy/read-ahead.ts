// Read-ahead: the go command asks for a version's .mod while it loads the
// module graph, and then (go mod download, go get, go list -m -json) for its
// .info and its .zip, one request after another. Fetching the next artifact
// while the client still waits for the current one overlaps its upstream
// round trip, verification and storage with the client's own requests
// instead of adding them up (issue 16, cold fills):
//
//   - a client's .mod that is not stored starts the version's .info;
//   - a client's .info of a canonical version starts the version's .zip;
//   - a version fetched from its origin (private, or where `direct` is
//     reached) starts the other two: one go run fetched all three.
//
// A read-ahead is an ordinary fetch through the service (one flight per
// artifact, the same verification, the same leases across workers and
// nodes), never triggers another one, and is bounded: a few at a time and a
// short queue that drops what does not fit (the client's own request then
// fetches it, as without read-ahead). Nothing is started after shutdown.
import type { ImmutableRequest } from './immutable.js';

export interface ReadAheadLimits {
  /** Read-aheads fetching at once. */
  readonly running: number;
  /** Read-aheads waiting for a turn; more are dropped. */
  readonly queued: number;
  /** Triggers remembered (first()), so that a hit asked again and again starts nothing. */
  readonly remembered: number;
}

const READ_AHEAD_LIMITS: ReadAheadLimits = { running: 4, queued: 64, remembered: 4096 };

export class ReadAhead {
  private readonly queue = new Map<string, ImmutableRequest>();
  private readonly active = new Map<string, Promise<void>>();
  private readonly triggers = new Set<string>();

  /** fetch: the service's own fetch of an artifact; it must not throw (a read-ahead's failure is only logged). */
  constructor(
    private readonly fetch: (req: ImmutableRequest) => Promise<void>,
    private readonly shutdown: AbortSignal,
    private readonly limits: ReadAheadLimits = READ_AHEAD_LIMITS,
  ) {}

  /** Read-aheads queued or running. */
  get size(): number {
    return this.queue.size + this.active.size;
  }

  /**
   * True the first time trigger (the key of what a client asked for) is
   * seen lately: its read-ahead is then asked for once, whatever comes of it.
   */
  first(trigger: string): boolean {
    if (this.triggers.has(trigger)) return false;
    this.triggers.add(trigger);
    if (this.triggers.size > this.limits.remembered) {
      for (const oldest of this.triggers) {
        this.triggers.delete(oldest);
        break;
      }
    }
    return true;
  }

  /**
   * Fetches req (stored under key) soon: 'queued', or 'known' when it is
   * already queued or running (or godepot is stopping), or 'full' when the
   * queue is (the client's own request then fetches it).
   */
  request(key: string, req: ImmutableRequest): 'queued' | 'known' | 'full' {
    if (this.shutdown.aborted || this.queue.has(key) || this.active.has(key)) return 'known';
    if (this.queue.size >= this.limits.queued) return 'full';
    this.queue.set(key, req);
    this.next();
    return 'queued';
  }

  private next(): void {
    if (this.shutdown.aborted) this.queue.clear();
    for (const [key, req] of this.queue) {
      if (this.active.size >= this.limits.running) return;
      this.queue.delete(key);
      const run = this.fetch(req).finally(() => {
        this.active.delete(key);
        this.next();
      });
      this.active.set(key, run);
    }
  }

  /** Resolves when nothing is queued or running (read-aheads started meanwhile included). */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active.values()]);
  }
}
