// The outage index of data tiles is bounded: a year of lookups can leave tens
// of thousands of stored data tiles, and the first lookup the database cannot
// answer read every one of them (minutes, gigabytes, and past a Map's 2^24
// entries a crash). It reads the newest tiles of the log, up to the bound, and
// drops the index when tiles fetched later push it past the bound.
import { expect, it } from 'vitest';
import { pino } from 'pino';
import { DataTileIndex, type DataTileContext } from '../../src/sumdb/data-tiles.js';
import { SumdbStore } from '../../src/sumdb/store.js';
import { tilePath } from '../../src/sumdb/tlog/index.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { FakeClock } from '../support/clock.js';

const FULL = 256;
const record = (n: number, i: number): string =>
  `example.com/t${n}/m${i} v1.0.0 h1:${Buffer.alloc(32, i).toString('base64')}\n` +
  `example.com/t${n}/m${i} v1.0.0/go.mod h1:${Buffer.alloc(32, n % 256).toString('base64')}\n`;
const tile = (n: number): Buffer => Buffer.from(Array.from({ length: FULL }, (_, i) => `${record(n, i)}\n`).join(''));

/** Twelve full data tiles stored, and an index over them bounded to four tiles, that counts its reads of storage. */
async function twelveTiles(context: object = {}): Promise<{
  storage: MemoryStorage;
  store: SumdbStore;
  index: DataTileIndex;
  reads: { n: number };
}> {
  const storage = new MemoryStorage();
  const store = new SumdbStore(storage, 'db.example');
  for (let n = 0; n < 12; n++) await storage.put(`${store.prefix}${tilePath({ h: 8, l: -1, n, w: FULL })}`, tile(n));
  const reads = { n: 0 };
  const counting = Object.create(storage, {
    get: { value: (key: string) => (reads.n++, storage.get(key)) },
  }) as MemoryStorage;
  const index = new DataTileIndex({
    name: 'db.example',
    store: Object.assign(Object.create(store) as SumdbStore, { storage: counting }),
    log: pino({ level: 'silent' }),
    waits: new FakeClock(),
    indexedTiles: 4,
    ...context,
  } as unknown as DataTileContext);
  return { storage, store, index, reads };
}

it('reads only the newest tiles of the log, up to the bound, and finds their records but not older ones', async () => {
  const { storage, store, index, reads } = await twelveTiles();
  // A partial copy of tile 11 not yet deleted (a write raced the full one): tile 11 takes one place of the bound.
  await storage.put(store.partialKey({ h: 8, l: -1, n: 11, w: 100 }), tile(11).subarray(0, 1000));
  const found = await index.find({ path: 'example.com/t11/m7', version: 'v1.0.0' });
  expect(found?.id).toBe(11 * FULL + 7);
  expect(found?.text.toString()).toBe(record(11, 7));
  // The four newest tiles (8 to 11) were read to fill the index, and the one tile read back for the answer.
  expect(reads.n).toBe(4 + 1);
  expect(await index.find({ path: 'example.com/t8/m0', version: 'v1.0.0' })).not.toBeNull();
  expect(await index.find({ path: 'example.com/t7/m0', version: 'v1.0.0' })).toBeNull();
});

it('counts a tile once toward the bound: a tile already indexed, read again, does not drop the index', async () => {
  const { index, reads } = await twelveTiles({ tree: { head: { tree: { n: 12 * FULL } } } });
  expect(await index.find({ path: 'example.com/t11/m7', version: 'v1.0.0' })).not.toBeNull();
  // Lookups around tiles the index holds read each tile back (kept near), as every lookup of an outage does.
  for (const n of [8, 9, 10, 11, 8]) await index.around(n * FULL);
  reads.n = 0;
  expect(await index.find({ path: 'example.com/t9/m3', version: 'v1.0.0' })).not.toBeNull();
  // The index was kept: only the answer's tile was read, not the four newest again.
  expect(reads.n).toBe(1);
});
