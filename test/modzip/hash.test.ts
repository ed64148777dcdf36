// dirhash.Hash1: goldens from PROTOCOL.md §4.3/§7 and dirhash_test.go, Go's
// byte order of names, and order independence.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeGoBytes } from '../../src/module/index.js';
import { bufferSource, hash1, hashFiles, hashGoMod, hashZip } from '../../src/modzip/index.js';
import { rawZip } from '../support/modzip.js';
import { prng } from '../support/prng.js';

const EMPTY_ZIP_H1 = 'h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';

function sha256hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function h1OfSummary(summary: Buffer | string): string {
  return 'h1:' + createHash('sha256').update(summary).digest('base64');
}

describe('goldens', () => {
  it('empty go.mod', () => {
    expect(hashGoMod(new Uint8Array(0))).toBe('h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY=');
  });

  it('empty zip', async () => {
    expect(hash1([])).toBe(EMPTY_ZIP_H1);
    expect((await hashZip(bufferSource(await rawZip([])))).h1).toBe(EMPTY_ZIP_H1);
  });

  it('real rsc.io/quote v1.5.2 go.mod', () => {
    expect(hashGoMod(Buffer.from('module "rsc.io/quote"\n\nrequire "rsc.io/sampler" v1.3.0\n'))).toBe(
      'h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=',
    );
  });

  it("dirhash_test's abc/xyz", () => {
    const want = h1OfSummary(`${sha256hex('data for abc')}  abc\n${sha256hex('data for xyz')}  xyz\n`);
    const files = ['xyz', 'abc'].map((name) => ({ name, data: Buffer.from('data for ' + name) }));
    expect(hashFiles(files)).toBe(want);
  });

  it('hash1 from digests equals hashFiles from content', () => {
    const files = [
      { name: 'a/b.go', data: Buffer.from('package b\n') },
      { name: 'go.mod', data: Buffer.from('module a\n') },
    ];
    const digests = files.map((f) => ({ name: f.name, sha256: createHash('sha256').update(f.data).digest() }));
    expect(hash1(digests)).toBe(hashFiles(files));
  });
});

describe('names', () => {
  it('sorts by UTF-8 bytes, not UTF-16 units', () => {
    // U+E000 is EE 80 80 and U+10000 is F0 90 80 80 in UTF-8, so U+E000 sorts
    // first in Go; in UTF-16 U+10000 (D800 DC00) sorts first.
    const a = '\uE000';
    const b = '\u{10000}';
    const want = h1OfSummary(`${sha256hex('1')}  ${a}\n${sha256hex('2')}  ${b}\n`);
    expect(
      hashFiles([
        { name: b, data: Buffer.from('2') },
        { name: a, data: Buffer.from('1') },
      ]),
    ).toBe(want);
  });

  it('refuses names with a newline', () => {
    expect(() => hashFiles([{ name: 'a\nb', data: Buffer.alloc(0) }])).toThrow(
      'dirhash: filenames with newlines are not supported',
    );
  });

  it('hashes a name that is not UTF-8 as its bytes', () => {
    const raw = Buffer.from([0x61, 0xff]);
    const want = h1OfSummary(Buffer.concat([Buffer.from(`${sha256hex('')}  `), raw, Buffer.from('\n')]));
    expect(hashFiles([{ name: decodeGoBytes(raw), data: Buffer.alloc(0) }])).toBe(want);
  });

  it('does not depend on the order of the files', () => {
    const rand = prng(0x5eed);
    const alphabet = ['a', 'B', '/', '.', 'é', '\uE000', '\u{1F600}', 'z', '0'];
    for (let round = 0; round < 50; round++) {
      const names = new Set<string>();
      while (names.size < 8) {
        let n = '';
        for (let i = 0, len = 1 + Math.floor(rand() * 6); i < len; i++)
          n += alphabet[Math.floor(rand() * alphabet.length)];
        names.add(n);
      }
      const files = [...names].map((name) => ({ name, data: Buffer.from(name + round) }));
      const shuffled = files.slice().sort(() => rand() - 0.5);
      expect(hashFiles(shuffled)).toBe(hashFiles(files));
      // And matches a summary built in Go's order.
      const ordered = files.slice().sort((x, y) => Buffer.compare(Buffer.from(x.name), Buffer.from(y.name)));
      const summary = ordered.map((f) => `${sha256hex(f.data)}  ${f.name}\n`).join('');
      expect(hashFiles(files)).toBe(h1OfSummary(summary));
    }
  });
});
