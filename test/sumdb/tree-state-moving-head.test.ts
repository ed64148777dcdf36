// The verified tree head moves only forward, and adopting a head another
// process stored (adoptPersisted) waits for no merge: a lookup of a record
// that process stored is answered while a merge of this process waits on a
// tile fetch that hangs. The merge then finishes against the head held by
// then: it never moves the head back, and a head that does not extend the
// adopted one is refused as a fork, also when it extends the one the merge
// started from (in a cluster too, where it is not published, or, published
// in the moment of its compare-and-set, recorded as a fork for every node).
import { afterEach, describe, expect, it } from 'vitest';
import { LocalCoord } from '../../src/coord/index.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { SumdbError } from '../../src/sumdb/errors.js';
import { parseRecord } from '../../src/sumdb/tlog/index.js';
import { FakeSumDb, type SumRecordInput } from '../world/index.js';
import { fakeModules, rig, wrapRemote, type Rig, type RigOptions } from './mirror-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Tile reads through wrap wait while the gate is closed (once, until opened); `asked` resolves once one waits. */
function tileGate(): { wrap: NonNullable<RigOptions['wrap']>; close(): void; open(): void; asked: Promise<void> } {
  let gate: Promise<void> | null = null;
  let release = (): void => undefined;
  let waiting = (): void => undefined;
  const asked = new Promise<void>((resolve) => (waiting = resolve));
  return {
    wrap: wrapRemote(async (inner, ...args) => {
      if (gate && args[0].startsWith('/tile/')) {
        waiting();
        await gate;
      }
      return inner.get(...args);
    }),
    close: () => {
      gate = new Promise((resolve) => (release = resolve));
    },
    open: () => {
      gate = null;
      release();
    },
    asked,
  };
}

async function startDb(records: number | SumRecordInput[]): Promise<FakeSumDb> {
  const db = await FakeSumDb.start({ records: typeof records === 'number' ? fakeModules(records) : records });
  cleanups.push(() => db.close());
  return db;
}

async function mirrorOn(url: string, storage: MemoryStorage, wrap?: RigOptions['wrap']): Promise<Rig> {
  const r = await rig([url], { storage, mirror: { indexDataTiles: false }, ...(wrap ? { wrap } : {}) });
  cleanups.push(() => r.close());
  return r;
}

/** The records of another history of `size` (same key) that shares only the first `keep` records of fakeModules. */
const forkOf = (keep: number, size: number): SumRecordInput[] => [
  ...fakeModules(keep),
  ...fakeModules(size - keep, keep, 'example.com/fork'),
];

const lookup = (id: number): string => `lookup/example.com/m${id}@v1.0.0`;

/** Whether p has settled, asked without waiting for it. */
function tracked<T>(p: Promise<T>): { readonly settled: () => boolean } {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { settled: () => settled };
}

describe('a merge waiting on a tile that hangs, while another process stores a larger head', () => {
  it('does not hold up a lookup of a record that process stored; finishing later, it does not move the head back', async () => {
    const db = await startDb(5);
    const storage = new MemoryStorage();
    const gate = tileGate();
    const a = await mirrorOn(db.url, storage, gate.wrap);
    await a.mirror.tree.merge(await db.signedTree(), 'test');
    await db.addAll(fakeModules(295, 5));
    const head300 = await db.signedTree();
    await db.addAll(fakeModules(300, 300));
    // Another worker verifies the tree of 600 and stores two of its records (and the tiles that prove them).
    const b = await mirrorOn(db.url, storage);
    await b.mirror.serve(lookup(260));
    await b.mirror.serve(lookup(500));
    await b.mirror.idle();

    gate.close();
    const merge = a.mirror.tree.merge(head300, 'test');
    const merging = tracked(merge);
    await gate.asked;
    // The stored head needs no network: the lookup is answered while the merge still waits on its tile.
    const answer = await a.mirror.serve(lookup(500));
    expect(parseRecord(answer.body).id).toBe(500);
    expect(answer.cache).toBe('hit');
    expect(merging.settled()).toBe(false);
    expect(a.mirror.tree.head?.tree.n).toBe(600);

    // 300 extends 5 (the head the merge started from) and is a prefix of 600: the head stays 600.
    gate.open();
    expect((await merge).tree.n).toBe(600);
    expect(a.mirror.tree.head?.tree.n).toBe(600);
    await a.mirror.idle();
    const stored = await storage.get(a.mirror.store.latestKey());
    expect(stored && a.mirror.tree.openHead(stored, 'test').n).toBe(600);
    expect(a.advanced).toEqual([5, 600]);
  });

  it('a smaller head that extends the one the merge started from but not the adopted one is refused as a fork', async () => {
    const db = await startDb(600);
    // Same key, same first 5 records, then another history of 300.
    const forked = await startDb(forkOf(5, 300));
    const storage = new MemoryStorage();
    const gate = tileGate();
    const a = await mirrorOn(forked.url, storage, gate.wrap);
    const start = await startDb(5);
    await a.mirror.tree.merge(await start.signedTree(), 'test');
    const b = await mirrorOn(db.url, storage);
    await b.mirror.serve(lookup(260));
    await b.mirror.serve(lookup(500));
    await b.mirror.idle();

    gate.close();
    const merge = a.mirror.tree.merge(await forked.signedTree(), 'test');
    await gate.asked;
    // Answered from storage alone (this process's only source is the forked one).
    expect(parseRecord((await a.mirror.serve(lookup(500))).body).id).toBe(500);
    gate.open();
    const err = await merge.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SumdbError);
    expect((err as SumdbError).kind).toBe('inconsistent');
    expect(a.mirror.tree.head?.tree.n).toBe(600);
    expect(a.forks).toMatchObject([{ verifiedSize: 600, conflictingSize: 300 }]);
  });

  it('a larger head is proven against the adopted one: adopted when it extends it', async () => {
    const db = await startDb(5);
    const storage = new MemoryStorage();
    const gate = tileGate();
    const a = await mirrorOn(db.url, storage, gate.wrap);
    await a.mirror.tree.merge(await db.signedTree(), 'test');
    await db.addAll(fakeModules(295, 5));
    const b = await mirrorOn(db.url, storage);
    await b.mirror.serve(lookup(260));
    await b.mirror.idle();
    await db.addAll(fakeModules(300, 300));

    gate.close();
    const merge = a.mirror.tree.merge(await db.signedTree(), 'test');
    await gate.asked;
    expect((await a.mirror.tree.adoptPersisted())?.tree.n).toBe(300);
    gate.open();
    expect((await merge).tree.n).toBe(600);
    expect(a.advanced).toEqual([5, 300, 600]);
  });

  it('in a cluster, a larger head that forks from the adopted one is refused and never published', async () => {
    const start = await startDb(5);
    const db = await startDb(300);
    const forked = await startDb(forkOf(5, 600));
    const storage = new MemoryStorage();
    const coord = new LocalCoord();
    const gate = tileGate();
    const a = await mirrorOn(forked.url, storage, gate.wrap);
    a.mirror.tree.shared = coord;
    await a.mirror.tree.merge(await start.signedTree(), 'test');
    const published = await coord.head(a.mirror.name);
    expect(published && a.mirror.tree.openHead(published, 'test').n).toBe(5);

    gate.close();
    const merge = a.mirror.tree.merge(await forked.signedTree(), 'test');
    await gate.asked;
    // Meanwhile `godepot warm`, outside the coordination, verifies 300 of the real history into the storage.
    const warm = await mirrorOn(db.url, storage);
    await warm.mirror.serve(lookup(260));
    await warm.mirror.idle();
    expect(parseRecord((await a.mirror.serve(lookup(260))).body).id).toBe(260);
    gate.open();
    const err = await merge.catch((e: unknown) => e);
    expect((err as SumdbError).kind).toBe('inconsistent');
    expect(a.mirror.tree.head?.tree.n).toBe(300);
    // The cluster was brought up to the head adopted (the start-over publishes it), never onto the fork.
    expect((await coord.head(a.mirror.name))?.equals(a.mirror.tree.head?.note ?? Buffer.alloc(0))).toBe(true);
    expect(await coord.fork(a.mirror.name)).not.toBeNull();
  });

  it('in a cluster, a head stored while its compare-and-set was under way is proven before the merge adopts', async () => {
    const start = await startDb(5);
    const db = await startDb(300);
    const forked = await startDb(forkOf(5, 600));
    const storage = new MemoryStorage();
    const coord = new LocalCoord();
    const a = await mirrorOn(forked.url, storage);
    a.mirror.tree.shared = coord;
    await a.mirror.tree.merge(await start.signedTree(), 'test');
    // The next compare-and-set waits until the test lets it through.
    let letThrough = (): void => undefined;
    const gate = new Promise<void>((resolve) => (letThrough = resolve));
    let asked = (): void => undefined;
    const casAsked = new Promise<void>((resolve) => (asked = resolve));
    const cas = coord.compareAndSetHead.bind(coord);
    coord.compareAndSetHead = async (...args) => {
      asked();
      await gate;
      return cas(...args);
    };

    // Proven against 5, the forked 600 is being published when `godepot warm` stores 300 and it is adopted.
    const merge = a.mirror.tree.merge(await forked.signedTree(), 'test');
    await casAsked;
    const warm = await mirrorOn(db.url, storage);
    await warm.mirror.serve(lookup(260));
    await warm.mirror.idle();
    expect((await a.mirror.tree.adoptPersisted())?.tree.n).toBe(300);
    letThrough();
    const err = await merge.catch((e: unknown) => e);
    expect((err as SumdbError).kind).toBe('inconsistent');
    expect(a.mirror.tree.head?.tree.n).toBe(300);
    // Published before the head moved, the fork is recorded for the cluster: every node refuses it.
    expect(await coord.fork(a.mirror.name)).not.toBeNull();
  });
});
