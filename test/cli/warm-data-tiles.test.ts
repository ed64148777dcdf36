// The data tiles around the records a run looks up (godepot's outage index)
// wait for a pause in lookups; `godepot warm` prepares for an outage, so its
// end is that pause: every tile is indexed before it exits, even on a log
// laid out like sum.golang.org's, where no two of its modules share a tile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { warmCommand } from '../../src/cli/warm.js';
import type { CommandIO } from '../../src/cli/command-settings.js';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { removeDir, tempDir } from '../support/godepot.js';

const lib = (i: number) => ({
  path: `example.com/spread/m${i}`,
  version: 'v1.0.0',
  files: { 'go.mod': `module example.com/spread/m${i}\n\ngo 1.21\n`, 'm.go': `package m\n\nconst N = ${i}\n` },
});

describe('godepot warm indexes the data tiles around what it looked up', () => {
  let mods: BuiltModule[];
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let dir: string;

  beforeAll(async () => {
    mods = await buildModules([0, 1, 2].map(lib));
    upstream = await FakeGoProxy.start(mods);
    sumdb = await FakeSumDb.start();
    // Each module's record behind 255 others: a data tile each.
    for (const [i, m] of mods.entries()) {
      for (let k = 0; k < 255; k++)
        await sumdb.addRecord(`example.com/filler/t${i}/m${k} v1.0.0 h1:${Buffer.alloc(32, k).toString('base64')}\n`);
      await sumdb.addAll([m]);
    }
    dir = await tempDir('godepot-warm-tiles-');
  });

  afterAll(async () => {
    await upstream?.close();
    await sumdb?.close();
    await removeDir(dir);
  });

  it('one tile per module, all fetched by the time warm exits', async () => {
    const gosum = join(dir, 'go.sum');
    await writeFile(gosum, mods.map((m) => m.goSum).join(''));
    let out = '';
    const io: CommandIO = {
      out: (s) => void (out += s),
      err: { write: (s: string) => void (out += s), isTTY: false },
      env: {},
    };
    const flags = ['--data', join(dir, 'data'), '--upstream', upstream.url, '--sumdb', `${sumdb.vkey} ${sumdb.url}`];
    expect(await warmCommand([...flags, '--progress', 'plain', gosum], io), out).toBe(0);
    expect(
      sumdb.requests
        .filter((r) => r.path.startsWith('/tile/8/data/'))
        .map((r) => r.path)
        .sort(),
    ).toEqual(['/tile/8/data/000', '/tile/8/data/001', '/tile/8/data/002']);
  });
});
