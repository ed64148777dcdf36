// Guards found missing by a mutation review of src/modzip: the h1 of a zip
// with more entries than one sort slice (the merge passes of dirhash.ts),
// refusing an entry flagged encrypted, and ASCII case folding up to 'Z'.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bufferSource, checkFiles, hashZip, strToFold, verifyModuleZip } from '../../src/modzip/index.js';
import { Hash1Summary } from '../../src/modzip/dirhash.js';
import { patchCentralDirectory, rawZip, type RawZipEntry } from '../support/modzip.js';
import { prng } from '../support/prng.js';

const MOD = { path: 'example.com/m', version: 'v1.0.0' };
const P = 'example.com/m@v1.0.0/';

/** dirhash.Hash1 written out as Go does it: sorted names, `<hex sha256>  <name>\n` lines, base64 of their SHA-256. */
function referenceHash1(files: ReadonlyArray<{ name: string; data: string }>): string {
  const sorted = files.slice().sort((x, y) => Buffer.compare(Buffer.from(x.name), Buffer.from(y.name)));
  const summary = createHash('sha256');
  for (const f of sorted) summary.update(`${createHash('sha256').update(f.data).digest('hex')}  ${f.name}\n`);
  return 'h1:' + summary.digest('base64');
}

/** n files in a shuffled order, so that every sorted slice of the summary holds names from all over the range. */
function shuffledFiles(n: number, seed: number): Array<{ name: string; data: string }> {
  const rand = prng(seed);
  return Array.from({ length: n }, (_, i) => ({
    name: `${P}d${i % 7}/f${i}.go`,
    data: `package d // ${i}\n`,
    key: rand(),
  }))
    .sort((x, y) => x.key - y.key)
    .map(({ name, data }) => ({ name, data }));
}

describe('h1 of zips with more entries than one sort slice (8,192)', () => {
  it('hashZip of a zip of 16,400 entries (two merge passes) equals dirhash.Hash1 computed directly', async () => {
    const files = shuffledFiles(16_400, 0x2000);
    const zip = await rawZip(files, { compress: false });
    const summary = await hashZip(bufferSource(zip));
    expect(summary.files).toBe(16_400);
    expect(summary.h1).toBe(referenceHash1(files));
  });

  it('Hash1Summary agrees with the reference just past each merge pass, with and without turns', async () => {
    for (const n of [8_193, 16_385, 24_577]) {
      const files = shuffledFiles(n, n);
      const summary = new Hash1Summary();
      for (const f of files) summary.add(Buffer.from(f.name), createHash('sha256').update(f.data).digest());
      const want = referenceHash1(files);
      expect(await summary.digest(), `${n} entries`).toBe(want);
      expect(await summary.digest(() => Promise.resolve()), `${n} entries, with turns`).toBe(want);
    }
  });
});

describe('encrypted entries', () => {
  const entries: RawZipEntry[] = [
    { name: P + 'go.mod', data: 'module example.com/m\n' },
    { name: P + 'm.go', data: 'package m\n' },
  ];

  it('reads an entry with the encrypted flag (general-purpose bit 0) set as plain, as archive/zip does', async () => {
    // Bit 11 (UTF-8 names) as yazl writes it, plus bit 0; the content itself is plain. archive/zip never looks at
    // the flag: the go command hashes and extracts such a zip, so refusing it would break builds.
    const clear = await verifyModuleZip(bufferSource(await rawZip(entries)), MOD);
    const zip = patchCentralDirectory(await rawZip(entries), 1, { flags: 0x800 | 0x1 });
    await expect(verifyModuleZip(bufferSource(zip), MOD)).resolves.toEqual(clear);
    await expect(hashZip(bufferSource(zip))).resolves.toEqual(clear);
  });

  it('reads the same zip with the flag clear', async () => {
    const zip = await rawZip(entries);
    await expect(verifyModuleZip(bufferSource(zip), MOD)).resolves.toMatchObject({ files: 2 });
  });
});

describe('ASCII case folding', () => {
  it('folds every letter A–Z onto a–z, so each pair collides', () => {
    for (let c = 0x41; c <= 0x5a; c++) {
      const upper = String.fromCharCode(c);
      const lower = String.fromCharCode(c + 0x20);
      expect(strToFold(upper), upper).toBe(lower);
      expect(strToFold(`dir/${upper}x.go`), upper).toBe(strToFold(`dir/${lower}x.go`));
      const reasons = checkFiles([
        { path: `${lower}.go`, size: 1 },
        { path: `${upper}.go`, size: 1 },
      ]).invalid.map((p) => p.reason);
      expect(reasons, upper).toEqual([`case-insensitive file name collision: "${lower}.go" and "${upper}.go"`]);
    }
  });

  it('leaves the neighbours of the letters alone', () => {
    for (const ch of ['@', '[', '`', '{']) expect(strToFold(`a${ch}`)).toBe(`a${ch}`);
  });
});
