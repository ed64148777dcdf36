// The go command gets the same answers from godepot in an upstream outage as
// before it, from a cache filled by the same commands: godepot restarted on
// its data (its memory of recent 404s gone), the upstream proxy and the
// checksum database stopped, every list stale. `go install M/cmd/tool@v` and
// `go run M/cmd/tool@latest` probe each prefix of the package path as a
// module (M/cmd/tool, M/cmd, M): a prefix the upstream said no to must still
// be a 404 — a 502 ends the go command's search.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, findGo, goEnv, type FixtureModule } from '../world/index.js';
import { runSteps } from './compat-support.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';

const W = 'example.com/outage';

function lib(path: string, version: string, goMod = `module ${path}\n\ngo 1.21\n`): FixtureModule {
  return {
    path,
    version,
    files: {
      'go.mod': goMod,
      'lib.go': `package lib\n\nfunc Name() string { return "${path}@${version}" }\n`,
      'cmd/tool/main.go': `package main\n\nfunc main() { println("${path}@${version}") }\n`,
    },
  };
}

const MODULES: FixtureModule[] = [
  lib(`${W}/mvs`, 'v1.0.0'),
  lib(`${W}/mvs`, 'v1.1.0'),
  lib(`${W}/mvs/v2`, 'v2.0.0'),
  // Its only version retracts itself: "no matching versions" once every prefix (example.com/outage too) says 404.
  lib(`${W}/gone`, 'v1.0.0', `module ${W}/gone\n\ngo 1.21\n\nretract v1.0.0 // all gone\n`),
];

const STEPS = [
  ['install', `${W}/mvs/cmd/tool@v1.1.0`],
  ['run', `${W}/mvs/cmd/tool@latest`],
  ['run', `${W}/mvs/v2/cmd/tool@latest`],
  ['get', `${W}/gone@latest`],
  ['list', '-m', '-versions', `${W}/mvs`, `${W}/gone`],
];

describe.skipIf(findGo() === null)(
  'the go command in an upstream outage, through godepot restarted on its cache',
  () => {
    let upstream: FakeGoProxy;
    let sumdb: FakeSumDb;
    let godepot: RunningGodepot | undefined;
    const dirs: string[] = [];

    beforeAll(async () => {
      const built = await buildModules(MODULES);
      sumdb = await FakeSumDb.start({ records: built });
      upstream = await FakeGoProxy.start(built);
    });
    afterAll(async () => {
      await godepot?.close();
      await upstream?.close();
      await sumdb?.close();
      for (const d of dirs) await removeDir(d);
    });

    async function run(g: RunningGodepot): Promise<string> {
      const home = await tempDir('godepot-gohome-');
      dirs.push(home);
      const dir = join(home, 'work');
      await mkdir(dir);
      await writeFile(join(dir, 'go.mod'), 'module example.com/main\n\ngo 1.21\n');
      // GOSUMDB is the key alone: the go command reads the database through godepot, which has it cached.
      const env = goEnv({ home, proxy: g.url, sumdb: sumdb.vkey, extra: { GOFLAGS: '-modcacherw -mod=mod' } });
      const out = await runSteps(STEPS, dir, env);
      return out.replaceAll(g.url, '<proxy>').replaceAll(home, '<home>');
    }

    it('answers every command as before the outage', async () => {
      const settings = { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` };
      godepot = await startGodepot(settings);
      const before = await run(godepot);
      expect(before).toContain(`$ go run ${W}/mvs/cmd/tool@latest\nexit 0\n`);
      expect(before).toContain(`go: ${W}/gone@latest: no matching versions for query "latest"`);
      const data = godepot.data;
      await godepot.close();
      await upstream.close();
      await sumdb.close();
      // Restarted: the 404s of the probes are no longer in memory; a 1 ms list TTL: every list is stale.
      godepot = await startGodepot({ ...settings, data, 'list-ttl': '1ms', 'query-ttl': '1ms' });
      expect(await run(godepot)).toBe(before);
    }, 120_000);
  },
);
