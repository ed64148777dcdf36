// Time, injected (DESIGN invariant 10): code that ages, expires or measures
// takes a Clock; code that also waits (the upstream client's retries, breaker
// and deadlines) takes a WaitingClock. Tests hand in a ManualClock, or
// test/support/clock.ts's FakeClock for waits, and move it instead of sleeping.
import { setTimeout as sleepFor } from 'node:timers/promises';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** A clock that can also wait; every wait takes a signal and ends when it aborts (DESIGN invariant 9). */
export interface WaitingClock extends Clock {
  /** Resolves after ms; rejects with the signal's reason as soon as it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A signal that aborts with a TimeoutError DOMException after ms. */
  timeout(ms: number): AbortSignal;
}

/**
 * How far ahead of this clock another writer's date may be and still be
 * taken as now: nodes' clocks, workers' and an object store's metadata differ
 * a little. Further ahead, the date is no date (due for a refresh).
 */
export const CLOCK_SKEW_MS = 60_000;

export const systemClock: WaitingClock = {
  now: () => Date.now(),
  async sleep(ms, signal) {
    await sleepFor(ms, undefined, signal ? { signal } : {}).catch((err: unknown) => {
      throw signal?.aborted ? signal.reason : err;
    });
  },
  timeout: (ms) => AbortSignal.timeout(ms),
};

/**
 * Whether ms have passed from at to now, both read on a wall clock. A time
 * after now means the clock stepped back (NTP, a VM resumed after a pause):
 * taken as passed, else what is spaced, retried or refreshed by it would wait
 * until the clock caught up, an hour for a step of an hour.
 */
export function passed(at: number, ms: number, now: number): boolean {
  return now < at || now - at >= ms;
}

/** A clock that moves only when told (tests). */
export class ManualClock implements Clock {
  constructor(private t = Date.parse('2026-01-01T00:00:00Z')) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** What within() gives when the grace ran out first. */
export const LATE: unique symbol = Symbol('late');

/**
 * The promise's value, or LATE when it has not settled within ms on the
 * clock (it keeps running; a caller that moves on should catch it).
 */
export async function within<T>(p: Promise<T>, ms: number, clock: WaitingClock): Promise<T | typeof LATE> {
  const stop = new AbortController();
  const late = clock.sleep(ms, stop.signal).then((): typeof LATE => LATE);
  late.catch(() => undefined);
  try {
    return await Promise.race([p, late]);
  } finally {
    stop.abort();
  }
}
