// A genuine signed tree head of size 0, replayed by a mirror after the tree
// has grown, is not a fork: Go's server signs its empty tree with the
// all-zero hash (tlog.TreeHash(0)), and the empty tree is a prefix of every
// tree, as golang.org/x/mod's client accepts it. No SECURITY alert.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTree } from '../../src/sumdb/tlog/index.js';
import { FakeSumDb, TEST_KEY } from '../world/index.js';
import { makeSigners } from '../world/sumkeys.js';
import { fakeModules, rig } from './mirror-harness.js';

describe('SumdbMirror: a replayed tree head of size 0', () => {
  let db: FakeSumDb;
  beforeAll(async () => {
    db = await FakeSumDb.start({ records: fakeModules(5) });
  });
  afterAll(async () => {
    await db.close();
  });

  it('is taken as a prefix of the verified tree, not reported as a fork', async () => {
    const r = await rig([db.url]);
    await r.mirror.latest(); // verified head of size 5
    const empty = makeSigners(TEST_KEY).sign(formatTree({ n: 0, hash: Buffer.alloc(32) }));
    const head = await r.mirror.tree.merge(empty, 'a mirror replaying the first head');
    expect(head.tree.n).toBe(5);
    expect(r.forks).toEqual([]);
    expect(r.mirror.status().status).toBe('ok');
    await r.mirror.close();
    await r.close();
  });
});
