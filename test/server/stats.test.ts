// OperatorStats: what the operator page reads beyond /metrics, from the same
// events, on an injected clock (no test waits for time to pass).
import { describe, expect, it } from 'vitest';
import { OperatorStats, percentile, SAMPLES, STEP_MS } from '../../src/server/stats.js';

function clock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const U = 'http://127.0.0.1:1';

describe('OperatorStats', () => {
  it('gives p50/p99 latency and counts of the last five minutes per upstream, totals since start', () => {
    const c = clock();
    const s = new OperatorStats(c.now);
    const obs = s.endpointObserver();
    for (let i = 1; i <= 100; i++) obs.onCall?.({ upstream: U, kind: 'zip', outcome: 'ok', seconds: i / 1000 });
    obs.onCall?.({ upstream: U, kind: 'zip', outcome: 'timeout', seconds: 2 });
    obs.onCall?.({ upstream: U, kind: 'zip', outcome: 'breaker_open', seconds: 0 });
    let u = s.upstream(U);
    expect(u).toMatchObject({ requests: 101, failures: 1, breakerRefusals: 1, requestsTotal: 101, failuresTotal: 1 });
    expect(u.p50Ms).toBe(51);
    expect(u.p99Ms).toBe(100);

    // Five minutes later the window is empty; the totals remain.
    c.advance(5 * 60_000);
    u = s.upstream(U);
    expect(u).toMatchObject({ requests: 0, failures: 0, breakerRefusals: 0, p50Ms: null, p99Ms: null });
    expect(u.requestsTotal).toBe(101);
    expect(s.upstream('http://never.example')).toMatchObject({ requests: 0, p50Ms: null, requestsTotal: 0 });
  });

  it('keeps an hour of 10 s samples: requests per second by outcome and each upstream’s latency', () => {
    const c = clock(1_700_000_000_000 - (1_700_000_000_000 % STEP_MS));
    const s = new OperatorStats(c.now);
    const ev = s.serviceEvents();
    for (let i = 0; i < 20; i++) ev.served?.({ kind: 'zip', outcome: 'hit' });
    ev.served?.({ kind: 'zip', outcome: 'stale' });
    ev.served?.({ kind: 'mod', outcome: 'miss' });
    ev.served?.({ kind: 'info', outcome: 'error', status: 504 });
    s.endpointObserver().onCall?.({ upstream: U, kind: 'mod', outcome: 'ok', seconds: 0.25 });
    c.advance(STEP_MS);
    let series = s.series();
    expect(series.t).toHaveLength(SAMPLES);
    expect(series.stepSeconds).toBe(10);
    // Before the process started: no data, not zero.
    expect(series.hit[0]).toBeNull();
    expect(series.hit.at(-2)).toBeCloseTo(2.1);
    expect(series.miss.at(-2)).toBeCloseTo(0.1);
    expect(series.error.at(-2)).toBeCloseTo(0.1);
    expect(series.hit.at(-1)).toBe(0);
    expect(series.latencyMs[U]?.at(-2)).toBe(250);
    expect(series.latencyMs[U]?.at(-1)).toBeNull();
    expect(s.hitRatio()).toBeCloseTo(21 / 22);

    // An hour on, the old samples have left the ring.
    c.advance(SAMPLES * STEP_MS);
    series = s.series();
    expect(series.hit.every((v) => v === 0)).toBe(true);
    expect(series.latencyMs[U]).toBeUndefined();
  });

  it('after the wall clock stepped back a day (NTP), keeps at most an hour of samples and shows the new ones', () => {
    // The samples dated ahead of the stepped clock stayed at the front of the ring, which was trimmed from there
    // only: it grew by one sample per 10 s for the whole day, and the hour shown was "no data" (before the start).
    const c = clock(1_700_000_000_000 - (1_700_000_000_000 % STEP_MS));
    const s = new OperatorStats(c.now);
    const ev = s.serviceEvents();
    ev.served?.({ kind: 'zip', outcome: 'hit' });
    c.advance(-24 * 3600_000);
    for (let i = 0; i < 3 * SAMPLES; i++) {
      ev.served?.({ kind: 'zip', outcome: 'hit' });
      c.advance(STEP_MS);
    }
    expect(s.snapshot().samples.length).toBeLessThanOrEqual(SAMPLES);
    const series = s.series();
    expect(series.hit.at(-2)).toBeCloseTo(0.1);
    expect(series.hit[0]).toBeCloseTo(0.1);
  });

  it('lists refused artifacts newest first and notes when each tree took its head', () => {
    const c = clock();
    const s = new OperatorStats(c.now);
    expect(s.hitRatio()).toBeNull();
    const ev = s.serviceEvents();
    for (const version of ['v1.0.0', 'v1.1.0']) {
      ev.checksumMismatch?.({
        module: 'example.com/m',
        version,
        kind: 'zip',
        expected: 'h1:want=',
        received: 'h1:got=',
        upstream: U,
      });
      c.advance(1000);
    }
    expect(s.refused().map((r) => r.version)).toEqual(['v1.1.0', 'v1.0.0']);
    expect(s.refused()[0]).toMatchObject({ module: 'example.com/m', expected: 'h1:want=', received: 'h1:got=' });

    s.treeAdvanced('db', 10);
    const first = c.now();
    c.advance(5000);
    s.treeAdvanced('db', 10); // the same head again: not a new one
    expect(s.headTakenAt('db')).toBe(first);
    s.treeAdvanced('db', 12);
    expect(s.headTakenAt('db')).toBe(first + 5000);
    expect(s.headTakenAt('other')).toBeUndefined();
    // A head loaded at start was taken when it was stored, not when godepot (re)started.
    s.treeAdvanced('loaded', 7, first - 60_000);
    expect(s.headTakenAt('loaded')).toBe(first - 60_000);
  });

  it('percentile is nearest-rank and null for no values', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
  });
});

describe('OperatorStats of a group of workers', () => {
  it('adds the workers’ snapshots up: requests per slot, hit ratio, totals, pooled latencies, refused newest first', () => {
    const c = clock(1_700_000_000_000 - (1_700_000_000_000 % STEP_MS));
    const a = new OperatorStats(c.now);
    const b = new OperatorStats(c.now);
    for (let i = 0; i < 3; i++) a.serviceEvents().served?.({ kind: 'zip', outcome: 'hit' });
    b.serviceEvents().served?.({ kind: 'zip', outcome: 'miss' });
    for (let i = 1; i <= 50; i++)
      a.endpointObserver().onCall?.({ upstream: U, kind: 'zip', outcome: 'ok', seconds: i / 1000 });
    for (let i = 51; i <= 100; i++)
      b.endpointObserver().onCall?.({ upstream: U, kind: 'zip', outcome: 'timeout', seconds: i / 1000 });
    const refusal = { module: 'example.com/m', version: 'v1.0.0', kind: 'zip', expected: 'h1:a', received: 'h1:b' };
    a.serviceEvents().checksumMismatch?.({ ...refusal, upstream: 'http://a' });
    c.advance(STEP_MS);
    b.serviceEvents().checksumMismatch?.({ ...refusal, upstream: 'http://b' });
    b.serviceEvents().served?.({ kind: 'zip', outcome: 'error' });

    // Snapshots cross the IPC channel as JSON.
    const wire = [a, b].map((s) => JSON.parse(JSON.stringify(s.snapshot())) as ReturnType<OperatorStats['snapshot']>);
    const g = OperatorStats.group(a, wire);
    expect(g.hitRatio()).toBe(3 / 4);
    expect(g.upstream(U)).toMatchObject({
      requests: 100,
      failures: 50,
      requestsTotal: 100,
      failuresTotal: 50,
      p50Ms: 50,
    });
    expect(g.upstream(U).p99Ms).toBe(99);
    const series = g.series();
    expect(series.hit.slice(-2)).toEqual([0.3, 0]);
    expect(series.miss.slice(-2)).toEqual([0.1, 0]);
    expect(series.error.slice(-2)).toEqual([0, 0.1]);
    expect(g.refused().map((r) => r.upstream)).toEqual(['http://b', 'http://a']);
    // The same bytes from the same upstream refused by both workers (or twice by one) are one artifact, at its latest.
    c.advance(STEP_MS);
    a.serviceEvents().checksumMismatch?.({ ...refusal, upstream: 'http://b' });
    a.serviceEvents().checksumMismatch?.({ ...refusal, upstream: 'http://b' });
    expect(a.refused().map((r) => r.upstream)).toEqual(['http://b', 'http://a']);
    const again = [a, b].map((s) => JSON.parse(JSON.stringify(s.snapshot())) as ReturnType<OperatorStats['snapshot']>);
    const g2 = OperatorStats.group(a, again);
    expect(g2.refused().map((r) => r.upstream)).toEqual(['http://b', 'http://a']);
    expect(g2.refused()[0]?.at).toBe(new Date(c.now()).toISOString());
    // Each worker's own numbers are unchanged.
    expect(a.hitRatio()).toBe(1);
    expect(b.hitRatio()).toBe(0);
  });
});
