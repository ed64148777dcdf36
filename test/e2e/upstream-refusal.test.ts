// Issue 10 item 4: the go command probes path prefixes (example.com/@v/list,
// example.com/org/@v/list, …), and a proxy may answer a prefix with 403 "not
// available". That is a definite answer: godepot passes its status and words
// on, remembers it briefly like a 404, logs nothing above debug, and does not
// count it against the upstream — not a 502 and a warning per probe.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGoProxy, FakeSumDb, faults } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { metric } from '../support/metrics.js';

describe('an upstream that refuses a probe with 403', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  beforeAll(async () => {
    upstream = await FakeGoProxy.start();
    sumdb = await FakeSumDb.start();
    godepot = await startGodepot({
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      'breaker-failures': '2',
      'notfound-ttl': '1m',
    });
  });
  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('passes the 403 and its words on, remembers it, and does not count it as an upstream failure', async () => {
    upstream.setFault(faults.status(403, 'not available: example.com/org is blocked\n'), '/example.com/org/');
    for (const path of ['/example.com/org/@v/list', '/example.com/org/@latest', '/example.com/org/@v/v1.0.0.info']) {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(godepot.url + path);
        expect(res.status, path).toBe(403);
        const body = await res.text();
        expect(body, path).toContain('not available: example.com/org is blocked');
        expect(body, path).toContain(upstream.url);
      }
    }
    // Remembered like a not-found: one upstream request per path, not one per client request.
    expect(upstream.count('/example.com/org/@v/list')).toBe(1);
    expect(upstream.count('/example.com/org/@v/v1.0.0.info')).toBe(1);
    // The upstream is healthy: breaker closed, no outage, no 5xx, no warning lines.
    const ready = (await (await fetch(`${godepot.url}/readyz`)).json()) as {
      upstreams: Array<{ url: string; state: string; failingSince?: string }>;
    };
    const up = ready.upstreams.find((u) => u.url === upstream.url);
    expect(up?.state).toBe('closed');
    expect(up?.failingSince).toBeUndefined();
    expect(await godepot.g.incidents.list()).toEqual([]);
    expect(await metric(godepot.url, 'godepot_http_requests_total', { status: '502' })).toBe(0);
    expect(godepot.logs.filter((l) => typeof l.level === 'number' && l.level >= 40)).toEqual([]);
  });
});
