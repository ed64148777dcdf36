// A source of the database that answers /latest with 200 and something that
// is not a signed note at all (an HTML login page of a corporate proxy, a
// captive portal): refused, and said to be that, not a forged head or a
// wrong --sumdb key (which would send the operator to change a right key).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSumDb, faults } from '../world/index.js';
import { fakeModules, rig, type Rig } from './mirror-harness.js';

const PAGE = '<!DOCTYPE html>\n<html><body>Sign in to continue</body></html>\n';

describe('SumdbMirror: a source that answers 200 with a page that is not a signed note', () => {
  let db: FakeSumDb;
  let r: Rig;
  beforeAll(async () => {
    db = await FakeSumDb.start({ records: fakeModules(5) });
    r = await rig([db.url], { mirror: { latestTtl: 0 } });
  });
  afterAll(async () => {
    await r?.close();
    await db?.close();
  });

  it('is refused as not a tree head: no security alert, no "wrong key", before or after a head verified', async () => {
    const off = db.setFault(faults.status(200, PAGE), '/latest');
    const err = (await r.mirror.serve('latest').catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/sent something that is not a signed tree head \(malformed note: "<!DOCTYPE html>/);
    expect(err.message).not.toMatch(/wrong key|forged/);
    expect(r.mirror.status().status).not.toBe('misconfigured');
    expect(r.logs.filter((l) => l.alert === 'sumdb_bad_signature')).toEqual([]);

    off();
    expect((await r.mirror.serve('latest')).cache).toBe('miss');
    db.setFault(faults.status(200, PAGE), '/latest');
    expect((await r.mirror.serve('latest')).cache).toBe('stale');
    const s = r.mirror.status();
    expect(s).toMatchObject({ status: 'stale', treeSize: 5 });
    expect(s.detail).toMatch(/not a signed tree head/);
    expect(r.logs.filter((l) => l.alert === 'sumdb_bad_signature')).toEqual([]);
  });
});
