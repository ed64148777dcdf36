// The SHA-256 worker (proxy/sha-worker.ts) behind large entries made of stored
// data: entries larger than its ring (wrap-around, waiting for room), source
// pieces of awkward sizes and alignments, several verifications sharing it,
// an abort in the middle, the worker dying in the middle (the entries are
// hashed on the main thread instead), and a worker that does not keep the
// process alive once idle. Every result must be dirhash's.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bufferSource, hashFiles, verifyModuleZip, type ByteSource } from '../../src/modzip/index.js';
import { RemoteSha, SHA_WORKER } from '../../src/proxy/sha-worker.js';
import { patchCentralDirectory, rawZip } from '../support/modzip.js';

const MOD = { path: 'example.com/m', version: 'v1.0.0' };
const WITH_WORKER = { offThread: SHA_WORKER };
const P = 'example.com/m@v1.0.0/';
const MiB = 1 << 20;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  return c >>> 0;
});

/** CRC-32 by table, independent of zlib. */
function crc32(data: Buffer): number {
  let c = ~0;
  for (let i = 0; i < data.length; i++) c = (CRC_TABLE[(c ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  return ~c >>> 0;
}

interface File {
  name: string;
  data: Buffer;
}

/**
 * A zip of these files, each deflated into stored blocks only (level 0, as
 * zlib does with incompressible data) or, with `stored`, not compressed.
 */
async function storedBlockZip(files: File[], stored = false): Promise<Buffer> {
  const zip = await rawZip(
    files.map((f) => ({ name: P + f.name, data: stored ? f.data : deflateRawSync(f.data, { level: 0 }) })),
    { compress: false },
  );
  if (!stored)
    files.forEach((f, i) =>
      patchCentralDirectory(zip, i, { method: 8, uncompressedSize: f.data.length, crc32: crc32(f.data) }),
    );
  return zip;
}

function want(files: File[]): string {
  return hashFiles(files.map((f) => ({ name: P + f.name, data: f.data })));
}

describe('SHA-256 on the worker', () => {
  it('hashes entries larger than its ring, from pieces of any size and alignment', async () => {
    const files = [
      { name: 'go.mod', data: Buffer.from('module example.com/m\n') },
      { name: 'big.bin', data: randomBytes(20 * MiB + 12345) },
      { name: 'mid.bin', data: randomBytes(3 * MiB) },
    ];
    const zip = await storedBlockZip(files);
    // 1 MiB (the default), odd and unaligned, and larger than a staged piece.
    for (const chunk of [MiB, 100_003, 5 * MiB]) {
      expect((await verifyModuleZip(bufferSource(zip, chunk), MOD, WITH_WORKER)).h1).toBe(want(files));
    }
  });

  it('hashes stored (not deflated) entries larger than its ring', async () => {
    const files = [{ name: 'big.bin', data: randomBytes(12 * MiB + 7) }];
    const zip = await storedBlockZip(files, true);
    expect((await verifyModuleZip(bufferSource(zip, 300_001), MOD, WITH_WORKER)).h1).toBe(want(files));
  });

  it('still refuses a wrong CRC-32 or size of an entry it hashes', async () => {
    const files = [{ name: 'big.bin', data: randomBytes(10 * MiB) }];
    const zip = await storedBlockZip(files);
    const bad = async (patch: Parameters<typeof patchCentralDirectory>[2]): Promise<string> =>
      String(
        await verifyModuleZip(bufferSource(patchCentralDirectory(Buffer.from(zip), 0, patch)), MOD, WITH_WORKER).catch(
          (e: unknown) => e,
        ),
      );
    expect(await bad({ crc32: crc32(files[0]?.data ?? Buffer.alloc(0)) ^ 1 })).toContain(
      `${P}big.bin: zip: checksum error`,
    );
    expect(await bad({ uncompressedSize: 10 * MiB - 1 })).toContain('is larger than declared size');
    expect(await bad({ uncompressedSize: 10 * MiB + 1 })).toContain('is smaller than declared size');
    expect((await verifyModuleZip(bufferSource(zip), MOD, WITH_WORKER)).h1).toBe(want(files));
  });

  it('serves several verifications at once', async () => {
    const sets: File[][] = [
      Array.from({ length: 12 }, (_, i) => ({ name: `a/f${i}.bin`, data: randomBytes(700 << 10) })),
      [{ name: 'b.bin', data: randomBytes(9 * MiB) }],
      [
        { name: 'c.bin', data: randomBytes(2 * MiB + 1) },
        { name: 'd.bin', data: randomBytes(3 * MiB) },
      ],
    ];
    const zips = await Promise.all(sets.map((files) => storedBlockZip(files)));
    const results = await Promise.all(
      [...zips, ...zips].map((zip, i) =>
        verifyModuleZip(bufferSource(zip, i % 2 === 0 ? MiB : 77_777), MOD, WITH_WORKER),
      ),
    );
    results.forEach((r, i) => expect(r.h1).toBe(want(sets[i % sets.length] ?? [])));
  });

  it('stops on abort in the middle, and the next verification is whole', async () => {
    const files = [{ name: 'big.bin', data: randomBytes(16 * MiB) }];
    const zip = await storedBlockZip(files);
    // The source hands out 4 MiB, then stalls until the abort ends the stream.
    const cut = 4 * MiB;
    const source: ByteSource = {
      size: zip.length,
      createReadStream(start, end) {
        if (end - start < cut) return bufferSource(zip).createReadStream(start, end);
        const stream = new Readable({ read() {} });
        stream.push(zip.subarray(start, start + cut));
        return stream;
      },
    };
    const ctl = new AbortController();
    const p = verifyModuleZip(source, MOD, { signal: ctl.signal, offThread: SHA_WORKER });
    await new Promise((r) => setTimeout(r, 50));
    const reason = new Error('client went away');
    ctl.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect((await verifyModuleZip(bufferSource(zip), MOD, WITH_WORKER)).h1).toBe(want(files));
  });

  it('falls back to hashing here when the worker dies in the middle', async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({ name: `f${i}.bin`, data: randomBytes(4 * MiB) }));
    const zip = await storedBlockZip(files);
    await verifyModuleZip(bufferSource(zip), MOD, WITH_WORKER); // the worker is up
    // The scan's stream hands out 1 MiB per turn of the event loop and ends
    // the worker after 9 MiB; every other read is a re-read by random access.
    let rereads = 0;
    const source: ByteSource = {
      size: zip.length,
      createReadStream(start, end) {
        if (start > 0 || end - start < 8 * MiB) {
          if (end - start > 64 << 10) rereads++;
          return bufferSource(zip).createReadStream(start, end);
        }
        return Readable.from(
          (async function* () {
            for (let p = start; p < end; p += MiB) {
              if (p - start === 9 * MiB) void RemoteSha.terminateWorker();
              yield zip.subarray(p, Math.min(end, p + MiB));
              await new Promise((r) => setImmediate(r));
            }
          })(),
          { objectMode: false },
        );
      },
    };
    expect((await verifyModuleZip(source, MOD, WITH_WORKER)).h1).toBe(want(files));
    expect(rereads).toBeGreaterThan(0);
    // A new worker takes over afterwards.
    expect((await verifyModuleZip(bufferSource(zip), MOD, WITH_WORKER)).h1).toBe(want(files));
  });

  it('does not keep the process alive once idle', async () => {
    const ports = (): number => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    // Counted with no worker: the verification below starts a new one.
    await RemoteSha.terminateWorker();
    await new Promise((r) => setTimeout(r, 20));
    const before = ports();
    const files = [{ name: 'big.bin', data: randomBytes(3 * MiB) }];
    expect((await verifyModuleZip(bufferSource(await storedBlockZip(files)), MOD, WITH_WORKER)).h1).toBe(want(files));
    expect(ports()).toBe(before);
  });
});
