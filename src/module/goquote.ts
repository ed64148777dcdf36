// The quoting of fmt's %q verb (strconv.Quote, strconv.QuoteRune), which
// Go's error messages use and which ours reproduce byte for byte.
import { newerThanGoUnicode } from './unicode.js';

// strconv.IsPrint: letters, marks, numbers, punctuation, symbols and U+0020, of Go's Unicode (15.0).
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function isPrint(cp: number): boolean {
  if (cp <= 0xff) {
    if (cp >= 0x20 && cp <= 0x7e) return true;
    if (cp >= 0xa1 && cp <= 0xff) return cp !== 0xad;
    return false;
  }
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return PRINTABLE.test(String.fromCodePoint(cp)) && !newerThanGoUnicode(cp);
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

const NAMED_ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
};

function escapeRune(cp: number, quote: number): string {
  if (cp === quote || cp === 0x5c) return '\\' + String.fromCodePoint(cp);
  if (isPrint(cp)) return String.fromCodePoint(cp);
  const named = NAMED_ESCAPES[cp];
  if (named !== undefined) return named;
  if (cp < 0x20 || cp === 0x7f) return '\\x' + hex(cp, 2);
  if (cp < 0x10000) return '\\u' + hex(cp, 4);
  return '\\U' + hex(cp, 8);
}

/**
 * Go's strconv.Quote (fmt %q of a string). Lone surrogates stand for bytes
 * that are not UTF-8: U+DC80–U+DCFF for the byte 0x80–0xFF (decodeGoBytes),
 * any other for its three WTF-8 bytes; Go shows such bytes as `\x` escapes.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0xfffd;
    if (cp >= 0xdc80 && cp <= 0xdcff) {
      out += '\\x' + hex(cp - 0xdc00, 2);
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      out += '\\x' + hex(0xe0 | (cp >> 12), 2) + '\\x' + hex(0x80 | ((cp >> 6) & 0x3f), 2);
      out += '\\x' + hex(0x80 | (cp & 0x3f), 2);
      continue;
    }
    out += escapeRune(cp, 0x22);
  }
  return out + '"';
}

/** Go's strconv.QuoteRune (fmt %q of a rune); surrogates become U+FFFD as in Go. */
export function goQuoteRune(cp: number): string {
  const r = (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp < 0 ? 0xfffd : cp;
  return "'" + escapeRune(r, 0x27) + "'";
}
