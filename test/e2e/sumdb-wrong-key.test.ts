// godepot restarted with another key for the same database name (a typo in
// --sumdb, a key pasted from the wrong place): the stored tree head no longer
// verifies and is dropped, every source's head fails the signature check, and
// /readyz says so at once — `misconfigured`, naming the key — instead of `ok`
// with an "empty" database. Nothing proven under the old key answers a lookup
// meanwhile: not a stored record, not a kept data tile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { generateKey } from '../../src/sumdb/note/index.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';
import { readyz } from './sumdb-support.js';

describe('a restart with the wrong key for the database', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let data: string;
  let mods: BuiltModule[];
  const running: RunningGodepot[] = [];

  beforeAll(async () => {
    mods = await buildModules(
      ['one', 'two'].map((n) => ({
        path: `example.com/wrongkey/${n}`,
        version: 'v1.0.0',
        files: { 'go.mod': `module example.com/wrongkey/${n}\n` },
      })),
    );
    upstream = await FakeGoProxy.start(mods);
    sumdb = await FakeSumDb.start({ records: mods });
    data = await tempDir('godepot-wrongkey-');
    const g = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, data });
    running.push(g);
    expect((await fetch(`${g.url}/${mods[0]?.path}/@v/v1.0.0.mod`)).status).toBe(200);
    await g.g.service.idle();
    await g.g.mirrors[0]?.idle();
    await g.close();
  });

  afterAll(async () => {
    for (const g of running) await g.close();
    await upstream?.close();
    await sumdb?.close();
    await removeDir(data);
  });

  it('says misconfigured in /readyz, names the key, and answers no lookup from what the old key proved', async () => {
    const wrong = generateKey(sumdb.name).vkey;
    expect(wrong).not.toBe(sumdb.vkey);
    const g = await startGodepot({ upstream: upstream.url, sumdb: `${wrong} ${sumdb.url}`, data });
    running.push(g);
    const [one, two] = mods as [BuiltModule, BuiltModule];
    // The record stored under the old key is not answered; the database's heads fail the signature check.
    const lookup = await fetch(`${g.url}/sumdb/${sumdb.name}/lookup/${one.path}@${one.version}`);
    expect(lookup.status).toBe(502);
    expect(await lookup.text()).toMatch(/does not verify.*wrong key for this database in --sumdb/);
    const ready = await readyz(g.url);
    expect(ready.status).toBe('degraded');
    const db = ready.sumdb.find((s) => s.name === sumdb.name);
    expect(db?.status).toBe('misconfigured');
    expect(db?.detail).toMatch(/does not verify under the configured key.*the key for .* in --sumdb is wrong/);
    expect(ready.reasons.join(' ')).toMatch(/misconfigured/);
    // A module never fetched: nothing can vouch for it, so under the default fallback it is served as in an
    // outage — marked unverified and quarantined (the client's own GOSUMDB check, with the right key, decides);
    // never as verified. (A head that does not verify is what a blocked or forged database also looks like.)
    const fresh = await fetch(`${g.url}/${two.path}/@v/v1.0.0.mod`);
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('x-godepot-verification')).toBe('unverified');
    await g.g.service.idle();
    expect((await g.g.storage.list('mod/')).some((k) => k.includes(two.path) && k.endsWith('.mod'))).toBe(false);
    expect(g.logs.some((l) => l.alert === 'sumdb_bad_signature')).toBe(true);
  });
});
