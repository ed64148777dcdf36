// GOPRIVATE / GONOPROXY / GONOSUMDB (and GOINSECURE) pattern lists:
// module.MatchPrefixPatterns.
import { BadPatternError, pathMatch } from './pathmatch.js';

export { BadPatternError, pathMatch } from './pathmatch.js';

/**
 * Whether some path prefix of target matches one of the comma-separated
 * path.Match globs. A glob with N slashes is matched against target's first
 * N+1 elements: 'rsc.io' and '*.io' match 'rsc.io/quote/v3', and a glob of
 * two elements is matched against 'rsc.io/quote' (so one ending in '/v3' does
 * not match it). Empty and malformed globs are ignored; a trailing '/' on a
 * glob is dropped.
 */
export function matchPrefixPatterns(globs: string, target: string): boolean {
  let rest = globs;
  while (rest !== '') {
    let glob: string;
    const comma = rest.indexOf(',');
    if (comma >= 0) {
      glob = rest.slice(0, comma);
      rest = rest.slice(comma + 1);
    } else {
      glob = rest;
      rest = '';
    }
    if (glob.endsWith('/')) glob = glob.slice(0, -1);
    if (glob === '') continue;

    let n = 0;
    for (let i = 0; i < glob.length; i++) if (glob.charCodeAt(i) === 0x2f) n++;
    // Cut target just before its (n+1)th slash.
    let prefix = target;
    for (let i = 0; i < target.length; i++) {
      if (target.charCodeAt(i) === 0x2f) {
        if (n === 0) {
          prefix = target.slice(0, i);
          break;
        }
        n--;
      }
    }
    if (n > 0) continue; // target has fewer elements than the glob

    try {
      if (pathMatch(glob, prefix)) return true;
    } catch (err) {
      if (!(err instanceof BadPatternError)) throw err;
    }
  }
  return false;
}

/** An entry of a pattern list that is not a valid path.Match glob. */
export class InvalidPatternError extends Error {
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`pattern ${JSON.stringify(pattern)}: ${reason}`);
    this.name = 'InvalidPatternError';
  }
}

/**
 * Comma-separated pattern lists (a repeated --private, a user's modules) as
 * one list: entries trimmed, empty ones dropped, each checked to be a valid
 * path.Match glob; throws InvalidPatternError for the first that is not.
 */
export function patternList(values: readonly string[]): string[] {
  const list = splitPatterns(values);
  for (const p of list) {
    try {
      pathMatch(p, '');
    } catch (err) {
      throw new InvalidPatternError(p, (err as Error).message);
    }
  }
  return list;
}

/** The patterns of comma-separated lists (given repeatedly, say), trimmed, empty entries dropped; not checked. */
export function splitPatterns(values: readonly string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((p) => p.trim())
    .filter((p) => p !== '');
}
