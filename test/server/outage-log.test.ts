// The 3 a.m. log during an upstream outage: the outage is said once (the
// incident log's "outage of …"), and the requests that failed because of it
// once per ten seconds with the reason, not once each; each such request is
// in the access log with its code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGoProxy, FakeSumDb, faults } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { MemoryStorage, StorageUnavailableError } from '../../src/storage/index.js';
import { ManualClock } from '../../src/util/clock.js';

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
      'log-level': 'debug',
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
    // The first failure with its reason (the next in ten seconds at debug), and the outage once.
    expect(said.sort()).toEqual([expect.stringMatching(/^outage of http:\/\/127\.0\.0\.1:\d+: /), 'request failed']);
    expect(logs.filter((l) => l.msg === 'request failed' && level(l) === 20)).toHaveLength(7);
  });
});

// A store that is down fails every request alike: the log says it once per
// ten seconds per error code, with how many more failed since, not once per
// request (the access log still has each).
describe('requests that fail while the store is down', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  const clock = new ManualClock();
  let down = false;

  beforeAll(async () => {
    upstream = await FakeGoProxy.start([]);
    sumdb = await FakeSumDb.start({ records: [] });
    const storage = new MemoryStorage();
    const fail = (): never => {
      throw new StorageUnavailableError('s3://test-bucket', 'did not answer within 3s');
    };
    const open = storage.open.bind(storage);
    storage.open = (key) => (down ? Promise.resolve().then(fail) : open(key));
    godepot = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'access-log': 'true', 'log-level': 'debug' },
      { storage, compose: { clock } },
    );
  });

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('are in the access log, and warned of once per ten seconds with a count', async () => {
    down = true;
    const before = godepot.logs.length;
    const ask = async (i: number): Promise<void> => {
      const r = await fetch(`${godepot.url}/example.com/stored${i}/@v/v1.0.0.info`);
      await r.arrayBuffer();
      expect(r.status).toBe(503);
    };
    for (let i = 0; i < 5; i++) await ask(i);
    clock.advance(9_999);
    await ask(5);
    clock.advance(1);
    await ask(6);
    const logs = godepot.logs.slice(before);
    expect(logs.filter((l) => l.msg === 'request' && l.error === 'storage_failed')).toHaveLength(7);
    const failed = logs.filter((l) => l.msg === 'request failed');
    // A store that does not answer needs an operator: error level, spaced all the same.
    expect(failed.map((l) => [l.level, l.alsoFailedSince])).toEqual([
      [50, undefined],
      [20, undefined],
      [20, undefined],
      [20, undefined],
      [20, undefined],
      [20, undefined],
      [50, 5],
    ]);
    expect(String(failed[0]?.err)).toContain('the storage s3://test-bucket is unavailable: did not answer within 3s');
    down = false;
  });
});
