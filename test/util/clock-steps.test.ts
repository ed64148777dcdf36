// The wall clock steps (NTP, a VM resumed after a pause): code that measures
// by subtracting clock readings must not take a step back of an hour as "a
// moment ago" for the hour, nor keep what it should retry.
import { describe, expect, it } from 'vitest';
import { ManualClock, passed } from '../../src/util/clock.js';
import { Spacing } from '../../src/util/spacing.js';
import { OriginBreaker } from '../../src/vcs/breaker.js';

const HOUR = 3600_000;

describe('a clock stepped back an hour', () => {
  it('takes a time after now as passed: the clock stepped back', () => {
    expect(passed(1_000, 500, 1_400)).toBe(false);
    expect(passed(1_000, 500, 1_500)).toBe(true);
    expect(passed(1_000, 500, 999)).toBe(true);
  });

  it('does not silence a spaced line until the clock catches up', () => {
    const clock = new ManualClock();
    const spacing = new Spacing<string>(10_000, () => clock.now());
    expect(spacing.take('x')).toBe(0);
    expect(spacing.take('x')).toBeNull();
    clock.advance(-HOUR);
    expect(spacing.take('x')).toBe(1);
    // Spaced again from the new time.
    expect(spacing.take('x')).toBeNull();
    clock.advance(10_000);
    expect(spacing.take('x')).toBe(1);
  });

  it('does not keep an origin host refused until the clock catches up', () => {
    const clock = new ManualClock();
    const breaker = new OriginBreaker({ failures: 1, halfOpenAfter: 30_000, now: () => clock.now() });
    breaker.failed('h.example', 'no such host', 'h.example/m');
    expect(breaker.refusal('h.example', 'h.example/m')).toMatch(/unavailable/);
    clock.advance(-HOUR);
    // Half-open: this fetch probes; its failure opens the host again, from the new time.
    expect(breaker.refusal('h.example', 'h.example/m')).toBeNull();
    breaker.failed('h.example', 'no such host', 'h.example/m');
    expect(breaker.refusal('h.example', 'h.example/m')).toMatch(/unavailable/);
    clock.advance(30_000);
    expect(breaker.refusal('h.example', 'h.example/m')).toBeNull();
  });
});
