// The wall clock stepped back an hour (NTP, a VM resumed after a pause): the
// tree head checked "in the future" is due for a refresh, not taken as fresh
// until the clock catches up (an hour of new modules godepot could not verify).
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { FakeSumDb } from '../world/index.js';
import { fakeModules, RecordingRemote, rig, type Rig } from './mirror-harness.js';

let db: FakeSumDb;
let r: Rig | undefined;
beforeAll(async () => {
  db = await FakeSumDb.start({ records: fakeModules(3) });
});
afterEach(async () => {
  await r?.mirror.close();
  await r?.close();
  r = undefined;
});
afterAll(async () => {
  await db.close();
});

it('refreshes a tree head checked before the clock stepped back, then holds it for the TTL again', async () => {
  const clock = new ManualClock();
  let remote!: RecordingRemote;
  r = await rig([db.url], { wrap: (x) => (remote = new RecordingRemote(x)), mirror: { clock, latestTtl: 60_000 } });
  const latest = (): number => remote.count('/latest');
  await r.mirror.serve('latest');
  await r.mirror.serve('latest');
  expect(latest()).toBe(1);
  clock.advance(-3600_000);
  await r.mirror.serve('latest');
  await r.mirror.idle();
  expect(latest()).toBe(2);
  await r.mirror.serve('latest');
  expect(latest()).toBe(2);
});
