// Mutable answers age on the injected clock: @v/list is a hit until its TTL
// has passed on that clock, then it is refreshed — no test sleeps for a TTL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { FakeGoProxy, FakeSumDb } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';

const LIST_TTL_MS = 5 * 60_000;

describe('the mutable cache on a fake clock', () => {
  const clock = new ManualClock(Date.now());
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  const storage = new MemoryStorage();
  beforeAll(async () => {
    upstream = await FakeGoProxy.start([
      { path: 'example.com/aged', version: 'v1.0.0', files: { 'a.go': 'package a\n' } },
    ]);
    sumdb = await FakeSumDb.start();
    godepot = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'list-ttl': `${LIST_TTL_MS}ms` },
      { compose: { clock }, storage },
    );
  });
  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('serves @v/list from cache until the TTL has passed, then refreshes it', async () => {
    const get = async (): Promise<{ cache: string | null; body: string }> => {
      const r = await fetch(`${godepot.url}/example.com/aged/@v/list`);
      expect(r.status).toBe(200);
      return { cache: r.headers.get('x-godepot-cache'), body: await r.text() };
    };
    expect(await get()).toEqual({ cache: 'miss', body: 'v1.0.0\n' });
    await upstream.add({ path: 'example.com/aged', version: 'v1.1.0', files: { 'a.go': 'package a\n' } });
    // The list is dated by this clock when stored, whatever real time the test took: 1 ms short of its TTL
    // it is a hit, 1 ms past it it is refreshed.
    clock.advance(LIST_TTL_MS - 1);
    expect(await get()).toEqual({ cache: 'hit', body: 'v1.0.0\n' });
    clock.advance(2);
    expect(await get()).toEqual({ cache: 'revalidated', body: 'v1.0.0\nv1.1.0\n' });
    expect(upstream.count('/@v/list')).toBe(2);
  });

  it('a stored answer dated ahead of the clock (a skewed node, S3 metadata, a hand touch) is refreshed, not a hit until then', async () => {
    const url = `${godepot.url}/example.com/aged/@v/list`;
    expect((await fetch(url)).status).toBe(200);
    const key = (await storage.list('mod/')).find((k) => k.endsWith('/@v/list'));
    if (!key) throw new Error(`no stored list among ${(await storage.list('mod/')).join(', ')}`);
    await storage.put(key, Buffer.from('v0.0.1\n'), { mtimeMs: clock.now() + 365 * 24 * 3600_000 });
    const r = await fetch(url);
    expect(r.headers.get('x-godepot-cache')).toBe('revalidated');
    expect(await r.text()).toBe('v1.0.0\nv1.1.0\n');
  });
});
