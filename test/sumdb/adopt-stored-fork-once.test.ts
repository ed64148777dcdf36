// Lookups run at once: several may find the same forked stored head together (adoptPersisted takes no lock).
// It is still refused once: one SECURITY alert, one fork counted, as merge() (one at a time) does.
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

describe('TreeState.adoptPersisted: a forked stored head found by several lookups at once', () => {
  it('is refused and reported once', async () => {
    const honest = fakeModules(15);
    const forked = [...honest.slice(0, 5), ...fakeModules(10, 100)];
    const dbH = await startDb(honest.slice(0, 10));
    const dbF = await startDb(forked);
    const storage = new MemoryStorage();
    const a = await mirrorOn(dbH.url, storage);
    const b = await mirrorOn(dbF.url, storage);
    expect((await a.mirror.latest()).head.tree.n).toBe(10);
    expect((await b.mirror.latest()).head.tree.n).toBe(15);
    await a.mirror.lookup({ path: honest[0]!.path, version: 'v1.0.0' });
    await b.mirror.lookup({ path: honest[0]!.path, version: 'v1.0.0' });
    await a.mirror.idle();
    await b.mirror.idle();
    await Promise.all([a.mirror.tree.adoptPersisted(), a.mirror.tree.adoptPersisted()]);
    expect(a.mirror.tree.head?.tree.n).toBe(10);
    expect(a.forks).toHaveLength(1);
    expect(a.logs.filter((l) => l.alert === 'sumdb_inconsistent_tree')).toHaveLength(1);
  });
});
