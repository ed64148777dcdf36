// Pseudo-versions (golang.org/x/mod/module pseudo.go): versions that name an
// untagged commit and sort it among the tags. Five forms:
//   (1) vX.0.0-yyyymmddhhmmss-abcdef123456              no earlier tag
//   (2) vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef123456        after tag vX.Y.Z
//   (3) form (2) + '+incompatible'
//   (4) vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef123456        after tag vX.Y.Z-pre
//   (5) form (4) + '+incompatible'
// The timestamp is the commit time in UTC.
import { InvalidVersionError } from './errors.js';
import { goQuote } from './goquote.js';
import * as semver from './semver.js';

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function allDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return s.length > 0;
}

function isAlnum(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c) && !(c >= 0x41 && c <= 0x5a) && !(c >= 0x61 && c <= 0x7a)) return false;
  }
  return s.length > 0;
}

/**
 * Go's pseudoVersionRE, for a v that is already valid semver:
 *   ^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+build)?$
 * Checked by hand from the right so that no input can make it slow.
 */
function matchesPseudoShape(v: string): boolean {
  const body = v.slice(0, v.length - semver.build(v).length);
  const dash = body.lastIndexOf('-');
  if (dash < 0 || !isAlnum(body.slice(dash + 1))) return false;
  const tsStart = dash - 14;
  if (tsStart < 0 || !allDigits(body.slice(tsStart, dash))) return false;
  const rest = body.slice(0, tsStart); // 'vX.0.0-', or 'vX.Y.Z-' + ('' | '….') + '0.'
  const core = semver.majorMinor(v); // 'vX.Y', spelled as in v (valid semver has all three parts here)
  if (!rest.startsWith(core + '.')) return false;
  const afterCore = rest.slice(core.length + 1);
  const patchEnd = afterCore.indexOf('-');
  if (patchEnd <= 0 || !allDigits(afterCore.slice(0, patchEnd))) return false;
  const tail = afterCore.slice(patchEnd + 1);
  if (tail === '' && core.endsWith('.0') && afterCore.slice(0, patchEnd) === '0') return true; // form (1)
  return tail === '0.' || tail.endsWith('.0.');
}

/** module.IsPseudoVersion. */
export function isPseudoVersion(v: string): boolean {
  let dashes = 0;
  for (let i = 0; i < v.length && dashes < 2; i++) if (v.charCodeAt(i) === 0x2d) dashes++;
  return dashes >= 2 && semver.isValid(v) && matchesPseudoShape(v);
}

interface PseudoParts {
  /** 'vX.0.0', 'vX.Y.(Z+1)-0' or 'vX.Y.Z-pre.0' */
  readonly base: string;
  readonly timestamp: string;
  readonly rev: string;
  readonly build: string;
}

function parsePseudoVersion(v: string): PseudoParts {
  if (!isPseudoVersion(v)) throw new InvalidVersionError(v, true, 'syntax error');
  const build = semver.build(v);
  const body = v.slice(0, v.length - build.length);
  const j = body.lastIndexOf('-');
  const rev = body.slice(j + 1);
  const head = body.slice(0, j);
  const i = head.lastIndexOf('-');
  const dot = head.lastIndexOf('.');
  if (dot > i) return { base: head.slice(0, dot), timestamp: head.slice(dot + 1), rev, build };
  return { base: head.slice(0, i), timestamp: head.slice(i + 1), rev, build };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/**
 * module.PseudoVersionTime: the commit time in v. Throws InvalidVersionError
 * if v is not a pseudo-version or its timestamp is not a real time (Go's
 * time.Parse rejects month 13, Feb 30, hour 24, second 60, …).
 */
export function pseudoVersionTime(v: string): Date {
  const { timestamp } = parsePseudoVersion(v);
  const num = (a: number, b: number): number => Number(timestamp.slice(a, b));
  const [year, month, day, hour, minute, second] = [
    num(0, 4),
    num(4, 6),
    num(6, 8),
    num(8, 10),
    num(10, 12),
    num(12, 14),
  ];
  const days = month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > days || hour > 23 || minute > 59 || second > 59) {
    throw new InvalidVersionError(v, true, `malformed time ${goQuote(timestamp)}`);
  }
  const t = new Date(0);
  t.setUTCFullYear(year, month - 1, day); // setUTCFullYear keeps years 0–99 literal
  t.setUTCHours(hour, minute, second, 0);
  return t;
}

/** module.PseudoVersionRev: the revision identifier (commit hash prefix). Throws InvalidVersionError. */
export function pseudoVersionRev(v: string): string {
  return parsePseudoVersion(v).rev;
}

/**
 * module.PseudoVersionBase: the tag the pseudo-version v builds on, in
 * canonical form with any build suffix ('v1.2.3', 'v1.2.3-pre+incompatible'),
 * or '' for form (1). Throws InvalidVersionError if v is not a pseudo-version,
 * for 'vX.0.0-…+build' (no base, yet build metadata), and for 'vX.Y.0-0.…'
 * (the base would have patch -1).
 */
export function pseudoVersionBase(v: string): string {
  const { base, build } = parsePseudoVersion(v);
  const pre = semver.prerelease(base);
  if (pre === '') {
    if (build !== '') {
      throw new InvalidVersionError(v, true, `lacks base version, but has build metadata ${goQuote(build)}`);
    }
    return '';
  }
  if (pre === '-0') {
    const release = base.slice(0, base.length - pre.length);
    const i = release.lastIndexOf('.');
    const patch = decDecimal(release.slice(i + 1));
    if (patch === '') {
      throw new InvalidVersionError(v, true, `version before ${release} would have negative patch number`);
    }
    return release.slice(0, i + 1) + patch + build;
  }
  // parsePseudoVersion leaves '.0' (the marker before the timestamp) on a prerelease base.
  return base.slice(0, base.length - '.0'.length) + build;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Go's t.UTC().Format("20060102150405"). */
function formatTimestamp(t: Date): string {
  const ms = t.getTime();
  if (Number.isNaN(ms)) throw new RangeError('pseudoVersion: invalid Date');
  const y = t.getUTCFullYear();
  const year = y < 0 ? '-' + pad(-y, 4) : pad(y, 4);
  return (
    year +
    pad(t.getUTCMonth() + 1, 2) +
    pad(t.getUTCDate(), 2) +
    pad(t.getUTCHours(), 2) +
    pad(t.getUTCMinutes(), 2) +
    pad(t.getUTCSeconds(), 2)
  );
}

/**
 * module.PseudoVersion: the pseudo-version for a commit at time t with
 * revision rev, following the tag `older` ('' when none) in major version
 * `major` ('' means 'v0'; only used when older is '').
 */
export function pseudoVersion(major: string, older: string, t: Date, rev: string): string {
  const segment = formatTimestamp(t) + '-' + rev;
  const build = semver.build(older);
  const base = semver.canonical(older);
  if (base === '') return (major === '' ? 'v0' : major) + '.0.0-' + segment; // form (1)
  if (semver.prerelease(base) !== '') return base + '.0.' + segment + build; // forms (4), (5)
  const i = base.lastIndexOf('.') + 1; // forms (2), (3): increment the patch number
  return base.slice(0, i) + incDecimal(base.slice(i)) + '-0.' + segment + build;
}

const ZERO_TIME = new Date(0);
ZERO_TIME.setUTCFullYear(1, 0, 1); // Go's time.Time{}: 0001-01-01T00:00:00Z

/** module.ZeroPseudoVersion: a placeholder pseudo-version with zero time and revision. */
export function zeroPseudoVersion(major: string): string {
  return pseudoVersion(major, '', ZERO_TIME, '000000000000');
}

/** module.IsZeroPseudoVersion: whether v is zeroPseudoVersion(semver.major(v)). */
export function isZeroPseudoVersion(v: string): boolean {
  return v === zeroPseudoVersion(semver.major(v));
}

/** The decimal string plus one ('99' → '100'). */
export function incDecimal(decimal: string): string {
  let i = decimal.length - 1;
  while (i >= 0 && decimal.charCodeAt(i) === 0x39) i--;
  if (i < 0) return '1' + '0'.repeat(decimal.length);
  const bumped = String.fromCharCode(decimal.charCodeAt(i) + 1);
  return decimal.slice(0, i) + bumped + '0'.repeat(decimal.length - 1 - i);
}

/** The decimal string minus one ('100' → '99'), or '' when it is all zeros. */
export function decDecimal(decimal: string): string {
  let i = decimal.length - 1;
  while (i >= 0 && decimal.charCodeAt(i) === 0x30) i--;
  if (i < 0) return '';
  const nines = '9'.repeat(decimal.length - 1 - i);
  if (i === 0 && decimal.charCodeAt(0) === 0x31 && decimal.length > 1) return nines;
  return decimal.slice(0, i) + String.fromCharCode(decimal.charCodeAt(i) - 1) + nines;
}
