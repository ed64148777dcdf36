// `godepot import` of an exported folder altered in transit: the folder is
// the attacker's opportunity. Import keeps nothing the checksum database
// does not vouch for, never moves the verified head back nor past a fork,
// never hangs on what it finds, and says what it refused and why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { exportCommand } from '../../src/cli/export.js';
import { importCommand } from '../../src/cli/import.js';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { BIN, removeDir, tempDir } from '../support/godepot.js';
import { captureIo } from '../support/io.js';

const DB = 'sumdb/localhost.localdev/sumdb';

async function files(d: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (x: string, rel: string): Promise<void> => {
    for (const e of await readdir(x, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(x, e.name), `${rel}${e.name}/`);
      else out.push(rel + e.name);
    }
  };
  await walk(d, '');
  return out.sort();
}

describe('importing an exported folder altered in transit', () => {
  let dir: string;
  let sumdb: FakeSumDb;
  let mods: BuiltModule[];
  let exported: string;
  let n = 0;

  async function exportFrom(db: FakeSumDb, ms: BuiltModule[]): Promise<string> {
    const up = await FakeGoProxy.start(ms);
    const out = join(dir, `export${++n}`);
    const e = captureIo();
    const args = ['--progress', 'none', '--data', join(dir, `src${n}`), '--sumdb', db.gosumdb, '--upstream', up.url];
    try {
      expect(await exportCommand([...args, out, ...ms.map((m) => `${m.path}@${m.version}`)], e.io), e.text()).toBe(0);
    } finally {
      await up.close();
    }
    return out;
  }

  beforeAll(async () => {
    dir = await tempDir('godepot-import-hostile-');
    mods = await buildModules(
      ['a', 'b', 'c'].map((p) => ({
        path: `example.com/h/${p}`,
        version: 'v1.0.0',
        files: { 'go.mod': `module example.com/h/${p}\n`, 'a.go': `package ${p}\n` },
      })),
    );
    sumdb = await FakeSumDb.start({ records: mods });
    exported = await exportFrom(sumdb, mods);
  }, 60_000);

  afterAll(async () => {
    await sumdb?.close();
    await removeDir(dir);
  });

  async function copy(): Promise<string> {
    const to = join(dir, `copy${++n}`);
    await cp(exported, to, { recursive: true });
    return to;
  }
  async function run(
    folder: string,
    data = join(dir, `data${++n}`),
  ): Promise<{ code: number; out: string; data: string }> {
    const c = captureIo();
    const args = ['--progress', 'none', '--data', data, '--sumdb', sumdb.gosumdb, '--offline', folder];
    const code = await importCommand(args, c.io);
    return { code, out: c.text(), data };
  }

  it('refuses a record that names another module than its file, and an altered tile', async () => {
    const f = await copy();
    const lookup = join(f, DB, 'lookup/example.com/h');
    await writeFile(join(lookup, 'a@v1.0.0'), await readFile(join(lookup, 'b@v1.0.0')));
    let r = await run(f);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('record is not about example.com/h/a@v1.0.0');
    expect(await files(r.data)).not.toContain('mod/example.com/h/a/@v/v1.0.0.zip');

    const g = await copy();
    const tile = join(g, DB, 'tile/8/0/000.p/3');
    const bytes = await readFile(tile);
    bytes[5] = (bytes[5] as number) ^ 1;
    await writeFile(tile, bytes);
    r = await run(g);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/imported 0 of 3/);
    expect((await files(r.data)).filter((p) => p.startsWith('mod/'))).toEqual([]);
  });

  it('refuses a hostile .info, a zip bomb and a huge go.mod, storing none of them', async () => {
    const f = await copy();
    const v = (p: string): string => join(f, `example.com/h/${p}/@v/v1.0.0`);
    const info = JSON.parse(await readFile(`${v('a')}.info`, 'utf8')) as object;
    await writeFile(`${v('a')}.info`, JSON.stringify({ ...info, Version: 'v9.9.9' }));
    // 700 MiB of zeros, compressed to under a MiB: over the go command's 500 MB limit for module contents.
    execFileSync('python3', [
      '-c',
      `import sys, zipfile
z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED)
z.writestr('example.com/h/b@v1.0.0/go.mod', 'module example.com/h/b\\n')
w = z.open('example.com/h/b@v1.0.0/big.txt', 'w', force_zip64=True)
for i in range(700): w.write(bytes(1 << 20))
w.close(); z.close()`,
      `${v('b')}.zip`,
    ]);
    execFileSync('truncate', ['-s', '3G', `${v('c')}.mod`]);
    const r = await run(f);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('example.com/h/a@v9.9.9: invalid version');
    expect(r.out).toContain('total uncompressed size of module contents too large');
    expect(r.out).toContain('response larger than');
    const kept = await files(r.data);
    for (const p of ['a/@v/v1.0.0.info', 'b/@v/v1.0.0.zip', 'c/@v/v1.0.0.mod'])
      expect(kept).not.toContain(`mod/example.com/h/${p}`);
  }, 60_000);

  it('says which files it left out because they are not regular files, instead of waiting on a FIFO', async () => {
    const f = await copy();
    for (const p of [join(DB, 'latest'), 'example.com/h/a/@v/v1.0.0.zip']) {
      await rm(join(f, p));
      execFileSync('mkfifo', [join(f, p)]);
    }
    const r = await run(f);
    expect(r.out).toContain('note: skipped example.com/h/a/@v/v1.0.0.zip: not a regular file');
    expect(await files(r.data)).not.toContain('mod/example.com/h/a/@v/v1.0.0.zip');
  });

  it('refuses to import a folder into itself (--data the same folder), which would remove its lookups', async () => {
    const f = await copy();
    const before = await files(f);
    const c = captureIo();
    const args = ['--progress', 'none', '--data', f, '--sumdb', sumdb.gosumdb, '--offline', f];
    await expect(importCommand(args, c.io)).rejects.toThrow(/is godepot's data folder/);
    expect(await files(f)).toEqual(before);
  });

  it('ends when the data folder cannot be used, instead of serving the folder for ever', async () => {
    const file = join(dir, `file${++n}`);
    await writeFile(file, 'not a folder');
    const args = ['import', '--progress', 'none', '--data', file, '--sumdb', sumdb.gosumdb, '--offline', exported];
    // Killed at the deadline (and failing) when it does not end on its own.
    const r = await new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (err, _out, stderr) =>
        resolve({ code: err ? ((err.code as number | undefined) ?? null) : 0, signal: err?.signal ?? null, stderr }),
      );
    });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${file} is a file, not a folder`);
  }, 30_000);

  it('keeps the verified head against a smaller head, and refuses and records a fork', async () => {
    const full = await run(await copy());
    expect(full.code, full.out).toBe(0);
    const head = async (): Promise<string> => readFile(join(full.data, DB, 'latest'), 'utf8');
    const before = await head();
    // The same log at an earlier size: its records verify, the head stays.
    const small = await FakeSumDb.start({ records: mods.slice(0, 1) });
    const smaller = await exportFrom(small, mods.slice(0, 1)).finally(() => small.close());
    const r1 = await run(smaller, full.data);
    expect(r1.code, r1.out).toBe(0);
    expect(await head()).toBe(before);
    // Another history under the same key: a fork.
    const [x] = (await buildModules([
      { path: 'example.com/h/x', version: 'v1.0.0', files: { 'go.mod': 'module example.com/h/x\n' } },
    ])) as [BuiltModule];
    const forked = await FakeSumDb.start({ records: [mods[0] as BuiltModule, x, ...mods.slice(1)] });
    const forkOut = await exportFrom(forked, [x]).finally(() => forked.close());
    const r2 = await run(forkOut, full.data);
    expect(r2.code, r2.out).toBe(1);
    expect(r2.out).toContain('SECURITY');
    // What it logs names the folder, not the loopback port it is served on (as its report does).
    expect(r2.out).not.toMatch(/127\.0\.0\.1/);
    expect(r2.out).toContain(`folder ${forkOut}/${DB}`);
    expect(await head()).toBe(before);
    const kept = await files(full.data);
    expect(kept).toContain(`${DB}/inconsistent`);
    expect(kept).not.toContain('mod/example.com/h/x/@v/v1.0.0.mod');
  }, 60_000);
});
