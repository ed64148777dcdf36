// Streaming one zip entry through inflate into SHA-256, enforcing what Go's
// archive/zip reader and modzip.Unzip enforce: the declared uncompressed
// size exactly (a zip bomb stops one inflate chunk past it), the CRC-32, and
// the data descriptor's CRC when there is one.
import { createHash } from 'node:crypto';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import { ZipError } from './errors.js';
import { fileDataStart, type ZipEntry } from './reader.js';
import type { ByteSource } from './source.js';
import type yauzl from 'yauzl';

const STORE = 0;
const DEFLATE = 8;
const FLAG_ENCRYPTED = 0x1;
const FLAG_DATA_DESCRIPTOR = 0x8;
const DATA_DESCRIPTOR_SIGNATURE = 0x08074b50;
/** Largest data descriptor Go reads: optional signature, CRC-32 and two sizes. */
const DATA_DESCRIPTOR_LEN = 16;
/**
 * Inflate output chunk. Each chunk is one trip to libuv's thread pool, so
 * bigger chunks mean fewer trips; 256 KiB keeps per-entry memory small.
 */
const INFLATE_CHUNK = 256 << 10;

/** What hashing one entry found. */
export interface EntryDigest {
  sha256: Buffer;
  size: number;
}

/** Passes the first `limit` bytes through and keeps up to 16 bytes after them (the data descriptor). */
class SplitTail extends Transform {
  private seen = 0;
  tail: Buffer = Buffer.alloc(0);

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const room = this.limit - this.seen;
    this.seen += chunk.length;
    if (room >= chunk.length) {
      cb(null, chunk);
      return;
    }
    if (room > 0) this.push(chunk.subarray(0, room));
    const rest = chunk.subarray(Math.max(room, 0));
    if (this.tail.length < DATA_DESCRIPTOR_LEN) {
      this.tail = Buffer.concat([this.tail, rest]).subarray(0, DATA_DESCRIPTOR_LEN);
    }
    cb();
  }
}

/** Hashes what it is given, refusing more than the declared size. */
class HashSink extends Writable {
  private readonly sha = createHash('sha256');
  crc = 0;
  size = 0;

  constructor(
    private readonly declared: number,
    private readonly name: string,
  ) {
    super({ highWaterMark: INFLATE_CHUNK });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.size += chunk.length;
    if (this.size > this.declared) {
      cb(new ZipError(`uncompressed size of file ${this.name} is larger than declared size (${this.declared} bytes)`, this.name));
      return;
    }
    this.sha.update(chunk);
    this.crc = crc32(chunk, this.crc);
    cb();
  }

  digest(): Buffer {
    return this.sha.digest();
  }
}

/** Go's readDataDescriptor: the CRC-32 in the descriptor must match the central directory's. */
function checkDataDescriptor(tail: Buffer, entry: ZipEntry): void {
  let off = 0;
  if (tail.length >= 4 && tail.readUInt32LE(0) === DATA_DESCRIPTOR_SIGNATURE) off = 4;
  if (tail.length < off + 8) throw new ZipError('unexpected EOF (data descriptor is missing)', entry.name);
  if (tail.readUInt32LE(off) !== entry.raw.crc32) throw new ZipError('zip: checksum error (data descriptor)', entry.name);
}

/** A zlib or stream failure of one entry, as a ZipError naming it. */
function entryFailure(err: unknown, entry: ZipEntry): unknown {
  if (err instanceof ZipError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new ZipError(`zip: corrupt file data (${detail})`, entry.name, { cause: err });
}

/**
 * Reads, inflates and hashes one entry. Resolves with its SHA-256; rejects
 * with a ZipError naming the entry, or with the signal's reason.
 */
export async function digestEntry(
  zipfile: yauzl.ZipFile,
  source: ByteSource,
  entry: ZipEntry,
  signal: AbortSignal,
): Promise<EntryDigest> {
  const raw = entry.raw;
  const method = raw.compressionMethod;
  if (method !== STORE && method !== DEFLATE) throw new ZipError('zip: unsupported compression algorithm', entry.name);
  if ((raw.generalPurposeBitFlag & FLAG_ENCRYPTED) !== 0) throw new ZipError('zip: encrypted entries are not supported', entry.name);
  const hasDescriptor = (raw.generalPurposeBitFlag & FLAG_DATA_DESCRIPTOR) !== 0;

  signal.throwIfAborted();
  const start = await fileDataStart(zipfile, raw);
  signal.throwIfAborted();
  const dataEnd = start + raw.compressedSize;
  const readEnd = hasDescriptor ? Math.min(source.size, dataEnd + DATA_DESCRIPTOR_LEN) : dataEnd;

  const input = source.createReadStream(start, readEnd);
  const split = new SplitTail(raw.compressedSize);
  const sink = new HashSink(raw.uncompressedSize, entry.name);
  try {
    if (method === DEFLATE) {
      const inflate = createInflateRaw({ chunkSize: INFLATE_CHUNK });
      await pipeline(input, split, inflate, sink, { signal });
    } else {
      await pipeline(input, split, sink, { signal });
    }
  } catch (err) {
    throw entryFailure(err, entry);
  }
  if (sink.size !== raw.uncompressedSize) {
    throw new ZipError(
      `uncompressed size of file ${entry.name} is smaller than declared size (${raw.uncompressedSize} bytes)`,
      entry.name,
    );
  }
  if (hasDescriptor) checkDataDescriptor(split.tail, entry);
  if ((hasDescriptor || raw.crc32 !== 0) && sink.crc >>> 0 !== raw.crc32 >>> 0) {
    throw new ZipError('zip: checksum error', entry.name);
  }
  return { sha256: sink.digest(), size: sink.size };
}
