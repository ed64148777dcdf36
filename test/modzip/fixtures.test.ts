// The cmd/go proxy fixtures: each fixture's zip, built by proxy_test.go's
// rules (PROTOCOL.md §6), and its .mod must hash to cmdgo-fixture-sums.tsv.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bufferSource, hashGoMod, hashZip, verifyModuleZip, ZipError } from '../../src/modzip/index.js';
import { rawZip } from '../support/modzip.js';
import { readTxtar, vectorPath } from '../support/txtar.js';

interface FixtureRow {
  file: string;
  path: string;
  version: string;
  zipH1: string;
  goModH1: string;
  entries: string[];
}

function rows(): FixtureRow[] {
  const text = readFileSync(vectorPath('cmdgo-fixture-sums.tsv'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [file = '', path = '', version = '', zipH1 = '', goModH1 = '', entries = ''] = l.split('\t');
      return { file, path, version, zipH1, goModH1, entries: entries === '' ? [] : entries.split(',') };
    });
}

/**
 * Fixtures the go command refuses, and why: zips that break the module zip
 * rules on purpose, and vgo-era v2.0.0 versions of paths without a /v2 suffix.
 */
const REFUSED: Record<string, string> = {
  'rsc.io/breaker@v2.0.0': 'rsc.io/breaker@v2.0.0: invalid version: should be v0 or v1, not v2',
  'rsc.io/quote@v2.0.0': 'rsc.io/quote@v2.0.0: invalid version: should be v0 or v1, not v2',
  'rsc.io/badfile2@v1.0.0': 'malformed file path "☺.go": invalid char \'☺\'',
  'rsc.io/badfile3@v1.0.0': 'malformed file path "x?y.go": invalid char \'?\'',
  'rsc.io/badfile4@v1.0.0': 'case-insensitive file name collision: "x/Y.go" and "x/y.go"',
  'rsc.io/badfile5@v1.0.0': 'case-insensitive file name collision: "x/y" and "x/Y"',
};

const all = rows();

describe('cmd/go fixtures', () => {
  it('lists every fixture', () => {
    expect(all.length).toBe(42);
  });

  for (const row of all) {
    it(`${row.path}@${row.version}`, async () => {
      const archive = readTxtar(vectorPath(row.file));
      const zipFiles = archive.files.filter((f) => !['.info', '.mod', '.zip'].includes(f.name));
      const prefix = `${row.path}@${row.version}/`;
      const entries = zipFiles.map((f) => ({
        name: f.name.startsWith('/') ? f.name.slice(1) : prefix + f.name,
        data: f.data,
      }));
      expect(entries.map((e) => e.name)).toEqual(row.entries);

      const zip = await rawZip(entries);
      expect((await hashZip(bufferSource(zip))).h1).toBe(row.zipH1);

      const goMod = archive.files.find((f) => f.name === '.mod');
      if (goMod === undefined) expect(row.goModH1).toBe('(no .mod section)');
      else expect(hashGoMod(goMod.data)).toBe(row.goModH1);

      const verified = verifyModuleZip(bufferSource(zip), { path: row.path, version: row.version });
      const refused = REFUSED[`${row.path}@${row.version}`];
      if (refused === undefined) {
        expect((await verified).h1).toBe(row.zipH1);
      } else {
        await expect(verified).rejects.toThrow(ZipError);
        await expect(verified).rejects.toThrow(refused);
      }
    });
  }
});
