// Reading a zip's central directory through yauzl, over a ByteSource.
// Names stay raw bytes (decodeStrings: false): Go treats a name as bytes, so
// a name that is not UTF-8 must reach the file path rules, not be decoded
// as CP437 or replaced by an Info-ZIP Unicode Path field.
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { decodeGoBytes } from '../module/index.js';
import { ZipError } from './errors.js';
import type { ByteSource } from './source.js';

/** Least bytes one read() of the source fetches (and keeps for the reads after it). */
const READ_AHEAD = 64 << 10;

class SourceReader extends yauzl.RandomAccessReader {
  /** Streams yauzl is reading, so an abort can end reads that would never finish. */
  private readonly live = new Set<Readable>();
  /** The bytes of the last read(), read ahead. */
  private ahead: { start: number; bytes: Buffer } | undefined;

  constructor(private readonly source: ByteSource) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const stream = this.source.createReadStream(start, end);
    this.live.add(stream);
    stream.once('close', () => this.live.delete(stream));
    return stream;
  }

  /**
   * yauzl's small reads (central directory records, local headers). With a
   * source that can read a range in one piece, no stream is made; the
   * callback still comes in a later microtask, as yauzl's recursion needs.
   * Each read fetches at least READ_AHEAD bytes (within the source) and
   * keeps them: the central directory is read record by record, two reads
   * each, which for a file would be one trip to the thread pool per read.
   */
  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null) => void,
  ): void {
    const direct = this.source.read;
    if (direct === undefined) {
      super.read(buffer, offset, length, position, callback);
      return;
    }
    const done = callback as (err: Error | null, bytesRead?: number) => void;
    const deliver = (bytes: Buffer, from: number): void => {
      const n = Math.max(0, Math.min(bytes.length - from, length));
      bytes.copy(buffer, offset, from, from + n);
      done(null, n);
    };
    const cached = this.ahead;
    if (cached !== undefined && position >= cached.start && position + length <= cached.start + cached.bytes.length) {
      queueMicrotask(() => deliver(cached.bytes, position - cached.start));
      return;
    }
    const fail = (err: unknown): void => done(err instanceof Error ? err : new Error(String(err)));
    const keep = (bytes: Buffer): void => {
      this.ahead = { start: position, bytes };
      deliver(bytes, 0);
    };
    const end = Math.max(position + length, Math.min(this.source.size, position + READ_AHEAD));
    try {
      const got = direct.call(this.source, position, end);
      if (got instanceof Promise) got.then(keep, fail);
      else queueMicrotask(() => keep(got));
    } catch (err) {
      queueMicrotask(() => fail(err));
    }
  }

  destroyAll(reason: unknown): void {
    const err = reason instanceof Error ? reason : new Error(String(reason));
    for (const stream of this.live) stream.destroy(err);
    this.live.clear();
  }
}

/** A central directory entry with its name decoded the way Go sees it. */
export interface ZipEntry {
  /** Position in the central directory. */
  readonly index: number;
  /** The name as Go holds it; bytes that are not UTF-8 are lone surrogates (module's decodeGoBytes). */
  readonly name: string;
  readonly nameBytes: Buffer;
  readonly raw: yauzl.Entry;
}

/** An open zip: its entries in central directory order. Call close() when done. */
export interface OpenZip {
  readonly zipfile: yauzl.ZipFile;
  readonly entries: ZipEntry[];
  close(): void;
}

/** Wraps a failure to parse the zip structure in Go's words for it. */
export function notAZip(err: unknown): ZipError {
  if (err instanceof ZipError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new ZipError(`zip: not a valid zip file (${detail})`, undefined, { cause: err });
}

function decodeName(raw: Buffer): string {
  return isUtf8(raw) ? raw.toString('utf8') : decodeGoBytes(raw);
}

/**
 * Opens the zip and reads its whole central directory. Rejects with a
 * ZipError when the structure is malformed or truncated, with the signal's
 * reason when aborted. Until close(), an abort also ends every read yauzl
 * has in flight (local header reads included).
 */
export function openZip(source: ByteSource, signal?: AbortSignal): Promise<OpenZip> {
  signal?.throwIfAborted();
  const reader = new SourceReader(source);
  return new Promise<OpenZip>((resolve, reject) => {
    let settled = false;
    let opened: yauzl.ZipFile | undefined;
    const onAbort = (): void => {
      reader.destroyAll(signal?.reason);
      fail(signal?.reason);
    };
    const close = (): void => {
      signal?.removeEventListener('abort', onAbort);
      opened?.close();
    };
    function fail(err: unknown): void {
      if (settled) return;
      settled = true;
      close();
      reject(err);
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const options = { lazyEntries: true, decodeStrings: false, validateEntrySizes: false, autoClose: false };
    yauzl.fromRandomAccessReader(reader, source.size, options, (err, zipfile) => {
      if (err !== null || zipfile === undefined) {
        fail(notAZip(err ?? new Error('no zip file')));
        return;
      }
      opened = zipfile;
      if (settled) {
        zipfile.close();
        return;
      }
      const entries: ZipEntry[] = [];
      zipfile.on('entry', (entry: yauzl.Entry) => {
        // With decodeStrings: false, yauzl hands out the raw name bytes.
        const nameBytes = entry.fileNameRaw;
        entries.push({ index: entries.length, name: decodeName(nameBytes), nameBytes, raw: entry });
        if (!settled) zipfile.readEntry();
      });
      zipfile.on('end', () => {
        if (settled) return;
        settled = true;
        resolve({ zipfile, entries, close });
      });
      zipfile.on('error', (e: unknown) => fail(notAZip(e)));
      zipfile.readEntry();
    });
  });
}

/** Where an entry's data starts, from its local file header (checked by yauzl). */
export function fileDataStart(zipfile: yauzl.ZipFile, entry: yauzl.Entry): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    zipfile.readLocalFileHeader(entry, { minimal: true }, (err, header) => {
      if (err !== null) reject(notAZip(err));
      else resolve(header.fileDataStart);
    });
  });
}
