// Case folding for golang.org/x/mod/zip's collision check: names are compared
// by strToFold, which maps each code point to the smallest member of its
// Unicode simple case folding orbit (unicode.SimpleFold), then A–Z to a–z.
// toLowerCase is not that: it uses full mappings and misses orbits like
// {K, k, U+212A KELVIN SIGN} or {ß, ẞ}. The orbits are Go's own
// (fold-table.ts, generated from Go's unicode tables), so godepot refuses
// exactly the names the go command refuses, whatever Unicode version V8 has.
import { GO_FOLD_MIN } from './fold-table.js';

let orbitMin: Map<number, number> | undefined;

function parseTable(): Map<number, number> {
  const out = new Map<number, number>();
  for (const pair of GO_FOLD_MIN.split(',')) {
    const colon = pair.indexOf(':');
    out.set(parseInt(pair.slice(0, colon), 16), parseInt(pair.slice(colon + 1), 16));
  }
  return out;
}

/** The smallest code point of cp's simple folding orbit (cp itself when alone). */
function foldMin(cp: number): number {
  orbitMin ??= parseTable();
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
