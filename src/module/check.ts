// Whether a module path and a version belong together (module.Check and the
// major-version rules), and module.CanonicalVersion.
import { InvalidPathError, InvalidVersionError, ModuleError } from './errors.js';
import { checkPath, splitPathVersion } from './path.js';
import * as semver from './semver.js';

export { InvalidPathError, InvalidVersionError, ModuleError } from './errors.js';

/** Why v does not fit pathMajor (Go's text), or null. */
function pathMajorProblem(v: string, pathMajor: string): string | null {
  let pm = pathMajor;
  if (pm.startsWith('.v') && pm.endsWith('-unstable')) pm = pm.slice(0, -'-unstable'.length);
  if (v.startsWith('v0.0.0-') && pm === '.v1') return null;
  const m = semver.major(v);
  if (pm === '') {
    if (m === 'v0' || m === 'v1' || semver.build(v) === '+incompatible') return null;
    pm = 'v0 or v1';
  } else if (pm.startsWith('/') || pm.startsWith('.')) {
    if (m === pm.slice(1)) return null;
    pm = pm.slice(1);
  }
  return `should be ${pm}, not ${m}`;
}

/**
 * module.CheckPathMajor: throws InvalidVersionError unless version v may be
 * used with the path major-version suffix pathMajor ('' | '/vN' | '.vN' |
 * '.vN-unstable'). Without a suffix, v0, v1 and +incompatible versions fit;
 * gopkg.in '.v1' also takes v0.0.0- pseudo-versions (an old go command bug).
 */
export function checkPathMajor(v: string, pathMajor: string): void {
  const reason = pathMajorProblem(v, pathMajor);
  if (reason !== null) throw new InvalidVersionError(v, false, reason);
}

/** module.MatchPathMajor: whether checkPathMajor(v, pathMajor) passes. */
export function matchPathMajor(v: string, pathMajor: string): boolean {
  return pathMajorProblem(v, pathMajor) === null;
}

/**
 * module.PathMajorPrefix: the tag prefix a path major suffix implies ('/v2'
 * → 'v2', '.v1-unstable' → 'v1', '' → ''). Throws on a malformed suffix,
 * where Go panics.
 */
export function pathMajorPrefix(pathMajor: string): string {
  if (pathMajor === '') return '';
  if (!pathMajor.startsWith('/') && !pathMajor.startsWith('.')) {
    throw new Error(`pathMajor suffix ${pathMajor} passed to PathMajorPrefix lacks separator`);
  }
  let pm = pathMajor;
  if (pm.startsWith('.v') && pm.endsWith('-unstable')) pm = pm.slice(0, -'-unstable'.length);
  const m = pm.slice(1);
  if (m !== semver.major(m)) {
    throw new Error(`pathMajor suffix ${pathMajor} passed to PathMajorPrefix is not a valid major version`);
  }
  return m;
}

/**
 * module.Check: throws unless path is a valid module path, version is valid
 * semver, and the two agree on the major version. Always throws ModuleError;
 * for a bad path its message is the InvalidPathError's own (Go returns that
 * error unwrapped) and `cause` is the InvalidPathError.
 */
export function check(path: string, version: string): void {
  try {
    checkPath(path);
  } catch (err) {
    if (err instanceof InvalidPathError) throw new ModuleError(path, version, err, err.message);
    throw err;
  }
  checkVersionOf(path, version);
}

/**
 * The second half of check(), for a path already known to be a valid module
 * path: throws ModuleError unless version is valid semver whose major version
 * fits the path's.
 */
export function checkVersionOf(path: string, version: string): void {
  if (!semver.isValid(version)) {
    throw new ModuleError(path, version, new InvalidVersionError(version, false, 'not a semantic version'));
  }
  const reason = pathMajorProblem(version, splitPathVersion(path).pathMajor);
  if (reason !== null) throw new ModuleError(path, version, new InvalidVersionError(version, false, reason));
}

/** Whether checkVersionOf(path, version) passes: version is valid semver whose major version fits the path's. */
export function isVersionOf(path: string, version: string): boolean {
  return semver.isValid(version) && pathMajorProblem(version, splitPathVersion(path).pathMajor) === null;
}

/**
 * module.CanonicalVersion: semver.canonical, but keeping the special build
 * suffix '+incompatible'. '' when v is invalid.
 */
export function canonicalVersion(v: string): string {
  const cv = semver.canonical(v);
  return semver.build(v) === '+incompatible' ? cv + '+incompatible' : cv;
}

/** Whether v is non-empty and already in canonicalVersion form (what the proxy stores and serves). */
export function isCanonicalVersion(v: string): boolean {
  return v !== '' && canonicalVersion(v) === v;
}
