// The incident log's numbers are true, not only present: known traffic during
// one outage of the upstream proxy (hits, copies kept unverified while the
// checksum database was down, failures, and a client's own mistakes) gives
// exactly those counts in /api/incidents.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule } from '../world/index.js';
import { startGodepot, removeDir, type RunningGodepot } from '../support/godepot.js';
import { OffsetClock } from '../support/clock.js';
import type { Incident } from '../../src/proxy/incidents.js';

let upstream: FakeGoProxy;
let sumdb: FakeSumDb;
let g: RunningGodepot;
let mods: BuiltModule[];
const clock = new OffsetClock();

beforeAll(async () => {
  mods = await buildModules(
    Array.from({ length: 8 }, (_, i) => ({
      path: `example.com/c${i}`,
      version: 'v1.0.0',
      files: { 'go.mod': `module example.com/c${i}\n`, 'c.go': `package c${i}\n` },
    })),
  );
  upstream = await FakeGoProxy.start(mods);
  // Only c0's record at first: the others are logged after c0 is verified, so no tile godepot holds by then
  // covers them (with it, a copy kept unverified would be verified from that tile, and counted as a hit).
  sumdb = await FakeSumDb.start({ records: mods.slice(0, 1) });
  g = await startGodepot(
    { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` },
    { compose: { clock, upstreamClock: clock } },
  );
}, 60_000);
afterAll(async () => {
  await g.close();
  await upstream.close();
  await sumdb.close();
  await removeDir(g.data);
});

const status = async (path: string): Promise<number> => {
  const r = await fetch(g.url + path);
  await r.arrayBuffer();
  return r.status;
};
const outage = async (): Promise<Incident | undefined> =>
  (await g.g.incidents.list()).find((i) => i.upstream === upstream.url);

it('counts exactly what was served from cache, unverified and failed, and not the clients’ own mistakes', async () => {
  expect(await status('/example.com/c0/@v/v1.0.0.zip')).toBe(200);
  await g.g.service.idle();
  for (const m of mods.slice(1)) await sumdb.add(m);
  expect(await status('/example.com/missing/@v/v1.0.0.info')).toBe(404); // remembered: it is not there
  sumdb.setFault(faults.status(500));
  expect(await status('/example.com/c1/@v/v1.0.0.zip')).toBe(200); // kept unverified
  upstream.setFault(faults.status(500));
  for (const i of [2, 3, 4, 5]) expect(await status(`/example.com/c${i}/@v/v1.0.0.info`)).toBe(502);
  const opened = await outage();
  expect(opened?.end).toBeUndefined();
  const before = { cache: opened!.servedFromCache, unverified: opened!.servedUnverified, failed: opened!.failed };

  for (let i = 0; i < 5; i++) expect(await status('/example.com/c0/@v/v1.0.0.zip')).toBe(200);
  for (let i = 0; i < 3; i++) expect(await status('/example.com/c1/@v/v1.0.0.zip')).toBe(200);
  for (let i = 0; i < 2; i++) expect(await status('/example.com/c6/@v/v1.0.0.info')).toBe(502);
  // The clients' own mistakes: a malformed path, a route that is not there, a database not mirrored, a module
  // the upstream said is not there.
  expect(await status('/Example.com/c0/@v/v1.0.0.info')).toBe(400);
  expect(await status('/nothing')).toBe(404);
  expect(await status('/sumdb/nope.example/latest')).toBe(404);
  expect(await status('/example.com/missing/@v/v1.0.0.info')).toBe(404);

  const during = await outage();
  expect(during?.servedFromCache).toBe(before.cache + 5);
  expect(during?.servedUnverified).toBe(before.unverified + 3);
  expect(during?.failed).toBe(before.failed + 2);

  upstream.clearFaults();
  sumdb.clearFaults();
  clock.skip(120_000);
  expect(await status('/example.com/c7/@v/v1.0.0.info')).toBe(200);
  const over = await outage();
  expect(over?.end).toBeDefined();
  expect(over?.durationMs).toBe(Date.parse(over!.end!) - Date.parse(over!.start));
  expect(over?.durationMs).toBeGreaterThanOrEqual(120_000);
  expect(over).toMatchObject({ servedFromCache: during?.servedFromCache, failed: during?.failed });
}, 60_000);

it("counts the checksum database's lookups answered from its verified copy during that database's outage", async () => {
  // c0's record was verified by the first test; the database now fails.
  sumdb.setFault(faults.status(500));
  const dbOutage = async (): Promise<Incident | undefined> =>
    (await g.g.incidents.list()).find((i) => i.upstream === `checksum database ${sumdb.name}` && i.end === undefined);
  // Kept unverified, each: the failures open the database's outage (its breaker opens).
  for (const i of [2, 3, 4, 5, 6, 7]) {
    if (await dbOutage()) break;
    expect(await status(`/example.com/c${i}/@v/v1.0.0.zip`)).toBe(200);
  }
  const before = (await dbOutage())?.servedFromCache;
  expect(before).toBeDefined();
  for (let i = 0; i < 4; i++) expect(await status(`/sumdb/${sumdb.name}/lookup/example.com/c0@v1.0.0`)).toBe(200);
  expect((await dbOutage())?.servedFromCache).toBe(before! + 4);
  sumdb.clearFaults();
}, 60_000);
