// Nothing is stored beyond the stored tree head: a record or data tile
// lands only after the head it was verified under (a head write that failed
// is written again first), so after a restart a stored record is served
// with a head that covers it. The go command refuses any other answer
// ("cannot validate record 15 in tree of size 10"). A record that still lies
// beyond every head held (stored by an older release) is served with the
// database's current head, or refused offline; a stored head is never
// replaced by a smaller tree.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStorage, type PutOptions } from '../../src/storage/index.js';
import { SumdbError } from '../../src/sumdb/errors.js';
import { newVerifier, openNote, Verifiers } from '../../src/sumdb/note/index.js';
import { SumdbStore } from '../../src/sumdb/store.js';
import { formatTree, parseRecord, parseTree, type Tile } from '../../src/sumdb/tlog/index.js';
import { FakeSumDb, recordText, TEST_KEY } from '../world/index.js';
import { makeSigners } from '../world/sumkeys.js';
import { fakeModules, rig } from './mirror-harness.js';

const verifiers = new Verifiers(newVerifier(TEST_KEY.vkey));
const sizeOf = (note: Buffer): number => parseTree(openNote(note, verifiers).text).n;
const modules = fakeModules(20);
const mod = (i: number) => modules[i] as (typeof modules)[number];

/** Fails writes of the tree head while failHeads > 0. */
class FlakyHeadStorage extends MemoryStorage {
  failHeads = 0;
  override async put(key: string, data: Uint8Array, opts?: PutOptions): Promise<void> {
    if (this.failHeads > 0 && key.endsWith('/latest')) {
      this.failHeads--;
      throw new Error('EIO: transient write failure');
    }
    return super.put(key, data, opts);
  }
}

/** A full disk for checksum-database records: every write of one fails. */
class NoRoomForRecords extends MemoryStorage {
  override async put(key: string, data: Uint8Array, opts?: PutOptions): Promise<void> {
    if (key.includes('/lookup/')) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    return super.put(key, data, opts);
  }
}

/** The record id served, and the size of the head served with it. */
function served(body: Buffer): { id: number; n: number } {
  const { id, rest } = parseRecord(body);
  return { id, n: sizeOf(rest) };
}

/** Holds the first write of a partial tile until the test lets it through. */
class FirstPartialHeld extends MemoryStorage {
  puts = 0;
  private release: (() => void) | null = null;

  override async put(key: string, data: Uint8Array, opts?: PutOptions): Promise<void> {
    if (key.includes('/partial/') && ++this.puts === 1) await new Promise<void>((r) => (this.release = r));
    await super.put(key, data, opts);
  }

  letFirstThrough(): void {
    this.release?.();
  }
}

describe('SumdbMirror: records are stored after a head that covers them', () => {
  let db: FakeSumDb;
  beforeEach(async () => {
    db = await FakeSumDb.start({ records: modules.slice(0, 10) });
  });
  afterEach(async () => {
    await db.close();
  });

  it('a failed tree-head write is written again before the record; after a restart the record is served with it', async () => {
    const storage = new FlakyHeadStorage();
    const r = await rig([db.url], { storage, mirror: { indexDataTiles: false } });
    await r.mirror.lookup(mod(3)); // head of size 10 stored
    await db.addAll(modules.slice(10));
    storage.failHeads = 1;
    await r.mirror.lookup(mod(15)); // head of size 20: its first write fails
    await r.mirror.close();
    expect(sizeOf((await storage.get(r.mirror.store.latestKey())) as Buffer)).toBe(20);

    const again = await r.reopen();
    expect(served((await again.serve(`lookup/${mod(15).path}@${mod(15).version}`)).body)).toEqual({ id: 15, n: 20 });
    await again.close();
    await r.close();
  });

  it('a record stored beyond the stored head is served with the database head (online) or refused (offline)', async () => {
    const storage = new MemoryStorage();
    const r = await rig([db.url], { storage, mirror: { indexDataTiles: false } });
    await r.mirror.tree.merge(await db.signedTree(), 'test');
    await db.addAll(modules.slice(10));
    await r.mirror.close();
    // As an older release could leave it: head of size 10, record 15 (its head write lost).
    await storage.put(
      r.mirror.store.lookupKey(mod(15).path, mod(15).version),
      Buffer.from(`15\n${recordText(mod(15))}`),
    );
    const lookup = `lookup/${mod(15).path}@${mod(15).version}`;

    const offline = await rig([db.url], { storage, mirror: { offline: true } });
    const refused = await offline.mirror.serve(lookup).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SumdbError);
    expect((refused as SumdbError).kind).toBe('unavailable');
    expect((refused as SumdbError).message).toContain('record 15 lies beyond the verified tree head godepot holds');
    await offline.mirror.close();
    await offline.close();

    const online = await rig([db.url], { storage, mirror: { indexDataTiles: false } });
    expect(served((await online.mirror.serve(lookup)).body)).toEqual({ id: 15, n: 20 });
    await online.mirror.close();
    await online.close();
    await r.close();
  });

  it('records a full disk will not take are still served, and said once, not once per lookup', async () => {
    const r = await rig([db.url], { storage: new NoRoomForRecords(), mirror: { indexDataTiles: false } });
    for (let i = 0; i < 5; i++) expect((await r.mirror.lookup(mod(i))).record.id).toBe(i);
    await r.mirror.idle();
    const said = r.logs.filter((l) => String(l.msg).startsWith('a verified checksum-database record could not be'));
    expect(said.map((l) => l.level)).toEqual([40, 20, 20, 20, 20]);
    expect(said[4]).toMatchObject({ db: db.name, err: 'ENOSPC: no space left on device' });
    await r.mirror.close();
    await r.close();
  });
});

describe('SumdbStore: the stored tree head', () => {
  const signers = makeSigners(TEST_KEY);
  const head = (n: number): Buffer => signers.sign(formatTree({ n, hash: Buffer.alloc(32, n) }));
  const dataTile: Tile = { h: 8, l: -1, n: 0, w: 1 };
  const rec = { id: 0, text: Buffer.from(recordText(mod(0))) };

  it('records and tiles wait for their head: while its write fails they are not stored, then it is written first', async () => {
    const storage = new FlakyHeadStorage();
    const store = new SumdbStore(storage, 'db.example');
    storage.failHeads = 3; // the head's own write, and the retry before each of the next two
    store.keepLatest(head(1), 1);
    void store.keepRecord(mod(0).path, mod(0).version, rec);
    await store.keepTile(dataTile, Buffer.from(recordText(mod(0)) + '\n'), 1);
    await store.writesSettled();
    expect(await storage.list('sumdb/db.example/')).toEqual([]);

    await store.keepTile(dataTile, Buffer.from(recordText(mod(0)) + '\n'), 1);
    expect(await storage.get(store.latestKey())).toEqual(head(1));
    expect(await storage.stat(store.partialKey(dataTile))).not.toBeNull();
  });

  it('keeps the widest copy of a partial tile written twice at once (a growing tree verified twice in a row)', async () => {
    const storage = new FirstPartialHeld();
    const store = new SumdbStore(storage, 'db.example');
    const tile = (w: number): Tile => ({ h: 8, l: 0, n: 0, w });
    const narrow = store.keepTile(tile(58), Buffer.alloc(58 * 32, 1), 58);
    const wide = store.keepTile(tile(59), Buffer.alloc(59 * 32, 1), 59);
    // Give the second write every chance to overtake the first, held one.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    storage.letFirstThrough();
    await Promise.all([narrow, wide]);
    expect((await storage.stat(store.partialKey(tile(59))))?.size).toBe(59 * 32);
  });

  it('is never replaced by a smaller tree (another node sharing the storage verified further)', async () => {
    const storage = new MemoryStorage();
    const store = new SumdbStore(storage, 'db.example');
    await storage.put(store.latestKey(), head(30));
    store.keepLatest(head(25), 25);
    await store.writesSettled();
    expect(await storage.get(store.latestKey())).toEqual(head(30));
    store.keepLatest(head(31), 31);
    await store.writesSettled();
    expect(await storage.get(store.latestKey())).toEqual(head(31));
  });
});
