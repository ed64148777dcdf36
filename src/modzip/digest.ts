// Hashing one zip entry with the checks of Go's archive/zip reader and of
// modzip.Unzip: the declared uncompressed size exactly (a zip bomb stops
// soon after it), the CRC-32, and the data descriptor's CRC-32.
//
// Small entries (up to SMALL_ENTRY) are taken whole: stored deflate blocks
// are hashed where they lie, anything else is inflated in one synchronous
// call; memory stays bounded by SMALL_ENTRY. Large entries stream
// (entry-read.ts), first the fast way; if that read fails for any reason
// but an oversize or an abort, the entry is read again the exact way (zlib
// raw inflate, CRC-32 computed here), whose verdict and words stand: the
// fast read is stricter than Go in corners (a gzip frame refuses junk after
// the final deflate block, which Go ignores).
import { createHash } from 'node:crypto';
import { crc32, inflateRawSync } from 'node:zlib';
import type yauzl from 'yauzl';
import { EntryHasher, type OffThreadSha } from './entry-hasher.js';
import { isFinalEmptyFixedBlock, readEntryData, type EntryLayout } from './entry-read.js';
import { OversizeError, ZipError } from './errors.js';
import { fileDataStart, type ZipEntry } from './reader.js';
import type { ByteSource } from './source.js';
import {
  DATA_DESCRIPTOR_LEN,
  DATA_DESCRIPTOR_SIGNATURE,
  DEFLATE,
  FLAG_DATA_DESCRIPTOR,
  FLAG_ENCRYPTED,
  STORE,
} from './format.js';

/** What hashing one entry found. */
export interface EntryDigest {
  sha256: Buffer;
  size: number;
}

/** Entries up to this size (compressed and declared) are inflated in one call, not streamed. */
export const SMALL_ENTRY = 256 << 10;

/** Go's readDataDescriptor: the CRC-32 in the descriptor must match the central directory's. */
export function checkDataDescriptor(tail: Buffer, entry: ZipEntry): void {
  let off = 0;
  if (tail.length >= 4 && tail.readUInt32LE(0) === DATA_DESCRIPTOR_SIGNATURE) off = 4;
  if (tail.length < off + 8) throw new ZipError('unexpected EOF (data descriptor is missing)', entry.name);
  if (tail.readUInt32LE(off) !== entry.raw.crc32)
    throw new ZipError('zip: checksum error (data descriptor)', entry.name);
}

export function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** A zlib or stream failure of one entry, as a ZipError naming it. */
export function entryFailure(err: unknown, entry: ZipEntry): unknown {
  if (err instanceof ZipError || isAbort(err)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new ZipError(`zip: corrupt file data (${detail})`, entry.name, { cause: err });
}

interface Located {
  entry: ZipEntry;
  source: ByteSource;
  start: number;
  readEnd: number;
  layout: EntryLayout;
  hasDescriptor: boolean;
}

async function readOnce(
  at: Located,
  fast: boolean,
  signal: AbortSignal,
  offThread: OffThreadSha | undefined,
): Promise<EntryDigest> {
  const { entry, layout } = at;
  // Only the fast read may hash off thread; the exact read (rare, and the last word) hashes here.
  const hasher = new EntryHasher(layout.declaredSize, entry.name, layout.checkCrc, fast ? offThread : undefined);
  try {
    const tail = await readEntryData(at.source.createReadStream(at.start, at.readEnd), layout, hasher, fast, signal);
    if (hasher.size !== layout.declaredSize) {
      throw new ZipError(
        `uncompressed size of file ${entry.name} is smaller than declared size (${layout.declaredSize} bytes)`,
        entry.name,
      );
    }
    if (at.hasDescriptor) checkDataDescriptor(tail, entry);
    if (hasher.crcHere && layout.checkCrc && hasher.crc >>> 0 !== layout.crc32 >>> 0)
      throw new ZipError('zip: checksum error', entry.name);
  } catch (err) {
    hasher.dispose();
    throw err;
  }
  return { sha256: await hasher.digest(), size: hasher.size };
}

/** The checks of an entry's header fields, and how to read it. Throws ZipError. */
export function entryLayout(entry: ZipEntry): EntryLayout & { hasDescriptor: boolean } {
  const raw = entry.raw;
  const method = raw.compressionMethod;
  if (method !== STORE && method !== DEFLATE) throw new ZipError('zip: unsupported compression algorithm', entry.name);
  if ((raw.generalPurposeBitFlag & FLAG_ENCRYPTED) !== 0)
    throw new ZipError('zip: encrypted entries are not supported', entry.name);
  const hasDescriptor = (raw.generalPurposeBitFlag & FLAG_DATA_DESCRIPTOR) !== 0;
  return {
    method,
    compressedSize: raw.compressedSize,
    crc32: raw.crc32,
    declaredSize: raw.uncompressedSize,
    checkCrc: hasDescriptor || raw.crc32 !== 0,
    hasDescriptor,
  };
}

/** Whether an entry is small enough to inflate in one call. */
export function isSmall(layout: EntryLayout): boolean {
  return layout.compressedSize <= SMALL_ENTRY && layout.declaredSize <= SMALL_ENTRY;
}

/**
 * The payloads of a deflate stream made only of stored blocks (and maybe
 * the empty final fixed-code block zlib ends with), as views of `data`;
 * null when a coded block (or a malformed one) comes first, or the data ends
 * before the final block. Bytes after the final block are ignored, as in Go.
 */
export function storedBlocks(data: Buffer): Buffer[] | null {
  const out: Buffer[] = [];
  for (let p = 0; ;) {
    if (isFinalEmptyFixedBlock(data, p)) return out;
    if (p + 5 > data.length) return null;
    const head = data[p] ?? 0;
    if ((head & 6) !== 0) return null;
    const len = data.readUInt16LE(p + 1);
    if (data.readUInt16LE(p + 3) !== (~len & 0xffff) || p + 5 + len > data.length) return null;
    out.push(data.subarray(p + 5, p + 5 + len));
    p += 5 + len;
    if ((head & 1) === 1) return out;
  }
}

/**
 * A small entry's digest from its whole compressed data: hashed where it
 * lies when it is stored (or deflated into stored blocks only), else
 * inflated in one synchronous call, bounded by SMALL_ENTRY and by the
 * declared size (a zip bomb stops one byte past it). Throws ZipError.
 */
export function digestSmall(data: Buffer, layout: EntryLayout, entry: ZipEntry): EntryDigest {
  const larger = (): ZipError => new OversizeError(entry.name, layout.declaredSize);
  let parts = layout.method === DEFLATE ? storedBlocks(data) : [data];
  if (parts === null) {
    try {
      parts = [
        inflateRawSync(data, {
          maxOutputLength: layout.declaredSize + 1,
          chunkSize: Math.max(1024, layout.declaredSize + 1),
        }),
      ];
    } catch (err) {
      // Past maxOutputLength, zlib throws a RangeError (ERR_BUFFER_TOO_LARGE).
      throw err instanceof RangeError ? larger() : entryFailure(err, entry);
    }
  }
  const sha = createHash('sha256');
  let crc = 0;
  let size = 0;
  for (const part of parts) {
    size += part.length;
    if (size > layout.declaredSize) throw larger();
    sha.update(part);
    if (layout.checkCrc) crc = crc32(part, crc);
  }
  if (size < layout.declaredSize) {
    throw new ZipError(
      `uncompressed size of file ${entry.name} is smaller than declared size (${layout.declaredSize} bytes)`,
      entry.name,
    );
  }
  if (layout.checkCrc && crc >>> 0 !== layout.crc32 >>> 0) throw new ZipError('zip: checksum error', entry.name);
  return { sha256: sha.digest(), size };
}

/** Whether a failed fast read must be judged again by the exact read. */
export function retryExact(err: unknown, signal: AbortSignal): boolean {
  if (isAbort(err) || signal.aborted) return false;
  return !(err instanceof OversizeError);
}

/**
 * Reads, inflates and hashes one entry by random access (its own reads of
 * header and data). Resolves with its SHA-256; rejects with a ZipError
 * naming the entry, or with the signal's reason. `fast: false` skips
 * straight to the exact read.
 */
export async function digestEntry(
  zipfile: yauzl.ZipFile,
  source: ByteSource,
  entry: ZipEntry,
  signal: AbortSignal,
  fast = true,
  offThread?: OffThreadSha,
): Promise<EntryDigest> {
  const layout = entryLayout(entry);
  signal.throwIfAborted();
  const start = await fileDataStart(zipfile, entry.raw);
  signal.throwIfAborted();
  const dataEnd = start + layout.compressedSize;
  const at: Located = {
    entry,
    source,
    start,
    readEnd: layout.hasDescriptor ? Math.min(source.size, dataEnd + DATA_DESCRIPTOR_LEN) : dataEnd,
    layout,
    hasDescriptor: layout.hasDescriptor,
  };
  if (fast && layout.method === DEFLATE) {
    try {
      return await readOnce(at, true, signal, offThread);
    } catch (err) {
      if (!retryExact(err, signal)) throw entryFailure(err, entry);
    }
  }
  try {
    return await readOnce(at, false, signal, undefined);
  } catch (err) {
    throw entryFailure(err, entry);
  }
}
