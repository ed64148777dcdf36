// A stored checksum-database tile damaged on disk, read by the real go
// command before any proof of godepot's own has read it: a client whose
// cached tree head is older than godepot's asks for the tile that proves the
// two consistent, one no lookup of godepot's reads. godepot proves the stored
// copy the first time it serves it, finds it is not the tree's, and serves
// the database's (the go command's own check is the judge); the damage is
// logged, counted, and the stored copy replaced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildModules,
  describeRun,
  FakeGoProxy,
  FakeSumDb,
  findGo,
  runGo,
  writeApp,
  type BuiltModule,
} from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { fakeModules } from '../sumdb/mirror-harness.js';
import { Dirs, metric, sumdbEnv, tinyLib } from './sumdb-support.js';

const lib = (name: string) => tinyLib('example.com/tiles', name);

describe.skipIf(findGo() === null)('a stored tile damaged on disk, asked for by the go command', () => {
  const dirs = new Dirs();
  let mods: BuiltModule[];
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot | undefined;
  const start = (data?: string): Promise<RunningGodepot> =>
    startGodepot({
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      'read-ahead': 'false',
      ...(data ? { data } : {}),
    });

  beforeAll(async () => {
    mods = await buildModules([lib('first'), lib('second')]);
    upstream = await FakeGoProxy.start(mods);
    // 300 records: level-0 tile 001 is partial (44 wide) in the tree the first client keeps.
    sumdb = await FakeSumDb.start({ records: [mods[0] as BuiltModule, ...fakeModules(299)] });
  });

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await dirs.removeAll();
  });

  const tidy = async (home: string, mod: BuiltModule): Promise<Awaited<ReturnType<typeof runGo>>> => {
    const app = await dirs.make('godepot-app-');
    const name = mod.path.split('/').pop() as string;
    await writeApp(app, {
      files: {
        'go.mod': `module example.com/app\n\ngo 1.21\n\nrequire ${mod.path} ${mod.version}\n`,
        'main.go': `package main\n\nimport "${mod.path}"\n\nfunc main() { println(${name}.Name()) }\n`,
      },
    });
    return runGo(['mod', 'tidy'], { cwd: app, env: sumdbEnv(home, (godepot as RunningGodepot).url, sumdb.vkey) });
  };

  it('the go command gets the verified tile; godepot logs, counts and replaces the damaged copy', async () => {
    godepot = await start();
    const home = await dirs.make();
    const first = await tidy(home, mods[0] as BuiltModule);
    expect(first.code, describeRun(first)).toBe(0);

    // The log grows to 600 records; godepot verifies the new head (keeping the now full tile 001) on a lookup.
    await sumdb.addAll([...fakeModules(299, 1000), mods[1] as BuiltModule]);
    expect(sumdb.size).toBe(600);
    const second = mods[1] as BuiltModule;
    expect((await fetch(`${godepot.url}/sumdb/${sumdb.name}/lookup/${second.path}@${second.version}`)).status).toBe(
      200,
    );
    await Promise.all(godepot.g.mirrors.map((m) => m.idle()));
    await godepot.close();

    const file = join(godepot.data, 'sumdb', sumdb.name, 'tile', '8', '0', '001');
    const good = await readFile(file);
    expect(good.length).toBe(256 * 32);
    const bad = Buffer.from(good);
    bad[10 * 32] = (bad[10 * 32] ?? 0) ^ 0xff;
    await writeFile(file, bad);

    // A restart (nothing in memory); the first client, its cached head of 300, adds second (in tile 002): to
    // check its old head against the new one it reads tile 001, which godepot's lookup of second does not.
    godepot = await start(godepot.data);
    sumdb.resetLog();
    const run = await tidy(home, second);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stderr).not.toMatch(/SECURITY ERROR|inconsistent/);
    expect(godepot.logs.filter((l) => l.alert === 'stored_tile_damaged').map((l) => l.tile)).toEqual(['tile/8/0/001']);
    expect(await metric(godepot.url, 'godepot_storage_damaged_total', { kind: 'tile' })).toBe(1);
    await Promise.all(godepot.g.mirrors.map((m) => m.idle()));
    expect((await readFile(file)).equals(good), 'the stored copy replaced').toBe(true);
  }, 180_000);
});
