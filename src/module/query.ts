// The query versions godepot passes on to an upstream: the names the go
// command asks a proxy's `.info` for when a version is not canonical (a
// branch, a tag, a commit hash, a semver prefix such as v1.2). The go command
// escapes them with module.EscapeVersion and sends them as one URL path
// element; a proxy in front of another server must also make sure the
// element cannot mean anything else once some server on the way decodes or
// normalises it (`%2e%2e%2f…`, `..`, `+` read as a space, a leading dot).
// So a query version is accepted only when it is made of characters that no
// decoder changes: ASCII letters and digits, '.', '-', '_' and '~'; it starts
// with a letter or digit, holds no "..", does not end with '.', and passes
// EscapeVersion's file-name rules. Everything else is refused, with a reason.
// One exception: a semantic version with build metadata (v1.2.3+build.1). The
// go command asks a proxy for its .info as a query (a tag of that name, which
// the origin resolves to a pseudo-version); it is made of the characters of a
// canonical `+incompatible` version, [0-9A-Za-z.+-], and semver allows no "..".
import { checkElem } from './path.js';
import { isValid } from './semver.js';

/** Longest query version accepted (git ref names used as versions are far shorter). */
export const MAX_QUERY_VERSION = 200;

const QUERY_CHARS = /^[A-Za-z0-9._~-]+$/;

/** Why v may not be sent upstream as a query version, or null when it may. */
export function queryVersionProblem(v: string): string | null {
  if (v === '') return 'empty version';
  if (v.length > MAX_QUERY_VERSION) return `longer than ${MAX_QUERY_VERSION} characters`;
  if (!QUERY_CHARS.test(v) && !isValid(v))
    return 'only ASCII letters, digits, ".", "-", "_" and "~" are allowed in a version query';
  if (!/^[A-Za-z0-9]/.test(v)) return 'a version query starts with a letter or digit';
  if (v.includes('..')) return 'a version query may not hold ".."';
  return checkElem(v, 'file');
}
