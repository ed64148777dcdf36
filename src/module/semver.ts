// Go's semantic versions (golang.org/x/mod/semver): `vMAJOR[.MINOR[.PATCH
// [-PRERELEASE][+BUILD]]]`, with `vMAJOR` and `vMAJOR.MINOR` accepted as
// shorthands (without prerelease or build). Numbers have no leading zeros,
// nor do numeric prerelease identifiers. A hand-written scanner, linear in
// the input: these run on every request.
import { compareGoStrings } from './gostring.js';

interface Parsed {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  /** What Canonical appends for a shorthand: '.0.0', '.0' or ''. */
  readonly short: string;
  /** Including the leading '-', or ''. */
  readonly prerelease: string;
  /** Including the leading '+', or ''. */
  readonly build: string;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isIdentChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || isDigit(c) || c === 0x2d;
}

/** End index of a decimal number starting at i without leading zero, or -1. */
function scanNumber(v: string, i: number): number {
  if (i >= v.length || !isDigit(v.charCodeAt(i))) return -1;
  let j = i + 1;
  while (j < v.length && isDigit(v.charCodeAt(j))) j++;
  if (v.charCodeAt(i) === 0x30 && j !== i + 1) return -1;
  return j;
}

/** A numeric identifier with a leading zero ("01"); "0" is fine. */
function isBadNum(v: string, start: number, end: number): boolean {
  if (end - start < 2 || v.charCodeAt(start) !== 0x30) return false;
  for (let k = start; k < end; k++) if (!isDigit(v.charCodeAt(k))) return false;
  return true;
}

/**
 * End index of the dot-separated identifier list starting at i (just after
 * '-' or '+'), or -1. Identifiers are non-empty [0-9A-Za-z-]; with
 * checkNumbers, all-digit identifiers must not have leading zeros. The list
 * ends at the end of the string, or with stopAtPlus at a '+' (a prerelease
 * is followed by the build).
 */
function scanIdents(v: string, i: number, stopAtPlus: boolean, checkNumbers: boolean): number {
  let start = i;
  let j = i;
  for (; j < v.length; j++) {
    const c = v.charCodeAt(j);
    if (stopAtPlus && c === 0x2b) break;
    if (c === 0x2e) {
      if (start === j || (checkNumbers && isBadNum(v, start, j))) return -1;
      start = j + 1;
    } else if (!isIdentChar(c)) {
      return -1;
    }
  }
  if (start === j || (checkNumbers && isBadNum(v, start, j))) return -1;
  return j;
}

function parse(v: string): Parsed | null {
  if (v.length === 0 || v.charCodeAt(0) !== 0x76 /* v */) return null;
  const majorEnd = scanNumber(v, 1);
  if (majorEnd < 0) return null;
  const major = v.slice(1, majorEnd);
  if (majorEnd === v.length) {
    return { major, minor: '0', patch: '0', short: '.0.0', prerelease: '', build: '' };
  }
  if (v.charCodeAt(majorEnd) !== 0x2e) return null;
  const minorEnd = scanNumber(v, majorEnd + 1);
  if (minorEnd < 0) return null;
  const minor = v.slice(majorEnd + 1, minorEnd);
  if (minorEnd === v.length) {
    return { major, minor, patch: '0', short: '.0', prerelease: '', build: '' };
  }
  if (v.charCodeAt(minorEnd) !== 0x2e) return null;
  const patchEnd = scanNumber(v, minorEnd + 1);
  if (patchEnd < 0) return null;
  const patch = v.slice(minorEnd + 1, patchEnd);
  let i = patchEnd;
  let prerelease = '';
  if (i < v.length && v.charCodeAt(i) === 0x2d) {
    const end = scanIdents(v, i + 1, true, true);
    if (end < 0) return null;
    prerelease = v.slice(i, end);
    i = end;
  }
  let build = '';
  if (i < v.length && v.charCodeAt(i) === 0x2b) {
    const end = scanIdents(v, i + 1, false, false);
    if (end < 0) return null;
    build = v.slice(i, end);
    i = end;
  }
  if (i !== v.length) return null;
  return { major, minor, patch, short: '', prerelease, build };
}

/** Whether v is a valid semantic version string. */
export function isValid(v: string): boolean {
  return parse(v) !== null;
}

/**
 * The canonical form of v: missing .MINOR/.PATCH filled in, build metadata
 * dropped; '' when v is invalid.
 */
export function canonical(v: string): string {
  const p = parse(v);
  if (p === null) return '';
  if (p.build !== '') return v.slice(0, v.length - p.build.length);
  if (p.short !== '') return v + p.short;
  return v;
}

/** The major version prefix: major('v2.1.0') === 'v2'; '' when invalid. */
export function major(v: string): string {
  const p = parse(v);
  if (p === null) return '';
  return v.slice(0, 1 + p.major.length);
}

/** The major.minor prefix: majorMinor('v2.1.0') === 'v2.1'; '' when invalid. */
export function majorMinor(v: string): string {
  const p = parse(v);
  if (p === null) return '';
  const i = 1 + p.major.length;
  const j = i + 1 + p.minor.length;
  if (j <= v.length && v.charCodeAt(i) === 0x2e && v.slice(i + 1, j) === p.minor) return v.slice(0, j);
  return v.slice(0, i) + '.' + p.minor;
}

/** The prerelease suffix including '-': prerelease('v2.1.0-pre+meta') === '-pre'. */
export function prerelease(v: string): string {
  return parse(v)?.prerelease ?? '';
}

/** The build suffix including '+': build('v2.1.0+meta') === '+meta'. */
export function build(v: string): string {
  return parse(v)?.build ?? '';
}

/** Decimal strings without leading zeros: longer is larger. */
function compareInt(x: string, y: string): number {
  if (x === y) return 0;
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : 1;
}

function isNum(s: string): boolean {
  for (let k = 0; k < s.length; k++) if (!isDigit(s.charCodeAt(k))) return false;
  return true;
}

/** SemVer 2.0 precedence of two prereleases (each '' or starting with '-'). */
function comparePrerelease(x: string, y: string): number {
  if (x === y) return 0;
  if (x === '') return 1;
  if (y === '') return -1;
  const xs = x.slice(1).split('.');
  const ys = y.slice(1).split('.');
  const n = Math.min(xs.length, ys.length);
  for (let k = 0; k < n; k++) {
    const dx = xs[k] ?? '';
    const dy = ys[k] ?? '';
    if (dx === dy) continue;
    const nx = isNum(dx);
    const ny = isNum(dy);
    if (nx !== ny) return nx ? -1 : 1;
    if (nx && dx.length !== dy.length) return dx.length < dy.length ? -1 : 1;
    // Identifiers are ASCII, so UTF-16 order is byte order here.
    return dx < dy ? -1 : 1;
  }
  return xs.length < ys.length ? -1 : xs.length > ys.length ? 1 : 0;
}

/**
 * Semantic-version precedence of v and w: -1, 0 or 1. Build metadata is
 * ignored. Invalid versions are less than valid ones and equal to each other.
 */
export function compare(v: string, w: string): number {
  const pv = parse(v);
  const pw = parse(w);
  if (pv === null) return pw === null ? 0 : -1;
  if (pw === null) return 1;
  return (
    compareInt(pv.major, pw.major) ||
    compareInt(pv.minor, pw.minor) ||
    compareInt(pv.patch, pw.patch) ||
    comparePrerelease(pv.prerelease, pw.prerelease)
  );
}

/** Canonicalizes both and returns the greater (semver.Max; w on ties). */
export function max(v: string, w: string): string {
  const cv = canonical(v);
  const cw = canonical(w);
  return compare(cv, cw) > 0 ? cv : cw;
}

/** semver.ByVersion's order: compare(), ties broken by Go string order. */
export function compareVersionsForSort(v: string, w: string): number {
  return compare(v, w) || compareGoStrings(v, w);
}

/** semver.Sort: a sorted copy of list (ascending precedence, ties by string). */
export function sortVersions(list: readonly string[]): string[] {
  return [...list].sort(compareVersionsForSort);
}
