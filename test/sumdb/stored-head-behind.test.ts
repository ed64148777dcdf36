// The tree head in shared storage is the cluster's durable truth (read at a
// node's start when Redis has lost its copy): it must never stay behind a head
// this process verified. Two nodes' writes of it can cross (A's slow write of
// an older head lands after B's newer one, and neither can see it happen), so
// a process that finds an older head stored than the one it holds writes its
// own again.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/index.js';
import { parseTree } from '../../src/sumdb/tlog/index.js';
import { FakeSumDb } from '../world/index.js';
import { fakeModules, rig } from './mirror-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function storedSize(storage: MemoryStorage, key: string): Promise<number | undefined> {
  return storage.get(key).then((b) => (b ? parseTree(b).n : undefined));
}

describe('a stored tree head older than the verified one', () => {
  it('is written over with the verified head at the next look at storage', async () => {
    const modules = fakeModules(15);
    const db = await FakeSumDb.start({ records: modules.slice(0, 10) });
    cleanups.push(() => db.close());
    const storage = new MemoryStorage();
    const r = await rig([db.url], { storage });
    cleanups.push(() => r.close());
    const key = 'sumdb/' + r.mirror.name + '/latest';
    expect((await r.mirror.latest()).head.tree.n).toBe(10);
    await r.mirror.idle();
    const older = await storage.get(key);
    expect(older).toBeDefined();
    await db.addAll(modules.slice(10));
    await r.mirror.lookup({ path: modules[12]!.path, version: 'v1.0.0' });
    await r.mirror.idle();
    expect(r.mirror.tree.head?.tree.n).toBe(15);
    expect(await storedSize(storage, key)).toBe(15);

    // Another node's slow write of the older head lands last.
    await storage.put(key, older!);
    expect(await storedSize(storage, key)).toBe(10);
    await r.mirror.tree.adoptPersisted();
    await r.mirror.idle();
    expect(await storedSize(storage, key)).toBe(15);
    expect(r.mirror.tree.head?.tree.n).toBe(15);
  });
});
