// Every tile tileHashReader returns a hash from is authenticated, also for a
// single index whose tile is planned after tree-hash tiles that several
// subtrees share (found by the sumdb mirror tests: an altered tile/8/0/001
// was accepted at tree size 600, as golang.org/x/mod's loop bound allows).
import { describe, expect, it } from 'vitest';
import {
  InconsistentTileError,
  parseTilePath,
  readTileData,
  storedHashIndex,
  tileHashReader,
  tilePath,
} from '../../../src/sumdb/tlog/index.js';
import { at, ComputedTileReader, MemoryLog } from './support.js';

describe('tileHashReader authenticates every tile it reads', () => {
  it('never returns a wrong hash for one record, whichever single tile is altered (h=2, every tree up to 70)', async () => {
    const log = await MemoryLog.of([...Array(70).keys()].map((i) => `leaf ${i}\n`));
    let checked = 0;
    for (let n = 1; n <= 70; n++) {
      const tree = await log.tree(n);
      for (let id = 0; id < n; id++) {
        const x = storedHashIndex(0, id);
        const honest = new ComputedTileReader(2, log);
        await tileHashReader(tree, honest).readHashes([x]);
        for (const victim of new Set(honest.requests.flat())) {
          const size = (await readTileData(parseTilePath(victim), log)).length;
          // Flip the record's own hash when it is in the victim tile, else its first byte.
          const own =
            parseTilePath(victim).l === 0 && Math.floor(id / 4) === parseTilePath(victim).n ? (id % 4) * 32 : 0;
          for (const byte of new Set([own, 0, size - 1])) {
            const tr = new ComputedTileReader(2, log, (t, d) => {
              if (tilePath(t) !== victim) return d;
              const bad = Buffer.from(d);
              bad[byte] = (bad[byte] ?? 0) ^ 0x01;
              return bad;
            });
            const got = await tileHashReader(tree, tr)
              .readHashes([x])
              .then(
                (hs): Buffer | Error => hs[0] ?? new Error('no hash returned'),
                (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
              );
            if (got instanceof Error) {
              expect(got).toBeInstanceOf(InconsistentTileError);
              expect(tr.saved).toEqual([]);
            } else {
              expect(got.equals(at(log.hashes, x)), `n=${n} id=${id} ${victim} byte ${byte}`).toBe(true);
            }
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(5000);
  });

  it('refuses an altered level-0 tile below a shared tree-hash tile at height 8 (tree 600, record 260)', async () => {
    const log = await MemoryLog.of([...Array(600).keys()].map((i) => `leaf ${i}\n`));
    const tree = await log.tree();
    for (const byte of [0, 4 * 32, 8191]) {
      const tr = new ComputedTileReader(8, log, (t, d) => {
        if (tilePath(t) !== 'tile/8/0/001') return d;
        const bad = Buffer.from(d);
        bad[byte] = (bad[byte] ?? 0) ^ 0xff;
        return bad;
      });
      await expect(tileHashReader(tree, tr).readHashes([storedHashIndex(0, 260)])).rejects.toThrow(
        InconsistentTileError,
      );
      expect(tr.requests).toEqual([['tile/8/1/000.p/2', 'tile/8/0/002.p/88', 'tile/8/0/001']]);
      expect(tr.saved).toEqual([]);
    }
  });
});
