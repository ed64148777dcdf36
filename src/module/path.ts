// Module, import and file path rules of golang.org/x/mod/module (CheckPath,
// CheckImportPath, CheckFilePath, SplitPathVersion). Error reasons are Go's
// texts, so messages match what the go command prints.
import { InvalidPathError, type PathKind } from './errors.js';
import { goQuote, goQuoteRune } from './goquote.js';
import { isValidUTF8 } from './gostring.js';
import { newerThanGoUnicode } from './unicode.js';

export { InvalidPathError, InvalidVersionError, ModuleError, type PathKind } from './errors.js';

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isLowerLDH(c: number): boolean {
  return c === 0x2d || c === 0x2e || isDigit(c) || (c >= 0x61 && c <= 0x7a);
}

/** Characters of a module path element: ASCII letters, digits, - . _ ~ */
function modPathOK(c: number): boolean {
  return (
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e ||
    isDigit(c) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a)
  );
}

/** Import paths also allow '+' (e.g. a "c++" element). */
function importPathOK(c: number): boolean {
  return modPathOK(c) || c === 0x2b;
}

const FILE_NAME_PUNCT = new Set(Array.from('!#$%&()+,-.=@[]^_{}~ ', (ch) => ch.charCodeAt(0)));
const LETTER = /^\p{L}$/u;

/** File names: ASCII letters and digits, the punctuation above, any letter of Go's Unicode (15.0). */
function fileNameOK(cp: number): boolean {
  if (cp < 0x80) {
    return isDigit(cp) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || FILE_NAME_PUNCT.has(cp);
  }
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return LETTER.test(String.fromCodePoint(cp)) && !newerThanGoUnicode(cp);
}

/** Element names reserved on Windows, compared case-insensitively before the first dot. */
const BAD_WINDOWS_NAMES = new Set([
  'con',
  'prn',
  'aux',
  'nul',
  'com1',
  'com2',
  'com3',
  'com4',
  'com5',
  'com6',
  'com7',
  'com8',
  'com9',
  'lpt1',
  'lpt2',
  'lpt3',
  'lpt4',
  'lpt5',
  'lpt6',
  'lpt7',
  'lpt8',
  'lpt9',
]);

/**
 * Lowercases ASCII letters only. Go uses strings.EqualFold, whose Unicode
 * folds (K→K, ſ→s, Å→å) touch none of the letters of the reserved names,
 * so ASCII folding gives the same answers.
 */
function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 32)) : s;
}

/**
 * Why elem is not a valid path element of the given kind, or null. Shared
 * with EscapeVersion/UnescapeVersion, which check a version as a file name.
 */
export function checkElem(elem: string, kind: PathKind): string | null {
  if (elem === '') return 'empty path element';
  let allDots = true;
  for (let i = 0; i < elem.length; i++) {
    if (elem.charCodeAt(i) !== 0x2e) {
      allDots = false;
      break;
    }
  }
  if (allDots) return `invalid path element ${goQuote(elem)}`;
  if (elem.charCodeAt(0) === 0x2e && kind === 'module') return 'leading dot in path element';
  if (elem.charCodeAt(elem.length - 1) === 0x2e) return 'trailing dot in path element';
  const ok = kind === 'module' ? modPathOK : kind === 'import' ? importPathOK : fileNameOK;
  for (let i = 0; i < elem.length; i++) {
    const cp = elem.codePointAt(i) ?? 0xfffd;
    if (cp > 0xffff) i++; // a surrogate pair: one character
    if (!ok(cp)) return `invalid char ${goQuoteRune(cp)}`;
  }

  const dot = elem.indexOf('.');
  const short = dot >= 0 ? elem.slice(0, dot) : elem;
  if ((short.length === 3 || short.length === 4) && BAD_WINDOWS_NAMES.has(asciiLower(short))) {
    return `${goQuote(short)} disallowed as path element component on Windows`;
  }
  if (kind === 'file') return null;

  // Windows short names (8.3 aliases) end in a tilde and digits: "PROGRA~1".
  const tilde = short.lastIndexOf('~');
  if (tilde >= 0 && tilde < short.length - 1) {
    let digits = true;
    for (let i = tilde + 1; i < short.length; i++) {
      if (!isDigit(short.charCodeAt(i))) {
        digits = false;
        break;
      }
    }
    if (digits) return 'trailing tilde and digits in path element';
  }
  return null;
}

/** Why path is not a valid path of the given kind (without the path in the text), or null. */
function checkGeneralPath(path: string, kind: PathKind): string | null {
  if (!isValidUTF8(path)) return 'invalid UTF-8';
  if (path === '') return 'empty string';
  if (path.charCodeAt(0) === 0x2d && kind !== 'file') return 'leading dash';
  if (path.includes('//')) return 'double slash';
  if (path.charCodeAt(path.length - 1) === 0x2f) return 'trailing slash';
  let start = 0;
  for (;;) {
    const slash = path.indexOf('/', start);
    const reason = checkElem(path.slice(start, slash < 0 ? path.length : slash), kind);
    if (reason !== null) return reason;
    if (slash < 0) return null;
    start = slash + 1;
  }
}

/** Why path is not a valid module path, or null. */
function modulePathProblem(path: string): string | null {
  const general = checkGeneralPath(path, 'module');
  if (general !== null) return general;
  let i = path.indexOf('/');
  if (i < 0) i = path.length;
  if (i === 0) return 'leading slash';
  const first = path.slice(0, i);
  if (!first.includes('.')) return 'missing dot in first path element';
  if (path.charCodeAt(0) === 0x2d) return 'leading dash in first path element';
  for (const ch of first) {
    const cp = ch.codePointAt(0) ?? 0xfffd;
    if (!isLowerLDH(cp)) return `invalid char ${goQuoteRune(cp)} in first path element`;
  }
  if (!splitPathVersion(path).ok) return 'invalid version';
  return null;
}

/**
 * module.CheckPath: throws InvalidPathError (kind 'module') unless path is a
 * valid module path: a valid import path without '+', no element starting
 * with '.', a lowercase LDH first element containing a dot, and a well-formed
 * major-version suffix (/vN with N >= 2, or gopkg.in's .vN).
 */
export function checkPath(path: string): void {
  const reason = modulePathProblem(path);
  if (reason !== null) throw new InvalidPathError('module', path, reason);
}

/** module.CheckImportPath: throws InvalidPathError (kind 'import'). */
export function checkImportPath(path: string): void {
  const reason = checkGeneralPath(path, 'import');
  if (reason !== null) throw new InvalidPathError('import', path, reason);
}

/**
 * module.CheckFilePath: throws InvalidPathError (kind 'file'). File paths
 * allow any Unicode letter, space and more punctuation than import paths.
 */
export function checkFilePath(path: string): void {
  const reason = checkGeneralPath(path, 'file');
  if (reason !== null) throw new InvalidPathError('file', path, reason);
}

/** Non-throwing forms, for hot paths that only need a yes or no. */
export function isValidModulePath(path: string): boolean {
  return modulePathProblem(path) === null;
}

export function isValidImportPath(path: string): boolean {
  return checkGeneralPath(path, 'import') === null;
}

export function isValidFilePath(path: string): boolean {
  return checkGeneralPath(path, 'file') === null;
}

export interface SplitPath {
  readonly prefix: string;
  /** '' or '/vN' (N >= 2), or for gopkg.in '.vN' / '.vN-unstable'. */
  readonly pathMajor: string;
  /** false when the last element looks like a malformed version suffix ('/v1', '/v2.0', '/v02'). */
  readonly ok: boolean;
}

/** module.SplitPathVersion: prefix + pathMajor === path when ok. */
export function splitPathVersion(path: string): SplitPath {
  if (path.startsWith('gopkg.in/')) return splitGopkgIn(path);
  let i = path.length;
  let dot = false;
  while (i > 0) {
    const c = path.charCodeAt(i - 1);
    if (!isDigit(c) && c !== 0x2e) break;
    if (c === 0x2e) dot = true;
    i--;
  }
  if (i <= 1 || i === path.length || path.charCodeAt(i - 1) !== 0x76 || path.charCodeAt(i - 2) !== 0x2f) {
    return { prefix: path, pathMajor: '', ok: true };
  }
  const pathMajor = path.slice(i - 2);
  if (dot || pathMajor.length <= 2 || pathMajor.charCodeAt(2) === 0x30 || pathMajor === '/v1') {
    return { prefix: path, pathMajor: '', ok: false };
  }
  return { prefix: path.slice(0, i - 2), pathMajor, ok: true };
}

/** gopkg.in paths must end in .vN (any N, including 0 and 1), optionally -unstable. */
function splitGopkgIn(path: string): SplitPath {
  let i = path.length;
  if (path.endsWith('-unstable')) i -= '-unstable'.length;
  while (i > 0 && isDigit(path.charCodeAt(i - 1))) i--;
  if (i <= 1 || path.charCodeAt(i - 1) !== 0x76 || path.charCodeAt(i - 2) !== 0x2e) {
    return { prefix: path, pathMajor: '', ok: false };
  }
  const pathMajor = path.slice(i - 2);
  if (pathMajor.length <= 2 || (pathMajor.charCodeAt(2) === 0x30 && pathMajor !== '.v0')) {
    return { prefix: path, pathMajor: '', ok: false };
  }
  return { prefix: path.slice(0, i - 2), pathMajor, ok: true };
}
