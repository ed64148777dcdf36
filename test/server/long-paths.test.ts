// A valid but very long module path or version is a client's mistake: a 400
// that says so, not a 500 from the storage key it would need.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb } from '../world/index.js';
import { startGodepot, removeDir, type RunningGodepot } from '../support/godepot.js';
import { getAlone } from '../support/http.js';

describe('very long module paths and versions', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  beforeAll(async () => {
    const built = await buildModules([
      {
        path: 'example.com/ok',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/ok\n', 'ok.go': 'package ok\n' },
      },
    ]);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    godepot = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
  });
  afterAll(async () => {
    await godepot.close();
    await upstream.close();
    await sumdb.close();
    await removeDir(godepot.data);
  });

  const long = 'example.com/' + 'abcdefghi/'.repeat(110) + 'x';
  it.each([
    ['.zip', `/${long}/@v/v1.0.0.zip`, 'module path too long'],
    ['list', `/${long}/@v/list`, 'module path too long'],
    ['@latest', `/${long}/@latest`, 'module path too long'],
    ['checksum-database lookup', `/sumdb/localhost.localdev/sumdb/lookup/${long}@v1.0.0`, 'module path too long'],
    ['query version', `/example.com/ok/@v/${'b'.repeat(300)}.info`, 'version too long'],
  ])('%s: 400 with the reason', async (_n, path, reason) => {
    const r = await getAlone(godepot.url + path);
    expect(r.status, r.body.toString()).toBe(400);
    expect(r.body.toString()).toContain(reason);
  });

  it('a module path of exactly 512 characters is looked up (not found upstream), one more is refused', async () => {
    const at = 'example.com/' + 'a'.repeat(512 - 'example.com/'.length);
    const r = await getAlone(`${godepot.url}/${at}/@v/v1.0.0.info`);
    expect(r.status, r.body.toString()).toBe(404);
    const over = await getAlone(`${godepot.url}/${at}b/@v/v1.0.0.info`);
    expect(over.status, over.body.toString()).toBe(400);
  });
});
