// Go's package path (slash-separated paths, no OS rules): Clean, Split, Dir,
// Base. Only '/' and '.' matter, so the functions work on any JS string.

/** path.Clean: the shortest equivalent path by purely lexical processing. */
export function clean(p: string): string {
  if (p === '') return '.';
  const rooted = p.charCodeAt(0) === 0x2f;
  const n = p.length;
  // out is built in an array of segments; dotdot marks how many leading
  // segments are '..' that cannot be backtracked (relative paths only).
  const out: string[] = [];
  let dotdot = 0;
  let r = rooted ? 1 : 0;
  while (r < n) {
    const slash = p.indexOf('/', r);
    const end = slash < 0 ? n : slash;
    const elem = p.slice(r, end);
    r = end + 1;
    if (elem === '' || elem === '.') continue;
    if (elem === '..') {
      if (out.length > dotdot) out.pop();
      else if (!rooted) {
        out.push('..');
        dotdot = out.length;
      }
      continue;
    }
    out.push(elem);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** path.Split: [dir, file] split after the last '/'; dir keeps the slash. */
export function split(p: string): [string, string] {
  const i = p.lastIndexOf('/');
  return [p.slice(0, i + 1), p.slice(i + 1)];
}

/** path.Dir: all but the last element, cleaned. */
export function dir(p: string): string {
  return clean(split(p)[0]);
}

/** path.Base: the last element, trailing slashes removed. */
export function base(p: string): string {
  if (p === '') return '.';
  let end = p.length;
  while (end > 0 && p.charCodeAt(end - 1) === 0x2f) end--;
  if (end === 0) return '/';
  const trimmed = p.slice(0, end);
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** path.IsAbs. */
export function isAbs(p: string): boolean {
  return p.charCodeAt(0) === 0x2f;
}

/** ASCII-only lower case, as Go's strings.ToLower acts on "go.mod"-like names. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/**
 * strings.EqualFold(s, "go.mod"). No letter of "go.mod" has a non-ASCII
 * simple case fold partner, so ASCII folding gives Go's answer.
 */
export function isGoModFold(s: string): boolean {
  return s.length === 6 && asciiLower(s) === 'go.mod';
}
