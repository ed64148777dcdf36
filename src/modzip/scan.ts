// The data phase of verification as one sequential read: entries are
// visited in the order of their local headers, each header parsed from the
// stream and its data hashed as it passes. No per-entry reads or streams,
// which matters for module zips of thousands of small files. Small entries
// are taken whole (digestSmall); large ones stream (entry-read.ts), their
// SHA-256 maybe off thread (ZipReadOptions.offThread): the scan goes on to the next
// entry while the worker finishes one, and collects the digests at the end.
// Entries whose data overlaps an earlier one's (never in a zip Go writes)
// are left for random access.
import { addAbortSignal } from 'node:stream';
import type yauzl from 'yauzl';
import { ByteCursor } from './cursor.js';
import {
  checkDataDescriptor,
  digestEntry,
  digestSmall,
  entryFailure,
  entryLayout,
  isSmall,
  retryExact,
  type EntryDigest,
} from './digest.js';
import { EntryHasher, type OffThreadSha } from './entry-hasher.js';
import { DeflateReader } from './entry-read.js';
import { ZipError } from './errors.js';
import type { ZipEntry } from './reader.js';
import type { ByteSource } from './source.js';
import { DATA_DESCRIPTOR_LEN, DEFLATE, LOCAL_HEADER_LEN, LOCAL_HEADER_SIGNATURE } from './format.js';

export interface ScanResult {
  digests: Map<ZipEntry, EntryDigest>;
  /** Entries the scan could not reach in order; read them by random access. */
  leftover: ZipEntry[];
}

/** Reads the local header at the cursor; leaves the cursor at the entry's data. */
async function passLocalHeader(cursor: ByteCursor, entry: ZipEntry, size: number): Promise<void> {
  const offset = cursor.pos;
  const header = await cursor.take(LOCAL_HEADER_LEN, 'a local file header');
  const signature = header.readUInt32LE(0);
  if (signature !== LOCAL_HEADER_SIGNATURE) {
    throw new ZipError(
      `zip: not a valid zip file (invalid local file header signature: 0x${signature.toString(16)})`,
      entry.name,
    );
  }
  const skip = header.readUInt16LE(26) + header.readUInt16LE(28);
  const dataStart = offset + LOCAL_HEADER_LEN + skip;
  if (dataStart + entry.raw.compressedSize > size) {
    throw new ZipError(
      `zip: not a valid zip file (file data overflows file bounds: ${dataStart} + ${entry.raw.compressedSize} > ${size})`,
      entry.name,
    );
  }
  await cursor.skip(skip, 'a local file header');
}

/** A digest the worker is still computing (wrapped: an async function would flatten a bare promise). */
interface PendingDigest {
  later: Promise<EntryDigest>;
}

/**
 * Hashes the entry's data at the cursor; leaves the cursor after it. All
 * checks are done when it resolves; the SHA-256 itself may still be on the
 * worker (pending), so the next entry's bytes can flow meanwhile.
 */
async function digestAtCursor(
  cursor: ByteCursor,
  zipfile: yauzl.ZipFile,
  source: ByteSource,
  entry: ZipEntry,
  signal: AbortSignal,
  offThread: OffThreadSha | undefined,
): Promise<EntryDigest | PendingDigest> {
  const layout = entryLayout(entry);
  const dataEnd = cursor.pos + layout.compressedSize;
  let digest: EntryDigest | PendingDigest;
  if (isSmall(layout)) {
    digest = digestSmall(await cursor.take(layout.compressedSize, entry.name), layout, entry);
  } else {
    const hasher = new EntryHasher(layout.declaredSize, entry.name, layout.checkCrc, offThread);
    const deflate = layout.method === DEFLATE ? new DeflateReader(layout, hasher, true) : undefined;
    try {
      for await (const piece of cursor.pieces(layout.compressedSize, entry.name)) {
        if (deflate !== undefined) {
          await deflate.write(piece);
          continue;
        }
        const room = hasher.room(piece.length);
        if (room !== undefined) await room;
        hasher.update(piece);
      }
      await deflate?.end();
      if (hasher.size !== layout.declaredSize) {
        throw new ZipError(
          `uncompressed size of file ${entry.name} is smaller than declared size (${layout.declaredSize} bytes)`,
          entry.name,
        );
      }
      if (hasher.crcHere && layout.checkCrc && hasher.crc >>> 0 !== layout.crc32 >>> 0)
        throw new ZipError('zip: checksum error', entry.name);
    } catch (err) {
      deflate?.destroy();
      hasher.dispose();
      if (deflate === undefined || !retryExact(err, signal)) throw entryFailure(err, entry);
      // Judge it again the exact way, by random access; then move past it here.
      const exact = await digestEntry(zipfile, source, entry, signal, false);
      if (cursor.pos < dataEnd) await cursor.skip(dataEnd - cursor.pos, entry.name);
      return exact;
    }
    const size = hasher.size;
    const sha256 = hasher.digest();
    digest = Buffer.isBuffer(sha256)
      ? { sha256, size }
      : {
          // Every check passed; only the worker failed (it died): hash the entry here instead.
          later: sha256.then(
            (b) => ({ sha256: b, size }),
            () => digestEntry(zipfile, source, entry, signal, false),
          ),
        };
  }
  if (layout.hasDescriptor) checkDataDescriptor(await cursor.peek(DATA_DESCRIPTOR_LEN), entry);
  return digest;
}

/**
 * Hashes the given entries in one pass over the source, in local header
 * order. Rejects with the first failure met (a ZipError naming the entry),
 * or with the signal's reason.
 */
export async function scanDigest(
  zipfile: yauzl.ZipFile,
  source: ByteSource,
  entries: readonly ZipEntry[],
  signal: AbortSignal,
  offThread?: OffThreadSha,
): Promise<ScanResult> {
  const digests = new Map<ZipEntry, EntryDigest>();
  const pending: Array<Promise<void>> = [];
  const leftover: ZipEntry[] = [];
  const order = entries
    .slice()
    .sort((a, b) => a.raw.relativeOffsetOfLocalHeader - b.raw.relativeOffsetOfLocalHeader || a.index - b.index);
  const first = order[0];
  if (first === undefined) return { digests, leftover };
  const start = first.raw.relativeOffsetOfLocalHeader;
  if (start > source.size)
    throw new ZipError('zip: not a valid zip file (local header offset beyond the end)', first.name);
  const stream = addAbortSignal(signal, source.createReadStream(start, source.size));
  const cursor = new ByteCursor(stream, start);
  try {
    for (const entry of order) {
      signal.throwIfAborted();
      const offset = entry.raw.relativeOffsetOfLocalHeader;
      if (offset < cursor.pos) {
        leftover.push(entry);
        continue;
      }
      await cursor.skip(offset - cursor.pos, entry.name);
      await passLocalHeader(cursor, entry, source.size);
      const digest = await digestAtCursor(cursor, zipfile, source, entry, signal, offThread);
      if ('later' in digest) {
        const done = digest.later.then((d) => void digests.set(entry, d));
        // Awaited after the loop; a failure meanwhile is not unhandled, and
        // if the loop fails first, that failure is the one reported.
        done.catch(() => undefined);
        pending.push(done);
      } else {
        digests.set(entry, digest);
      }
    }
  } finally {
    stream.destroy();
  }
  await Promise.all(pending);
  return { digests, leftover };
}
