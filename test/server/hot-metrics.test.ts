import { describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry } from 'prom-client';
import { BatchedCounter, LocalHistogram } from '../../src/server/hot-metrics.js';
import { prng } from '../support/prng.js';

function picker(seed: number): { int(n: number): number; next(): number } {
  const next = prng(seed);
  return { next, int: (n) => Math.floor(next() * n) };
}

function lines(text: string): string[] {
  return text.split('\n').sort();
}

const BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 15, 60];

describe('hot-path metrics', () => {
  it('a LocalHistogram exposes exactly what prom-client’s Histogram does for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const local = new LocalHistogram('t_duration_seconds', 'Time.', 'route', BUCKETS);
    local.registerIn(ours);
    const reference = new Histogram({
      name: 't_duration_seconds',
      help: 'Time.',
      labelNames: ['route'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    const rnd = picker(7);
    const routes = ['mod', 'zip', 'info', 'sumdb_lookup'];
    for (let i = 0; i < 5000; i++) {
      const route = routes[rnd.int(routes.length)] as string;
      // Values on, below and above the bucket bounds, and past the last one.
      const v = rnd.int(4) === 0 ? (BUCKETS[rnd.int(BUCKETS.length)] as number) : rnd.next() ** 4 * 100;
      local.observe(route, v);
      reference.observe({ route }, v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // The JSON form (what a cluster aggregator merges), minus prom-client's empty exemplar fields.
    const noExemplars = (json: unknown): unknown =>
      JSON.parse(JSON.stringify(json, (k, v: unknown) => (k === 'exemplar' ? undefined : v)));
    expect(noExemplars(await ours.getMetricsAsJSON())).toEqual(noExemplars(await theirs.getMetricsAsJSON()));
    local.reset();
    reference.reset();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('a BatchedCounter shows every increment at each scrape, as a plain Counter does', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const batched = new BatchedCounter({ name: 't_requests_total', help: 'Requests.', registers: [ours] }, [
      'route',
      'status',
    ]);
    const reference = new Counter({
      name: 't_requests_total',
      help: 'Requests.',
      labelNames: ['route', 'status'],
      registers: [theirs],
    });
    const rnd = picker(11);
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 1000; i++) {
        const route = ['mod', 'zip', 'list'][rnd.int(3)] as string;
        const status = ['200', '404', '304'][rnd.int(3)] as string;
        const by = rnd.int(3) + 1;
        batched.inc(route, status, by);
        reference.inc({ route, status }, by);
      }
      // Scraped between rounds: nothing counted is lost or counted twice (series order is free).
      expect(lines(await ours.metrics())).toEqual(lines(await theirs.metrics()));
    }
    const json = await ours.getMetricsAsJSON();
    expect(json[0]?.values.reduce((n, v) => n + v.value, 0)).toBeGreaterThan(4000);
  });
});
