// Tiles damaged in storage (a disk error, a hand edit, a co-tenant of the bucket) after they were verified and kept.
import { describe, expect, it } from 'vitest';
import { SOLO_LEASE } from '../../src/coord/coord.js';
import { FakeSumDb, faults, recordText } from '../world/index.js';
import { fakeModules, rig, text } from './mirror-harness.js';

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

describe('SumdbMirror: tiles damaged in storage', () => {
  it('a record of a stored data tile is proven before it answers a lookup (the database away): a changed one is not', async () => {
    const db = await FakeSumDb.start({ records: modules });
    const r = await rig([db.url], { settings: SLOW_TIMEOUTS });
    try {
      await r.mirror.lookup(mod(3));
      await r.mirror.idle();
      const [key] = (await r.storage.list(r.mirror.store.prefix)).filter((k) => /\/8\/data\//.test(k));
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
      await r.mirror.lookup(mod(3));
      await r.mirror.idle();
      const [key] = (await r.storage.list(r.mirror.store.prefix)).filter((k) => /\/8\/data\//.test(k));
      if (!key) throw new Error('no data tile stored');
      const tile = (await r.storage.get(key)) ?? Buffer.alloc(0);
      // Cut short: it no longer ends with a blank line.
      await r.storage.put(key, tile.subarray(0, tile.length - 1));
      const again = await r.reopen();
      await again.lookup(mod(4));
      await again.idle();
      // Not reported as a data tile the database would not give ("no data tile around record …").
      expect(r.logs.filter((l) => /no data tile around record/.test(String(l.msg)))).toEqual([]);
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
      await r.mirror.lookup(mod(3));
      await r.mirror.idle();
      const keys = (await r.storage.list(r.mirror.store.prefix)).filter((k) => /\/(tile|partial)\/8\/0\//.test(k));
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
      await r.mirror.lookup(mod(3));
      await r.mirror.idle();
      for (const k of await r.storage.list(r.mirror.store.prefix))
        if (/\/(tile|partial)\/8\/0\//.test(k)) await r.storage.delete(k);
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
