// A hostile client of /sumdb/<name>/: odd tile paths, odd lookups and
// private paths get a clear 4xx (never a 5xx or a stack trace), and nothing
// impossible or private is ever asked of the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule, type FixtureModule } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';

const fixtures: FixtureModule[] = [
  {
    path: 'example.com/public',
    version: 'v1.0.0',
    files: { 'go.mod': 'module example.com/public\n', 'p.go': 'package public\n' },
  },
  {
    path: 'corp.example/private/lib',
    version: 'v1.2.3',
    files: { 'go.mod': 'module corp.example/private/lib\n', 'l.go': 'package lib\n' },
  },
];

describe('a hostile client of /sumdb/<name>/', () => {
  let mods: BuiltModule[];
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const r = await fetch(godepot.url + path);
    return { status: r.status, body: await r.text() };
  };

  beforeAll(async () => {
    mods = await buildModules(fixtures);
    upstream = await FakeGoProxy.start(mods);
    sumdb = await FakeSumDb.start({ records: mods });
    godepot = await startGodepot({
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      private: 'corp.example/private',
    });
    // A verified head to start from.
    expect((await get(`/sumdb/${sumdb.name}/latest`)).status).toBe(200);
  });
  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('answers impossible or malformed tile paths with a 4xx and never asks the database for such a tile', async () => {
    const db = `/sumdb/${sumdb.name}`;
    const paths = [
      '/sumdb/',
      '/sumdb/x',
      `${db}`,
      `${db}/`,
      `${db}/supported/x`,
      `${db}/latest/x`,
      `${db}/lookup/`,
      `${db}/tile/`,
      `${db}/tile/8`,
      `${db}/tile/8/0`,
      `${db}/tile/8/0/`,
      `${db}/tile/8/0/1`,
      `${db}/tile/8/0/0001`,
      `${db}/tile/8/0/-01`,
      `${db}/tile/8/0/+01`,
      `${db}/tile/8/0/ 01`,
      `${db}/tile/8/0/001/`,
      `${db}/tile/8/0/000/x001`,
      `${db}/tile/8/0/x000/000`,
      `${db}/tile/8/0/x1/000`,
      `${db}/tile/8/0/x001/x000`,
      `${db}/tile/8/0/000.p`,
      `${db}/tile/8/0/000.p/`,
      `${db}/tile/8/0/000.p/0`,
      `${db}/tile/8/0/000.p/-1`,
      `${db}/tile/8/0/000.p/01`,
      `${db}/tile/8/0/000.p/256`,
      `${db}/tile/8/0/000.p/257`,
      `${db}/tile/8/0/000.p/1/2`,
      `${db}/tile/8/0/000.p/99999999999999999999`,
      `${db}/tile/8/00/000`,
      `${db}/tile/08/0/000`,
      `${db}/tile/0/0/000`,
      `${db}/tile/31/0/000`,
      `${db}/tile/-8/0/000`,
      `${db}/tile/4/0/000`,
      `${db}/tile/30/0/000`,
      `${db}/tile/8/-1/000`,
      `${db}/tile/8/-0/000`,
      `${db}/tile/8/DATA/000`,
      `${db}/tile/8/data/000.p/0`,
      `${db}/tile/8/999999999999999999/000`,
      `${db}/tile/8/7/000`,
      `${db}/tile/8/0/x999/x999/x999/x999/x999/999`,
      `${db}/tile/8/0/x009/x007/x199/x254/x740/992`,
      `${db}/tile/8/data/x999/x999/x999/x999/x999/999`,
      `${db}/tile/8/0/x001/000`,
      `${db}/tile/8/data/001`,
      `${db}/tile/8/1/000.p/1`,
      `${db}/tile/8/0/000.p/3`,
      `${db}/tile/8/data/000.p/3`,
      `${db}/tile/8/0/..%2f..%2f..%2fetc/passwd`,
      `${db}/tile/8/0/%2e%2e/%2e%2e/%2e%2e/etc`,
      `${db}/tile/8/0/%00`,
      `${db}/tile/8/0/000%3f.p/1`,
    ];
    sumdb.resetLog();
    const bad: string[] = [];
    for (const p of paths) {
      const r = await get(p);
      if (r.status < 400 || r.status >= 500 || /\n\s+at /.test(r.body)) bad.push(`${p}: ${r.status} ${r.body}`);
    }
    expect(bad).toEqual([]);
    // Beyond the tree a client may be ahead of godepot: the head may be refreshed, no tile is asked for.
    expect(sumdb.requests.filter((r) => !r.path.endsWith('/latest')).map((r) => r.path)).toEqual([]);
    // Nothing was written for any of them.
    const tiles = await readdir(`${godepot.data}/sumdb`, { recursive: true });
    expect(tiles.filter((f) => /tile/.test(f) && /x|999/.test(f))).toEqual([]);
  });

  it('answers odd lookups with a 4xx without asking the database, and a query does not change the answer', async () => {
    const db = `/sumdb/${sumdb.name}`;
    sumdb.resetLog();
    const paths = [
      `${db}/lookup/example.com/public`,
      `${db}/lookup/example.com/public@`,
      `${db}/lookup/@v1.0.0`,
      `${db}/lookup/example.com/public@v1.0`,
      `${db}/lookup/example.com/public@v1.0.0+meta`,
      `${db}/lookup/example.com/public@v1.0.0-pre+meta`,
      `${db}/lookup/example.com/public@V1.0.0`,
      `${db}/lookup/example.com/public@v01.0.0`,
      `${db}/lookup/example.com/public@v1.0.0-01`,
      `${db}/lookup/example.com/public@v1.0.0-x/y`,
      `${db}/lookup/Example.com/public@v1.0.0`,
      `${db}/lookup/example.com/Public@v1.0.0`,
      `${db}/lookup/example.com/!!public@v1.0.0`,
      `${db}/lookup/example.com/public@v1.0.0@v1.0.0`,
      `${db}/lookup/example.com//public@v1.0.0`,
      `${db}/lookup//example.com/public@v1.0.0`,
      `${db}/lookup/example.com/public/@v1.0.0`,
      `${db}/lookup/example.com/public@v2.0.0`,
      `${db}/lookup/corp.example/private/lib@v1.2.3`,
      `${db}/lookup/corp.example/private/lib/v2@v2.0.0`,
      `${db}/lookup/corp.example/private@v0.0.0-20200101000000-abcdefabcdef`,
    ];
    const bad: string[] = [];
    for (const p of paths) {
      const r = await get(p);
      if (r.status < 400 || r.status >= 500 || /\n\s+at /.test(r.body)) bad.push(`${p}: ${r.status} ${r.body}`);
    }
    expect(bad).toEqual([]);
    expect(sumdb.requests.filter((r) => r.path.includes('/lookup/')).map((r) => r.path)).toEqual([]);
    const plain = await get(`${db}/lookup/example.com/public@v1.0.0`);
    const queried = await get(`${db}/lookup/example.com/public@v1.0.0?x=../../y`);
    expect(plain.status).toBe(200);
    expect(queried).toEqual(plain);
  });
});
