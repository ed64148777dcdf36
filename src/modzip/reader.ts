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

class SourceReader extends yauzl.RandomAccessReader {
  constructor(private readonly source: ByteSource) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return this.source.createReadStream(start, end);
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

/** An open zip: its entries in central directory order. Close it when done. */
export interface OpenZip {
  readonly zipfile: yauzl.ZipFile;
  readonly entries: ZipEntry[];
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
 * reason when aborted.
 */
export function openZip(source: ByteSource, signal?: AbortSignal): Promise<OpenZip> {
  return new Promise<OpenZip>((resolve, reject) => {
    signal?.throwIfAborted();
    const reader = new SourceReader(source);
    const options = { lazyEntries: true, decodeStrings: false, validateEntrySizes: false, autoClose: false };
    yauzl.fromRandomAccessReader(reader, source.size, options, (err, zipfile) => {
      if (err !== null || zipfile === undefined) {
        reject(notAZip(err ?? new Error('no zip file')));
        return;
      }
      const entries: ZipEntry[] = [];
      let settled = false;
      const finish = (fail: unknown): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        zipfile.removeAllListeners('entry');
        if (fail === undefined) {
          resolve({ zipfile, entries });
          return;
        }
        zipfile.close();
        reject(fail);
      };
      const onAbort = (): void => finish(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      zipfile.on('entry', (entry: yauzl.Entry) => {
        // With decodeStrings: false, yauzl hands out the raw name bytes.
        const nameBytes = entry.fileNameRaw;
        entries.push({ index: entries.length, name: decodeName(nameBytes), nameBytes, raw: entry });
        if (!settled) zipfile.readEntry();
      });
      zipfile.on('end', () => finish(undefined));
      zipfile.on('error', (e: unknown) => finish(notAZip(e)));
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
