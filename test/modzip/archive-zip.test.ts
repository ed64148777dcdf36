// The zips archive/zip reads are the zips the go command accepts: its rules,
// not the zip format's nor another reader's. Each case was checked against
// `go mod download` (Go 1.26) from a file:// GOPROXY: the verdict and h1 here
// are the go command's.
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bufferSource, hashFiles, verifyModuleZip } from '../../src/modzip/index.js';
import { zipBytes, type ByteZipEntry } from '../support/modzip.js';

const MOD = { path: 'example.com/m', version: 'v1.0.0' };
const P = 'example.com/m@v1.0.0/';
const goMod: ByteZipEntry = { name: P + 'go.mod', data: 'module example.com/m\n' };
const aGo: ByteZipEntry = { name: P + 'a.go', data: 'package m\n' };
const H1 = hashFiles([
  { name: goMod.name, data: Buffer.from(goMod.data ?? '') },
  { name: aGo.name, data: Buffer.from(aGo.data ?? '') },
]);

async function verdict(zip: Buffer): Promise<string> {
  return verifyModuleZip(bufferSource(zip), MOD).then(
    (s) => s.h1,
    (e: unknown) => `refused: ${e instanceof Error ? e.message : String(e)}`,
  );
}

describe('zips the go command accepts', () => {
  const cases: Array<[string, Buffer]> = [
    [
      'bytes before the archive, offsets from its start',
      zipBytes([goMod, aGo], { before: Buffer.from('#!/bin/sh\n') }),
    ],
    [
      'bytes before the archive, offsets from the archive (a self-extracting zip)',
      zipBytes([goMod, aGo], { before: Buffer.from('#!/bin/sh\n'), relative: true }),
    ],
    ['bytes after the end record', zipBytes([goMod, aGo], { after: Buffer.from('trailing') })],
    ['a disk number in the end record', zipBytes([goMod, aGo], { disk: 1 })],
    ['the encrypted flags (bits 0 and 6) on a plain entry', zipBytes([goMod, { ...aGo, flags: 0x41 }])],
    [
      'an extra field longer than the extra data',
      zipBytes([goMod, { ...aGo, extra: Buffer.from([0x55, 0x54, 9, 0, 1]) }]),
    ],
  ];
  for (const [what, zip] of cases) it(what, async () => expect(await verdict(zip)).toBe(H1));

  it('a directory entry with data, or a method no reader knows, and a declared size of 0: hashed empty', async () => {
    const dir = P + 'd/';
    const file = { name: P + 'd/a.go', data: 'package d\n' };
    const want = hashFiles([
      { name: goMod.name, data: Buffer.from(goMod.data ?? '') },
      { name: dir, data: Buffer.alloc(0) },
      { name: file.name, data: Buffer.from(file.data) },
    ]);
    expect(await verdict(zipBytes([goMod, { name: dir, data: 'xyz', usize: 0 }, file]))).toBe(want);
    expect(await verdict(zipBytes([goMod, { name: dir, method: 99 }, file]))).toBe(want);
  });
});

describe('zips the go command refuses', () => {
  it('a directory entry that declares content', async () => {
    expect(await verdict(zipBytes([goMod, { name: P + 'd/', data: 'xyz' }, aGo]))).toMatch(
      /^refused: .*not a valid zip/,
    );
  });

  it('more central directory headers than the end record counts (no entry goes unchecked)', async () => {
    expect(await verdict(zipBytes([goMod, aGo], { count: 1 }))).toMatch(/^refused: zip: not a valid zip file/);
  });

  it('a data descriptor with its signature cut short at the end of the file', async () => {
    // The descriptor needs its CRC-32 and both sizes: 16 bytes with the signature, 12 without.
    const desc = (sig: boolean, len: number): Buffer => {
      const d = Buffer.alloc(16);
      d.writeUInt32LE(0x08074b50, 0);
      d.writeUInt32LE(crc32('x'), 4);
      return (sig ? d : d.subarray(4)).subarray(0, len);
    };
    // An entry whose data ends the file: its local header is written last, after the central directory.
    const zip = (d: Buffer): Buffer => {
      const first = zipBytes([goMod]);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      const name = Buffer.from(P + 'x.go');
      local.writeUInt16LE(name.length, 26);
      const tail = Buffer.concat([local, name, Buffer.from('x'), d]);
      // Central directory: go.mod's header, then x.go's pointing past the end record; the end record's comment holds the tail.
      const cdStart = first.readUInt32LE(first.length - 6);
      const cd = Buffer.from(first.subarray(cdStart, first.length - 22));
      const h = Buffer.alloc(46);
      h.writeUInt32LE(0x02014b50, 0);
      h.writeUInt16LE(8, 8);
      h.writeUInt32LE(crc32('x'), 16);
      h.writeUInt32LE(1, 20);
      h.writeUInt32LE(1, 24);
      h.writeUInt16LE(name.length, 28);
      const cd2 = Buffer.concat([cd, h, name]);
      const end = Buffer.alloc(22);
      end.writeUInt32LE(0x06054b50, 0);
      end.writeUInt16LE(2, 8);
      end.writeUInt16LE(2, 10);
      end.writeUInt32LE(cd2.length, 12);
      end.writeUInt32LE(cdStart, 16);
      end.writeUInt16LE(tail.length, 20);
      h.writeUInt32LE(cdStart + cd2.length + 22, 42);
      return Buffer.concat([first.subarray(0, cdStart), cd, h, name, end, tail]);
    };
    expect(await verdict(zip(desc(true, 16)))).toMatch(/^h1:/);
    expect(await verdict(zip(desc(false, 12)))).toMatch(/^h1:/);
    expect(await verdict(zip(desc(true, 12)))).toMatch(/^refused: .*unexpected EOF/);
    expect(await verdict(zip(desc(false, 8)))).toMatch(/^refused: .*unexpected EOF/);
  });
});
