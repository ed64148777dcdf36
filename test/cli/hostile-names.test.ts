// Names from a carried-over folder (its folder and file names) and lines of
// a go.sum in someone else's repository reach the reports of import and
// warm. Control characters in them must not reach the operator's terminal:
// an escape sequence could clear the screen or rewrite lines, and a newline
// could forge a report line ("imported 5 of 5 …").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importCommand } from '../../src/cli/import.js';
import { warmCommand } from '../../src/cli/warm.js';
import { FakeSumDb } from '../world/index.js';
import { removeDir, tempDir } from '../support/godepot.js';
import { captureIo } from '../support/io.js';

const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

describe('names that carry control characters', () => {
  let dir: string;
  let sumdb: FakeSumDb;

  beforeAll(async () => {
    dir = await tempDir('godepot-hostile-names-');
    sumdb = await FakeSumDb.start();
  });

  afterAll(async () => {
    await sumdb?.close();
    await removeDir(dir);
  });

  it('import prints them escaped', async () => {
    const root = join(dir, 'in');
    const put = async (rel: string, text: string): Promise<void> => {
      await mkdir(join(root, rel, '..'), { recursive: true });
      await writeFile(join(root, rel), text);
    };
    await put('example.com/ok/@v/v1.0.0.mod', 'module example.com/ok\n');
    await put('example.com/x\x1b[2J\nimported 9 of 9 module versions/@v/v1.0.0.mod', 'x');
    await put('example.com/y/@v/\x1b]0;pwned\x07v1.0.0.mod', 'x');
    await put('sumdb/db\x9b31m.example/lookup/example.com/ok@v1.0.0', 'x');
    const c = captureIo();
    const code = await importCommand(
      ['--progress', 'plain', '--data', join(dir, 'data'), '--sumdb', sumdb.gosumdb, root],
      c.io,
    );
    expect(code).toBe(1);
    expect(c.text()).toMatch(/note: skipped .*example\.com\/x/);
    expect(c.text()).not.toMatch(CONTROL);
    expect(c.text()).not.toMatch(/^imported 9/m);
  });

  it('warm prints them escaped', async () => {
    const list = join(dir, 'tools.txt');
    await writeFile(list, 'example.com/a@v1.0.0\x1b[2K\r\nexample.com/b v1\x9b2J\n');
    const c = captureIo();
    const code = await warmCommand(
      ['--progress', 'plain', '--data', join(dir, 'data2'), '--sumdb', sumdb.gosumdb, list],
      c.io,
    );
    expect(code).toBe(1);
    expect(c.text()).toMatch(/input: .*tools\.txt:1/);
    expect(c.text()).not.toMatch(CONTROL);
  });
});
