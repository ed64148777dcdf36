// Issue 10 item 4: a data tile the mirror cannot fetch in the background is
// counted, and logged once per run of failures — not silently skipped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSumDb, faults } from '../world/index.js';
import { rig } from './mirror-harness.js';

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
});
