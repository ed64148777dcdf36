// The go command told to use godepot as the checksum database itself
// (GOSUMDB="<key> <godepot>/sumdb/<name>"), fetching modules from the
// upstream directly: it reads /latest, /lookup/ and /tile/ from godepot
// with no proxy in between. A good database: the download succeeds. A
// database that lies about a record: godepot refuses it, and the go
// command fails naming the module instead of writing a go.sum line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildModules,
  describeRun,
  FakeGoProxy,
  FakeSumDb,
  faults,
  findGo,
  goEnv,
  runGo,
  type BuiltModule,
} from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { Dirs, tinyLib } from './sumdb-support.js';

describe.skipIf(findGo() === null)('godepot as the GOSUMDB URL of a go command', () => {
  const dirs = new Dirs();
  let mods: BuiltModule[];
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;

  beforeAll(async () => {
    mods = await buildModules([tinyLib('example.com/direct', 'good'), tinyLib('example.com/direct', 'lied')]);
    upstream = await FakeGoProxy.start(mods);
    sumdb = await FakeSumDb.start({ records: mods });
    godepot = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
  }, 120_000);
  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await dirs.removeAll();
  });

  const download = async (m: BuiltModule) => {
    const home = await dirs.make();
    const env = goEnv({ home, proxy: upstream.url, sumdb: `${sumdb.vkey} ${godepot.url}/sumdb/${sumdb.name}` });
    return runGo(['mod', 'download', '-json', `${m.path}@${m.version}`], { cwd: home, env, timeoutMs: 120_000 });
  };

  // First, before any lookup: a record looked up lately has its data tile fetched and indexed behind it (once
  // lookups pause), and a neighbour of it (both records are in tile 0) is then answered from that verified tile
  // without asking the database, whose lie would go unseen: under load the first download's tile was indexed
  // before this test asked.
  it('fails naming the module when the database lies about its record; the truth is served once it heals', async () => {
    const m = mods[1] as BuiltModule;
    const undo = sumdb.setFault(faults.alterRecord(), '/lookup/');
    try {
      const r = await download(m);
      expect(r.code, describeRun(r)).not.toBe(0);
      // -json puts the error in the module's JSON on stdout.
      const said = r.stdout + r.stderr;
      expect(said).toContain(`${m.path}@${m.version}`);
      expect(said).toContain('does not match the verified tree');
      expect(said).not.toContain('SECURITY ERROR');
    } finally {
      undo();
    }
    const healed = await download(m);
    expect(healed.code, describeRun(healed)).toBe(0);
    expect(healed.stdout).toContain(m.h1);
  });

  it('downloads a module verified through godepot', async () => {
    sumdb.resetLog();
    const r = await download(mods[0] as BuiltModule);
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toContain(mods[0]?.h1);
    // The go command's checks went through godepot, which asked the database.
    expect(sumdb.count('/lookup/')).toBe(1);
  });
});
