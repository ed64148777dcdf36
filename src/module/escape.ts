// The case-escaping of module paths and versions in proxy URLs and cache file
// names: every uppercase ASCII letter becomes '!' + its lowercase form, so no
// two distinct paths differ only in case on a case-insensitive file system.
// (golang.org/x/mod/module EscapePath, EscapeVersion, UnescapePath, UnescapeVersion.)
import { InvalidPathError, InvalidVersionError } from './errors.js';
import { goQuote } from './goquote.js';
import { checkElem, checkPath } from './path.js';

const INCONSISTENCY = 'internal error: inconsistency in EscapePath';

/**
 * Escapes s, or returns null if it holds '!' or a non-ASCII character (which
 * the callers' checks should already have excluded). No copy without uppercase.
 */
function escapeString(s: string): string | null {
  let haveUpper = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x21 || c >= 0x80) return null;
    if (c >= 0x41 && c <= 0x5a) haveUpper = true;
  }
  if (!haveUpper) return s;
  let out = '';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) {
      out += s.slice(run, i) + '!' + String.fromCharCode(c + 32);
      run = i + 1;
    }
  }
  return out + s.slice(run);
}

/**
 * The unescaped form of s, or null when s is not a valid escaping: a
 * non-ASCII character, an uppercase letter, or '!' not followed by a-z.
 */
function unescapeString(s: string): string | null {
  let out = '';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || (c >= 0x41 && c <= 0x5a)) return null;
    if (c === 0x21) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : -1;
      if (next < 0x61 || next > 0x7a) return null;
      out += s.slice(run, i) + String.fromCharCode(next - 32);
      i++;
      run = i + 1;
    }
  }
  return run === 0 ? s : out + s.slice(run);
}

/**
 * godepot's bounds on what a client may ask for, escaped: Go sets none, but a
 * module path and version become storage keys, and no real module comes near
 * them. A key is at most 1024 characters with its folder and suffix, and each
 * of its names at most NAME_MAX: every path element is a folder, a version a
 * file name with its suffix (<version>.info), and a checksum-database record
 * is kept as <last element>@<version>.
 */
const MAX_ESCAPED_PATH_LENGTH = 512;
/** The longest file or folder name (bytes) on the filesystems godepot runs on (Linux NAME_MAX). */
const NAME_MAX = 255;
const MAX_ESCAPED_VERSION_LENGTH = NAME_MAX - '.info'.length;

/** Why an escaped path@version from a request is too long to serve, or null. */
export function escapedLengthProblem(escapedPath: string, escapedVersion = ''): string | null {
  if (escapedPath.length > MAX_ESCAPED_PATH_LENGTH)
    return `module path too long (${escapedPath.length} characters escaped; godepot serves at most ${MAX_ESCAPED_PATH_LENGTH})`;
  let longest = 0;
  let last = 0; // the length of the last element
  for (let start = 0; ;) {
    const slash = escapedPath.indexOf('/', start);
    last = (slash < 0 ? escapedPath.length : slash) - start;
    longest = Math.max(longest, last);
    if (slash < 0) break;
    start = slash + 1;
  }
  if (longest > NAME_MAX)
    return `module path element too long (${longest} characters escaped; godepot serves at most ${NAME_MAX})`;
  if (escapedVersion.length > MAX_ESCAPED_VERSION_LENGTH)
    return `version too long (${escapedVersion.length} characters escaped; godepot serves at most ${MAX_ESCAPED_VERSION_LENGTH})`;
  const record = last + 1 + escapedVersion.length;
  if (escapedPath !== '' && escapedVersion !== '' && record > NAME_MAX)
    return `version too long for this module path (its last element and version make ${record} characters escaped; godepot serves at most ${NAME_MAX})`;
  return null;
}

/** module.EscapePath: throws InvalidPathError if path is not a valid module path. */
export function escapePath(path: string): string {
  checkPath(path);
  const escaped = escapeString(path);
  if (escaped === null) throw new InvalidPathError('module', path, INCONSISTENCY, INCONSISTENCY);
  return escaped;
}

/**
 * module.EscapeVersion: versions need not be semver, but must be valid file
 * names without '!'. Throws InvalidVersionError ('disallowed version string').
 */
export function escapeVersion(v: string): string {
  if (checkElem(v, 'file') !== null || v.includes('!')) {
    throw new InvalidVersionError(v, false, 'disallowed version string');
  }
  const escaped = escapeString(v);
  if (escaped === null) throw new InvalidVersionError(v, false, INCONSISTENCY, INCONSISTENCY);
  return escaped;
}

/**
 * module.UnescapePath: the module path for an escaped path. Throws
 * InvalidPathError (kind 'module', path = the escaped input) with Go's text:
 * `invalid escaped module path "<esc>"` or `...: <CheckPath error>`.
 */
export function unescapePath(escaped: string): string {
  const path = unescapeString(escaped);
  if (path === null) {
    throw new InvalidPathError(
      'module',
      escaped,
      'invalid escaping',
      `invalid escaped module path ${goQuote(escaped)}`,
    );
  }
  try {
    checkPath(path);
  } catch (err) {
    if (!(err instanceof InvalidPathError)) throw err;
    throw new InvalidPathError(
      'module',
      escaped,
      err.reason,
      `invalid escaped module path ${goQuote(escaped)}: ${err.message}`,
    );
  }
  return path;
}

/**
 * module.UnescapeVersion: the version for an escaped version. Throws
 * InvalidVersionError with Go's text: `invalid escaped version "<esc>"` or
 * `invalid escaped version "<v>": <reason>`.
 */
export function unescapeVersion(escaped: string): string {
  const v = unescapeString(escaped);
  if (v === null) {
    throw new InvalidVersionError(escaped, false, 'invalid escaping', `invalid escaped version ${goQuote(escaped)}`);
  }
  const reason = checkElem(v, 'file');
  if (reason !== null) {
    throw new InvalidVersionError(v, false, reason, `invalid escaped version ${goQuote(v)}: ${reason}`);
  }
  return v;
}
