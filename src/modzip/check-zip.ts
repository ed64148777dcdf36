// The name and size rules a module zip's entries must meet
// (golang.org/x/mod/zip CheckZip), checked from the central directory alone.
import { canonicalVersion, check, checkFilePath, goQuote, type ModuleVersion } from '../module/index.js';
import { REASON, reasonOf, type FileCheckReport } from './check-files.js';
import { MAX_GO_MOD, MAX_LICENSE, MAX_ZIP_FILE, ZipError } from './errors.js';
import { CollisionChecker } from './fold.js';
import { base, clean, isGoModFold } from './gopath.js';

/** A zip entry as the central directory lists it. */
export interface ZipEntryInfo {
  /** The full entry name, `<path>@<version>/<file>` in a good zip. */
  name: string;
  uncompressedSize: number;
}

/**
 * The module checks every zip function starts with: the version is
 * canonical (module.CanonicalVersion, which keeps +incompatible) and
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

/** CheckZip's per-entry rules, without the module checks; in entry order. */
export function checkZipNames(entries: ReadonlyArray<ZipEntryInfo>, mod: ModuleVersion): FileCheckReport {
  const report: FileCheckReport = { valid: [], omitted: [], invalid: [] };
  const prefix = zipPrefix(mod);
  const collisions = new CollisionChecker();
  const invalid = (path: string, reason: string): void => {
    report.invalid.push({ path, reason });
  };
  let total = 0;
  for (const e of entries) {
    if (!e.name.startsWith(prefix)) {
      invalid(e.name, `path does not have prefix ${goQuote(prefix)}`);
      continue;
    }
    let name = e.name.slice(prefix.length);
    if (name === '') continue;
    const isDir = name.endsWith('/');
    if (isDir) name = name.slice(0, -1);
    if (clean(name) !== name) {
      invalid(e.name, REASON.notClean);
      continue;
    }
    try {
      checkFilePath(name);
    } catch (err) {
      invalid(e.name, reasonOf(err));
      continue;
    }
    const collision = collisions.check(name, isDir);
    if (collision !== null) {
      invalid(e.name, collision);
      continue;
    }
    if (isDir) continue;
    const baseName = base(name);
    if (isGoModFold(baseName)) {
      if (baseName !== name) {
        invalid(e.name, 'go.mod file not in module root directory');
        continue;
      }
      if (name !== 'go.mod') {
        invalid(e.name, REASON.goModCase);
        continue;
      }
    }
    const size = e.uncompressedSize;
    if (size >= 0 && MAX_ZIP_FILE - total >= size) total += size;
    else
      report.sizeError ??= `total uncompressed size of module contents too large (max size is ${MAX_ZIP_FILE} bytes)`;
    if (name === 'go.mod' && size > MAX_GO_MOD) {
      invalid(e.name, REASON.goModSize);
      continue;
    }
    if (name === 'LICENSE' && size > MAX_LICENSE) {
      invalid(e.name, REASON.licenseSize);
      continue;
    }
    report.valid.push(e.name);
  }
  return report;
}

/**
 * CheckZip in report form, from the central directory's names and declared
 * sizes. Throws ZipError when the module path or version is bad (Go returns
 * an error and an empty report then).
 */
export function checkZipEntries(entries: ReadonlyArray<ZipEntryInfo>, mod: ModuleVersion): FileCheckReport {
  checkModuleVersion(mod);
  return checkZipNames(entries, mod);
}

/**
 * CheckedFiles.Err as a ZipError, or null when the report describes a good
 * zip: the size error first, else the first invalid file. Go lists every
 * invalid file, one per line; the message keeps to the first (the go
 * command shows only a few lines of a proxy's error anyway) and counts the rest.
 */
export function reportError(report: FileCheckReport): ZipError | null {
  if (report.sizeError !== undefined) return new ZipError(report.sizeError);
  const first = report.invalid[0];
  if (first === undefined) return null;
  const more = report.invalid.length - 1;
  const message =
    `${first.path}: ${first.reason}` + (more > 0 ? ` (and ${more} more invalid file${more > 1 ? 's' : ''})` : '');
  return new ZipError(first.reason, first.path, { message });
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
