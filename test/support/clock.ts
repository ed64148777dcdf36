// A waiting clock that tests move by hand (src/util/clock.ts): sleeps and
// time-outs fire only when advance() passes their time, in time order.
import { systemClock, type WaitingClock as Clock } from '../../src/util/clock.js';

interface Timer {
  readonly at: number;
  readonly fire: () => void;
}

export class FakeClock implements Clock {
  private timers: Timer[] = [];

  constructor(private t = Date.UTC(2026, 0, 1)) {}

  now = (): number => this.t;

  /** Timers waiting (sleeps and time-outs not yet fired or aborted). */
  get pending(): number {
    return this.timers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const timer: Timer = {
        at: this.t + ms,
        fire: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  timeout(ms: number): AbortSignal {
    const ctl = new AbortController();
    this.timers.push({
      at: this.t + ms,
      fire: () => ctl.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    });
    return ctl.signal;
  }

  /** Moves time forward by ms, firing due timers in order and letting their effects run. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fire();
      await new Promise((r) => setImmediate(r));
    }
    this.t = end;
    await new Promise((r) => setImmediate(r));
  }

  /** Waits (in real time, bounded) until at least n sleeps are pending besides the time-outs counted in base. */
  async until(cond: () => boolean, what: string, limitMs = 5_000): Promise<void> {
    const start = performance.now();
    while (!cond()) {
      if (performance.now() - start > limitMs) throw new Error(`fake clock: gave up waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/**
 * Real time plus an offset the test moves forward (src/util/clock.ts's
 * systemClock, skipped ahead): sleeps and deadlines run in real time, so a
 * hanging upstream still times out, but a breaker's half-open time or a TTL
 * is reached at once with skip() instead of being waited for.
 */
export class OffsetClock implements Clock {
  private offset = 0;
  now = (): number => systemClock.now() + this.offset;
  sleep = (ms: number, signal?: AbortSignal): Promise<void> => systemClock.sleep(ms, signal);
  timeout = (ms: number): AbortSignal => systemClock.timeout(ms);
  skip(ms: number): void {
    this.offset += ms;
  }
}
