// `godepot import` of a folder whose @v/list names a version that cannot be
// imported (its zip contradicts the checksum database): the list godepot
// keeps leaves that version out, or an offline godepot would list a version
// it cannot serve.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importCommand } from '../../src/cli/import.js';
import type { CommandIO } from '../../src/cli/command-settings.js';
import { buildModules, FakeSumDb, type BuiltModule } from '../world/index.js';
import { removeDir, startGodepot, tempDir } from '../support/godepot.js';

describe('importing a folder with a version that does not verify', () => {
  let dir: string;
  let sumdb: FakeSumDb;
  let good: BuiltModule;
  let bad: BuiltModule;

  beforeAll(async () => {
    dir = await tempDir('godepot-import-list-');
    const path = 'example.com/importlist';
    [good, bad] = (await buildModules(
      ['v1.0.0', 'v1.1.0'].map((version) => ({
        path,
        version,
        files: { 'go.mod': `module ${path}\n`, 'a.go': `package importlist // ${version}\n` },
      })),
    )) as [BuiltModule, BuiltModule];
    sumdb = await FakeSumDb.start({ records: [good, bad] });
    const v = join(dir, 'in', 'example.com', 'importlist', '@v');
    await mkdir(v, { recursive: true });
    for (const m of [good, bad]) {
      await writeFile(join(v, `${m.version}.info`), m.info);
      await writeFile(join(v, `${m.version}.mod`), m.mod);
    }
    await writeFile(join(v, 'v1.0.0.zip'), good.zip);
    // v1.1.0's zip holds altered files: a valid module zip the checksum database contradicts.
    const [impostor] = (await buildModules([
      { path, version: 'v1.1.0', files: { 'go.mod': `module ${path}\n`, 'a.go': 'package importlist // altered\n' } },
    ])) as [BuiltModule];
    await writeFile(join(v, 'v1.1.0.zip'), impostor.zip);
    await writeFile(join(v, 'list'), 'v1.0.0\nv1.1.0\n');
  });

  afterAll(async () => {
    await sumdb?.close();
    await removeDir(dir);
  });

  it('keeps a list without it', async () => {
    let out = '';
    const io: CommandIO = {
      out: (s) => void (out += s),
      err: { write: (s: string) => void (out += s), isTTY: false },
      env: {},
    };
    const data = join(dir, 'data');
    const code = await importCommand(
      ['--progress', 'none', '--data', data, '--sumdb', sumdb.gosumdb, join(dir, 'in')],
      io,
    );
    expect(code, out).toBe(1);
    expect(out).toMatch(/example\.com\/importlist@v1\.1\.0/);
    const g = await startGodepot({ data, offline: 'true', sumdb: sumdb.gosumdb });
    try {
      const list = await fetch(`${g.url}/example.com/importlist/@v/list`);
      expect(list.status).toBe(200);
      expect(await list.text()).toBe('v1.0.0\n');
      expect((await fetch(`${g.url}/example.com/importlist/@v/v1.0.0.zip`)).status).toBe(200);
    } finally {
      await g.close();
    }
  });
});

describe('importing folders whose version lists name other versions', () => {
  let dir: string;
  let sumdb: FakeSumDb;
  const path = 'example.com/importmerge';
  let mods: BuiltModule[];

  beforeAll(async () => {
    dir = await tempDir('godepot-import-merge-');
    mods = await buildModules(
      ['v1.0.0', 'v1.2.0', 'v1.5.0'].map((version) => ({
        path,
        version,
        files: { 'go.mod': `module ${path}\n`, 'a.go': `package importmerge // ${version}\n` },
      })),
    );
    sumdb = await FakeSumDb.start({ records: mods });
  });

  afterAll(async () => {
    await sumdb?.close();
    await removeDir(dir);
  });

  async function folder(name: string, m: BuiltModule, list: string): Promise<string> {
    const v = join(dir, name, 'example.com', 'importmerge', '@v');
    await mkdir(v, { recursive: true });
    await writeFile(join(v, `${m.version}.info`), m.info);
    await writeFile(join(v, `${m.version}.mod`), m.mod);
    await writeFile(join(v, `${m.version}.zip`), m.zip);
    await writeFile(join(v, 'list'), list);
    return join(dir, name);
  }

  it('lists the versions imported, from every folder, and none the folder does not hold', async () => {
    const [v100, v120] = mods as [BuiltModule, BuiltModule];
    // v1.5.0 is in the database, but not in the folder: an offline godepot cannot serve it.
    const a = await folder('a', v100, 'v1.0.0\nv1.5.0\n');
    const b = await folder('b', v120, 'v1.2.0\n');
    const data = join(dir, 'data');
    let out = '';
    const io: CommandIO = {
      out: (s) => void (out += s),
      err: { write: (s: string) => void (out += s), isTTY: false },
      env: {},
    };
    const args = ['--progress', 'none', '--data', data, '--sumdb', sumdb.gosumdb];
    expect(await importCommand([...args, a], io), out).toBe(0);
    const stored = join(data, 'mod', 'example.com', 'importmerge', '@v', 'list');
    expect(await readFile(stored, 'utf8')).toBe('v1.0.0\n');
    // The first import was a while ago: its list is past its TTL when the second folder comes.
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(stored, hourAgo, hourAgo);
    expect(await importCommand([...args, b], io), out).toBe(0);
    const g = await startGodepot({ data, offline: 'true', sumdb: sumdb.gosumdb });
    try {
      const list = await fetch(`${g.url}/example.com/importmerge/@v/list`);
      expect(await list.text()).toBe('v1.0.0\nv1.2.0\n');
    } finally {
      await g.close();
    }
  });
});
