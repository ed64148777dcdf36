// The order of go.sum lines and of module lists (module.Sort).
import { compareGoStrings } from './gostring.js';
import { compare } from './semver.js';

/** A module path and version pair (module.Version), unescaped. */
export interface ModuleVersion {
  readonly path: string;
  readonly version: string;
}

/**
 * module.Sort's order: by path (Go string order), then by version as semver.
 * A version may carry a '/file' suffix ('v1.0.0/go.mod', as go.sum lines
 * do): the part before the first '/' is compared as semver, and only equal
 * such parts fall back to comparing the suffixes as strings, so
 * 'v1.0.0' < 'v1.0.0/go.mod' < 'v1.0.1'.
 */
export function compareModuleVersions(a: ModuleVersion, b: ModuleVersion): number {
  if (a.path !== b.path) return compareGoStrings(a.path, b.path);
  let va = a.version;
  let vb = b.version;
  let fa = '';
  let fb = '';
  const ka = va.indexOf('/');
  if (ka >= 0) {
    fa = va.slice(ka);
    va = va.slice(0, ka);
  }
  const kb = vb.indexOf('/');
  if (kb >= 0) {
    fb = vb.slice(kb);
    vb = vb.slice(0, kb);
  }
  if (va !== vb) return compare(va, vb);
  return compareGoStrings(fa, fb);
}

/**
 * A sorted copy of list (module.Sort). Entries that compare equal (distinct
 * spellings of one version, such as 'v1.0.0' and 'v1.0.0+meta', or two
 * invalid versions) keep their input order; Go's sort leaves their order
 * unspecified.
 */
export function sortModuleVersions(list: readonly ModuleVersion[]): ModuleVersion[] {
  return [...list].sort(compareModuleVersions);
}
