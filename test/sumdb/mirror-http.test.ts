// The mirror behind godepot's HTTP server (in process): /sumdb/<name>/…
// statuses the go command relies on, and the module service checking
// modules against it — except --nosumdb modules, which never reach the
// database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRecord } from '../../src/sumdb/tlog/index.js';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule, type FixtureModule } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';

const fixtures: FixtureModule[] = [
  {
    path: 'example.com/public',
    version: 'v1.0.0',
    files: { 'go.mod': 'module example.com/public\n', 'p.go': 'package public\n' },
  },
  {
    path: 'example.com/other',
    version: 'v1.0.0',
    files: { 'go.mod': 'module example.com/other\n', 'o.go': 'package other\n' },
  },
  {
    path: 'corp.example/private/lib',
    version: 'v1.2.3',
    files: { 'go.mod': 'module corp.example/private/lib\n', 'l.go': 'package lib\n' },
  },
  {
    path: 'example.com/late',
    version: 'v1.0.0',
    files: { 'go.mod': 'module example.com/late\n', 'l.go': 'package late\n' },
  },
];

describe('godepot /sumdb/<name>/ and the module service', () => {
  let mods: BuiltModule[];
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  const get = async (path: string): Promise<{ status: number; body: Buffer; type: string; cache: string }> => {
    const r = await fetch(godepot.url + path);
    return {
      status: r.status,
      body: Buffer.from(await r.arrayBuffer()),
      type: r.headers.get('content-type') ?? '',
      cache: r.headers.get('cache-control') ?? '',
    };
  };

  beforeAll(async () => {
    mods = await buildModules(fixtures);
    upstream = await FakeGoProxy.start(mods);
    // The database knows the private module too: godepot must still never ask it.
    // example.com/late is published later, in the test.
    sumdb = await FakeSumDb.start({ records: mods.slice(0, 3) });
    godepot = await startGodepot({
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      nosumdb: 'corp.example/private',
    });
  });
  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('supported is 200 for the configured database only', async () => {
    expect((await get(`/sumdb/${sumdb.name}/supported`)).status).toBe(200);
    expect((await get('/sumdb/sum.golang.org/supported')).status).toBe(404);
    expect((await get('/sumdb/localhost.localdev/supported')).status).toBe(404);
  });

  it('lookup: 200 with record and signed head; 400 malformed; 404 unknown; 502 when the database lies', async () => {
    const ok = await get(`/sumdb/${sumdb.name}/lookup/example.com/public@v1.0.0`);
    expect(ok.status).toBe(200);
    expect(ok.type).toContain('text/plain');
    expect(parseRecord(ok.body).text.toString()).toBe(mods[0]?.goSum);
    expect((await get(`/sumdb/${sumdb.name}/lookup/example.com/public@latest`)).status).toBe(400);
    expect((await get(`/sumdb/${sumdb.name}/lookup/example.com/nothere@v1.0.0`)).status).toBe(404);
    expect((await get(`/sumdb/${sumdb.name}/tile/8/0/x`)).status).toBe(400);
    expect((await get(`/sumdb/${sumdb.name}/nothing`)).status).toBe(404);
    const tile = await get(`/sumdb/${sumdb.name}/tile/8/0/000.p/${sumdb.size}`);
    expect(tile.status).toBe(200);
    expect(tile.cache).toBe('no-cache');

    // The data tile around the first lookup is fetched and kept in the background (the mirror's, not the service's).
    await godepot.g.service.idle();
    for (const m of godepot.g.mirrors) await m.idle();
    await sumdb.add(mods[3] as BuiltModule);
    const undo = sumdb.setFault(faults.alterRecord(), '/lookup/');
    try {
      const lie = await get(`/sumdb/${sumdb.name}/lookup/example.com/late@v1.0.0`);
      expect(lie.status).toBe(502);
      expect(lie.body.toString()).toContain('does not match the verified tree');
      // A record of a data tile godepot holds: the verified record, not the lie.
      const held = await get(`/sumdb/${sumdb.name}/lookup/example.com/other@v1.0.0`);
      expect(held.status).toBe(200);
      expect(parseRecord(held.body).text.toString()).toBe(mods[1]?.goSum);
    } finally {
      undo();
    }
    // Nothing of the lie was kept: the true record is served once the database is honest.
    const truth = await get(`/sumdb/${sumdb.name}/lookup/example.com/late@v1.0.0`);
    expect(parseRecord(truth.body).text.toString()).toBe(mods[3]?.goSum);
  });

  it('--nosumdb: 403 from the mirror, and the module service serves the module without asking the database', async () => {
    sumdb.resetLog();
    const refused = await get(`/sumdb/${sumdb.name}/lookup/corp.example/private/lib@v1.2.3`);
    expect(refused.status).toBe(403);
    expect(refused.body.toString()).toContain('--nosumdb');
    for (const ext of ['mod', 'zip']) {
      const r = await get(`/corp.example/private/lib/@v/v1.2.3.${ext}`);
      expect(r.status).toBe(200);
    }
    expect(sumdb.count('/lookup/')).toBe(0);
    // A public module is verified as usual (its record was looked up by the previous test).
    expect((await get('/example.com/other/@v/v1.0.0.zip')).status).toBe(200);
    const served = await (await fetch(`${godepot.url}/metrics`)).text();
    expect(served).toMatch(/godepot_served_total\{kind="zip",verification="skipped"\} [1-9]/);
    expect(served).toMatch(/godepot_served_total\{kind="zip",verification="verified"\} [1-9]/);
  });
});
