// Issue 10 item 4: a data tile the mirror cannot fetch in the background is
// counted, and logged once per run of failures — not silently skipped. And
// data tiles are fetched once lookups pause, not during a build's burst.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeSumDb, faults } from '../world/index.js';
import { DataTileIndex, type DataTileContext } from '../../src/sumdb/data-tiles.js';
import { FakeClock } from '../support/clock.js';
import { dependantSignals } from '../support/signals.js';
import { fakeModules, rig, type Rig } from './mirror-harness.js';
import { saidAt } from '../../src/util/said-once.js';

const records = Array.from({ length: 5 }, (_, i) => ({
  path: `example.com/m${i}`,
  version: 'v1.0.0',
  h1: `h1:${Buffer.alloc(32, i).toString('base64')}`,
  goModH1: `h1:${Buffer.alloc(32, i + 100).toString('base64')}`,
}));

describe('background data-tile fetches', () => {
  let db: FakeSumDb;
  beforeAll(async () => {
    db = await FakeSumDb.start({ records });
  });
  afterAll(async () => {
    await db.close();
  });

  it('counts every failure and logs the first of a run once, then says when they work again', async () => {
    const failed: string[] = [];
    const r = await rig([db.url], { mirror: { dataTileFailed: (name) => failed.push(name) } });
    const undo = db.setFault(faults.status(500), '/tile/8/data/');
    try {
      for (const m of records.slice(0, 3)) {
        await r.mirror.lookup({ path: m.path, version: m.version });
        await r.mirror.idle(); // waits for the background fetch
      }
      expect(failed).toEqual([r.mirror.name, r.mirror.name, r.mirror.name]);
      const warnings = r.logs.filter((l) => l.level === 40 && String(l.msg).includes('data tile'));
      expect(warnings).toHaveLength(1);
      // What failed, why, and what it means: verification goes on; only outage answers from the tile are lost.
      expect(String(warnings[0]?.msg)).toMatch(/^checksum database \S+: no data tile around record \d+ \(.*500/);
      expect(String(warnings[0]?.msg)).toContain('Every module is still verified by its own lookup');
      undo();
      const again = await rig([db.url], { storage: r.storage, mirror: { dataTileFailed: (n) => failed.push(n) } });
      await again.mirror.lookup({ path: records[3]!.path, version: 'v1.0.0' });
      await again.mirror.idle();
      expect(failed).toHaveLength(3);
      expect(again.logs.filter((l) => l.level === 40)).toEqual([]);
      await again.mirror.close();
      await again.close();
    } finally {
      undo();
      await r.mirror.close();
      await r.close();
    }
  });

  it('says it at debug level in a worker other than the first (the first says it for the node), counting alike', async () => {
    const failed: string[] = [];
    const r = await rig([db.url], { mirror: { dataTileFailed: (n) => failed.push(n), dataTileLevel: saidAt(false) } });
    const undo = db.setFault(faults.status(500), '/tile/8/data/');
    try {
      await r.mirror.lookup({ path: records[4]!.path, version: 'v1.0.0' });
      await r.mirror.idle();
      expect(failed).toEqual([r.mirror.name]);
      expect(r.logs.filter((l) => (l.level as number) > 20 && String(l.msg).includes('data tile'))).toEqual([]);
      expect(r.logs.filter((l) => l.level === 20 && String(l.msg).includes('no data tile around'))).toHaveLength(1);
    } finally {
      undo();
      await r.mirror.close();
      await r.close();
    }
  });
});

// A build's cold fill looks up tens of module versions in a burst; the data
// tiles around them (the outage index) are fetched once lookups pause, so
// they do not compete with the answers the build is waiting for.
describe('data tiles wait for a pause in lookups', () => {
  const many = fakeModules(600); // tiles 0 and 1 full, tile 2 partial (88 records)
  const at = (i: number) => ({ path: many[i]!.path, version: many[i]!.version });
  let db: FakeSumDb;
  beforeAll(async () => {
    db = await FakeSumDb.start({ records: many });
  });
  afterEach(() => db.resetLog());
  afterAll(async () => {
    await db.close();
  });
  /** Runs body with a mirror of db whose pause in lookups is waited on clock, closing it afterwards. */
  const withMirror = async (body: (mirror: Rig['mirror'], clock: FakeClock) => Promise<void>): Promise<void> => {
    const clock = new FakeClock();
    const r = await rig([db.url], { mirror: { waits: clock } });
    try {
      await body(r.mirror, clock);
    } finally {
      await r.close();
    }
  };

  it('none is fetched during the burst; idle() indexes each tile once, and it then answers the neighbours', () =>
    withMirror(async (mirror) => {
      for (const i of [5, 300, 550]) await mirror.lookup(at(i));
      expect(db.count('/tile/8/data/')).toBe(0);
      await mirror.idle();
      expect(db.requests.filter((q) => q.path.includes('/tile/8/data/')).map((q) => q.path)).toEqual(
        expect.arrayContaining(['/tile/8/data/000', '/tile/8/data/001', '/tile/8/data/002.p/88']),
      );
      expect(db.count('/tile/8/data/')).toBe(3);
      const lookups = db.count('/lookup/');
      for (const i of [7, 299, 599]) expect((await mirror.lookup(at(i))).cache).toBe('hit');
      expect(db.count('/lookup/')).toBe(lookups);
    }));

  it('a tile a second lookup of the burst falls in is indexed at once', () =>
    withMirror(async (mirror) => {
      await mirror.lookup(at(300));
      await mirror.lookup(at(5));
      expect(db.count('/tile/8/data/')).toBe(0);
      await mirror.lookup(at(6)); // tile 0 again
      await vi.waitFor(() => expect(db.count('/tile/8/data/000')).toBe(1));
      // The other still waits for the pause.
      expect(db.count('/tile/8/data/')).toBe(1);
    }));

  it('indexing starts by itself once lookups pause for 250 ms; each lookup restarts the wait', () =>
    withMirror(async (mirror, clock) => {
      await mirror.lookup(at(10));
      await clock.advance(249);
      await mirror.lookup(at(300)); // another tile: the wait starts again
      await clock.advance(249);
      expect(db.count('/tile/8/data/')).toBe(0);
      await clock.advance(1);
      await vi.waitFor(() => expect(db.count('/tile/8/data/')).toBe(2));
    }));

  it('closing drops what waits: no request after close', async () => {
    const clock = new FakeClock();
    const r = await rig([db.url], { mirror: { waits: clock } });
    await r.mirror.lookup(at(20));
    expect(clock.pending).toBe(1);
    await r.close();
    // The wait for the pause ended with the mirror: moving time on starts nothing.
    expect(clock.pending).toBe(0);
    await clock.advance(1_000);
    expect(db.count('/tile/8/data/')).toBe(0);
  });

  it('waiting for the pause leaves nothing on the signal the mirror lives by, however many lookups restart it', () => {
    const clock = new FakeClock();
    // Only the wait is exercised: each record in a tile of its own, fewer than start indexing at once.
    const tiles = new DataTileIndex({ name: 'test', waits: clock } as unknown as DataTileContext);
    const mirrorLife = new AbortController();
    for (let n = 0; n < 60; n++) tiles.later(n * 256, mirrorLife.signal);
    expect(clock.pending).toBe(1);
    // Node 20 kept one entry per lookup on it (AbortSignal.any) for as long as the mirror ran.
    expect(dependantSignals(mirrorLife.signal)).toBe(0);
  });
});
