// The 3 a.m. log during an upstream outage: the outage is said once (the
// incident log's "outage of …"), not once per request that failed because of
// it; each such request is in the access log with its code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGoProxy, FakeSumDb, faults } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';

describe('requests that fail during an upstream outage', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;

  beforeAll(async () => {
    upstream = await FakeGoProxy.start([]);
    sumdb = await FakeSumDb.start({ records: [] });
    godepot = await startGodepot({
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      'access-log': 'true',
      'retry-attempts': '1',
    });
  });

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('are in the access log, and the outage is said once', async () => {
    upstream.setFault(faults.reset());
    const before = godepot.logs.length;
    for (let i = 0; i < 8; i++) {
      const r = await fetch(`${godepot.url}/example.com/down${i}/@v/v1.0.0.info`);
      await r.arrayBuffer();
      expect(r.status).toBe(502);
    }
    const logs = godepot.logs.slice(before);
    const level = (l: Record<string, unknown>): number => (typeof l.level === 'number' ? l.level : 0);
    expect(logs.filter((l) => l.msg === 'request' && l.error === 'upstream_failed')).toHaveLength(8);
    const said = logs.filter((l) => level(l) >= 30 && l.msg !== 'request').map((l) => l.msg);
    expect(said).toEqual([expect.stringMatching(/^outage of http:\/\/127\.0\.0\.1:\d+: /)]);
  });
});
