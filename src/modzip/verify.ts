// Verifying a module zip in one pass: CheckZip's rules over the central
// directory, then every entry streamed through inflate into SHA-256 with
// Unzip's size checks, giving dirhash.HashZip's "h1:" hash.
import type { ModuleVersion } from '../module/index.js';
import type { FileCheckReport } from './check-files.js';
import { checkModuleVersion, checkZipNames, reportError } from './check-zip.js';
import { digestAll, type ZipReadOptions } from './digest-all.js';
import type { EntryDigest } from './digest.js';
import { MAX_ZIP_FILE, ZipError } from './errors.js';
import { hash1Bytes } from './hash.js';
import { openZip, type ZipEntry } from './reader.js';
import type { ByteSource } from './source.js';

export interface ModuleZipSummary {
  /** dirhash.HashZip: the go.sum hash `<path> <version> h1:…`. */
  h1: string;
  /** Entries that are files (names not ending in '/'). */
  files: number;
  /** Bytes of all entries after inflating. */
  uncompressedSize: number;
}

export type { ZipReadOptions };

function zipTooLarge(source: ByteSource): string | null {
  return source.size > MAX_ZIP_FILE
    ? `module zip file is too large (${source.size} bytes; limit is ${MAX_ZIP_FILE} bytes)`
    : null;
}

function checkZipSize(source: ByteSource): void {
  const tooLarge = zipTooLarge(source);
  if (tooLarge !== null) throw new ZipError(tooLarge);
}

function summarize(pairs: ReadonlyArray<{ entry: ZipEntry; digest: EntryDigest }>): ModuleZipSummary {
  let files = 0;
  let uncompressedSize = 0;
  const lines = pairs.map(({ entry, digest }) => {
    if (!entry.name.endsWith('/')) files++;
    uncompressedSize += digest.size;
    return { name: entry.nameBytes, sha256: digest.sha256 };
  });
  return { h1: hash1Bytes(lines), files, uncompressedSize };
}

/** Pairs each entry with the digest the lookup gives for it. */
function pair(
  entries: readonly ZipEntry[],
  lookup: (e: ZipEntry) => EntryDigest | undefined,
): Array<{ entry: ZipEntry; digest: EntryDigest }> {
  return entries.map((entry) => {
    const digest = lookup(entry);
    if (digest === undefined) throw new Error(`internal error: no digest for entry ${entry.index}`);
    return { entry, digest };
  });
}

/**
 * Verifies a module zip for mod and computes its h1 hash, in one pass over
 * the source with bounded memory: the module checks, the zip size, CheckZip's
 * rules for every entry name and declared size, then each entry inflated
 * into SHA-256 in one sequential pass (entries the pass cannot reach are
 * read by random access, up to `concurrency` at once), refusing any whose real size
 * or CRC-32 differs from the declared one. Throws ZipError naming the first
 * problem in Go's words; a malformed or truncated zip is a ZipError too.
 */
export async function verifyModuleZip(
  source: ByteSource,
  mod: ModuleVersion,
  opts: ZipReadOptions = {},
): Promise<ModuleZipSummary> {
  opts.signal?.throwIfAborted();
  checkModuleVersion(mod);
  checkZipSize(source);
  const zip = await openZip(source, opts.signal);
  try {
    const entries = zip.entries.map((e) => ({ name: e.name, uncompressedSize: e.raw.uncompressedSize }));
    const problem = reportError(checkZipNames(entries, mod));
    if (problem !== null) throw problem;
    const digests = await digestAll(zip, source, zip.entries, opts);
    return summarize(pair(zip.entries, (e) => digests[e.index]));
  } finally {
    zip.close();
  }
}

/**
 * dirhash.HashZip over any zip, without the module rules: every entry name
 * as stored, duplicates included (each hashed with the content of the last
 * entry of that name, as Go's map lookup does). Still refuses zips the go
 * command would not read: over MAX_ZIP_FILE in size or declared content,
 * malformed, or with an entry whose size or CRC-32 lies.
 */
export async function hashZip(source: ByteSource, opts: ZipReadOptions = {}): Promise<ModuleZipSummary> {
  opts.signal?.throwIfAborted();
  checkZipSize(source);
  const zip = await openZip(source, opts.signal);
  try {
    let declared = 0;
    const last = new Map<string, ZipEntry>();
    for (const e of zip.entries) {
      declared += e.raw.uncompressedSize;
      last.set(e.nameBytes.toString('latin1'), e);
    }
    if (declared > MAX_ZIP_FILE) {
      throw new ZipError(`total uncompressed size of module contents too large (max size is ${MAX_ZIP_FILE} bytes)`);
    }
    const unique = [...last.values()].sort((a, b) => a.index - b.index);
    const digests = await digestAll(zip, source, unique, opts);
    const byName = new Map<string, EntryDigest | undefined>(
      unique.map((e, i) => [e.nameBytes.toString('latin1'), digests[i]]),
    );
    return summarize(pair(zip.entries, (e) => byName.get(e.nameBytes.toString('latin1'))));
  } finally {
    zip.close();
  }
}

/**
 * CheckZip: the report of a zip's entry names and declared sizes, from its
 * central directory only (no entry is inflated). A zip over MAX_ZIP_FILE
 * gives a report with only sizeError. Throws ZipError for a bad module path
 * or version, or a malformed zip.
 */
export async function checkZip(
  source: ByteSource,
  mod: ModuleVersion,
  opts: ZipReadOptions = {},
): Promise<FileCheckReport> {
  checkModuleVersion(mod);
  const tooLarge = zipTooLarge(source);
  if (tooLarge !== null) return { valid: [], omitted: [], invalid: [], sizeError: tooLarge };
  const zip = await openZip(source, opts.signal);
  zip.close();
  return checkZipNames(
    zip.entries.map((e) => ({ name: e.name, uncompressedSize: e.raw.uncompressedSize })),
    mod,
  );
}
