// The outage index with the real go command: godepot has fetched one module,
// and with it the data tile around that module's record, and restarted. The
// checksum database then goes down (the upstream proxy stays up, its /sumdb/
// endpoint failing with it), and a fresh client
// adds a module godepot never fetched whose record is in that tile: the go
// command verifies it through godepot, and godepot stores it as verified.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  buildModules,
  describeRun,
  FakeGoProxy,
  FakeSumDb,
  faults,
  findGo,
  runGo,
  writeApp,
  type BuiltModule,
} from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { noNameResolves } from '../support/dns.js';
import { Dirs, sumdbEnv, text, tinyLib } from './sumdb-support.js';

const lib = (name: string) => tinyLib('example.com/held', name);

describe.skipIf(findGo() === null)('a lookup godepot never made, answered from a data tile it holds', () => {
  const dirs = new Dirs();
  let mods: BuiltModule[];
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;

  beforeAll(async () => {
    mods = await buildModules([lib('first'), lib('second')]);
    upstream = await FakeGoProxy.start(mods);
    sumdb = await FakeSumDb.start({ records: mods });
    // Here the proxy passes data tiles through (as Athens and goproxy/goproxy do; proxy.golang.org refuses them,
    // and godepot then holds the tiles it fetched from the database's own host before the outage).
    upstream.mountSumDb(sumdb, sumdb.name, { dataTiles: true });
    godepot = await start();
  });

  /**
   * As a new user runs it: the database by its key alone, reached through the
   * upstream proxy's /sumdb/ (its own host does not resolve here).
   */
  const start = (data?: string): Promise<RunningGodepot> =>
    startGodepot(
      { upstream: upstream.url, sumdb: sumdb.vkey, ...(data ? { data } : {}) },
      { compose: { pools: { lookup: noNameResolves([]) } } },
    );

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await dirs.removeAll();
  });

  it('the go command adds the neighbour with the database down; godepot keeps it as verified', async () => {
    const first = await fetch(`${godepot.url}/example.com/held/first/@v/v1.0.0.mod`);
    expect(first.headers.get('x-godepot-verification')).toBe('verified');
    await first.arrayBuffer();
    // The data tile around first's record is indexed in the background once lookups pause; idle() starts it now.
    await godepot.g.service.idle();
    await Promise.all(godepot.g.mirrors.map((m) => m.idle()));
    expect(sumdb.count('/tile/8/data/')).toBeGreaterThan(0);
    // A restart: what godepot knows about the tile now comes from storage only.
    await godepot.close();
    godepot = await start(godepot.data);

    sumdb.resetLog();
    const undo = sumdb.setFault(faults.reset());
    try {
      const app = await dirs.make('godepot-app-');
      await writeApp(app, {
        files: {
          'go.mod': 'module example.com/app\n\ngo 1.21\n\nrequire example.com/held/second v1.0.0\n',
          'main.go': 'package main\n\nimport "example.com/held/second"\n\nfunc main() { println(second.Name()) }\n',
        },
      });
      const h = await dirs.make();
      const tidy = await runGo(['mod', 'tidy'], {
        cwd: app,
        env: sumdbEnv(h, godepot.url, sumdb.vkey),
        timeoutMs: 120_000,
      });
      expect(tidy.code, describeRun(tidy)).toBe(0);
      expect(await text(join(app, 'go.sum'))).toBe(mods[1]?.goSum);
      // The database answered nothing meanwhile (whatever reached it was reset): the record came from the stored tile.
      expect(sumdb.requests.every((q) => q.fault === 'reset')).toBe(true);
      const zip = await fetch(`${godepot.url}/example.com/held/second/@v/v1.0.0.zip`);
      await zip.arrayBuffer();
      expect(zip.headers.get('x-godepot-verification')).toBe('verified');
    } finally {
      undo();
    }
  }, 180_000);
});
