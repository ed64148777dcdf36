// --offline never contacts an upstream: a tile the mirror does not hold is
// "not found", as a lookup it does not hold is (the client moves on), and
// the database is not asked for it (nor for the tiles that would prove it);
// what it holds is still served, a partial tile cut from a wider stored one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/index.js';
import { FakeSumDb } from '../world/index.js';
import { fakeModules, rig } from './mirror-harness.js';

describe('SumdbMirror offline: tiles not stored', () => {
  let db: FakeSumDb;
  beforeAll(async () => {
    db = await FakeSumDb.start({ records: fakeModules(300) });
  });
  afterAll(async () => {
    await db.close();
  });

  it('are not found, and the database is not asked', async () => {
    const storage = new MemoryStorage();
    const online = await rig([db.url], { storage, mirror: { indexDataTiles: false } });
    const edge = (await online.mirror.serve('tile/8/0/001.p/44')).body;
    await online.mirror.idle();
    await online.close();

    db.resetLog();
    const offline = await rig([db.url], { storage, mirror: { offline: true, indexDataTiles: false } });
    try {
      for (const path of ['tile/8/data/000', 'tile/8/data/001.p/44', 'tile/8/0/000', 'tile/8/0/000.p/7']) {
        await expect(offline.mirror.serve(path), path).rejects.toMatchObject({
          kind: 'not_found',
          message: expect.stringMatching(/is not in godepot's copy of .* and godepot is offline$/) as unknown,
        });
      }
      // Beyond the tree it holds, it says how to heal that.
      await expect(offline.mirror.serve('tile/8/data/001.p/45')).rejects.toThrow(/beyond the verified tree/);
      // What it holds it serves.
      expect((await offline.mirror.serve('tile/8/0/001.p/44')).body).toEqual(edge);
      expect((await offline.mirror.serve('tile/8/0/001.p/3')).body).toEqual(edge.subarray(0, 3 * 32));
      expect(db.requests.map((q) => q.path)).toEqual([]);
    } finally {
      await offline.close();
    }
  });
});
