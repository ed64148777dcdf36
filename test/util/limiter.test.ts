// The bound on concurrent verifications: never more than `running` at once,
// a queue of at most `waiting`, a full queue refused at once, an aborted
// waiter gone from the queue.
import { describe, expect, it } from 'vitest';
import { Limiter, QueueFullError } from '../../src/util/limiter.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('Limiter', () => {
  it('runs at most `running` jobs, queues `waiting` more in order, and refuses the next', async () => {
    const limiter = new Limiter(2, 2);
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const jobs = gates.map((g, i) =>
      limiter.run(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    expect(limiter.load).toEqual({ running: 2, waiting: 2 });
    await expect(limiter.run(() => Promise.resolve(9))).rejects.toBeInstanceOf(QueueFullError);
    gates[1]?.open();
    await jobs[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.open();
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3]);
    expect(limiter.load).toEqual({ running: 0, waiting: 0 });
  });

  it('frees the slot when a job fails', async () => {
    const limiter = new Limiter(1, 0);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(() => Promise.resolve('next'))).toBe('next');
  });

  it('takes an aborted waiter out of the queue', async () => {
    const limiter = new Limiter(1, 1);
    const g = gate();
    const first = limiter.run(() => g.promise);
    const ctl = new AbortController();
    const waiting = limiter.run(() => Promise.resolve('never'), ctl.signal);
    expect(limiter.load.waiting).toBe(1);
    const reason = new Error('client went away');
    ctl.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(limiter.load).toEqual({ running: 1, waiting: 0 });
    g.open();
    await first;
    expect(limiter.load).toEqual({ running: 0, waiting: 0 });
  });
});

describe('Limiter with a long queue', () => {
  it('runs 5,000 waiting jobs in arrival order, aborted ones skipped, through the queue being compacted', async () => {
    const l = new Limiter(1, Number.MAX_SAFE_INTEGER);
    const order: number[] = [];
    const aborts: AbortController[] = [];
    let release = (): void => undefined;
    const first = l.run(() => new Promise<void>((r) => (release = r)));
    const jobs: Array<Promise<void>> = [];
    for (let i = 0; i < 5_000; i++) {
      const ac = new AbortController();
      aborts.push(ac);
      jobs.push(l.run(async () => void order.push(i), ac.signal).catch(() => undefined));
    }
    expect(l.load).toEqual({ running: 1, waiting: 5_000 });
    // Every seventh leaves the queue before its turn.
    for (let i = 0; i < 5_000; i += 7) aborts[i]?.abort();
    expect(l.load.waiting).toBe(5_000 - Math.ceil(5_000 / 7));
    release();
    await first;
    await Promise.all(jobs);
    const want = Array.from({ length: 5_000 }, (_, i) => i).filter((i) => i % 7 !== 0);
    expect(order).toEqual(want);
    expect(l.load).toEqual({ running: 0, waiting: 0 });
  });
});
