// A head another process stored is adopted only when it extends the one
// this process verified (DESIGN invariant 4): processes sharing a data folder
// that each took a different first head (a database showing two histories at
// first contact, or one process started over a damaged stored head) must not
// silently swap one history for the other.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/index.js';
import { FakeSumDb, type SumRecordInput } from '../world/index.js';
import { fakeModules, rig, type Rig } from './mirror-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startDb(records: SumRecordInput[]): Promise<FakeSumDb> {
  const db = await FakeSumDb.start({ records });
  cleanups.push(() => db.close());
  return db;
}

async function mirrorOn(url: string, storage: MemoryStorage): Promise<Rig> {
  const r = await rig([url], { storage, mirror: { indexDataTiles: false } });
  cleanups.push(() => r.close());
  return r;
}

/** Two mirrors on one storage: a on the honest history (10 records), b on a fork of it (15), each with a lookup proven. */
async function forkedPair(): Promise<{ a: Rig; b: Rig; honest: SumRecordInput[] }> {
  const honest = fakeModules(15);
  const forked = [...honest.slice(0, 5), ...fakeModules(10, 100)];
  const dbH = await startDb(honest.slice(0, 10));
  const dbF = await startDb(forked);
  const storage = new MemoryStorage();
  const a = await mirrorOn(dbH.url, storage);
  const b = await mirrorOn(dbF.url, storage);
  expect((await a.mirror.latest()).head.tree.n).toBe(10);
  // b took the forked history at first contact and stored it (a larger tree).
  expect((await b.mirror.latest()).head.tree.n).toBe(15);
  // Each proves a lookup, keeping the tiles of its own history.
  await a.mirror.lookup({ path: honest[0]!.path, version: 'v1.0.0' });
  await b.mirror.lookup({ path: honest[0]!.path, version: 'v1.0.0' });
  await a.mirror.idle();
  await b.mirror.idle();
  return { a, b, honest };
}

describe('TreeState.adoptPersisted: a larger stored head that does not extend the verified one', () => {
  it('is not adopted; one that extends it is', async () => {
    const { a, honest } = await forkedPair();
    const dbH = await startDb(honest.slice(0, 10));
    await a.mirror.tree.adoptPersisted();
    expect(a.mirror.tree.head?.tree.n).toBe(10);
    // Refused as a fork (once), for /readyz and the log, as merge() refuses one.
    expect(a.mirror.status().status).toBe('inconsistent');
    await a.mirror.tree.adoptPersisted();
    expect(a.forks).toHaveLength(1);
    expect(a.logs.filter((l) => l.alert === 'sumdb_inconsistent_tree')).toHaveLength(1);

    // An honest process that verified the same history further: its stored head is adopted.
    const dbH2 = await startDb(honest);
    const storage2 = new MemoryStorage();
    const d = await mirrorOn(dbH.url, storage2);
    expect((await d.mirror.latest()).head.tree.n).toBe(10);
    const e = await mirrorOn(dbH2.url, storage2);
    // e loaded d's head; a lookup of a record beyond it verifies the larger head against it and stores it.
    await e.mirror.lookup({ path: honest[12]!.path, version: 'v1.0.0' });
    expect(e.mirror.tree.head?.tree.n).toBe(15);
    await e.mirror.idle();
    await d.mirror.tree.adoptPersisted();
    expect(d.mirror.tree.head?.tree.n).toBe(15);
    expect(d.forks).toHaveLength(0);
  });

  it('is refused and reported once when several lookups find it at once (adoptPersisted takes no lock)', async () => {
    const { a } = await forkedPair();
    await Promise.all([a.mirror.tree.adoptPersisted(), a.mirror.tree.adoptPersisted()]);
    expect(a.mirror.tree.head?.tree.n).toBe(10);
    expect(a.forks).toHaveLength(1);
    expect(a.logs.filter((l) => l.alert === 'sumdb_inconsistent_tree')).toHaveLength(1);
  });
});
