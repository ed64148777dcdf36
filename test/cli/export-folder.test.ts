// `godepot export DIR` writes into a folder that may already hold things: an
// earlier export, another export running at the same time, links someone
// left there, or — by a slip — godepot's own data folder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdir, open, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { exportCommand } from '../../src/cli/export.js';
import { FsStorage } from '../../src/storage/index.js';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { removeDir, tempDir } from '../support/godepot.js';
import { captureIo } from '../support/io.js';

describe('exporting into a folder that is not empty', () => {
  let dir: string;
  let sumdb: FakeSumDb;
  let upstream: FakeGoProxy;
  let mod: BuiltModule;
  const path = 'example.com/exportto';

  beforeAll(async () => {
    dir = await tempDir('godepot-export-folder-');
    [mod] = (await buildModules([
      { path, version: 'v1.0.0', files: { 'go.mod': `module ${path}\n`, 'a.go': 'package exportto\n' } },
    ])) as [BuiltModule];
    sumdb = await FakeSumDb.start({ records: [mod] });
    upstream = await FakeGoProxy.start([mod]);
  });

  afterAll(async () => {
    await upstream?.close();
    await sumdb?.close();
    await removeDir(dir);
  });

  const flags = (data: string): string[] => [
    '--data',
    data,
    '--upstream',
    upstream.url,
    '--sumdb',
    sumdb.gosumdb,
    '--progress',
    'none',
  ];

  it("leaves another writer's staging alone (a second export into the same folder at the same time)", async () => {
    const out = join(dir, 'shared');
    const other = await FsStorage.open(out, { durable: false });
    try {
      const staged = await other.stage();
      await staged.write(Buffer.from('half written'));
      const c = captureIo();
      expect(await exportCommand([...flags(join(dir, 'data1')), out, `${path}@v1.0.0`], c.io), c.text()).toBe(0);
      await staged.commit('note.txt');
      expect(await readFile(join(out, 'note.txt'), 'utf8')).toBe('half written');
    } finally {
      await other.close();
    }
  });

  it('replaces a version list that is a link to a FIFO instead of waiting on it for ever', async () => {
    const out = join(dir, 'fifo');
    const v = join(out, 'example.com', 'exportto', '@v');
    await mkdir(v, { recursive: true });
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    await symlink(join(dir, 'pipe'), join(v, 'list'));
    const c = captureIo();
    const run = exportCommand([...flags(join(dir, 'data2')), out, `${path}@v1.0.0`], c.io);
    const settled = await Promise.race([run.then(() => 'done'), new Promise((r) => setTimeout(r, 20_000, 'hung'))]);
    if (settled === 'hung') {
      // Free the reader blocked on the FIFO, so the test process can end.
      const w = await open(join(dir, 'pipe'), constants.O_WRONLY | constants.O_NONBLOCK);
      await w.close();
      await run.catch(() => undefined);
    }
    expect(settled).toBe('done');
    expect(await run, c.text()).toBe(0);
    expect(await readFile(join(v, 'list'), 'utf8')).toBe('v1.0.0\n');
  }, 60_000);

  it("refuses godepot's own data folder, or a folder inside it", async () => {
    const data = join(dir, 'data3');
    for (const out of [data, join(data, 'mod')]) {
      const c = captureIo();
      await expect(exportCommand([...flags(data), out, `${path}@v1.0.0`], c.io)).rejects.toThrow(
        /is godepot.s data folder/,
      );
    }
  });

  it('leaves no staging folder in the export folder when the data folder cannot be used', async () => {
    const file = join(dir, 'not-a-data-folder');
    await writeFile(file, 'not a folder\n');
    const out = join(dir, 'out-unused');
    const c = captureIo();
    await expect(exportCommand([...flags(file), out, `${path}@v1.0.0`], c.io)).rejects.toThrow(
      `${file} is a file, not a folder`,
    );
    expect(await readdir(out)).toEqual([]);
  });

  it('refuses a path that is a file, or lies below one, naming the export folder and what to give', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a folder\n');
    const c = captureIo();
    await expect(exportCommand([...flags(join(dir, 'data5')), file, `${path}@v1.0.0`], c.io)).rejects.toThrow(
      /^\S*a-file is a file, not a folder: give the folder to export into/,
    );
    const below = join(file, 'sub');
    await expect(exportCommand([...flags(join(dir, 'data5')), below, `${path}@v1.0.0`], c.io)).rejects.toThrow(
      /^export folder \S*a-file\/sub: \S*a-file is a file, not a folder; give a folder/,
    );
    expect(await readFile(file, 'utf8')).toBe('not a folder\n');
  });

  it('reports a part it cannot write (a file where its sumdb folder goes), with exit status 1, not a crash', async () => {
    const out = join(dir, 'sumdb-is-a-file');
    await mkdir(out);
    await writeFile(join(out, 'sumdb'), 'left here by someone\n');
    const c = captureIo();
    const code = await exportCommand([...flags(join(dir, 'data4')), out, `${path}@v1.0.0`], c.io);
    expect(c.text()).toMatch(/^exported 1 of 1 module versions/m);
    expect(c.text()).toMatch(
      /^problem: cannot write the checksum-database records and tiles to .*sumdb-is-a-file: .+/m,
    );
    expect(c.text()).toMatch(/^not complete: /m);
    expect(code).toBe(1);
  });
});
