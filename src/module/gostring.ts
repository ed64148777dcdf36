// Go string semantics for JS strings: byte-wise (UTF-8) ordering, UTF-8
// validity and length, and the bytes <-> string mapping. A Go string may hold
// bytes that are not UTF-8; a JS string holds them as lone surrogates
// (U+DC80–U+DCFF for the byte 0x80–0xFF, see decodeGoBytes), so such input
// keeps failing the same checks and prints the same in error messages.

/**
 * Compares a and b the way Go compares strings: by their UTF-8 bytes.
 * Returns -1, 0 or 1.
 *
 * For well-formed strings, UTF-8 byte order equals code point order. UTF-16
 * code unit order (JS `<`) differs from it only when a surrogate (a code
 * point above U+FFFF) meets a unit in U+E000–U+FFFF, so the first differing
 * unit is remapped: surrogates move above U+E000–U+FFFF. No allocation.
 * Lone surrogates order as if they were part of a pair (Go strings cannot
 * hold them; callers validate with isValidUTF8 first where it matters).
 */
export function compareGoStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      const fx = x >= 0xd800 ? (x >= 0xe000 ? x - 0x800 : x + 0x2000) : x;
      const fy = y >= 0xd800 ? (y >= 0xe000 ? y - 0x800 : y + 0x2000) : y;
      return fx < fy ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** Go's `a < b` on strings. */
export function goStringLess(a: string, b: string): boolean {
  return compareGoStrings(a, b) < 0;
}

export const RUNE_ERROR = 0xfffd;

/** utf8.DecodeRune at b[i]: [rune, width]; invalid bytes give [U+FFFD, 1]. */
export function decodeRune(b: Uint8Array, i: number, end: number): [number, number] {
  const c0 = b[i] ?? 0;
  if (c0 < 0x80) return [c0, 1];
  const cont = (k: number): number => {
    const c = i + k < end ? (b[i + k] ?? 0) : 0;
    return (c & 0xc0) === 0x80 ? c & 0x3f : -1;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    const c1 = cont(1);
    return c1 < 0 ? [RUNE_ERROR, 1] : [((c0 & 0x1f) << 6) | c1, 2];
  }
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const c1 = cont(1);
    const c2 = cont(2);
    if (c1 < 0 || c2 < 0) return [RUNE_ERROR, 1];
    const r = ((c0 & 0x0f) << 12) | (c1 << 6) | c2;
    if (r < 0x800 || (r >= 0xd800 && r <= 0xdfff)) return [RUNE_ERROR, 1];
    return [r, 3];
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const c1 = cont(1);
    const c2 = cont(2);
    const c3 = cont(3);
    if (c1 < 0 || c2 < 0 || c3 < 0) return [RUNE_ERROR, 1];
    const r = ((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    if (r < 0x10000 || r > 0x10ffff) return [RUNE_ERROR, 1];
    return [r, 4];
  }
  return [RUNE_ERROR, 1];
}

/**
 * Decodes bytes as Go sees a string: valid UTF-8 sequences become their
 * characters; each byte that is not part of one becomes the lone surrogate
 * U+DC00+byte (the "surrogateescape" convention), so the result is rejected
 * by isValidUTF8 and goQuote prints the byte as Go does (`\xff`).
 */
export function decodeGoBytes(bytes: Uint8Array): string {
  const units: number[] = [];
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const [r, n] = decodeRune(bytes, i, bytes.length);
    if (r === RUNE_ERROR && n === 1) units.push(0xdc00 + (bytes[i] ?? 0));
    else if (r < 0x10000) units.push(r);
    else units.push(0xd800 + ((r - 0x10000) >> 10), 0xdc00 + ((r - 0x10000) & 0x3ff));
    i += n;
    if (units.length >= 4096) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return out + String.fromCharCode(...units);
}

const LONE_SURROGATE = /\p{Cs}/u;
const encoder = new TextEncoder();

/**
 * The bytes of s as a Go string: UTF-8, except that lone surrogates turn back
 * into the bytes they stand for (the inverse of decodeGoBytes; a surrogate
 * outside U+DC80–U+DCFF gives its three WTF-8 bytes).
 */
export function encodeGoString(s: string): Uint8Array {
  if (!LONE_SURROGATE.test(s)) return encoder.encode(s);
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xdc80 && cp <= 0xdcff) out.push(cp - 0xdc00);
    else if (cp >= 0xd800 && cp <= 0xdfff) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else for (const b of encoder.encode(ch)) out.push(b);
  }
  return Uint8Array.from(out);
}

/**
 * Go's utf8.ValidString for a JS string: false when the string holds a lone
 * surrogate, which has no UTF-8 encoding (it would come from invalid bytes).
 */
export function isValidUTF8(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** Go's len(s): the length of encodeGoString(s), without encoding. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80 || (c >= 0xdc80 && c <= 0xdcff)) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
