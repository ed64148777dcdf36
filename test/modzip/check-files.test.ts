// CheckFiles beyond the vectors: sizes, irregular files, and how the root
// go.mod's go line is found; CheckZip's report for a zip over the limit;
// hashZip on duplicate names (dirhash reads the last entry of a name).
import { describe, expect, it } from 'vitest';
import {
  bufferSource,
  checkFiles,
  checkZip,
  checkZipEntries,
  hashFiles,
  hashZip,
  MAX_GO_MOD,
  MAX_LICENSE,
  MAX_ZIP_FILE,
  reportError,
  ZipError,
  type ByteSource,
} from '../../src/modzip/index.js';
import { rawZip } from '../support/modzip.js';

const MOD = { path: 'example.com/m', version: 'v1.0.0' };
const P = 'example.com/m@v1.0.0/';

describe('checkFiles', () => {
  it('reports a source tree over 500 MiB once, and keeps checking', () => {
    const report = checkFiles([
      { path: 'a.bin', size: MAX_ZIP_FILE - 10 },
      { path: 'b.bin', size: 11 },
      { path: 'c.bin', size: 5 },
      { path: 'd?.go', size: 1 },
    ]);
    expect(report.sizeError).toBe('module source tree too large (max size is 524288000 bytes)');
    expect(report.valid).toEqual(['a.bin', 'b.bin', 'c.bin']);
    expect(report.invalid.map((p) => p.path)).toEqual(['d?.go']);
    expect(reportError(report)?.message).toBe('module source tree too large (max size is 524288000 bytes)');
  });

  it('limits the root go.mod and LICENSE only', () => {
    const report = checkFiles([
      { path: 'go.mod', size: MAX_GO_MOD + 1 },
      { path: 'LICENSE', size: MAX_LICENSE + 1 },
      { path: 'x/LICENSE', size: MAX_LICENSE + 1 },
    ]);
    expect(report.invalid).toEqual([
      { path: 'go.mod', reason: 'go.mod file too large (max size is 16777216 bytes)' },
      { path: 'LICENSE', reason: 'LICENSE file too large (max size is 16777216 bytes)' },
    ]);
    expect(report.valid).toEqual(['x/LICENSE']);
  });

  it('leaves out irregular files, and an irregular go.mod makes no submodule', () => {
    const report = checkFiles([
      { path: 'link.go', size: 3, isRegular: false },
      { path: 'sub/go.mod', size: 3, isRegular: false },
      { path: 'sub/x.go', size: 3 },
    ]);
    expect(report.omitted).toEqual([
      { path: 'link.go', reason: 'not a regular file' },
      { path: 'sub/go.mod', reason: 'not a regular file' },
    ]);
    expect(report.valid).toEqual(['sub/x.go']);
  });

  it('reads the go line only when a regular root go.mod is among the files', () => {
    const files = [{ path: 'pkg/vendor/v.go', size: 1 }];
    const go124 = Buffer.from('module m\ngo 1.24\n');
    expect(checkFiles(files, go124).omitted).toHaveLength(1); // no go.mod listed: pre-1.24 rules
    expect(checkFiles([...files, { path: 'go.mod', size: go124.length }], go124).omitted).toHaveLength(0);
  });

  it('refuses absolute paths', () => {
    expect(checkFiles([{ path: '/etc/passwd', size: 1 }]).invalid).toEqual([
      { path: '/etc/passwd', reason: 'file path is not relative' },
    ]);
  });
});

describe('checkZip', () => {
  it('reports a zip over 500 MiB as its only problem', async () => {
    const huge: ByteSource = {
      size: MAX_ZIP_FILE + 1,
      createReadStream() {
        throw new Error('must not read');
      },
    };
    const report = await checkZip(huge, MOD);
    expect(report).toEqual({
      valid: [],
      omitted: [],
      invalid: [],
      sizeError: `module zip file is too large (${MAX_ZIP_FILE + 1} bytes; limit is ${MAX_ZIP_FILE} bytes)`,
    });
  });

  it('throws for a bad module version, as Go returns an error and no report', () => {
    expect(() => checkZipEntries([], { path: 'example.com/m', version: 'v2.0.0' })).toThrow(ZipError);
    expect(() => checkZipEntries([], { path: 'example.com/m', version: 'v2.0.0' })).toThrow(
      'example.com/m@v2.0.0: invalid version: should be v0 or v1, not v2',
    );
  });

  it('adds up declared sizes against the limit', () => {
    const report = checkZipEntries(
      [
        { name: P + 'a', uncompressedSize: MAX_ZIP_FILE },
        { name: P + 'b', uncompressedSize: 1 },
      ],
      MOD,
    );
    expect(report.sizeError).toBe('total uncompressed size of module contents too large (max size is 524288000 bytes)');
  });
});

describe('hashZip', () => {
  it('hashes every name as stored, duplicates with the content of the last entry of that name', async () => {
    const zip = await rawZip([
      { name: P + 'a.go', data: 'first' },
      { name: P + 'b.go', data: 'b' },
      { name: P + 'a.go', data: 'last' },
    ]);
    const h1 = hashFiles([
      { name: P + 'a.go', data: Buffer.from('last') },
      { name: P + 'a.go', data: Buffer.from('last') },
      { name: P + 'b.go', data: Buffer.from('b') },
    ]);
    expect((await hashZip(bufferSource(zip))).h1).toBe(h1);
  });

  it('hashes names no module zip may hold', async () => {
    const zip = await rawZip([{ name: '../evil', data: 'x' }]);
    expect((await hashZip(bufferSource(zip))).h1).toBe(hashFiles([{ name: '../evil', data: Buffer.from('x') }]));
  });
});
