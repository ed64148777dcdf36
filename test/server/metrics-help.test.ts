// The HELP text of a series names every label value godepot gives it: an
// operator reads it in /metrics to know what to alert on.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/server/metrics.js';

const help = async (m: Metrics, name: string): Promise<string> =>
  (await m.registry.getMetricsAsJSON()).find((s) => s.name === name)?.help ?? '';

describe('metric HELP texts', () => {
  it('name every outcome of cache and upstream calls', async () => {
    const m = new Metrics(false);
    const cache = await help(m, 'godepot_cache_requests_total');
    for (const outcome of ['hit', 'miss', 'stale', 'revalidated']) expect(cache).toContain(outcome);
    const upstream = await help(m, 'godepot_upstream_requests_total');
    for (const outcome of ['ok', 'not_found', 'refused', 'timeout', 'breaker_open'])
      expect(upstream).toContain(outcome);
  });
});
