// within(): the stale grace's race, on an injected clock.
import { describe, expect, it } from 'vitest';
import { LATE, within } from '../../src/util/clock.js';
import { FakeClock } from '../support/clock.js';

describe('within', () => {
  it('gives the value when the promise settles first, and leaves no wait behind', async () => {
    const clock = new FakeClock();
    expect(await within(Promise.resolve(7), 1_000, clock)).toBe(7);
    expect(clock.pending).toBe(0);
  });

  it('gives LATE once the time has passed on the clock, not a moment before', async () => {
    const clock = new FakeClock();
    let settle: (v: string) => void = () => undefined;
    const slow = new Promise<string>((r) => (settle = r));
    const raced = within(slow, 1_000, clock);
    let outcome: unknown = 'pending';
    void raced.then((v) => (outcome = v));
    await clock.advance(999);
    expect(outcome).toBe('pending');
    await clock.advance(1);
    expect(outcome).toBe(LATE);
    settle('late value');
    expect(await slow).toBe('late value');
  });

  it('passes a rejection through and stops its wait', async () => {
    const clock = new FakeClock();
    await expect(within(Promise.reject(new Error('refused')), 1_000, clock)).rejects.toThrow('refused');
    expect(clock.pending).toBe(0);
  });
});
