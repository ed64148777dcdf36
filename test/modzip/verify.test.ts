// verifyModuleZip on good and bad zips: names, sizes that lie, zip bombs,
// truncation and corruption (always a ZipError, never a crash or a hang),
// aborts, and which error is reported first.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createDeflateRaw } from 'node:zlib';
import yazl from 'yazl';
import { describe, expect, it } from 'vitest';
import {
  bufferSource,
  hashFiles,
  MAX_ZIP_FILE,
  verifyModuleZip,
  ZipError,
  type ByteSource,
} from '../../src/modzip/index.js';
import { createModuleZip, patchCentralDirectory, rawZip, zipBytes, type RawZipEntry } from '../support/modzip.js';
import { prng } from '../support/prng.js';

const MOD = { path: 'example.com/m', version: 'v1.0.0' };
const P = 'example.com/m@v1.0.0/';
const GO_MOD = 'module example.com/m\n\ngo 1.21\n';

function verify(zip: Buffer, opts: { signal?: AbortSignal } = {}): ReturnType<typeof verifyModuleZip> {
  return verifyModuleZip(bufferSource(zip), MOD, opts);
}

async function zipError(p: Promise<unknown>): Promise<ZipError> {
  const err: unknown = await p.then(
    () => new Error('unexpected success'),
    (e: unknown) => e,
  );
  if (!(err instanceof ZipError)) throw new Error(`want ZipError, got ${String(err)}`);
  return err;
}

/**
 * Counts the bytes a source hands out from reads that start in the entries'
 * region (before the central directory), leaving out the first read of all:
 * the search for the end of central directory record.
 */
function counting(zip: Buffer, chunkSize?: number): { source: ByteSource; read: () => number } {
  const src = bufferSource(zip, chunkSize);
  const cdStart = zip.readUInt32LE(zip.length - 6);
  let n = 0;
  let reads = 0;
  return {
    source: {
      size: src.size,
      createReadStream(start, end) {
        const s = src.createReadStream(start, end);
        if (reads++ > 0 && start < cdStart) s.on('data', (c: Buffer) => (n += c.length));
        return s;
      },
    },
    read: () => n,
  };
}

async function deflatedZeros(total: number): Promise<Buffer> {
  const d = createDeflateRaw();
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve) => d.on('end', resolve));
  const zeros = Buffer.alloc(1 << 20);
  for (let left = total; left > 0; left -= zeros.length) {
    if (!d.write(zeros.subarray(0, Math.min(left, zeros.length)))) await new Promise((r) => d.once('drain', r));
  }
  d.end();
  await done;
  return Buffer.concat(out);
}

const good: Array<{ name: string; data: string }> = [
  { name: P + 'go.mod', data: GO_MOD },
  { name: P + 'm.go', data: 'package m\n' },
  { name: P + 'sub/s.go', data: 'package sub\n'.repeat(100) },
];

describe('good zips', () => {
  it('hashes what dirhash would and summarizes the content', async () => {
    const summary = await verify(await rawZip(good));
    expect(summary).toEqual({
      h1: hashFiles(good.map((e) => ({ name: e.name, data: Buffer.from(e.data) }))),
      files: 3,
      uncompressedSize: GO_MOD.length + 10 + 1200,
    });
  });

  it('gives the same hash for stored and deflated entries', async () => {
    const want = (await verify(await rawZip(good))).h1;
    expect((await verify(await rawZip(good, { compress: false }))).h1).toBe(want);
  });

  it('hashes directory entries and the bare prefix entry too, as HashZip does', async () => {
    const entries = [{ name: P, data: '' }, { name: P + 'sub/', data: '' }, ...good];
    const summary = await verify(await rawZip(entries));
    expect(summary.h1).toBe(hashFiles(entries.map((e) => ({ name: e.name, data: Buffer.from(e.data) }))));
    expect(summary.files).toBe(3);
  });

  it('reads only the last entry of a directory listed twice, as HashZip does', async () => {
    // Checked against go 1.26.8 / golang.org/x/mod v0.43.0 (CheckZip, HashZip, Unzip): an earlier listing that
    // declares content (or has any local header) is never opened; the last listing decides.
    const goMod = { name: P + 'go.mod', data: 'module example.com/m\n' };
    const twice = (dir: string, usize: [number, number]): Buffer =>
      zipBytes([goMod, { name: dir, usize: usize[0] }, { name: dir, usize: usize[1] }]);
    expect((await verify(twice(P + 'd/', [1, 0]))).h1).toBe('h1:fZArvu2rPnUG0T8BZpriChoq/Rf/Wj3lE0aXqNIDCos=');
    expect((await verify(twice(P, [1, 0]))).h1).toBe('h1:3QeCg7nwjzuxMSipfvVpFhM/3sL0sos1YdKxZV8a41o=');
    expect((await zipError(verify(twice(P + 'd/', [0, 1])))).message).toBe(`${P}d/: zip: not a valid zip file`);
  });

  it('accepts names with non-ASCII letters', async () => {
    const zip = await createModuleZip(MOD, [{ name: 'é/ß.go', data: 'package x\n' }]);
    expect((await verify(zip)).h1).toBe(hashFiles([{ name: P + 'é/ß.go', data: Buffer.from('package x\n') }]));
  });

  it('reads entries with data descriptors (as Go writes them) and ZIP64 records', async () => {
    for (const forceZip64Format of [false, true]) {
      const z = new yazl.ZipFile();
      for (const e of good) z.addReadStream(Readable.from([Buffer.from(e.data)]), e.name, { forceZip64Format });
      const chunks: Buffer[] = [];
      z.outputStream.on('data', (c: Buffer) => chunks.push(c));
      const done = new Promise((r) => z.outputStream.on('end', r));
      z.end({ forceZip64Format, comment: '' });
      await done;
      const zip = Buffer.concat(chunks);
      expect((await verify(zip)).h1).toBe((await verify(await rawZip(good))).h1);
      if (forceZip64Format) continue;
      // A data descriptor whose CRC-32 disagrees with the central directory is refused.
      const sig = zip.indexOf(Buffer.from([0x50, 0x4b, 0x07, 0x08]));
      zip.writeUInt32LE(zip.readUInt32LE(sig + 4) ^ 1, sig + 4);
      expect((await zipError(verify(zip))).message).toContain('checksum error');
    }
  });
});

describe('module and size rules', () => {
  it('refuses a bad module path or a version that is not canonical', async () => {
    const zip = await rawZip(good);
    await expect(verifyModuleZip(bufferSource(zip), { path: 'cache', version: 'v1.0.0' })).rejects.toThrow(
      'malformed module path "cache": missing dot in first path element',
    );
    await expect(verifyModuleZip(bufferSource(zip), { path: 'example.com/m', version: 'v1.0' })).rejects.toThrow(
      'version "v1.0" is not canonical (should be "v1.0.0")',
    );
  });

  it('refuses a zip over 500 MiB without reading it', async () => {
    const huge: ByteSource = {
      size: MAX_ZIP_FILE + 1,
      createReadStream() {
        throw new Error('must not read');
      },
    };
    const err = await zipError(verifyModuleZip(huge, MOD));
    expect(err.message).toBe(
      `module zip file is too large (${MAX_ZIP_FILE + 1} bytes; limit is ${MAX_ZIP_FILE} bytes)`,
    );
  });

  it('refuses declared content over the limits before inflating anything', async () => {
    for (const [index, size, want] of [
      [1, MAX_ZIP_FILE + 1, 'total uncompressed size of module contents too large (max size is 524288000 bytes)'],
      [0, (16 << 20) + 1, 'go.mod file too large (max size is 16777216 bytes)'],
    ] as const) {
      const zip = patchCentralDirectory(await rawZip(good), index, { uncompressedSize: size });
      const { source, read } = counting(zip);
      const err = await zipError(verifyModuleZip(source, MOD));
      expect(err.message).toContain(want);
      expect(read()).toBe(0); // no entry was read: the central directory decided
    }
  });

  it('refuses an oversized root LICENSE but not one in a subdirectory', async () => {
    const zip = await rawZip([...good, { name: P + 'LICENSE', data: 'x' }, { name: P + 'sub/LICENSE', data: 'y' }]);
    patchCentralDirectory(zip, 3, { uncompressedSize: (16 << 20) + 1 });
    expect((await zipError(verify(zip))).message).toBe(
      `${P}LICENSE: LICENSE file too large (max size is 16777216 bytes)`,
    );
  });

  it('counts every entry under a directory that collided as invalid', async () => {
    // Checked against go 1.26.8 / golang.org/x/mod v0.43.0 Unzip: both a/b/... are listed, the same collision each.
    const zip = await rawZip(['A', 'a/b/c', 'a/b/d'].map((n) => ({ name: P + n, data: 'x' })));
    expect((await zipError(verify(zip))).message).toBe(
      `${P}a/b/c: case-insensitive file name collision: "A" and "a" (and 1 more invalid file)`,
    );
  });
});

describe('sizes and checksums that lie', () => {
  it('refuses content larger than declared', async () => {
    const zip = patchCentralDirectory(await rawZip(good), 2, { uncompressedSize: 100 });
    const err = await zipError(verify(zip));
    expect(err.message).toContain(`uncompressed size of file ${P}sub/s.go is larger than declared size (100 bytes)`);
    expect(err.file).toBe(P + 'sub/s.go');
  });

  it('refuses content smaller than declared', async () => {
    const zip = patchCentralDirectory(await rawZip(good), 2, { uncompressedSize: 5000 });
    expect((await zipError(verify(zip))).message).toContain('is smaller than declared size (5000 bytes)');
  });

  it('refuses a wrong CRC-32', async () => {
    const zip = patchCentralDirectory(await rawZip(good), 1, { crc32: 0x12345678 });
    expect((await zipError(verify(zip))).message).toBe(`${P}m.go: zip: checksum error`);
  });

  it('refuses compression methods Go does not read', async () => {
    const zip = patchCentralDirectory(await rawZip(good), 1, { method: 12 });
    expect((await zipError(verify(zip))).message).toBe(`${P}m.go: zip: unsupported compression algorithm`);
  });

  it('stops a zip bomb soon after the declared size', async () => {
    // 512 MiB of zeros deflate to about 500 KiB: more than is inflated in one call.
    const bomb = await deflatedZeros(512 << 20);
    const zip = await rawZip(
      [
        { name: P + 'go.mod', data: GO_MOD },
        { name: P + 'bomb.txt', data: bomb },
      ],
      { compress: false },
    );
    patchCentralDirectory(zip, 1, { method: 8, uncompressedSize: 1000 << 10, crc32: 0 });
    // The source serves only the first 64 KiB of the bomb, then stalls: a
    // verifier that inflated all of it would never finish.
    const cut = zip.indexOf(bomb.subarray(0, 64)) + (64 << 10);
    const source: ByteSource = {
      size: zip.length,
      createReadStream(start, end) {
        if (start >= cut) return bufferSource(zip).createReadStream(start, end);
        const stream = new Readable({ read() {} });
        stream.push(zip.subarray(start, Math.min(end, cut)));
        return stream;
      },
    };
    const err = await zipError(verifyModuleZip(source, MOD));
    expect(err.message).toContain(`${P}bomb.txt is larger than declared size (1024000 bytes)`);
  });

  it('stops a small zip bomb at the declared size', async () => {
    const bomb = await deflatedZeros(64 << 20);
    const zip = await rawZip([{ name: P + 'bomb.txt', data: bomb }], { compress: false });
    patchCentralDirectory(zip, 0, { method: 8, uncompressedSize: 1000, crc32: 0 });
    expect((await zipError(verify(zip))).message).toContain('larger than declared size (1000 bytes)');
  });
});

describe('malformed zips', () => {
  it('refuses every truncation of a good zip with a ZipError', async () => {
    const zip = await rawZip(good);
    for (let n = 0; n < zip.length; n++) {
      await zipError(verify(zip.subarray(0, n)));
    }
  });

  it('never crashes or hangs on corrupted bytes', async () => {
    const zip = await rawZip(good);
    const rand = prng(42);
    const seen = { refused: 0, accepted: 0 };
    for (let round = 0; round < 400; round++) {
      const bad = Buffer.from(zip);
      for (let flips = 1 + Math.floor(rand() * 3); flips > 0; flips--) {
        bad[Math.floor(rand() * bad.length)] = Math.floor(rand() * 256);
      }
      const outcome = await verify(bad).then(
        (s) => s.h1,
        (e: unknown) => e,
      );
      // Either refused as a bad zip (never another kind of error), or accepted with an h1.
      if (typeof outcome === 'string') {
        expect(outcome).toMatch(/^h1:[A-Za-z0-9+/]{43}=$/);
        seen.accepted++;
      } else {
        expect(outcome).toBeInstanceOf(ZipError);
        seen.refused++;
      }
    }
    // The rounds reach both ends: bytes the rules refuse, and bytes (a flipped comment, a date) they accept.
    expect(seen.refused).toBeGreaterThan(0);
    expect(seen.accepted).toBeGreaterThan(0);
  });

  it('reads a large central directory in few reads from a source with read()', async () => {
    const entries: RawZipEntry[] = [{ name: P + 'go.mod', data: GO_MOD }];
    for (let i = 0; i < 2000; i++) entries.push({ name: `${P}d${i % 10}/f${i}.go`, data: `package d // ${i}\n` });
    const zip = await rawZip(entries);
    const inner = bufferSource(zip);
    let reads = 0;
    const source: ByteSource = {
      size: inner.size,
      createReadStream: (start, end) => inner.createReadStream(start, end),
      // Asynchronous, as a file's reads are.
      read: async (start, end) => {
        reads++;
        await new Promise((r) => setImmediate(r));
        return Buffer.from(zip.subarray(start, end));
      },
    };
    const summary = await verifyModuleZip(source, MOD);
    expect(summary.h1).toBe(hashFiles(entries.map((e) => ({ name: String(e.name), data: Buffer.from(e.data) }))));
    expect(summary.files).toBe(2001);
    // Two records' worth of reads per entry without reading ahead; a few dozen with it.
    expect(reads).toBeLessThan(100);
  });

  it('refuses bytes that are not a zip', async () => {
    expect((await zipError(verify(Buffer.from('PK not really a zip file at all')))).message).toContain(
      'zip: not a valid zip file',
    );
  });
});

describe('abort', () => {
  it('rejects at once with the reason when already aborted', async () => {
    const reason = new Error('stop');
    await expect(verify(await rawZip(good), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  for (const phase of ['central directory', 'entry data'] as const) {
    it(`stops reading when aborted while reading the ${phase}`, async () => {
      // A first entry of 100 KiB keeps the search for the end record (the last
      // 64 KiB) apart from the entry data.
      const zip = await rawZip([{ name: P + 'blob.bin', data: randomBytes(100 << 10) }, ...good], { compress: false });
      const stalls = (start: number, end: number): boolean =>
        phase === 'central directory' ? end === zip.length && start > 0 : start === 0;
      let stalled = 0;
      const source: ByteSource = {
        size: zip.length,
        createReadStream(start, end) {
          if (!stalls(start, end)) return bufferSource(zip).createReadStream(start, end);
          stalled++;
          return new Readable({ read() {} });
        },
      };
      const ctl = new AbortController();
      const p = verifyModuleZip(source, MOD, { signal: ctl.signal });
      let finished = false;
      void p.then(
        () => (finished = true),
        () => (finished = true),
      );
      while (stalled === 0 && !finished) await new Promise((r) => setTimeout(r, 1));
      expect(finished).toBe(false);
      const reason = new Error('client went away');
      ctl.abort(reason);
      await expect(p).rejects.toBe(reason);
    });
  }

  it('reports the first bad entry in the directory, not a later one', async () => {
    const entries: RawZipEntry[] = [{ name: P + 'go.mod', data: GO_MOD }];
    for (let i = 0; i < 12; i++) entries.push({ name: `${P}f${i}.go`, data: `package f // ${'x'.repeat(i * 1000)}\n` });
    const zip = await rawZip(entries);
    patchCentralDirectory(zip, 4, { crc32: 1 });
    patchCentralDirectory(zip, 9, { uncompressedSize: 1 });
    expect((await zipError(verify(zip))).file).toBe(`${P}f3.go`);
  });
});

describe('many entries', () => {
  it('lets other work run while it verifies a zip of many entries', async () => {
    const entries: RawZipEntry[] = [{ name: P + 'go.mod', data: GO_MOD }];
    for (let i = 0; i < 20_000; i++) entries.push({ name: `${P}d${i % 10}/f${i}.go`, data: 'package d\n' });
    const zip = await rawZip(entries, { compress: false });
    let turns = 0;
    let done = false;
    const tick = (): void => {
      turns++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const yieldTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
    const summary = await verifyModuleZip(bufferSource(zip), MOD, { yieldTurn });
    done = true;
    expect(summary.files).toBe(20_001);
    // Two passes over 20,001 entries: a turn at least every few hundred entries.
    expect(turns).toBeGreaterThan(40);
  });
});
