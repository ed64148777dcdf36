// A slot whose workers keep dying soon after they start waits before the
// next one, longer each time (a crash loop would burn a core and flood the
// log); a one-off death, or one after a long life, is replaced at once.
import { expect, it } from 'vitest';
import { MAX_DELAY_MS, RestartPacer, SlotBook, UPTIME_MS } from '../../src/runtime/cluster-restarts.js';
import { crashLooping } from '../../src/server/health.js';
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

it("keeps the primary's book of which slots serve, for /readyz: a slot in a crash loop is said, one starting is not", () => {
  const clock = new ManualClock(Date.parse('2026-12-07T01:00:00Z'));
  const pacer = new RestartPacer(() => clock.now());
  const book = new SlotBook(2, () => clock.now());
  const status = (): ReturnType<SlotBook['status']> => book.status();
  expect(status()).toMatchObject({ of: 2, serving: 0 });
  for (const slot of [1, 2]) {
    pacer.started(slot);
    book.starting(slot);
    book.serving(slot);
  }
  expect(status()).toEqual({ of: 2, serving: 2, down: [] });
  expect(crashLooping(status())).toEqual([]);

  // Slot 2 dies young: replaced at once (starting, not said), then again, and waits.
  clock.advance(1_000);
  book.died(2, pacer.died(2));
  expect(status().down).toEqual([{ slot: 2, since: '2026-12-07T01:00:01.000Z', state: 'starting' }]);
  expect(crashLooping(status())).toEqual([]);
  pacer.started(2);
  clock.advance(500);
  book.died(2, pacer.died(2));
  // Down since its first death: the restart that never listened is the same gap.
  expect(status()).toEqual({
    of: 2,
    serving: 1,
    down: [
      {
        slot: 2,
        since: '2026-12-07T01:00:01.000Z',
        state: 'waiting',
        youngDeaths: 2,
        nextStart: '2026-12-07T01:00:02.500Z',
      },
    ],
  });
  expect(crashLooping(status())).toEqual([
    'worker 2 of 2 does not serve since 2026-12-07T01:00:01.000Z: its workers died 2 times in a row soon after they started; the next starts at 2026-12-07T01:00:02.500Z (the log says why they die)',
  ]);
  // Its next worker listens: whole again, and the next gap has its own start.
  clock.advance(1_000);
  pacer.started(2);
  book.starting(2);
  book.serving(2);
  expect(status()).toEqual({ of: 2, serving: 2, down: [] });
  book.died(2, { delayMs: 0, livedMs: 20_000, youngDeaths: 0 });
  expect(status().down[0]?.since).toBe('2026-12-07T01:00:02.500Z');
});
