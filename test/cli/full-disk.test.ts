// export and import when a disk fills up: the report says which folder is
// full and what to do, once, and counts only what was written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { exportCommand } from '../../src/cli/export.js';
import { importCommand } from '../../src/cli/import.js';
import { MemoryStorage, type PutOptions, type StagedBlob } from '../../src/storage/index.js';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { removeDir, tempDir } from '../support/godepot.js';
import { captureIo } from '../support/io.js';

const full = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

/** Memory storage whose writes of matching keys fail as on a full disk. */
class FillingStorage extends MemoryStorage {
  constructor(private readonly fails: (key: string) => boolean) {
    super();
  }
  override async put(key: string, data: Uint8Array, opts?: PutOptions): Promise<void> {
    if (this.fails(key)) throw full();
    return super.put(key, data, opts);
  }
  override async stage(): Promise<StagedBlob> {
    const s = await super.stage();
    return { ...s, commit: async (key) => (this.fails(key) ? Promise.reject(full()) : s.commit(key)) };
  }
}

describe('a full disk', () => {
  let dir: string;
  let sumdb: FakeSumDb;
  let upstream: FakeGoProxy;
  let mods: BuiltModule[];

  beforeAll(async () => {
    dir = await tempDir('godepot-full-disk-');
    mods = await buildModules(
      ['a', 'b'].map((n) => ({
        path: `example.com/full${n}`,
        version: 'v1.0.0',
        files: { 'go.mod': `module example.com/full${n}\n`, 'x.go': `package full${n}\n` },
      })),
    );
    sumdb = await FakeSumDb.start({ records: mods });
    upstream = await FakeGoProxy.start(mods);
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
  const targets = (): string[] => mods.map((m) => `${m.path}@${m.version}`);

  it('export: names the full folder once, and counts a module without its zip as not written', async () => {
    const out = join(dir, 'usb');
    const c = captureIo();
    // Room for the .mod and .info files and for one module's zip, not for the other's.
    const folder = new FillingStorage((key) => key.endsWith('.zip') && key.includes('fullb'));
    const code = await exportCommand([...flags(join(dir, 'data1')), out, ...targets()], c.io, async () => folder);
    const text = c.text();
    expect(text).toMatch(/^exported 1 of 2 module versions/m);
    // Said once, with the folder and what to do; each module says what it misses, not an errno.
    expect(text.match(/no space left/g)).toHaveLength(1);
    expect(text).toMatch(
      /^problem: .*usb is full \(no space left on the device\): free space there or export to a larger one/m,
    );
    expect(text).toMatch(/^ {6}\.zip: not written: .*usb is full$/m);
    expect(text).toMatch(/^wrote 1 of 2 module versions whole/m);
    // Listed only when whole: the go command would take a listed version for one it can download.
    expect((await folder.get('example.com/fulla/@v/list'))?.toString()).toBe('v1.0.0\n');
    expect(await folder.get('example.com/fullb/@v/list')).toBeNull();
    expect(code).toBe(1);
  });

  it('import: counts only the records and tiles it stored', async () => {
    const out = join(dir, 'carried');
    const c1 = captureIo();
    expect(await exportCommand([...flags(join(dir, 'data2')), out, ...targets()], c1.io), c1.text()).toBe(0);
    const c = captureIo();
    const code = await importCommand(
      ['--progress', 'none', '--offline', '--sumdb', sumdb.gosumdb, '--data', join(dir, 'data3'), out],
      c.io,
      new FillingStorage((key) => key.startsWith('sumdb/')),
    );
    expect(c.text()).toMatch(/^imported 2 of 2 module versions: 6 files fetched and verified now, [^;]*$/m);
    expect(c.text()).toMatch(
      /^problem: 2 of 2 checksum-database records and 1 of 1 tiles could not be stored in the data folder .*free space/m,
    );
    expect(code, c.text()).toBe(1);
  });
});
