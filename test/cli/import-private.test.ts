// `godepot import` of a folder holding a private (--private) module: no
// checksum database can vouch for it, so it is left out (godepot fetches it
// from its origin instead), and nothing about it reaches a database or its origin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importCommand } from '../../src/cli/import.js';
import type { CommandIO } from '../../src/cli/command-settings.js';
import { FakeSumDb } from '../world/index.js';
import { removeDir, tempDir } from '../support/godepot.js';

describe('importing a folder with a private module', () => {
  let dir: string;
  let sumdb: FakeSumDb;

  beforeAll(async () => {
    dir = await tempDir('godepot-import-private-');
    sumdb = await FakeSumDb.start();
  });

  afterAll(async () => {
    await sumdb?.close();
    await removeDir(dir);
  });

  it('leaves it out as unverifiable', async () => {
    const v = join(dir, 'in', 'corp.example', 'lib', '@v');
    await mkdir(v, { recursive: true });
    await writeFile(join(v, 'v1.0.0.mod'), 'module corp.example/lib\n');
    await writeFile(join(v, 'v1.0.0.zip'), 'not a zip');
    let out = '';
    const io: CommandIO = {
      out: (s) => void (out += s),
      err: { write: (s: string) => void (out += s), isTTY: false },
      env: {},
    };
    const args = ['--offline', '--progress', 'none', '--data', join(dir, 'data'), '--sumdb', sumdb.gosumdb];
    const code = await importCommand([...args, '--private', 'corp.example/*', join(dir, 'in')], io);
    expect(out).toMatch(/1 module versions were left out: no checksum database can vouch for them/);
    expect(out).not.toMatch(/failed/);
    expect(code).toBe(0);
    expect(sumdb.requests.filter((r) => r.decodedPath.includes('corp.example'))).toEqual([]);
  });
});
