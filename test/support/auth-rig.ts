// godepot behind --auth on a fake proxy and checksum database, for the tests
// of what a user may read: plain HTTP on loopback (--insecure-auth), the
// users file in a temp folder of its own.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModules, FakeGoProxy, FakeSumDb, type FixtureModule } from '../world/index.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from './godepot.js';

export interface AuthRig {
  readonly godepot: RunningGodepot;
  readonly upstream: FakeGoProxy;
  readonly sumdb: FakeSumDb;
  close(): Promise<void>;
}

/**
 * The proxy serves modules and the database records them; users is the users file's text (see withUser);
 * settings adds to godepot's (e.g. a log level).
 */
export async function startAuthRig(
  modules: FixtureModule[],
  users: string,
  settings: Record<string, string> = {},
): Promise<AuthRig> {
  const built = await buildModules(modules);
  const upstream = await FakeGoProxy.start(built);
  const sumdb = await FakeSumDb.start({ records: built });
  const dir = await tempDir();
  const usersFile = join(dir, 'users.json');
  await writeFile(usersFile, users);
  const godepot = await startGodepot({
    upstream: upstream.url,
    sumdb: `${sumdb.vkey} ${sumdb.url}`,
    auth: usersFile,
    'insecure-auth': 'true',
    ...settings,
  });
  return {
    godepot,
    upstream,
    sumdb,
    async close() {
      await godepot.close();
      await upstream.close();
      await sumdb.close();
      await removeDir(dir);
    },
  };
}
