// The breaker's rules on a fake clock (src/upstream/breaker.ts): it measures
// the upstream's health across modules, not one module's.
import { describe, expect, it } from 'vitest';
import { HealthBreaker, WINDOW_MS, subjectOf, type BreakerState } from '../../src/upstream/breaker.js';
import type { WaitingClock } from '../../src/util/clock.js';
import { FakeClock } from '../support/clock.js';

function call(b: HealthBreaker, subject: string, outcome: 'ok' | 'failure' | 'neutral'): boolean {
  const t = b.admit(subject);
  if (!t) return false;
  b.record(t, subject, outcome);
  return true;
}

describe('HealthBreaker', () => {
  it('failures of one module alone never open it, however many', () => {
    const b = new HealthBreaker(3, 10_000, new FakeClock());
    for (let i = 0; i < 50; i++) call(b, '/example.com/slow', 'failure');
    expect(b.state).toBe('closed');
  });

  it('failures across modules do not open it while most calls succeed', () => {
    const b = new HealthBreaker(3, 10_000, new FakeClock());
    for (let i = 0; i < 10; i++) call(b, `/example.com/ok${i}`, 'ok');
    for (const m of ['a', 'b', 'c', 'd']) call(b, `/example.com/${m}`, 'failure');
    expect(b.state).toBe('closed');
    call(b, '/example.com/e', 'failure');
    call(b, '/example.com/f', 'failure');
    call(b, '/example.com/g', 'failure');
    call(b, '/example.com/h', 'failure');
    call(b, '/example.com/i', 'failure');
    call(b, '/example.com/j', 'failure');
    expect(b.state).toBe('open');
  });

  it('forgets calls older than its window', async () => {
    const clock = new FakeClock();
    const b = new HealthBreaker(3, 10_000, clock);
    call(b, '/a', 'failure');
    call(b, '/b', 'failure');
    await clock.advance(WINDOW_MS + 1);
    call(b, '/c', 'failure');
    expect(b.state).toBe('closed');
    call(b, '/d', 'failure');
    call(b, '/e', 'failure');
    expect(b.state).toBe('open');
  });

  it('definite answers (neutral) count neither way; reports every state change', async () => {
    const clock = new FakeClock();
    const changes: BreakerState[] = [];
    const b = new HealthBreaker(2, 1_000, clock, (s) => changes.push(s));
    for (let i = 0; i < 10; i++) call(b, `/n${i}`, 'neutral');
    call(b, '/a', 'failure');
    call(b, '/b', 'failure');
    expect(changes).toEqual(['open']);
    await clock.advance(1_000);
    expect(call(b, '/a', 'ok')).toBe(true);
    expect(changes).toEqual(['open', 'half-open', 'closed']);
  });

  it('is half-open only while a probe is out; open until then, saying when one may go', async () => {
    const clock = new FakeClock();
    const b = new HealthBreaker(2, 1_000, clock);
    call(b, '/a', 'failure');
    call(b, '/b', 'failure');
    expect([b.state, b.nextProbeAt]).toEqual(['open', clock.now() + 1_000]);
    await clock.advance(1_500);
    // Its time has come, but no call has come to probe: still open (it read "half-open", beside refusals).
    expect([b.state, b.nextProbeAt]).toEqual(['open', clock.now() - 500]);
    const probe = b.admit('/a');
    expect(probe).toEqual({ probe: true });
    expect([b.state, b.nextProbeAt]).toEqual(['half-open', undefined]);
    expect(b.admit('/c')).toBeNull();
    b.record(probe!, '/a', 'failure');
    expect([b.state, b.nextProbeAt]).toEqual(['open', clock.now() + 1_000]);
  });

  it('names the module of a GOPROXY path as the subject', () => {
    expect(subjectOf('/example.com/m/@v/v1.0.0.zip')).toBe('/example.com/m');
    expect(subjectOf('/example.com/m/@latest')).toBe('/example.com/m');
    expect(subjectOf('/lookup/example.com/m@v1.0.0')).toBe('/lookup/example.com/m@v1.0.0');
  });
});

describe('HealthBreaker: the system clock stepped back (NTP, a VM resumed)', () => {
  /** A FakeClock whose now() the test can also step back, as a wall clock is. */
  function steppingClock(): { clock: FakeClock; stepBack: (ms: number) => void; wall: WaitingClock } {
    const clock = new FakeClock();
    let offset = 0;
    const wall: WaitingClock = {
      now: () => clock.now() - offset,
      sleep: (ms, signal) => clock.sleep(ms, signal),
      timeout: (ms) => clock.timeout(ms),
    };
    return { clock, stepBack: (ms) => (offset += ms), wall };
  }

  it('an open breaker probes again halfOpenAfter later, not once the clock has caught up with its opening', async () => {
    const { clock, stepBack, wall } = steppingClock();
    const b = new HealthBreaker(2, 1_000, wall);
    call(b, '/a', 'failure');
    call(b, '/b', 'failure');
    await clock.advance(1_000);
    expect(call(b, '/c', 'failure')).toBe(true); // the probe failed: no more until halfOpenAfter
    stepBack(3600_000);
    expect(call(b, '/d', 'ok')).toBe(false);
    await clock.advance(1_000);
    // Else every call was refused, with no probe, for the hour the clock went back.
    expect(b.nextProbeAt).toBe(wall.now());
    expect(call(b, '/d', 'ok')).toBe(true);
    expect(b.state).toBe('closed');
  });

  it("a change dated ahead of the stepped-back clock does not make another process's news look old", async () => {
    const { clock, stepBack, wall } = steppingClock();
    const b = new HealthBreaker(2, 60_000, wall);
    call(b, '/a', 'failure');
    call(b, '/b', 'failure');
    stepBack(3600_000);
    await clock.advance(1);
    expect(b.follow('closed', wall.now())).toBe(true);
    expect(b.state).toBe('closed');
  });
});

describe('HealthBreaker: news from another process is input', () => {
  it('news of an opening dated in the future (a skewed clock, a bad value in Redis) opens it no longer than halfOpenAfter', async () => {
    const clock = new FakeClock();
    const b = new HealthBreaker(3, 1_000, clock);
    expect(b.follow('open', clock.now() + 365 * 24 * 3600_000)).toBe(true);
    expect(b.state).toBe('open');
    expect(call(b, '/a', 'ok')).toBe(false);
    await clock.advance(1_000);
    // Else it stayed open until that date: every call refused, no probe, and no news newer than it.
    expect(b.nextProbeAt).toBe(clock.now());
    expect(call(b, '/a', 'ok')).toBe(true);
    expect(b.state).toBe('closed');
  });

  it('news dated in the future does not make the news after it look old', async () => {
    const clock = new FakeClock();
    const b = new HealthBreaker(3, 60_000, clock);
    expect(b.follow('open', clock.now() + 365 * 24 * 3600_000)).toBe(true);
    await clock.advance(1);
    // Another node's recovery, a moment later: followed.
    expect(b.follow('closed', clock.now())).toBe(true);
    expect(b.state).toBe('closed');
    // And a future-dated "closed" does not shut out the next opening either.
    expect(b.follow('closed', clock.now() + 365 * 24 * 3600_000)).toBe(false);
    await clock.advance(1);
    expect(b.follow('open', clock.now())).toBe(true);
    expect(b.state).toBe('open');
  });

  it('a replay of news dated in the future (Redis gives the latest at each reconnect) is followed once', async () => {
    const clock = new FakeClock();
    const b = new HealthBreaker(3, 1_000, clock);
    const future = clock.now() + 365 * 24 * 3600_000;
    expect(b.follow('open', future)).toBe(true);
    await clock.advance(1_000);
    expect(call(b, '/a', 'ok')).toBe(true);
    expect(b.state).toBe('closed');
    await clock.advance(1);
    expect(b.follow('open', future)).toBe(false);
    expect(b.state).toBe('closed');
  });
});
