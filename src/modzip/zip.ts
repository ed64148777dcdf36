// Module zips, as golang.org/x/mod/zip defines them, and their "h1:" hash
// (sumdb/dirhash HashZip): what a proxy must check before it keeps or
// serves a zip, so that it refuses exactly what the go command refuses.
//
// The rules a module zip for <module>@<version> must meet:
//
//   - The module path and version are valid (module.Check) and the version
//     is canonical (module.CanonicalVersion).
//   - The zip file is at most MAX_ZIP_FILE bytes (500 MiB).
//   - Every entry name starts with "<module>@<version>/". The entry that is
//     just that prefix is ignored; the rest of every other name is clean
//     (path.Clean) and a valid file path (module.CheckFilePath); a name
//     ending in '/' is a directory.
//   - No two names are equal under Unicode case folding (strings.EqualFold),
//     no name is both a file and a directory (parents count as directories),
//     and no file is listed twice.
//   - A go.mod, in any case, may only be in the root, named exactly "go.mod".
//   - The declared uncompressed sizes add up to at most MAX_ZIP_FILE; the
//     root go.mod and LICENSE are at most 16 MiB each.
//   - Every entry is stored or deflated, not encrypted, inflates to exactly
//     its declared size, and matches its CRC-32 (and its data descriptor's,
//     when it has one).
//
// The rules above that need only names and declared sizes (CheckZip) are
// checked for every entry from the central directory before any content is
// read. Then each entry is read in turn and the zip's h1 is Hash1 over every
// entry name as stored (directories and the bare prefix too) with the
// SHA-256 of its content; of a directory listed more than once only the last
// listing is read, as in HashZip. Names are bytes, as in Go: a name that is not
// UTF-8 is carried with lone surrogates for its bytes.
//
// Choosing the files of a module tree for a zip (Create, CheckFiles) adds:
// files in vendored packages, in nested modules (a directory with a go.mod)
// and .hg_archival.txt are left out, as are irregular files; absolute
// paths are invalid; the tree's sizes add up to at most MAX_ZIP_FILE.
//
// Memory per verification is what the rules need across entries — the set
// of folded names — plus the hash lines; the event loop gets a turn every
// so often (ZipReader). Pure: no disk, no network, no clock.
import { createHash } from 'node:crypto';
import { canonicalVersion, check, checkFilePath, goQuote, InvalidPathError } from '../module/index.js';
import type { ModuleVersion } from '../module/index.js';
import { Hash1Summary } from './dirhash.js';
import { strToFold } from './fold.js';
import { goModLang, langAtLeast, type GoLang } from './gomod.js';
import { asciiLower, base, clean, dir, isAbs, isGoModFold, split } from './gopath.js';
import { ZipError, ZipReader, type ByteSource, type ReadOptions, type ZipEntry } from './zipfile.js';

/** Largest module zip, and largest total uncompressed content: 500 MiB. */
export const MAX_ZIP_FILE = 500 << 20;
/** Largest root go.mod inside a module zip: 16 MiB. */
export const MAX_GO_MOD = 16 << 20;
/** Largest root LICENSE inside a module zip: 16 MiB. */
export const MAX_LICENSE = 16 << 20;

/** One file that is invalid or left out, with Go's reason text. */
export interface FileProblem {
  path: string;
  reason: string;
}

/**
 * What CheckFiles/CheckDir/CheckZip report. Every input file is in exactly
 * one of valid, omitted and invalid, each in input order.
 */
export interface FileCheckReport {
  valid: string[];
  omitted: FileProblem[];
  invalid: FileProblem[];
  /** Set when the valid files are too large in total (or the zip itself is). */
  sizeError?: string;
}

/** A file offered for a module zip: its slash-separated path from the module root. */
export interface CandidateFile {
  path: string;
  size: number;
  /** false for symbolic links and other irregular files (left out); default true. */
  isRegular?: boolean;
}

/** A zip entry as the central directory lists it. */
export interface ZipEntryInfo {
  /** The full entry name, `<path>@<version>/<file>` in a good zip. */
  name: string;
  uncompressedSize: number;
}

export interface ModuleZipSummary {
  /** dirhash.HashZip: the go.sum hash `<path> <version> h1:…`. */
  h1: string;
  /** Entries that are files (names not ending in '/'). */
  files: number;
  /** Bytes of all entries after inflating. */
  uncompressedSize: number;
}

export type ZipReadOptions = ReadOptions;

const REASON = {
  notClean: 'file path is not clean',
  notRelative: 'file path is not relative',
  goModCase: 'go.mod files must have lowercase names',
  goModNotRoot: 'go.mod file not in module root directory',
  goModSize: `go.mod file too large (max size is ${MAX_GO_MOD} bytes)`,
  licenseSize: `LICENSE file too large (max size is ${MAX_LICENSE} bytes)`,
  vendored: 'file is in vendor directory',
  submoduleFile: 'file is in another module',
  hgArchival: "file is inserted by 'hg archive' and is always omitted",
  notRegular: 'not a regular file',
  treeTooLarge: `module source tree too large (max size is ${MAX_ZIP_FILE} bytes)`,
  contentTooLarge: `total uncompressed size of module contents too large (max size is ${MAX_ZIP_FILE} bytes)`,
} as const;

/**
 * The checks every zip function starts with: the version is canonical
 * (module.CanonicalVersion, which keeps +incompatible) and
 * module.Check(path, version) passes. Throws ZipError with Go's text.
 */
export function checkModuleVersion(mod: ModuleVersion): void {
  const canonical = canonicalVersion(mod.version);
  if (canonical !== mod.version) {
    throw new ZipError(`version ${goQuote(mod.version)} is not canonical (should be ${goQuote(canonical)})`);
  }
  try {
    check(mod.path, mod.version);
  } catch (err) {
    if (err instanceof Error) throw new ZipError(err.message, undefined, { cause: err });
    throw err;
  }
}

/** The `<path>@<version>/` prefix every entry name must start with. */
export function zipPrefix(mod: ModuleVersion): string {
  return `${mod.path}@${mod.version}/`;
}

function zipTooLarge(source: ByteSource): string | null {
  return source.size > MAX_ZIP_FILE
    ? `module zip file is too large (${source.size} bytes; limit is ${MAX_ZIP_FILE} bytes)`
    : null;
}

/** The message of an error a module path check threw, for a report line. */
function reasonOf(err: unknown): string {
  if (err instanceof InvalidPathError) return err.message;
  throw err;
}

/**
 * zip's collisionChecker: case-insensitive name collisions, and paths listed
 * both as a file and as a directory. Parents of every path are registered
 * as directories. The map holds, per folded name, the path first seen with
 * it, with '/' appended for a directory; for a file whose name is already
 * folded (most names) that is the key string itself.
 */
class CollisionChecker {
  private readonly seen = new Map<string, string>();

  /** Go's reason text for the first problem with path p, or null; registers p. */
  check(p: string, isDir: boolean): string | null {
    for (let cur = p, curIsDir = isDir; ; curIsDir = true) {
      const fold = strToFold(cur);
      const other = this.seen.get(fold);
      if (other !== undefined) {
        const otherIsDir = other.endsWith('/');
        const otherPath = otherIsDir ? other.slice(0, -1) : other;
        if (cur !== otherPath) return `case-insensitive file name collision: ${goQuote(otherPath)} and ${goQuote(cur)}`;
        if (curIsDir !== otherIsDir) return `entry ${goQuote(cur)} is both a file and a directory`;
        if (!curIsDir) return `multiple entries for file ${goQuote(cur)}`;
        // The same directory again: go on up, as Go does. Its parents were
        // registered with it, but one of them may have collided then, and
        // every path under it collides again.
      } else {
        this.seen.set(fold, curIsDir ? cur + '/' : cur);
      }
      const parent = dir(cur);
      if (parent === '.' || parent === cur) return null;
      cur = parent;
    }
  }
}

/**
 * isVendoredPackage: whether name is in a package under a "vendor"
 * directory. Before Go 1.24 (as the root go.mod declares) a nested
 * ".../vendor/" is measured from the wrong offset (golang.org/issue/37397),
 * kept so old modules keep their checksums; from 1.24 the offset is right
 * and vendor/modules.txt is left out too.
 */
export function isVendoredPackage(name: string, lang: GoLang | null): boolean {
  const go124 = langAtLeast(lang, 1, 24);
  if (go124 && name === 'vendor/modules.txt') return true;
  let i: number;
  if (name.startsWith('vendor/')) {
    i = 'vendor/'.length;
  } else {
    const j = name.indexOf('/vendor/');
    if (j < 0) return false;
    i = go124 ? j + '/vendor/'.length : '/vendor/'.length;
  }
  return name.slice(i).includes('/');
}

/**
 * CheckFiles: which files of a module tree go into its zip. `goModContent`
 * is the content of the root go.mod, if the caller has it; its `go` line
 * selects the vendor rules (as Create reads it from the regular root file
 * named exactly "go.mod" among `files`).
 */
export function checkFiles(files: ReadonlyArray<CandidateFile>, goModContent?: Uint8Array): FileCheckReport {
  const report: FileCheckReport = { valid: [], omitted: [], invalid: [] };
  const errPaths = new Set<string>();
  const addError = (path: string, omitted: boolean, reason: string): void => {
    if (errPaths.has(path)) return;
    errPaths.add(path);
    (omitted ? report.omitted : report.invalid).push({ path, reason });
  };

  // Directories holding a go.mod (any case) are other modules; their files stay out.
  const haveGoMod = new Set<string>();
  let lang: GoLang | null = null;
  for (const f of files) {
    const [dirPart, basePart] = split(f.path);
    if (!isGoModFold(basePart) || f.isRegular === false) continue;
    haveGoMod.add(dirPart);
    if (basePart === 'go.mod' && dirPart === '' && goModContent !== undefined) lang = goModLang(goModContent);
  }
  const inSubmodule = (p: string): boolean => {
    for (let cur = p; ;) {
      const [dirPart] = split(cur);
      if (dirPart === '') return false;
      if (haveGoMod.has(dirPart)) return true;
      cur = dirPart.slice(0, -1);
    }
  };

  const collisions = new CollisionChecker();
  let room = MAX_ZIP_FILE;
  for (const f of files) {
    const p = f.path;
    let problem: [omitted: boolean, reason: string] | null = null;
    if (p !== clean(p)) problem = [false, REASON.notClean];
    else if (isAbs(p)) problem = [false, REASON.notRelative];
    else if (isVendoredPackage(p, lang)) problem = [true, REASON.vendored];
    else if (inSubmodule(p)) problem = [true, REASON.submoduleFile];
    else if (p === '.hg_archival.txt') problem = [true, REASON.hgArchival];
    else {
      try {
        checkFilePath(p);
      } catch (err) {
        problem = [false, reasonOf(err)];
      }
    }
    if (problem === null && asciiLower(p) === 'go.mod' && p !== 'go.mod') problem = [false, REASON.goModCase];
    if (problem === null) {
      const collision = collisions.check(p, false);
      if (collision !== null) problem = [false, collision];
      else if (f.isRegular === false) problem = [true, REASON.notRegular];
    }
    if (problem === null) {
      const size = f.size;
      if (size >= 0 && size <= room) room -= size;
      else report.sizeError ??= REASON.treeTooLarge;
      if (p === 'go.mod' && size > MAX_GO_MOD) problem = [false, REASON.goModSize];
      else if (p === 'LICENSE' && size > MAX_LICENSE) problem = [false, REASON.licenseSize];
    }
    if (problem === null) report.valid.push(p);
    else addError(p, ...problem);
  }
  return report;
}

/**
 * CheckZip's rules, one central directory entry after another, keeping
 * only what later entries are checked against (the collision set and the
 * running size). check() answers Go's reason when the entry is invalid,
 * true when it is a valid file, false for what CheckZip passes over (the
 * bare prefix and directories).
 */
class ZipRules {
  private readonly prefix: string;
  private readonly collisions = new CollisionChecker();
  private total = 0;
  sizeError: string | undefined;

  constructor(mod: ModuleVersion) {
    this.prefix = zipPrefix(mod);
  }

  check(e: ZipEntryInfo): string | boolean {
    if (!e.name.startsWith(this.prefix)) return `path does not have prefix ${goQuote(this.prefix)}`;
    let name = e.name.slice(this.prefix.length);
    if (name === '') return false;
    const isDir = name.endsWith('/');
    if (isDir) name = name.slice(0, -1);
    if (clean(name) !== name) return REASON.notClean;
    try {
      checkFilePath(name);
    } catch (err) {
      return reasonOf(err);
    }
    const collision = this.collisions.check(name, isDir);
    if (collision !== null) return collision;
    if (isDir) return false;
    const baseName = base(name);
    if (isGoModFold(baseName)) {
      if (baseName !== name) return REASON.goModNotRoot;
      if (name !== 'go.mod') return REASON.goModCase;
    }
    const size = e.uncompressedSize;
    if (size >= 0 && MAX_ZIP_FILE - this.total >= size) this.total += size;
    else this.sizeError ??= REASON.contentTooLarge;
    if (name === 'go.mod' && size > MAX_GO_MOD) return REASON.goModSize;
    if (name === 'LICENSE' && size > MAX_LICENSE) return REASON.licenseSize;
    return true;
  }
}

/** CheckZip in report form, from entry names and declared sizes. Throws ZipError for a bad module path or version. */
export function checkZipEntries(entries: ReadonlyArray<ZipEntryInfo>, mod: ModuleVersion): FileCheckReport {
  checkModuleVersion(mod);
  const rules = new ZipRules(mod);
  const report: FileCheckReport = { valid: [], omitted: [], invalid: [] };
  for (const e of entries) addToReport(report, e.name, rules.check(e));
  if (rules.sizeError !== undefined) report.sizeError = rules.sizeError;
  return report;
}

function addToReport(report: FileCheckReport, name: string, verdict: string | boolean): void {
  if (typeof verdict === 'string') report.invalid.push({ path: name, reason: verdict });
  else if (verdict) report.valid.push(name);
}

/**
 * Go's FileErrorList as one ZipError: Go lists every invalid file, one per
 * line; the message keeps to the first (the go command shows only a few
 * lines of a proxy's error anyway) and counts the rest.
 */
function invalidFiles(first: FileProblem, more: number): ZipError {
  const message =
    `${first.path}: ${first.reason}` + (more > 0 ? ` (and ${more} more invalid file${more > 1 ? 's' : ''})` : '');
  return new ZipError(first.reason, first.path, { message });
}

/** CheckedFiles.Err as a ZipError, or null when the report describes a good zip. */
export function reportError(report: FileCheckReport): ZipError | null {
  if (report.sizeError !== undefined) return new ZipError(report.sizeError);
  const first = report.invalid[0];
  return first === undefined ? null : invalidFiles(first, report.invalid.length - 1);
}

/** The report in the format of golang.org/x/mod/zip's tests (valid, omitted, invalid sections). */
export function formatReport(report: FileCheckReport): string {
  let out = 'valid:\n';
  for (const v of report.valid) out += v + '\n';
  out += '\nomitted:\n';
  for (const o of report.omitted) out += `${o.path}: ${o.reason}\n`;
  out += '\ninvalid:\n';
  for (const i of report.invalid) out += `${i.path}: ${i.reason}\n`;
  return out;
}

const EMPTY_SHA256 = createHash('sha256').digest();

/** Runs fn over every central directory entry in order; an abort rejects with the signal's reason. */
async function eachEntry(
  source: ByteSource,
  opts: ReadOptions,
  fn: (entry: ZipEntry, zip: ZipReader) => void | Promise<void>,
): Promise<number> {
  const { signal } = opts;
  try {
    const zip = await ZipReader.open(source, opts);
    try {
      let n = 0;
      for (let e = await zip.next(); e !== null; e = await zip.next(), n++) await fn(e, zip);
      return n;
    } finally {
      zip.close();
    }
  } catch (err) {
    // Streams end an aborted read with their own error; report the signal's reason.
    signal?.throwIfAborted();
    throw err;
  }
}

/**
 * Verifies a module zip for mod and computes its h1 hash: every rule in
 * this file's opening comment, in that order, with bounded memory. Throws
 * ZipError naming the first problem in Go's words; a malformed or
 * truncated zip is a ZipError too.
 */
export async function verifyModuleZip(
  source: ByteSource,
  mod: ModuleVersion,
  opts: ZipReadOptions = {},
): Promise<ModuleZipSummary> {
  opts.signal?.throwIfAborted();
  checkModuleVersion(mod);
  const tooLarge = zipTooLarge(source);
  if (tooLarge !== null) throw new ZipError(tooLarge);

  const rules = new ZipRules(mod);
  let first: FileProblem | undefined;
  let invalid = 0;
  // A name may be listed more than once only for a directory (or the bare
  // prefix); HashZip reads only the last entry of a name, as its map keeps it.
  const lastDirEntry = new Map<string, number>();
  let index = 0;
  const entries = await eachEntry(source, opts, (e) => {
    if (e.name.endsWith('/')) lastDirEntry.set(e.nameBytes.toString('latin1'), index);
    index++;
    const verdict = rules.check(e);
    if (typeof verdict !== 'string') return;
    first ??= { path: e.name, reason: verdict };
    invalid++;
  });
  if (rules.sizeError !== undefined) throw new ZipError(rules.sizeError);
  if (first !== undefined) throw invalidFiles(first, invalid - 1);

  const summary = new Hash1Summary();
  let files = 0;
  let uncompressedSize = 0;
  index = 0;
  await eachEntry(source, opts, async (e, zip) => {
    const last = !e.name.endsWith('/') || lastDirEntry.get(e.nameBytes.toString('latin1')) === index;
    index++;
    // An earlier listing of a directory hashes as the last one, which is read (a directory is always empty).
    const { sha256, size } = last ? await zip.read(e) : { sha256: EMPTY_SHA256, size: 0 };
    summary.add(e.nameBytes, sha256);
    if (!e.name.endsWith('/')) files++;
    uncompressedSize += size;
  });
  if (summary.count !== entries) throw new ZipError('zip: the central directory changed while it was read');
  return { h1: await summary.digest(opts.yieldTurn), files, uncompressedSize };
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
  const tooLarge = zipTooLarge(source);
  if (tooLarge !== null) throw new ZipError(tooLarge);
  let declared = 0;
  const names = new Map<string, { last: number; count: number }>();
  let index = 0;
  await eachEntry(source, opts, (e) => {
    declared += e.uncompressedSize;
    const key = e.nameBytes.toString('latin1');
    names.set(key, { last: index++, count: (names.get(key)?.count ?? 0) + 1 });
  });
  if (declared > MAX_ZIP_FILE) throw new ZipError(REASON.contentTooLarge);

  const summary = new Hash1Summary();
  let files = 0;
  let uncompressedSize = 0;
  index = 0;
  await eachEntry(source, opts, async (e, zip) => {
    const name = names.get(e.nameBytes.toString('latin1'));
    if (name === undefined || name.last !== index++) return;
    const { sha256, size } = await zip.read(e);
    for (let i = 0; i < name.count; i++) summary.add(e.nameBytes, sha256);
    if (!e.name.endsWith('/')) files += name.count;
    uncompressedSize += size * name.count;
  });
  return { h1: await summary.digest(opts.yieldTurn), files, uncompressedSize };
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
  const rules = new ZipRules(mod);
  const report: FileCheckReport = { valid: [], omitted: [], invalid: [] };
  await eachEntry(source, opts, (e) => addToReport(report, e.name, rules.check(e)));
  if (rules.sizeError !== undefined) report.sizeError = rules.sizeError;
  return report;
}
