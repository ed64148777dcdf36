// Entry data of every shape a deflater makes (stored blocks, coded blocks,
// a mid-stream switch between them, stored entries), read streaming and
// whole (wholeEntryMax), must agree with dirhash and with Go's rules: the
// declared size exactly, the CRC-32, junk after the final block ignored.
import { randomBytes } from 'node:crypto';
import { deflateRawSync, constants as zc } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  bufferSource,
  hashFiles,
  hashZip,
  verifyModuleZip,
  ZipError,
  type ByteSource,
} from '../../src/modzip/index.js';
import { patchCentralDirectory, rawZip } from '../support/modzip.js';

const MOD = { path: 'example.com/m', version: 'v1.0.0' };
const P = 'example.com/m@v1.0.0/';

function text(n: number, seed: number): Buffer {
  let s = '';
  let x = seed;
  while (s.length < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += `func f${(x % 99991).toString(36)}(a, b int) int { return a*${x >>> 20} + b }\n`;
  }
  return Buffer.from(s.slice(0, n));
}

/** Incompressible and compressible stretches, so a deflater switches between stored and coded blocks. */
function mixed(n: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0, total = 0; total < n; i++) {
    const part = i % 2 === 0 ? randomBytes(100 << 10) : text(100 << 10, i);
    parts.push(part);
    total += part.length;
  }
  return Buffer.concat(parts).subarray(0, n);
}

function crc32(data: Buffer): number {
  // Node 20.15+ has zlib.crc32; recompute through a deflate-free path to keep the test independent.
  let c = ~0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

async function check(files: Array<{ name: string; data: Buffer }>, compress = true): Promise<void> {
  const zip = await rawZip(
    files.map((f) => ({ name: P + f.name, data: f.data })),
    { compress },
  );
  const want = hashFiles(files.map((f) => ({ name: P + f.name, data: f.data })));
  for (const wholeEntryMax of [0, 64 << 10]) {
    const summary = await verifyModuleZip(bufferSource(zip, 64 << 10), MOD, { wholeEntryMax });
    expect(summary.h1).toBe(want);
    expect(summary.uncompressedSize).toBe(files.reduce((n, f) => n + f.data.length, 0));
  }
  expect((await hashZip(bufferSource(zip))).h1).toBe(want);
}

describe('entry data paths', () => {
  it('incompressible (stored deflate blocks)', () => check([{ name: 'a.bin', data: randomBytes(3 << 20) }]));
  it('compressible (coded blocks)', () => check([{ name: 'a.go', data: text(3 << 20, 1) }]));
  it('mixed (stored and coded blocks)', () => check([{ name: 'a.bin', data: mixed(3 << 20) }]));
  it('stored entries (no compression)', () => check([{ name: 'a.bin', data: mixed(1 << 20) }], false));
  it('many entries of every kind', () =>
    check([
      { name: 'go.mod', data: Buffer.from('module example.com/m\n') },
      { name: 'r.bin', data: randomBytes(300 << 10) },
      { name: 't.go', data: text(700 << 10, 2) },
      { name: 'small.go', data: text(1000, 3) },
      { name: 'm.bin', data: mixed(900 << 10) },
      { name: 'empty.txt', data: Buffer.alloc(0) },
    ]));

  it('a stored block whose header straddles two reads', async () => {
    // Deflate with stored blocks only (level 0), read in 11-byte pieces.
    const data = randomBytes(300 << 10);
    const deflated = deflateRawSync(data, { level: 0 });
    const zip = await rawZip([{ name: P + 'a.bin', data: deflated }], { compress: false });
    patchCentralDirectory(zip, 0, { method: 8, uncompressedSize: data.length, crc32: crc32(data) });
    const summary = await verifyModuleZip(bufferSource(zip, 11), MOD);
    expect(summary.h1).toBe(hashFiles([{ name: P + 'a.bin', data }]));
  });

  for (const size of [10 << 10, 400 << 10]) {
    it(`reads stored blocks ended by an empty final fixed-code block (${size} bytes)`, async () => {
      const data = randomBytes(size);
      const blocks: Buffer[] = [];
      for (let o = 0; o < data.length; o += 65535) {
        const part = data.subarray(o, o + 65535);
        const head = Buffer.alloc(5);
        head.writeUInt16LE(part.length, 1);
        head.writeUInt16LE(~part.length & 0xffff, 3);
        blocks.push(head, part);
      }
      const ends: Array<[string, Buffer, boolean]> = [
        ['03 00', Buffer.from([0x03, 0x00]), true],
        ['03 fc (padding bits set)', Buffer.from([0x03, 0xfc]), true],
        ['03 alone', Buffer.from([0x03]), false],
      ];
      for (const [what, end, ok] of ends) {
        const zip = await rawZip([{ name: P + 'a.bin', data: Buffer.concat([...blocks, end]) }], { compress: false });
        patchCentralDirectory(zip, 0, { method: 8, uncompressedSize: data.length, crc32: crc32(data) });
        // Read whole, and with a read boundary right after the 0x03 byte.
        const blocksLength = blocks.reduce((n, b) => n + b.length, 0);
        const straddle = 30 + Buffer.byteLength(P + 'a.bin') + blocksLength + 1;
        for (const chunk of [1 << 20, straddle]) {
          const outcome = await verifyModuleZip(bufferSource(zip, chunk), MOD).then(
            (r) => r.h1,
            (e: unknown) => e,
          );
          if (ok) expect(outcome, what).toBe(hashFiles([{ name: P + 'a.bin', data }]));
          else expect(String(outcome), what).toContain('zip: corrupt file data');
        }
      }
    });
  }

  for (const [what, tailSize] of [
    ['short', 5000],
    ['long', 200 << 10],
  ] as const) {
    it(`stored blocks, then a ${what} coded end that refers back into them`, async () => {
      // Stored blocks (not final) of random bytes, then a deflate stream of
      // text primed with the last 32 KiB as its dictionary: its matches reach
      // back into the stored content, as zlib's own mid-stream switches do.
      const head = randomBytes(600 << 10);
      const tail = Buffer.concat([head.subarray(head.length - 4000), text(tailSize, 5)]);
      const stored = deflateRawSync(head, { level: 0, finishFlush: zc.Z_FULL_FLUSH });
      const coded = deflateRawSync(tail, { dictionary: head.subarray(head.length - (32 << 10)) });
      const data = Buffer.concat([head, tail]);
      const zip = await rawZip([{ name: P + 'a.bin', data: Buffer.concat([stored, coded]) }], { compress: false });
      patchCentralDirectory(zip, 0, { method: 8, uncompressedSize: data.length, crc32: crc32(data) });
      // The entry's data is read once, in one pass.
      let reads = 0;
      const source: ByteSource = {
        size: zip.length,
        createReadStream(start, end) {
          if (end - start > 70_000) reads++;
          return bufferSource(zip).createReadStream(start, end);
        },
      };
      expect((await verifyModuleZip(source, MOD)).h1).toBe(hashFiles([{ name: P + 'a.bin', data }]));
      expect(reads).toBe(1);
      const bad = async (patch: Parameters<typeof patchCentralDirectory>[2]): Promise<string> =>
        String(
          await verifyModuleZip(bufferSource(patchCentralDirectory(Buffer.from(zip), 0, patch)), MOD).catch(
            (e: unknown) => e,
          ),
        );
      expect(await bad({ crc32: crc32(data) ^ 1 })).toContain(`${P}a.bin: zip: checksum error`);
      expect(await bad({ uncompressedSize: data.length - 1 })).toContain('is larger than declared size');
      expect(await bad({ uncompressedSize: data.length + 1 })).toContain('is smaller than declared size');
    });
  }

  it('ignores bytes after the final deflate block, as Go does', async () => {
    const data = text(1 << 20, 9);
    const deflated = Buffer.concat([deflateRawSync(data), Buffer.from('junk after the end')]);
    const zip = await rawZip([{ name: P + 'a.go', data: deflated }], { compress: false });
    patchCentralDirectory(zip, 0, { method: 8, uncompressedSize: data.length, crc32: crc32(data) });
    expect((await verifyModuleZip(bufferSource(zip), MOD)).h1).toBe(hashFiles([{ name: P + 'a.go', data }]));
  });

  it('refuses deflate data that stops before its final block', async () => {
    const data = text(1 << 20, 10);
    const deflated = deflateRawSync(data, { finishFlush: zc.Z_SYNC_FLUSH });
    const zip = await rawZip([{ name: P + 'a.go', data: deflated }], { compress: false });
    patchCentralDirectory(zip, 0, { method: 8, uncompressedSize: data.length, crc32: crc32(data) });
    const err = await verifyModuleZip(bufferSource(zip), MOD).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZipError);
    expect((err as ZipError).message).toContain('zip: corrupt file data');
  });

  for (const size of [10 << 10, 1 << 20]) {
    for (const kind of ['random', 'text', 'mixed'] as const) {
      it(`refuses a wrong CRC-32 or size (${kind}, ${size} bytes)`, async () => {
        const data = kind === 'random' ? randomBytes(size) : kind === 'text' ? text(size, 4) : mixed(size);
        const zip = await rawZip([{ name: P + 'a', data }]);
        expect((await verifyModuleZip(bufferSource(zip), MOD)).h1).toBe(hashFiles([{ name: P + 'a', data }]));
        const bad = (patch: Parameters<typeof patchCentralDirectory>[2]): Promise<unknown> =>
          verifyModuleZip(bufferSource(patchCentralDirectory(Buffer.from(zip), 0, patch)), MOD).catch(
            (e: unknown) => e,
          );
        expect(String(await bad({ crc32: crc32(data) ^ 1 }))).toContain(`${P}a: zip: checksum error`);
        expect(String(await bad({ uncompressedSize: data.length - 1 }))).toContain('is larger than declared size');
        expect(String(await bad({ uncompressedSize: data.length + 1 }))).toContain('is smaller than declared size');
      });
    }
  }

  it('reads entries whose data another entry shares (random access)', async () => {
    const a = randomBytes(400 << 10);
    const zip = await rawZip([
      { name: P + 'a.bin', data: a },
      { name: P + 'b.bin', data: Buffer.from('b') },
    ]);
    // Point b at a's local header, with a's sizes and CRC-32: Go reads both as a.
    const cd = zip.readUInt32LE(zip.length - 6);
    const aRecord = zip.subarray(cd, cd + 46);
    const bOffset = cd + 46 + aRecord.readUInt16LE(28) + aRecord.readUInt16LE(30) + aRecord.readUInt16LE(32);
    zip.writeUInt32LE(aRecord.readUInt32LE(42), bOffset + 42);
    patchCentralDirectory(zip, 1, {
      crc32: aRecord.readUInt32LE(16),
      compressedSize: aRecord.readUInt32LE(20),
      uncompressedSize: aRecord.readUInt32LE(24),
    });
    const summary = await verifyModuleZip(bufferSource(zip), MOD);
    expect(summary.h1).toBe(
      hashFiles([
        { name: P + 'a.bin', data: a },
        { name: P + 'b.bin', data: a },
      ]),
    );
  });
});
