// The time the upstream client runs on: breaker timing, retry pauses,
// Retry-After and call deadlines all go through a Clock, so tests move time
// instead of sleeping (DESIGN invariant 10). Every wait takes a signal.
import { setTimeout as sleepFor } from 'node:timers/promises';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after ms; rejects with the signal's reason as soon as it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A signal that aborts with a TimeoutError DOMException after ms. */
  timeout(ms: number): AbortSignal;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  async sleep(ms, signal) {
    await sleepFor(ms, undefined, signal ? { signal } : {}).catch((err: unknown) => {
      throw signal?.aborted ? signal.reason : err;
    });
  },
  timeout: (ms) => AbortSignal.timeout(ms),
};
