// Building module zips in tests, with yazl.
//
// createModuleZip(mod, files) makes the zip golang.org/x/mod/zip's Create
// would: it checks the module path and version and the files by Create's
// rules (vendored packages, nested modules and .hg_archival.txt are left
// out; a bad name, case collision or oversized file is an error), then writes
// the kept files as `<path>@<version>/<file>` entries, deflated, in input
// order, with no directory entries. Its h1 is what the go command computes.
//
// rawZip(entries) writes exactly the entries it is given, names as given
// (even names yazl or Go's Create would refuse: '..', absolute, backslashes,
// invalid UTF-8), for tests of malformed zips. patchCentralDirectory then
// lets a test make the central directory lie about an entry.
import { crc32 } from 'node:zlib';
import yazl from 'yazl';
import { checkFiles, checkModuleVersion, reportError, zipPrefix } from '../../src/modzip/index.js';
import type { ModuleVersion } from '../../src/module/index.js';

export interface ZipInputFile {
  name: string;
  data: Uint8Array | string;
}

/** Files as a list (order kept, duplicates allowed) or as a name → content record. */
export type ZipInputFiles = ReadonlyArray<ZipInputFile> | Readonly<Record<string, Uint8Array | string>>;

/** DOS timestamps cannot go before 1980; Go writes zero times, which also end up there. */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);

function toList(files: ZipInputFiles): ZipInputFile[] {
  if (Array.isArray(files)) return [...(files as ReadonlyArray<ZipInputFile>)];
  return Object.entries(files as Readonly<Record<string, Uint8Array | string>>).map(([name, data]) => ({ name, data }));
}

function bytes(data: Uint8Array | string): Buffer {
  return typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function finish(zip: yazl.ZipFile): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const out = zip.outputStream;
    out.on('data', (c: Buffer) => chunks.push(c));
    out.on('error', reject);
    out.on('end', () => resolve(Buffer.concat(chunks)));
    zip.end();
  });
}

/**
 * The module zip modzip.Create would write for mod from these files.
 * Throws ZipError where Create fails (bad module path or version, invalid
 * file names, collisions, sizes).
 */
export async function createModuleZip(mod: ModuleVersion, files: ZipInputFiles): Promise<Buffer> {
  checkModuleVersion(mod);
  const list = toList(files);
  let rootGoMod: Buffer | undefined;
  for (const f of list) if (f.name === 'go.mod') rootGoMod = bytes(f.data);
  const report = checkFiles(
    list.map((f) => ({ path: f.name, size: bytes(f.data).length })),
    rootGoMod,
  );
  const problem = reportError(report);
  if (problem !== null) throw problem;

  // checkFiles lists valid paths in input order; a valid path occurs once.
  const keep = new Set(report.valid);
  const prefix = zipPrefix(mod);
  const zip = new yazl.ZipFile();
  for (const f of list) {
    if (!keep.delete(f.name)) continue;
    zip.addBuffer(bytes(f.data), prefix + f.name, { compress: true, mtime: FIXED_MTIME, forceDosTimestamp: true });
  }
  return finish(zip);
}

export interface RawZipEntry {
  /** The entry name exactly as stored: a string (UTF-8) or raw bytes. */
  name: string | Uint8Array;
  data: Uint8Array | string;
}

/** End of central directory: [central directory offset, entry count]. */
function centralDirectory(zip: Buffer): [number, number] {
  const eocd = zip.length - 22;
  if (eocd < 0 || zip.readUInt32LE(eocd) !== 0x06054b50)
    throw new Error('rawZip: no plain end of central directory record');
  return [zip.readUInt32LE(eocd + 16), zip.readUInt16LE(eocd + 10)];
}

/** Offsets of each central directory record. */
function centralRecords(zip: Buffer): number[] {
  const [offset, count] = centralDirectory(zip);
  const out: number[] = [];
  for (let i = 0, p = offset; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`rawZip: bad central directory record ${i}`);
    out.push(p);
    p += 46 + zip.readUInt16LE(p + 28) + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return out;
}

/**
 * A zip holding exactly these entries, in order, deflated (or stored with
 * `{ compress: false }`), no directory entries added. Names are written as
 * given: yazl gets a placeholder of the same byte length, which is then
 * overwritten in the local and central headers. Names must not be empty.
 */
export async function rawZip(entries: ReadonlyArray<RawZipEntry>, opts: { compress?: boolean } = {}): Promise<Buffer> {
  const names = entries.map((e) => (typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : Buffer.from(e.name)));
  const zip = new yazl.ZipFile();
  entries.forEach((e, i) => {
    const n = names[i]?.length ?? 0;
    if (n === 0) throw new Error('rawZip: empty entry names are not supported');
    const compress = opts.compress ?? true;
    zip.addBuffer(bytes(e.data), 'x'.repeat(n), { compress, mtime: FIXED_MTIME, forceDosTimestamp: true });
  });
  const out = await finish(zip);
  centralRecords(out).forEach((cd, i) => {
    const name = names[i];
    if (name === undefined || out.readUInt16LE(cd + 28) !== name.length)
      throw new Error(`rawZip: unexpected layout at entry ${i}`);
    name.copy(out, cd + 46);
    name.copy(out, out.readUInt32LE(cd + 42) + 30);
  });
  return out;
}

export interface CentralDirectoryPatch {
  uncompressedSize?: number;
  compressedSize?: number;
  crc32?: number;
  method?: number;
  flags?: number;
}

/** Rewrites fields of entry `index` in the central directory (where Go reads them) in place. */
export function patchCentralDirectory(zip: Buffer, index: number, patch: CentralDirectoryPatch): Buffer {
  const cd = centralRecords(zip)[index];
  if (cd === undefined) throw new Error(`patchCentralDirectory: no entry ${index}`);
  if (patch.flags !== undefined) zip.writeUInt16LE(patch.flags, cd + 8);
  if (patch.method !== undefined) zip.writeUInt16LE(patch.method, cd + 10);
  if (patch.crc32 !== undefined) zip.writeUInt32LE(patch.crc32 >>> 0, cd + 16);
  if (patch.compressedSize !== undefined) zip.writeUInt32LE(patch.compressedSize, cd + 20);
  if (patch.uncompressedSize !== undefined) zip.writeUInt32LE(patch.uncompressedSize, cd + 24);
  return zip;
}

/** One entry of zipBytes: central directory fields, and what the local header and data hold. */
export interface ByteZipEntry {
  name: string;
  data?: string;
  flags?: number;
  method?: number;
  /** Declared uncompressed size (default: the data's length). */
  usize?: number;
  /** Central directory extra field. */
  extra?: Buffer;
  /** Bytes after the data (a data descriptor). */
  descriptor?: Buffer;
}

/**
 * A zip written byte by byte, stored entries only, for shapes no zip writer
 * makes: bytes before it (`before`, with offsets relative to the archive
 * when `relative`) or after it, a record count, a disk number.
 */
export function zipBytes(
  entries: ReadonlyArray<ByteZipEntry>,
  o: { before?: Buffer; relative?: boolean; after?: Buffer; count?: number; disk?: number } = {},
): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    off += b.length;
  };
  if (o.before !== undefined) push(o.before);
  const base = o.relative === true ? (o.before?.length ?? 0) : 0;
  const offsets: number[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const name = Buffer.from(e.name);
    offsets.push(off - base);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(name.length, 26);
    push(h);
    push(name);
    push(data);
    if (e.descriptor !== undefined) push(e.descriptor);
  }
  const cd = off;
  entries.forEach((e, i) => {
    const data = Buffer.from(e.data ?? '');
    const name = Buffer.from(e.name);
    const extra = e.extra ?? Buffer.alloc(0);
    const h = Buffer.alloc(46);
    h.writeUInt32LE(0x02014b50, 0);
    h.writeUInt16LE(20, 6);
    h.writeUInt16LE(e.flags ?? 0, 8);
    h.writeUInt16LE(e.method ?? 0, 10);
    h.writeUInt32LE(crc32(data), 16);
    h.writeUInt32LE(data.length, 20);
    h.writeUInt32LE(e.usize ?? data.length, 24);
    h.writeUInt16LE(name.length, 28);
    h.writeUInt16LE(extra.length, 30);
    h.writeUInt32LE(offsets[i] ?? 0, 42);
    push(h);
    push(name);
    push(extra);
  });
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(o.disk ?? 0, 4);
  end.writeUInt16LE((o.count ?? entries.length) & 0xffff, 8);
  end.writeUInt16LE((o.count ?? entries.length) & 0xffff, 10);
  end.writeUInt32LE(off - cd, 12);
  end.writeUInt32LE(cd - base, 16);
  push(end);
  if (o.after !== undefined) push(o.after);
  return Buffer.concat(parts);
}
