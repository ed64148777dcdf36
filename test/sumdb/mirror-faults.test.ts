// The checksum-database mirror when its mirrors misbehave: one bad mirror
// beside a healthy one (altered record, altered tile, forged signature, 5xx,
// reset, hang), a forked history, a stale tree head while the database
// hangs, lookups answered from the data-tile index while every mirror is
// down, and --nosumdb.
import { FakeClock } from '../support/clock.js';
import { ManualClock } from '../../src/util/clock.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { RemoteError } from '../../src/sumdb/remote.js';
import { NotInLogError, SumdbError } from '../../src/sumdb/errors.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newVerifier, openNote, Verifiers } from '../../src/sumdb/note/index.js';
import { formatRecord, parseRecord, parseTree } from '../../src/sumdb/tlog/index.js';
import { FakeSumDb, faults, recordText, TEST_KEY, type Fault } from '../world/index.js';
import { fakeModules, RecordingRemote, rig, text, wrapRemote, type Rig, type RigOptions } from './mirror-harness.js';

/** Time-outs far above the hedge delay (150ms), so "costs the hedge delay, not a time-out" is measurable. */
const SLOW_TIMEOUTS = { 'sumdb-first-byte-timeout': '4s', 'sumdb-idle-timeout': '4s', 'sumdb-total-timeout': '5s' };
const verifiers = new Verifiers(newVerifier(TEST_KEY.vkey));
const sizeOf = (note: Buffer): number => parseTree(openNote(note, verifiers).text).n;
const modules = fakeModules(600);
const mod = (i: number) => {
  const m = modules[i];
  if (!m) throw new Error(`no fixture module ${i}`);
  return m;
};

/** A database of the first 20 modules and a rig on it (with opts), both closed after fn. */
async function onSmallDb(opts: RigOptions, fn: (r: Rig, db: FakeSumDb) => Promise<void>): Promise<void> {
  const db = await FakeSumDb.start({ records: modules.slice(0, 20) });
  const r = await rig([db.url], { settings: SLOW_TIMEOUTS, ...opts });
  try {
    await fn(r, db);
  } finally {
    await r.close();
    await db.close();
  }
}

describe('SumdbMirror: one bad mirror beside a healthy one', () => {
  let bad: FakeSumDb;
  let good: FakeSumDb;
  let r: Rig | undefined;
  let remote: RecordingRemote;

  beforeAll(async () => {
    bad = await FakeSumDb.start({ records: modules });
    good = await FakeSumDb.start({ records: modules });
  });
  afterEach(async () => {
    // The rig first: requests it still makes while closing must not land in the next test's logs.
    await r?.close();
    r = undefined;
    bad.clearFaults();
    good.clearFaults();
    bad.resetLog();
    good.resetLog();
  });
  afterAll(async () => {
    await bad.close();
    await good.close();
  });

  const cases: Array<[string, Fault]> = [
    ['an altered record', faults.alterRecord()],
    ['altered tiles', faults.alterTile()],
    ['a forged signature', faults.badSignature()],
    ['503', faults.status(503)],
    ['connection resets', faults.reset()],
    ['a hang', faults.hang()],
  ];

  for (const [what, fault] of cases) {
    it(`the first mirror serves ${what}: lookups, tiles and the tree head verify through the second`, async () => {
      r = await rig([bad.url, good.url], { wrap: (x) => (remote = new RecordingRemote(x)), settings: SLOW_TIMEOUTS });
      bad.setFault(fault);
      for (const i of [5, 260, 599]) {
        const a = await r.mirror.serve(`lookup/${mod(i).path}@${mod(i).version}`);
        const { id, text: rec } = parseRecord(a.body);
        expect(id).toBe(i);
        expect(text(rec)).toBe(recordText(mod(i)));
      }
      expect(sizeOf((await r.mirror.serve('latest')).body)).toBe(600);
      const tile = await r.mirror.serve('tile/8/0/001');
      expect(tile.body.equals(await (await fetch(`${good.url}/tile/8/0/001`)).arrayBuffer().then(Buffer.from))).toBe(
        true,
      );
      expect(bad.count()).toBeGreaterThan(0);
      expect(good.count()).toBeGreaterThan(0);
      expect(r.forks).toEqual([]);
      // Nothing the bad mirror altered was kept.
      const again = await r.reopen();
      for (const i of [5, 260, 599]) expect(text((await again.lookup(mod(i))).record.text)).toBe(recordText(mod(i)));
    });
  }

  it('a mirror that serves altered tiles does not make godepot drop the verified tiles it holds', async () => {
    const first = await rig([good.url], { settings: SLOW_TIMEOUTS });
    await first.mirror.lookup(mod(5));
    const held = (await first.storage.list('sumdb/')).filter((k) => k.includes('/tile/'));
    await first.close();
    expect(held.length).toBeGreaterThan(0);
    r = await rig([bad.url, good.url], { storage: first.storage, settings: SLOW_TIMEOUTS });
    bad.setFault(faults.alterTile());
    for (const i of [260, 599]) expect((await r.mirror.lookup(mod(i))).record.id).toBe(i);
    expect(bad.count('/tile/')).toBeGreaterThan(0);
    const now = await r.storage.list('sumdb/');
    expect(held.filter((k) => !now.includes(k))).toEqual([]);
    // Not dropped and fetched again either: the altered tile's source is the suspect, not the stored tiles.
    expect(r.logs.filter((l) => String(l.msg).includes('no longer prove'))).toEqual([]);
  });

  it("one source's 404 while the other fails is an outage, not 'not in the log'; every source's 404 is", async () => {
    r = await rig([bad.url, good.url], { settings: SLOW_TIMEOUTS });
    bad.setFault(faults.status(503));
    good.setFault(faults.status(404, 'not found: no such module'), '/lookup/');
    const alone = await r.mirror.lookup(mod(7)).catch((e: unknown) => e);
    expect(alone).toBeInstanceOf(SumdbError);
    expect(alone).not.toBeInstanceOf(NotInLogError);
    expect(alone).toMatchObject({ kind: 'unavailable' });
    expect((alone as Error).message).toMatch(
      /only .* answered, and it has no record of .*; the other sources did not answer/,
    );
    bad.setFault(faults.status(404, 'not found: no such module'), '/lookup/');
    await expect(r.mirror.lookup(mod(8))).rejects.toBeInstanceOf(NotInLogError);
  });

  it('a forged tree head is a security alert, logged once for a source that keeps sending it', async () => {
    r = await rig([bad.url], { settings: SLOW_TIMEOUTS });
    bad.setFault(faults.badSignature());
    for (const i of [5, 260, 599])
      await expect(r.mirror.lookup(mod(i))).rejects.toThrow(/does not verify: .*a forged head, or the wrong key/);
    const alerts = r.logs.filter((l) => l.alert === 'sumdb_bad_signature');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ level: 50, from: bad.url });
    expect(String(alerts[0]?.msg)).toMatch(/^SECURITY: .* does not verify under the configured key: refused/);
    expect(bad.count()).toBeGreaterThanOrEqual(3);
  });

  it('a hanging first mirror: the second is asked after the hedge delay, and its answer wins', async () => {
    r = await rig([bad.url, good.url], {
      wrap: (x) => (remote = new RecordingRemote(x)),
      mirror: { indexDataTiles: false },
      settings: SLOW_TIMEOUTS,
    });
    bad.setFault(faults.hang());
    await r.mirror.lookup(mod(42));
    const first = bad.requests[0];
    const second = good.requests[0];
    expect(first && second).toBeTruthy();
    if (!first || !second) return;
    // The bad mirror was asked first; the good one while it still hung (the hedge, not its time-out).
    expect(second.at).toBeGreaterThanOrEqual(first.at);
    expect(first.status).toBeUndefined();
    expect(remote.calls.every((c) => c.from === good.url)).toBe(true);
  });

  it('a healthy first mirror: the second is never asked', async () => {
    r = await rig([good.url, bad.url], { settings: SLOW_TIMEOUTS });
    for (const i of [1, 2, 3]) await r.mirror.lookup(mod(i));
    await r.mirror.serve('tile/8/0/000');
    expect(bad.count()).toBe(0);
  });
});

describe('SumdbMirror: a forked history', () => {
  it('refuses it, keeps serving the verified history, logs both heads at the highest severity, persists the evidence', async () => {
    const few = fakeModules(40);
    const db = await FakeSumDb.start({ records: few });
    const r = await rig([db.url], { mirror: { latestTtl: 0, staleGrace: 10_000 }, settings: SLOW_TIMEOUTS });
    try {
      for (const i of [3, 20, 39]) await r.mirror.lookup(few[i] ?? mod(0));
      const verified = r.mirror.tree.head?.note;
      expect(verified && sizeOf(verified)).toBe(40);

      await db.fork({ keep: 10 });
      // The tree head from the other history is refused; the verified one is still served.
      const latest = await r.mirror.serve('latest');
      expect(latest.body.equals(verified ?? Buffer.alloc(0))).toBe(true);
      expect(r.mirror.tree.head?.note.equals(verified ?? Buffer.alloc(0))).toBe(true);
      expect(r.forks).toHaveLength(1);
      expect(r.forks[0]).toMatchObject({ verifiedSize: 40, conflictingSize: 41, from: db.url });

      const fatal = r.logs.find((l) => l.level === 60);
      expect(fatal).toBeDefined();
      expect(String(fatal?.verifiedHead)).toBe(text(verified ?? Buffer.alloc(0)));
      expect(sizeOf(Buffer.from(String(fatal?.conflictingHead)))).toBe(41);
      expect(String(fatal?.report)).toContain('SECURITY ERROR');
      const stored = await r.storage.get(r.mirror.store.inconsistentKey());
      expect(JSON.parse(text(stored ?? Buffer.from('{}')))).toMatchObject({ verifiedSize: 40, conflictingSize: 41 });
      expect(r.mirror.status()).toMatchObject({ status: 'inconsistent', treeSize: 40 });

      // Records of the verified history are still served, from storage or from its data tile.
      for (const i of [3, 20, 39, 5]) {
        const a = await r.mirror.serve(`lookup/${few[i]?.path}@v1.0.0`);
        expect(parseRecord(a.body).id).toBe(i);
        expect(text(parseRecord(a.body).text)).toBe(recordText(few[i] ?? mod(0)));
        expect(a.body.includes(verified ?? Buffer.alloc(1))).toBe(true);
      }
      // The other history's own record is not: it is in no verified tree.
      await expect(r.mirror.serve('lookup/example.com/fork-marker@v0.0.1')).rejects.toMatchObject({});
      // Tiles of the verified tree are still served; the verified tree does not move.
      expect((await r.mirror.serve('tile/8/0/000.p/40')).body.length).toBe(40 * 32);
      expect(r.mirror.tree.head?.tree.n).toBe(40);
    } finally {
      await r.close();
      await db.close();
    }
  });

  it('refuses an older head of another history (a smaller tree that is not a prefix of the verified one)', async () => {
    const a = await FakeSumDb.start({ records: fakeModules(30) });
    const other = await FakeSumDb.start({ records: [...fakeModules(10), ...fakeModules(10, 0, 'example.com/other')] });
    const ra = await rig([a.url], { settings: SLOW_TIMEOUTS });
    try {
      await ra.mirror.lookup(mod(25));
      await ra.mirror.serve('tile/8/0/000.p/30');
      const rb = await rig([other.url], { storage: ra.storage, settings: SLOW_TIMEOUTS });
      try {
        // A lookup answered with a signed head of size 20 whose records differ from ours after 10.
        await expect(rb.mirror.lookup({ path: 'example.com/other3', version: 'v1.0.0' })).rejects.toMatchObject({});
        expect(rb.forks).toHaveLength(1);
        expect(rb.forks[0]).toMatchObject({ verifiedSize: 30, conflictingSize: 20 });
        expect(rb.mirror.tree.head?.tree.n).toBe(30);
      } finally {
        await rb.close();
      }
    } finally {
      await ra.close();
      await a.close();
      await other.close();
    }
  });

  it('a stored tree head dated ahead of the clock (a skewed writer, S3 metadata) is refreshed, and its date shown, as any other', async () => {
    await onSmallDb({}, async (r, db) => {
      await r.mirror.lookup(mod(3));
      await r.mirror.idle();
      const note = await r.storage.get(r.mirror.store.latestKey());
      if (!note) throw new Error('no stored head');
      await db.addRecord(recordText(mod(20)), `${mod(20).path}@${mod(20).version}`);
      for (const mtimeMs of [Date.now() + 365 * 24 * 3600_000, 1e20, -1e20]) {
        await r.storage.put(r.mirror.store.latestKey(), note, { mtimeMs });
        const again = await r.reopen();
        // Else its age was negative until that date (never refreshed), and 1e20 made status() throw a RangeError.
        expect(() => again.status(), String(mtimeMs)).not.toThrow();
        const { head, cache } = await again.latest();
        expect(cache, String(mtimeMs)).toBe('revalidated');
        expect(head.tree.n).toBe(21);
      }
      // A writer up to a minute ahead (a node's clock a little off): taken as checked now, not refreshed at once.
      await r.storage.put(r.mirror.store.latestKey(), note, { mtimeMs: Date.now() + 30_000 });
      const skewed = await r.reopen();
      expect(skewed.tree.head?.checkedAt).toBeLessThanOrEqual(Date.now());
      expect(skewed.tree.head?.checkedAt).toBeGreaterThan(Date.now() - 10_000);
      expect((await skewed.latest()).cache).toBe('hit');
    });
  });

  it('stored fork evidence that cannot be read now is not taken for "no fork"', async () => {
    const storage = new MemoryStorage();
    let failing = false;
    const get = storage.get.bind(storage);
    storage.get = (key: string) =>
      failing && key.endsWith('/inconsistent') ? Promise.reject(new Error('EIO: i/o error, read')) : get(key);
    const clock = new ManualClock();
    await onSmallDb({ storage, mirror: { clock } }, async (r) => {
      failing = true;
      expect(await r.mirror.tree.knownFork()).toMatchObject({ unknown: true, from: expect.stringMatching(/EIO/) });
      failing = false;
      // Not read again at every call while storage fails: after the usual pause.
      expect(await r.mirror.tree.knownFork()).toMatchObject({ unknown: true });
      clock.advance(5_000);
      expect(await r.mirror.tree.knownFork()).toBeNull();
    });
  });

  it('stored fork evidence that does not read still says a fork was refused: only an operator clears it', async () => {
    await onSmallDb({}, async (r) => {
      await r.mirror.lookup(mod(3));
      expect(r.mirror.status().status).toBe('ok');
      for (const damaged of ['{"detectedAt":', 'null', '{}', '[1]']) {
        await r.storage.put(r.mirror.store.inconsistentKey(), Buffer.from(damaged));
        const again = await r.reopen();
        expect(again.status().status, damaged).toBe('inconsistent');
        expect((await again.tree.knownFork())?.from, damaged).toMatch(
          /does not read; it still says a fork was refused/,
        );
      }
      // Cleared by the operator (the file removed): a fresh start trusts the database again.
      await r.storage.delete(r.mirror.store.inconsistentKey());
      expect((await r.reopen()).status().status).toBe('ok');
    });
  });
});

describe('SumdbMirror: the database is down', () => {
  let db: FakeSumDb;
  let r: Rig | undefined;
  beforeAll(async () => {
    db = await FakeSumDb.start({ records: modules });
  });
  afterEach(async () => {
    db.clearFaults();
    await r?.close();
    r = undefined;
  });
  afterAll(async () => {
    await db.close();
  });

  it('serves the stale tree head within the stale grace when every mirror hangs, and reports it in status()', async () => {
    // Deadlines far beyond the grace, so "stale within the grace" cannot be confused with "failed fast"; the
    // grace and the total deadline run on a clock the test moves (a grace waited in real time would time
    // the test out).
    const clock = new FakeClock();
    const settings = { 'sumdb-first-byte-timeout': '2m', 'sumdb-idle-timeout': '2m', 'sumdb-total-timeout': '2m' };
    const rg = await rig([db.url], { mirror: { latestTtl: 60_000, staleGrace: 30_000 }, settings, clock });
    r = rg;
    const head = await rg.mirror.serve('latest');
    await clock.advance(59_000);
    expect((await r.mirror.serve('latest')).cache).toBe('hit');
    await clock.advance(1_000); // the head is now as old as its TTL
    db.setFault(faults.hang());
    for (let k = 0; k < 3; k++) {
      const waiting = clock.pending;
      const served = r.mirror.serve('latest');
      await clock.until(() => clock.pending > waiting, 'the stale grace');
      // Not a moment before the grace is over.
      await clock.advance(29_999);
      expect(
        await Promise.race([served.then(() => 'served'), new Promise((res) => setImmediate(res, 'waiting'))]),
      ).toBe('waiting');
      await clock.advance(1);
      const a = await served;
      expect(a.body.equals(head.body)).toBe(true);
      expect(a.cache).toBe('stale');
    }
    // Once the refresh has failed for good (its deadline passed), /readyz's status says so.
    expect(r.mirror.status().status).toBe('ok');
    await clock.advance(120_000);
    await clock.until(() => rg.mirror.status().status === 'stale', 'the failed refresh');
    db.clearFaults();
    const fresh = await r.mirror.serve('latest');
    expect(fresh.cache).toBe('revalidated');
    expect(r.mirror.status().status).toBe('ok');
  });

  it('serves the stale tree head at once when every mirror refuses the connection', async () => {
    // A grace of ten minutes: waiting it out would time the test out, so passing means "at once".
    r = await rig([db.url], { mirror: { latestTtl: 0, staleGrace: 600_000 } });
    const head = await r.mirror.serve('latest');
    db.setFault(faults.reset());
    const a = await r.mirror.serve('latest');
    expect(a.body.equals(head.body)).toBe(true);
    expect(a.cache).toBe('stale');
  });

  it('answers a lookup it never made from the records of data tiles it holds, with a verified head covering it', async () => {
    r = await rig([db.url], { settings: SLOW_TIMEOUTS });
    await r.mirror.lookup(mod(10));
    // The data tile around record 10 is fetched and indexed in the background.
    await r.mirror.indexAround(10);
    db.setFault(faults.hang());
    for (const i of [0, 11, 200, 255]) {
      const a = await r.mirror.serve(`lookup/${mod(i).path}@v1.0.0`);
      expect(a.cache).toBe('hit');
      const { id, text: rec, rest } = parseRecord(a.body);
      expect(id).toBe(i);
      expect(text(rec)).toBe(recordText(mod(i)));
      expect(sizeOf(rest)).toBeGreaterThan(i);
    }
    // Outside the indexed tile, the mirror cannot vouch: a failure, not a guess.
    db.setFault(faults.reset());
    await expect(r.mirror.serve(`lookup/${mod(300).path}@v1.0.0`)).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('indexes a record whose lines mention several modules under its own module only (the database answers the others with their own records)', async () => {
    const local = await FakeSumDb.start({ records: fakeModules(3) });
    r = await rig([local.url], { settings: SLOW_TIMEOUTS });
    try {
      const a = fakeModules(1, 0, 'example.com/multi-a')[0];
      const b = fakeModules(1, 0, 'example.com/multi-b')[0];
      if (!a || !b) throw new Error('fixture');
      const id = await local.addRecord(recordText(a) + recordText(b), `${a.path}@${a.version}`);
      await local.addAll(fakeModules(3, 10));
      await r.mirror.lookup(mod(0));
      await r.mirror.indexAround(0);
      local.setFault(faults.reset());
      const ra = await r.mirror.lookup(a);
      expect(ra.record.id).toBe(id);
      expect(text(ra.record.text)).toBe(recordText(a) + recordText(b));
      await expect(r.mirror.lookup(b)).rejects.toMatchObject({ kind: 'unavailable' });
      // Once the database is back, b's lookup is its answer (here: b has no record of its own).
      local.clearFaults();
      await expect(r.mirror.lookup(b)).rejects.toMatchObject({ kind: 'not_found' });
    } finally {
      await local.close();
    }
  });

  it('keeps the data tile, not a file per record, and answers from the tiles it holds after a restart; a record whose subject only hashes alike is no answer', async () => {
    // example.com/c89590@v1.0.0 and example.com/c13664020@v1.0.0 share the 30-bit subject hash of the index.
    const [held, alike] = [fakeModules(1, 89590, 'example.com/c')[0], fakeModules(1, 13664020, 'example.com/c')[0]];
    if (!held || !alike) throw new Error('fixture');
    const local = await FakeSumDb.start({ records: [...modules.slice(0, 5), held] });
    r = await rig([local.url], { settings: SLOW_TIMEOUTS });
    try {
      await r.mirror.lookup(mod(0));
      await r.mirror.indexAround(0);
      await r.mirror.idle();
      expect(await r.storage.list(r.mirror.store.prefix + 'lookup/')).toEqual([
        r.mirror.store.lookupKey(mod(0).path, mod(0).version),
      ]);
      local.setFault(faults.reset());
      // Damage in storage costs its own tile only.
      await r.storage.put(`${r.mirror.store.prefix}tile/8/data/007`, Buffer.from('not a data tile'));
      const again = await r.reopen();
      try {
        expect(await again.lookup(mod(3))).toMatchObject({ record: { id: 3 }, cache: 'hit' });
        const a = await again.lookup(held);
        expect(a.record.id).toBe(5);
        expect(text(a.record.text)).toBe(recordText(held));
        await expect(again.lookup(alike)).rejects.toMatchObject({ kind: 'unavailable' });
        expect(r.logs.some((l) => l.msg === 'a stored data tile cannot be read' && l.level === 40)).toBe(true);
      } finally {
        await again.close();
      }
    } finally {
      await local.close();
    }
  });

  it('offline: answers from storage only, never asks the database', async () => {
    r = await rig([db.url], { settings: SLOW_TIMEOUTS });
    await r.mirror.lookup(mod(7));
    await r.mirror.idle();
    db.resetLog();
    const off = await rig([db.url], { storage: r.storage, mirror: { offline: true } });
    try {
      expect((await off.mirror.lookup(mod(7))).cache).toBe('hit');
      // A record it never looked up, from the data tile around mod(7) it keeps.
      expect(await off.mirror.lookup(mod(9))).toMatchObject({ record: { id: 9 }, cache: 'hit' });
      expect((await off.mirror.serve('latest')).cache).toBe('hit');
      await expect(off.mirror.lookup(mod(400))).rejects.toMatchObject({ kind: 'not_found' });
      expect(db.count()).toBe(0);
    } finally {
      await off.close();
    }
  });
});

describe('SumdbMirror: --nosumdb', () => {
  it('never sends a matching module to the database: 403, and no request', async () => {
    const db = await FakeSumDb.start({
      records: [...modules.slice(0, 5), ...fakeModules(2, 0, 'corp.example/private/m')],
    });
    const r = await rig([db.url], { mirror: { nosumdb: 'corp.example/private,*.internal' }, settings: SLOW_TIMEOUTS });
    try {
      await expect(r.mirror.serve('lookup/corp.example/private/m0@v1.0.0')).rejects.toMatchObject({
        kind: 'forbidden',
      });
      await expect(r.mirror.serve('lookup/git.corp.internal/x@v1.0.0')).rejects.toMatchObject({ kind: 'forbidden' });
      expect(db.count('/lookup/')).toBe(0);
      expect((await r.mirror.lookup(mod(1))).record.id).toBe(1);
      // The data tile around record 1 holds the private module's record too: still 403, whatever is indexed.
      await r.mirror.indexAround(1);
      await expect(r.mirror.serve('lookup/corp.example/private/m0@v1.0.0')).rejects.toMatchObject({
        kind: 'forbidden',
      });
      expect(db.count('/lookup/')).toBe(1);
    } finally {
      await r.close();
      await db.close();
    }
  });
});

/**
 * Looks mod(3) up (its proof's tiles stored), then changes in storage the
 * level-1 tile every proof of the tree's right edge reads; returns its key
 * and the bytes now stored.
 */
async function damageLevel1(r: Rig): Promise<{ level1: string; bytes: Buffer }> {
  await r.mirror.lookup(mod(3));
  await r.mirror.idle();
  const level1 = (await r.storage.list(r.mirror.store.prefix)).find((k) => /\/(tile|partial)\/8\/1\//.test(k));
  if (!level1) throw new Error('no level-1 tile stored');
  const bytes = Buffer.from((await r.storage.get(level1)) ?? Buffer.alloc(0));
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  await r.storage.put(level1, bytes);
  return { level1, bytes };
}

/** How the damaged-tile cases below run their mirrors: patient deadlines, no data-tile index. */
const DAMAGE_RIG: RigOptions = { settings: SLOW_TIMEOUTS, mirror: { indexDataTiles: false } };

/** A second mirror on r's storage whose answers pass through wrap. */
const sharing = (db: FakeSumDb, r: Rig, wrap: NonNullable<RigOptions['wrap']>): Promise<Rig> =>
  rig([db.url], { ...DAMAGE_RIG, storage: r.storage, wrap });

describe('SumdbMirror: a damaged stored tile in a proof that also fetches one', () => {
  it('is replaced by the verified one and the lookups go on; the honest database is not blamed', async () => {
    const db = await FakeSumDb.start({ records: modules });
    const r = await rig([db.url], DAMAGE_RIG);
    try {
      const { level1, bytes } = await damageLevel1(r);
      const again = await r.reopen();
      // Records whose level-0 tile is not held: each proof mixes the damaged stored tile with a fetched one.
      for (const i of [300, 301, 310]) expect((await again.lookup(mod(i))).record.id).toBe(i);
      expect(r.logs.filter((l) => /does not verify/.test(String(l.msg)))).toEqual([]);
      expect(r.logs.some((l) => /replaced by copies from the sources/.test(String(l.msg)))).toBe(true);
      await again.idle();
      expect((await r.storage.get(level1))?.equals(bytes)).toBe(false);
    } finally {
      await r.close();
      await db.close();
    }
  });
});

describe('SumdbMirror: a source sends one altered tile in a proof through stored ones', () => {
  it('the tile the sources then prove is kept; no stored tile is said to be damaged', async () => {
    const db = await FakeSumDb.start({ records: modules });
    // The first answer for level-0 tile 001 has a byte flipped (a transient fault of the source); later ones are right.
    let altered = 0;
    const once = wrapRemote(async (inner, ...args) => {
      const got = await inner.get(...args);
      if (!got.found || args[0] !== '/tile/8/0/001' || altered++ > 0) return got;
      const body = Buffer.from(got.body);
      body[0] = (body[0] ?? 0) ^ 0xff;
      return { ...got, body };
    });
    const r = await rig([db.url], DAMAGE_RIG);
    try {
      await r.mirror.lookup(mod(3));
      await r.mirror.idle();
      const other = await sharing(db, r, once);
      try {
        // Its proof reads the stored level-1 tile and fetches level-0 tile 001.
        expect((await other.mirror.lookup(mod(300))).record.id).toBe(300);
        await other.mirror.idle();
        expect(altered).toBeGreaterThan(1);
        // Nothing in storage was damaged: no warning says so.
        expect(other.logs.filter((l) => /no longer proved/.test(String(l.msg)))).toEqual([]);
        expect(await r.storage.get(`${r.mirror.store.prefix}tile/8/0/001`)).not.toBeNull();
      } finally {
        await other.close();
      }
    } finally {
      await r.close();
      await db.close();
    }
  });
});

describe('SumdbMirror: a damaged stored tile when a lookup comes with an older head', () => {
  it('the older head is checked through the tile the sources prove, and the lookup goes on', async () => {
    const db = await FakeSumDb.start({ records: modules });
    // A lagging source: lookups answered with the head of the first 512 records (a prefix of the same log).
    const lag = await FakeSumDb.start({ records: modules.slice(0, 512) });
    const older = wrapRemote(async (inner, ...args) => {
      const got = await inner.get(...args);
      if (!got.found || !args[0].startsWith('/lookup/')) return got;
      const { id, text } = parseRecord(got.body);
      return { ...got, body: Buffer.concat([formatRecord(id, text), await lag.signedTree()]) };
    });
    const r = await rig([db.url], DAMAGE_RIG);
    try {
      const { level1, bytes } = await damageLevel1(r);
      const other = await sharing(db, r, older);
      try {
        // Checking the older head reads the damaged level-1 tile: the database is fine, so is the lookup.
        expect((await other.mirror.lookup(mod(5))).record.id).toBe(5);
        await other.mirror.idle();
        expect(other.logs.filter((l) => /does not verify/.test(String(l.msg)))).toEqual([]);
        expect((await r.storage.get(level1))?.equals(bytes)).toBe(false);
      } finally {
        await other.close();
      }
    } finally {
      await r.close();
      await lag.close();
      await db.close();
    }
  });
});

describe('SumdbMirror: a damaged stored tile while the sources stop answering', () => {
  it('blames no source for the tile that did not fit: which one was wrong cannot be told', async () => {
    const db = await FakeSumDb.start({ records: modules });
    // The sources answer one tile, then no more (they went away between the proof and its retry).
    let tiles = 0;
    const flaky = wrapRemote((inner, ...args) =>
      args[0].startsWith('/tile/') && tiles++ >= 1
        ? Promise.reject(new RemoteError('no source answered', false))
        : inner.get(...args),
    );
    const r = await rig([db.url], DAMAGE_RIG);
    try {
      const { level1, bytes } = await damageLevel1(r);
      const other = await sharing(db, r, flaky);
      try {
        await expect(other.mirror.lookup(mod(300))).rejects.toBeInstanceOf(SumdbError);
        expect(other.logs.filter((l) => /does not verify/.test(String(l.msg)))).toEqual([]);
        // Nothing was replaced or dropped: the stored tile is as it was.
        expect((await r.storage.get(level1))?.equals(bytes)).toBe(true);
      } finally {
        await other.close();
      }
    } finally {
      await r.close();
      await db.close();
    }
  });
});
