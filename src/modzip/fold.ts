// Case folding for golang.org/x/mod/zip's collision check: names are compared
// by strToFold, which maps each code point to the smallest member of its
// Unicode simple case folding orbit (unicode.SimpleFold), then A–Z to a–z.
// toLowerCase is not that: it uses full mappings and misses orbits like
// {K, k, U+212A KELVIN SIGN} or {ß, ẞ}.

/**
 * Orbits that no lower/upper-case mapping connects (both members are
 * lowercase); joined only when the regex engine's folding agrees.
 */
const EXTRA_PAIRS: ReadonlyArray<readonly [number, number]> = [
  [0x0390, 0x1fd3],
  [0x03b0, 0x1fe3],
  [0xfb05, 0xfb06],
];

/** Highest code point with a case mapping is in plane 1 (Adlam, U+1E943). */
const LAST_CASED = 0x1ffff;

let orbitMin: Map<number, number> | undefined;

/** Whether a and b are equal under simple case folding, per the regex engine (`iu` uses CaseFolding.txt C+S). */
export function simpleFoldEqual(a: number, b: number): boolean {
  return new RegExp(`^\\u{${a.toString(16)}}$`, 'iu').test(String.fromCodePoint(b));
}

function singleCodePoint(s: string): number | undefined {
  const cp = s.codePointAt(0);
  if (cp === undefined) return undefined;
  return s.length === (cp > 0xffff ? 2 : 1) ? cp : undefined;
}

/** Builds code point → orbit minimum for every code point in a non-trivial orbit. */
function buildOrbitMin(): Map<number, number> {
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let root = x;
    for (let p = parent.get(root); p !== undefined && p !== root; p = parent.get(root)) root = p;
    // Path compression keeps later lookups short.
    for (let y = x, p = parent.get(y); p !== undefined && p !== root; y = p, p = parent.get(y)) parent.set(y, root);
    return root;
  };
  const union = (a: number, b: number): void => {
    if (!simpleFoldEqual(a, b)) return;
    const ra = find(a);
    const rb = find(b);
    if (!parent.has(ra)) parent.set(ra, ra);
    if (!parent.has(rb)) parent.set(rb, rb);
    if (ra === rb) return;
    // The smaller code point stays the root, so the root is the orbit minimum.
    if (ra < rb) parent.set(rb, ra);
    else parent.set(ra, rb);
  };
  for (let cp = 0; cp <= LAST_CASED; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const s = String.fromCodePoint(cp);
    for (const mapped of [s.toLowerCase(), s.toUpperCase()]) {
      if (mapped === s) continue;
      const m = singleCodePoint(mapped);
      if (m !== undefined) union(cp, m);
    }
  }
  for (const [a, b] of EXTRA_PAIRS) union(a, b);
  const out = new Map<number, number>();
  for (const cp of parent.keys()) out.set(cp, find(cp));
  return out;
}

/** The smallest code point of cp's simple folding orbit (cp itself when alone). */
export function foldMin(cp: number): number {
  orbitMin ??= buildOrbitMin();
  return orbitMin.get(cp) ?? cp;
}

/**
 * zip's strToFold: strToFold(s) === strToFold(t) exactly when Go's
 * strings.EqualFold(s, t). Lone surrogates (bytes that are not UTF-8) stay
 * as they are.
 */
export function strToFold(s: string): string {
  if (!/[^\x00-\x40\x5b-\x7f]/.test(s)) return s;
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    let r = cp < 0x80 ? cp : foldMin(cp);
    if (r >= 0x41 && r <= 0x5a) r += 0x20;
    out += String.fromCodePoint(r);
  }
  return out;
}
