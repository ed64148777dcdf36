// The primary's watch over its workers' answers: one silent for HANG_MS is
// reported (to be ended) once; one that answers, however slowly within that,
// never; one that exited is forgotten.
import { expect, it } from 'vitest';
import { HANG_MS, HangWatch, PING_MS } from '../../src/runtime/cluster-watchdog.js';
import { ManualClock } from '../../src/util/clock.js';

it('reports a worker silent for HANG_MS once, and never one that keeps answering', () => {
  const clock = new ManualClock();
  const watch = new HangWatch<string>(() => clock.now());
  watch.watch('busy');
  watch.watch('stopped');
  clock.advance(HANG_MS - 1);
  watch.answered('busy');
  expect(watch.hung()).toEqual([]);
  clock.advance(1);
  expect(watch.hung()).toEqual([{ worker: 'stopped', silentMs: HANG_MS }]);
  // Told once (it is being ended); the busy one keeps answering, a ping apart, and is never told.
  for (let i = 0; i < 20; i++) {
    clock.advance(PING_MS);
    watch.answered('busy');
    watch.answered('stopped');
    expect(watch.hung()).toEqual([]);
  }
});

it('forgets a worker that exited, watches only workers it was told of, and takes a clock stepped back as no silence', () => {
  const clock = new ManualClock();
  const watch = new HangWatch<string>(() => clock.now());
  watch.watch('gone');
  watch.answered('starting');
  watch.gone('gone');
  clock.advance(HANG_MS * 2);
  expect(watch.hung()).toEqual([]);
  watch.watch('w');
  clock.advance(-60_000);
  expect(watch.hung()).toEqual([]);
});
