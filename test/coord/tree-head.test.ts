// The verified tree head shared by several nodes (DESIGN invariant 11): a
// node adopts the head another node verified only after proving it extends
// its own, publishes its own by compare-and-set, and when another node moved
// the shared head first, starts over from that head. Two mirrors on separate
// storage share one LocalCoord here (RedisCoord passes the same contract list).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCoord } from '../../src/coord/index.js';
import { FakeSumDb } from '../world/index.js';
import { fakeModules, rig, type Rig } from '../sumdb/mirror-harness.js';

describe('a tree head shared by two nodes', () => {
  let db: FakeSumDb;
  const rigs: Rig[] = [];

  beforeAll(async () => {
    db = await FakeSumDb.start({ records: fakeModules(20) });
  });

  afterAll(async () => {
    for (const r of rigs) await r.close();
    await db?.close();
  });

  const node = async (shared: LocalCoord): Promise<Rig> => {
    const r = await rig([db.url]);
    r.mirror.tree.shared = shared;
    rigs.push(r);
    return r;
  };

  it('publishes by compare-and-set; a node that lost the race proves the newer head and ends on it', async () => {
    const shared = new LocalCoord();
    const a = await node(shared);
    const b = await node(shared);
    const head0 = await db.signedTree();
    await a.mirror.tree.merge(head0, 'test');
    expect(await shared.head(a.mirror.name)).toEqual(head0);

    await db.addAll(fakeModules(5, 20));
    const head1 = await db.signedTree();
    // B has never seen a head: it takes the cluster's (head0) first, then proves head1 extends it.
    await b.mirror.tree.merge(head1, 'test');
    expect(b.mirror.tree.head?.note).toEqual(head1);
    expect(await shared.head(b.mirror.name)).toEqual(head1);

    // A still holds head0 and is handed head2; another node publishes head3 while A checks head2.
    await db.addAll(fakeModules(5, 25));
    const head2 = await db.signedTree();
    await db.addAll(fakeModules(5, 30));
    const head3 = await db.signedTree();
    const real = shared.compareAndSetHead.bind(shared);
    let raced = false;
    shared.compareAndSetHead = async (name, expected, next) => {
      if (!raced) {
        raced = true;
        await real(name, head1, head3);
        return false;
      }
      return real(name, expected, next);
    };
    const result = await a.mirror.tree.merge(head2, 'test');
    expect(raced).toBe(true);
    // A proved head3 (the cluster's) against its own and kept it: the shared head never went backwards.
    expect(result.tree.n).toBe(35);
    expect(a.mirror.tree.head?.note).toEqual(head3);
    expect(await shared.head(a.mirror.name)).toEqual(head3);
  });

  it('a cluster head under another key (a node with another --sumdb) is published over, said in status, never merged', async () => {
    const shared = new LocalCoord();
    const a = await node(shared);
    const other = await FakeSumDb.start({ key: 'generate', records: fakeModules(3) });
    try {
      const foreign = await other.signedTree();
      await shared.compareAndSetHead(a.mirror.name, null, foreign);
      const head = await db.signedTree();
      const result = await a.mirror.tree.merge(head, 'test');
      expect(result.note).toEqual(head);
      expect(await shared.head(a.mirror.name)).toEqual(head);
      const s = a.mirror.status();
      expect(s.status).toBe('misconfigured');
      expect(s.detail).toMatch(/another node checks .* with another key; give every node the same --sumdb/);
      expect(a.logs.filter((l) => l.level === 50 && String(l.msg).includes('another key'))).toHaveLength(1);
      // Once the cluster's head verifies again (here: ours), the mistake is no longer shown.
      await db.addAll(fakeModules(2, 60));
      await a.mirror.tree.merge(await db.signedTree(), 'test');
      expect(a.mirror.status().status).toBe('ok');
    } finally {
      await other.close();
    }
  });

  it('refuses a head another node refused, without proving it', async () => {
    const shared = new LocalCoord();
    const c = await node(shared);
    const before = await db.signedTree();
    await c.mirror.tree.merge(before, 'test');
    await db.fork();
    const forked = await db.signedTree();
    const tree = c.mirror.tree.openHead(forked, 'test');
    await shared.recordFork(
      c.mirror.name,
      `${tree.n}:${tree.hash.toString('base64')}`,
      JSON.stringify({ detectedAt: 'now', from: 'node a', verifiedSize: 1, conflictingSize: 2, report: 'x' }),
    );
    await expect(c.mirror.tree.merge(forked, 'test')).rejects.toThrow(/refused as inconsistent/);
    expect(c.logs.some((l) => String(l.msg).includes('another godepot node proved inconsistent'))).toBe(true);
    expect(c.logs.some((l) => l.level === 60)).toBe(false);
    expect(c.mirror.tree.fork?.from).toBe('node a');
  });
});
