// A slot whose workers keep dying soon after they start waits before the
// next one, longer each time (a crash loop would burn a core and flood the
// log); a one-off death, or one after a long life, is replaced at once.
import { expect, it } from 'vitest';
import { MAX_DELAY_MS, RestartPacer, UPTIME_MS } from '../../src/runtime/cluster-restarts.js';
import { ManualClock } from '../../src/util/clock.js';

it('replaces a one-off death at once, then waits 1 s, 2 s, 4 s … up to the cap for workers that die young', () => {
  const clock = new ManualClock();
  const pacer = new RestartPacer(() => clock.now());
  pacer.started(2);
  clock.advance(500);
  expect(pacer.died(2)).toEqual({ delayMs: 0, livedMs: 500, youngDeaths: 1 });
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    pacer.started(2);
    clock.advance(300);
    delays.push(pacer.died(2).delayMs);
  }
  expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 32000, MAX_DELAY_MS, MAX_DELAY_MS, MAX_DELAY_MS]);
  // Another slot has its own count.
  pacer.started(1);
  expect(pacer.died(1).delayMs).toBe(0);
});

it('a worker that lived UPTIME_MS resets its slot: its death is replaced at once', () => {
  const clock = new ManualClock();
  const pacer = new RestartPacer(() => clock.now());
  for (let i = 0; i < 3; i++) {
    pacer.started(1);
    pacer.died(1);
  }
  pacer.started(1);
  clock.advance(UPTIME_MS);
  expect(pacer.died(1)).toMatchObject({ delayMs: 0, youngDeaths: 0 });
  pacer.started(1);
  expect(pacer.died(1).delayMs).toBe(0);
});

it('a clock read that goes back counts as no time lived (a wait, never a loop)', () => {
  let now = 10_000;
  const pacer = new RestartPacer(() => now);
  pacer.started(1);
  pacer.died(1);
  pacer.started(1);
  now -= 5_000;
  expect(pacer.died(1)).toMatchObject({ livedMs: 0, delayMs: 1000 });
});
