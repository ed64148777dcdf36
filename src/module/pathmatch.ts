// Go's path.Match, over UTF-8 bytes as Go runs it (a '?' or a character
// class takes one rune; a literal compares one byte; '*' never crosses '/').
//
//   pattern:  { term }
//   term:     '*' | '?' | '[' [ '^' ] { character-range } ']' | c | '\\' c
//   range:    c | '\\' c | lo '-' hi
//
// Like Go, a malformed pattern is reported (BadPatternError) only when the
// matcher reaches the bad part; the rest of the pattern is syntax-checked
// before a plain "no match" is returned. Each chunk after a star is tried at
// each offset once, so the cost is O(len(pattern) * len(name)), no backtracking.

import { decodeRune, encodeGoString, RUNE_ERROR } from './gostring.js';

/** path.ErrBadPattern. */
export class BadPatternError extends Error {
  override readonly name = 'BadPatternError';
  constructor(readonly pattern: string) {
    super('syntax error in pattern');
  }
}

const SLASH = 0x2f;
const STAR = 0x2a;
const BACKSLASH = 0x5c;

/** scanChunk: [star, chunkEnd] for the chunk starting after any stars at p. */
function scanChunk(pat: Uint8Array, p: number): { star: boolean; start: number; end: number } {
  let star = false;
  while (p < pat.length && pat[p] === STAR) {
    p++;
    star = true;
  }
  let inRange = false;
  let i = p;
  for (; i < pat.length; i++) {
    const c = pat[i];
    if (c === BACKSLASH) {
      if (i + 1 < pat.length) i++;
    } else if (c === 0x5b) {
      inRange = true;
    } else if (c === 0x5d) {
      inRange = false;
    } else if (c === STAR && !inRange) {
      break;
    }
  }
  return { star, start: p, end: i };
}

/** getEsc: a possibly escaped character of a class: [rune, next index] or null (bad pattern). */
function getEsc(pat: Uint8Array, i: number, end: number): [number, number] | null {
  if (i >= end || pat[i] === 0x2d || pat[i] === 0x5d) return null;
  if (pat[i] === BACKSLASH) {
    i++;
    if (i >= end) return null;
  }
  const [r, n] = decodeRune(pat, i, end);
  if (r === RUNE_ERROR && n === 1) return null;
  if (i + n >= end) return null;
  return [r, i + n];
}

const BAD = -2;
const NO_MATCH = -1;

/**
 * matchChunk: whether pat[cs:ce] matches a prefix of name[s:]; returns the
 * index after the match, NO_MATCH, or BAD for a malformed chunk.
 */
function matchChunk(pat: Uint8Array, cs: number, ce: number, name: Uint8Array, s: number): number {
  let failed = false;
  let c = cs;
  while (c < ce) {
    if (!failed && s >= name.length) failed = true;
    const op = pat[c];
    if (op === 0x5b) {
      let r = -1;
      if (!failed) {
        const [rr, n] = decodeRune(name, s, name.length);
        r = rr;
        s += n;
      }
      c++;
      let negated = false;
      if (c < ce && pat[c] === 0x5e) {
        negated = true;
        c++;
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (c < ce && pat[c] === 0x5d && nrange > 0) {
          c++;
          break;
        }
        const lo = getEsc(pat, c, ce);
        if (lo === null) return BAD;
        let hi = lo[0];
        c = lo[1];
        if (pat[c] === 0x2d) {
          const h = getEsc(pat, c + 1, ce);
          if (h === null) return BAD;
          hi = h[0];
          c = h[1];
        }
        if (lo[0] <= r && r <= hi) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (op === 0x3f) {
      if (!failed) {
        if (name[s] === SLASH) failed = true;
        s += decodeRune(name, s, name.length)[1];
      }
      c++;
    } else {
      if (op === BACKSLASH) {
        c++;
        if (c >= ce) return BAD;
      }
      if (!failed) {
        if (pat[c] !== name[s]) failed = true;
        s++;
      }
      c++;
    }
  }
  return failed ? NO_MATCH : s;
}

/**
 * Go's path.Match(pattern, name): whether name matches the shell pattern as a
 * whole. Throws BadPatternError where Go returns ErrBadPattern.
 */
export function pathMatch(pattern: string, name: string): boolean {
  const pat = encodeGoString(pattern);
  const nm = encodeGoString(name);
  let p = 0;
  let s = 0;
  outer: while (p < pat.length) {
    const { star, start, end } = scanChunk(pat, p);
    p = end;
    if (star && start === end) {
      // A trailing star matches the rest of the name unless it has a '/'.
      return nm.indexOf(SLASH, s) < 0;
    }
    const t = matchChunk(pat, start, end, nm, s);
    if (t >= 0 && (t === nm.length || p < pat.length)) {
      s = t;
      continue;
    }
    if (t === BAD) throw new BadPatternError(pattern);
    if (star) {
      for (let i = s; i < nm.length && nm[i] !== SLASH; i++) {
        const t2 = matchChunk(pat, start, end, nm, i + 1);
        if (t2 >= 0) {
          // The last chunk must use up the name.
          if (p === pat.length && t2 < nm.length) continue;
          s = t2;
          continue outer;
        }
        if (t2 === BAD) throw new BadPatternError(pattern);
      }
    }
    // No match: still report a malformed rest of the pattern, as Go does.
    while (p < pat.length) {
      const next = scanChunk(pat, p);
      p = next.end;
      if (matchChunk(pat, next.start, next.end, nm, nm.length) === BAD) throw new BadPatternError(pattern);
    }
    return false;
  }
  return s === nm.length;
}
