// Tiles damaged in storage (a disk error, a hand edit, a co-tenant of the bucket) after they were verified and kept.
import { describe, expect, it, vi } from 'vitest';
import { SOLO_LEASE } from '../../src/coord/coord.js';
import { VerifiedTileReader } from '../../src/sumdb/tiles.js';
import { FakeSumDb, faults, recordText } from '../world/index.js';
import { fakeModules, RecordingRemote, rig, text, type Rig } from './mirror-harness.js';

const SLOW_TIMEOUTS = { 'sumdb-first-byte-timeout': '4s', 'sumdb-idle-timeout': '4s', 'sumdb-total-timeout': '5s' };
const modules = fakeModules(20);
const mod = (i: number) => {
  const m = modules[i];
  if (!m) throw new Error('fixture');
  return m;
};

/** The record text with another h1 for the same module version: a well-formed record the tree does not hold. */
const forge = (good: string): string =>
  good.replace(/h1:[A-Za-z0-9+/=]+/, `h1:${Buffer.alloc(32, 7).toString('base64')}`);

/** Looks up mod(3) through r and lets its writes land; returns the stored keys of the database that match re. */
async function storedAfterLookup(r: Rig, re: RegExp): Promise<string[]> {
  await r.mirror.lookup(mod(3));
  await r.mirror.idle();
  return (await r.storage.list(r.mirror.store.prefix)).filter((k) => re.test(k));
}

describe('SumdbMirror: tiles damaged in storage', () => {
  it('a record of a stored data tile is proven before it answers a lookup (the database away): a changed one is not', async () => {
    const db = await FakeSumDb.start({ records: modules });
    const r = await rig([db.url], { settings: SLOW_TIMEOUTS });
    try {
      const [key] = await storedAfterLookup(r, /\/8\/data\//);
      if (!key) throw new Error('no data tile stored');
      const tile = String(await r.storage.get(key));
      const good = recordText(mod(5));
      expect(tile).toContain(good);
      // Another h1 for the same module version, in a well-formed record.
      await r.storage.put(key, Buffer.from(tile.replace(good, forge(good))));
      db.setFault(faults.status(503));
      const again = await r.reopen();
      const got = await again.lookup(mod(5)).catch((e: unknown) => e as Error);
      // Else the forged h1 was the verified record: a zip an upstream forged to match it would be served as verified.
      if (!(got instanceof Error)) expect(text(got.record.text)).toBe(good);
      expect(got).toBeInstanceOf(Error);
      expect(r.logs.filter((l) => l.alert === 'stored_record_damaged')).toHaveLength(1);
      // Its tile is dropped, from memory too: asked again, nothing damaged is found again.
      expect(await again.lookup(mod(5)).catch((e: unknown) => e)).toBeInstanceOf(Error);
      expect(r.logs.filter((l) => l.alert === 'stored_record_damaged')).toHaveLength(1);
      // The database back: the record it proves.
      db.clearFaults();
      const back = await again.lookup(mod(5));
      expect(text(back.record.text)).toBe(good);
    } finally {
      await r.close();
      await db.close();
    }
  });

  it('a stored data tile that no longer splits into records is dropped and fetched again by the background index', async () => {
    const db = await FakeSumDb.start({ records: modules });
    const r = await rig([db.url], { settings: SLOW_TIMEOUTS });
    try {
      const [key] = await storedAfterLookup(r, /\/8\/data\//);
      if (!key) throw new Error('no data tile stored');
      const tile = (await r.storage.get(key)) ?? Buffer.alloc(0);
      // Cut short: it no longer ends with a blank line.
      await r.storage.put(key, tile.subarray(0, tile.length - 1));
      const again = await r.reopen();
      await again.lookup(mod(4));
      await again.idle();
      // Not reported as a data tile the database would not give ("no data tile around record …").
      expect(r.logs.filter((l) => /no data tile around record/.test(String(l.msg)))).toEqual([]);
      // Reported as the damage it is, as when a client asks for the tile.
      expect(r.logs.filter((l) => l.alert === 'stored_tile_damaged' && l.level === 50)).toHaveLength(1);
      expect((await r.storage.get(key))?.equals(tile)).toBe(true);
      // So it answers a lookup never made while the database is away.
      db.setFault(faults.status(503));
      expect(text((await (await r.reopen()).lookup(mod(7))).record.text)).toBe(recordText(mod(7)));
    } finally {
      await r.close();
      await db.close();
    }
  });

  it('a stored hash tile changed in storage is dropped and fetched again: not a failed proof for every record it covers', async () => {
    const db = await FakeSumDb.start({ records: modules });
    const r = await rig([db.url], { settings: SLOW_TIMEOUTS });
    try {
      const keys = await storedAfterLookup(r, /\/(tile|partial)\/8\/0\//);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        const b = Buffer.from((await r.storage.get(key)) ?? Buffer.alloc(0));
        b[0] = (b[0] ?? 0) ^ 0xff;
        await r.storage.put(key, b);
      }
      const again = await r.reopen();
      // Records not stored: their proofs read the changed tile.
      for (const i of [5, 6]) {
        const got = await again.lookup(mod(i)).catch((e: unknown) => e as Error);
        expect(got, String(i)).not.toBeInstanceOf(Error);
      }
      expect(r.logs.filter((l) => /hash tiles no longer prove/.test(String(l.msg)))).toHaveLength(1);
      // What godepot serves of that tile is the verified one again (the first mirror holds it in memory).
      await again.idle();
      const verified = await r.mirror.serve('tile/8/0/000.p/20');
      expect((await again.serve('tile/8/0/000.p/20')).body.equals(verified.body)).toBe(true);
      expect((await (await r.reopen()).serve('tile/8/0/000.p/20')).body.equals(verified.body)).toBe(true);
    } finally {
      await r.close();
      await db.close();
    }
  });
  // With fetch leases (--workers N, nodes through Redis) a lookup goes through the lease holder's look at storage.
  for (const leased of [false, true])
    it(`a stored lookup record that cannot be proven (beyond the head, or its tiles damaged) answers nothing in an outage; no tile is lost${leased ? ' (with fetch leases)' : ''}`, async () => {
      const db = await FakeSumDb.start({ records: modules });
      const leases = { acquire: async () => SOLO_LEASE };
      const r = await rig([db.url], { settings: SLOW_TIMEOUTS, mirror: leased ? { leases } : {} });
      try {
        for (const i of [3, 4]) await r.mirror.lookup(mod(i));
        await r.mirror.idle();
        // Record 3 moved beyond the head, with another h1.
        const key3 = r.mirror.store.lookupKey(mod(3).path, mod(3).version);
        await r.storage.put(key3, Buffer.from(`999999\n${forge(recordText(mod(3)))}`));
        // Record 4 with another h1, and the level-0 hash tile that would prove it changed too.
        const key4 = r.mirror.store.lookupKey(mod(4).path, mod(4).version);
        await r.storage.put(key4, Buffer.from(`4\n${forge(recordText(mod(4)))}`));
        const tiles = (await r.storage.list(r.mirror.store.prefix)).filter((k) => /\/(tile|partial)\/8\//.test(k));
        expect(tiles.length).toBeGreaterThan(1);
        const level0 = tiles.find((k) => /\/8\/0\//.test(k)) ?? '';
        const bytes = Buffer.from((await r.storage.get(level0)) ?? Buffer.alloc(0));
        bytes[4 * 32] = (bytes[4 * 32] ?? 0) ^ 0xff;
        await r.storage.put(level0, bytes);
        db.setFault(faults.status(503));
        const again = await r.reopen();
        for (const i of [3, 4]) {
          const got = await again.lookup(mod(i)).catch((e: unknown) => e as Error);
          // Else a zip an upstream forged to match the stored h1 would be served as verified.
          if (!(got instanceof Error)) expect(text(got.record.text), String(i)).toBe(recordText(mod(i)));
          expect(got, String(i)).toBeInstanceOf(Error);
        }
        // Nothing was dropped while nothing could be fetched again.
        const now = await r.storage.list(r.mirror.store.prefix);
        expect(tiles.filter((k) => !now.includes(k))).toEqual([]);
        // The database back: the records it proves, the damaged tile replaced by the verified one.
        db.clearFaults();
        for (const i of [3, 4]) expect(text((await again.lookup(mod(i))).record.text)).toBe(recordText(mod(i)));
        await again.idle();
        expect(r.logs.some((l) => /replaced by copies from the sources/.test(String(l.msg)))).toBe(true);
      } finally {
        await r.close();
        await db.close();
      }
    });
  it('offline, a stored record the tiles held cannot prove is refused saying so, not "not found"', async () => {
    const db = await FakeSumDb.start({ records: modules });
    const r = await rig([db.url], { settings: SLOW_TIMEOUTS });
    try {
      for (const k of await storedAfterLookup(r, /\/(tile|partial)\/8\/0\//)) await r.storage.delete(k);
      const offline = await rig([db.url], { storage: r.storage, mirror: { offline: true } });
      try {
        const err = await offline.mirror.lookup(mod(3)).catch((e: unknown) => e as Error);
        expect(err).toBeInstanceOf(Error);
        expect(String((err as Error).message)).toMatch(
          /stored record of .* cannot be proven with the tiles godepot holds/,
        );
      } finally {
        await offline.close();
      }
    } finally {
      await r.close();
      await db.close();
    }
  });
});

/** The database's own copy of a tile (what the go command checks godepot's against). */
async function dbTile(db: FakeSumDb, path: string): Promise<Buffer> {
  const r = await fetch(`${db.url}/${path}`);
  if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

const HASH_TILE = 'tile/8/0/000.p/20';
const DATA_TILE = 'tile/8/data/000.p/20';

/**
 * A database of 20 records and a rig that has looked one up (so it keeps the
 * level-0 hash tile and the data tile, 20 wide), counting what it finds damaged.
 */
async function withStoredTiles(
  fn: (r: Rig, db: FakeSumDb, damaged: string[], remote: RecordingRemote) => Promise<void>,
): Promise<void> {
  const db = await FakeSumDb.start({ records: modules });
  const damaged: string[] = [];
  let remote: RecordingRemote | undefined;
  const r = await rig([db.url], {
    settings: SLOW_TIMEOUTS,
    mirror: { storedDamaged: (kind) => damaged.push(kind) },
    wrap: (inner) => (remote = new RecordingRemote(inner)),
  });
  try {
    await r.mirror.lookup(mod(3));
    await r.mirror.idle();
    expect(await r.storage.get(hashKey(r))).toEqual(await dbTile(db, HASH_TILE));
    expect(await r.storage.get(dataKey(r))).toEqual(await dbTile(db, DATA_TILE));
    await fn(r, db, damaged, remote as RecordingRemote);
  } finally {
    await r.close();
    await db.close();
  }
}
const hashKey = (r: Rig): string => r.mirror.store.partialKey({ h: 8, l: 0, n: 0, w: 20 });
const dataKey = (r: Rig): string => r.mirror.store.partialKey({ h: 8, l: -1, n: 0, w: 20 });

/** Flips a byte of the stored level-0 hash tile (record 5's hash). */
async function damageHashTile(r: Rig): Promise<void> {
  const b = Buffer.from((await r.storage.get(hashKey(r))) ?? Buffer.alloc(0));
  b[5 * 32] = (b[5 * 32] ?? 0) ^ 0xff;
  await r.storage.put(hashKey(r), b);
}

/** Gives record 5 of the stored data tile another h1: still well-formed records, not the tree's. */
async function damageDataTile(r: Rig): Promise<void> {
  const good = recordText(mod(5));
  const tile = String(await r.storage.get(dataKey(r)));
  expect(tile).toContain(good);
  await r.storage.put(dataKey(r), Buffer.from(tile.replace(good, forge(good))));
}

// A client (the go command) reads tiles too: each stored one is proven the first time a process serves it.
describe('SumdbMirror: stored tiles served to clients', () => {
  for (const [kind, path, damage, key] of [
    ['hash', HASH_TILE, damageHashTile, hashKey],
    ['data', DATA_TILE, damageDataTile, dataKey],
  ] as const) {
    it(`a stored ${kind} tile changed in storage is not served: the client gets the verified one; the damage is logged, counted and the copy replaced`, async () => {
      await withStoredTiles(async (r, db, damaged) => {
        const want = await dbTile(db, path);
        await damage(r);
        // A restart: nothing of the tile is in memory, and nothing proved it yet.
        const again = await r.reopen();
        const got = await again.serve(path);
        expect(got.body.equals(want), 'the verified tile').toBe(true);
        expect(got.cache).toBe('miss');
        const alerts = r.logs.filter((l) => l.alert === 'stored_tile_damaged');
        expect(alerts.map((l) => [l.level, l.tile])).toEqual([[50, path]]);
        expect(damaged).toEqual(['tile']);
        await again.idle();
        expect((await r.storage.get(key(r)))?.equals(want), 'the stored copy replaced').toBe(true);
        // Another process serves the replaced copy as stored, and finds nothing damaged.
        const third = await r.reopen();
        expect(await third.serve(path)).toMatchObject({ body: want, cache: 'hit' });
        expect(damaged).toEqual(['tile']);
      });
    });

    it(`with no source answering, a damaged stored ${kind} tile is an error saying so, never the damaged bytes`, async () => {
      await withStoredTiles(async (r, db) => {
        const want = await dbTile(db, path);
        await damage(r);
        const bad = (await r.storage.get(key(r))) ?? Buffer.alloc(0);
        db.setFault(faults.status(503));
        const err = await (await r.reopen()).serve(path).catch((e: unknown) => e as Error);
        expect(err).toMatchObject({ kind: 'unavailable' });
        // A hash tile through which the proof fails is kept (which stored tile is wrong cannot be told without the
        // sources); a data tile whose record is not the tree's (the hash tiles proved) is dropped.
        if (kind === 'hash') {
          expect((err as Error).message).toMatch(
            /the stored tile\/8\/0\/000\.p\/20 is not served: it does not prove against the verified tree/,
          );
          expect(await r.storage.get(key(r))).toEqual(bad);
        } else {
          expect((err as Error).message).toMatch(/checksum database .*503/);
          expect(await r.storage.get(key(r))).toBeNull();
          await r.storage.put(key(r), bad);
        }
        // Offline: the same, saying godepot is offline.
        const offline = await rig([db.url], { storage: r.storage, mirror: { offline: true } });
        try {
          const off = await offline.mirror.serve(path).catch((e: unknown) => e as Error);
          expect(off).toMatchObject({ kind: 'unavailable' });
          expect((off as Error).message).toMatch(/godepot is offline/);
        } finally {
          await offline.close();
        }
        // The database back: the verified tile.
        db.clearFaults();
        expect((await (await r.reopen()).serve(path)).body.equals(want)).toBe(true);
      });
    });
  }

  it('an intact stored tile is proven once per process, from stored tiles only; a copy changed since is proven again', async () => {
    await withStoredTiles(async (r, db, damaged, remote) => {
      const proofs = vi.spyOn(VerifiedTileReader.prototype, 'readTiles');
      try {
        const again = await r.reopen();
        remote.calls.length = 0;
        for (const path of [HASH_TILE, DATA_TILE, 'tile/8/0/000.p/7']) {
          const before = proofs.mock.calls.length;
          for (let i = 0; i < 5; i++) expect((await again.serve(path)).cache, path).toBe('hit');
          expect(proofs.mock.calls.length - before, `${path}: proofs`).toBe(1);
        }
        // Nothing asked of the database: the tiles that prove them are held.
        expect(remote.calls).toEqual([]);
        // A changed copy is not the one proven: proven again, found damaged, and not served.
        await damageDataTile(r);
        const got = await again.serve(DATA_TILE);
        expect(got.body.equals(await dbTile(db, DATA_TILE))).toBe(true);
        expect(damaged).toEqual(['tile']);
        // Another process proves its copies once again.
        const third = await r.reopen();
        const before = proofs.mock.calls.length;
        for (let i = 0; i < 3; i++) await third.serve(HASH_TILE);
        expect(proofs.mock.calls.length - before).toBe(1);
      } finally {
        proofs.mockRestore();
      }
    });
  });
});
