import { describe, expect, it } from 'vitest';
import { goQuote, goQuoteRune } from '../../src/module/goquote.js';
import { compareGoStrings, decodeGoBytes, encodeGoString, isValidUTF8, utf8Length } from '../../src/module/gostring.js';
import { prng, pick } from './tables.js';

describe('compareGoStrings', () => {
  it('orders by UTF-8 bytes, unlike JS < above U+FFFF', () => {
    const astral = '\u{1F600}'; // surrogates D83D DE00 in UTF-16, F0 9F 98 80 in UTF-8
    const privateUse = '\uE000'; // EE 80 80
    expect(astral < privateUse).toBe(true); // JS code-unit order
    expect(compareGoStrings(astral, privateUse)).toBe(1); // Go byte order
    expect(compareGoStrings(privateUse, astral)).toBe(-1);
    expect(compareGoStrings('\uFFFF', '\u{10000}')).toBe(-1);
    expect(compareGoStrings('a', 'ab')).toBe(-1);
    expect(compareGoStrings('ab', 'a')).toBe(1);
    expect(compareGoStrings('', '')).toBe(0);
    expect(compareGoStrings('b', 'a\u{10FFFF}')).toBe(1);
  });

  it('equals Buffer.compare of the UTF-8 bytes on random strings (property)', () => {
    const rand = prng(99);
    const alphabet = [
      'a',
      'z',
      '/',
      '.',
      '\u007f',
      '\u0080',
      '\u07ff',
      '\u0800',
      '\ud7ff',
      '\ue000',
      '\uffff',
      '\u{10000}',
      '\u{1F600}',
      '\u{10FFFF}',
    ];
    for (let k = 0; k < 5000; k++) {
      const gen = (): string => Array.from({ length: Math.floor(rand() * 5) }, () => pick(rand, alphabet)).join('');
      const a = gen();
      const b = gen();
      expect(compareGoStrings(a, b), `${JSON.stringify(a)} ${JSON.stringify(b)}`).toBe(
        Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')),
      );
    }
  });
});

describe('Go byte strings', () => {
  it('decodeGoBytes maps invalid bytes to lone surrogates and back', () => {
    for (const hex of ['782e792fff7a', 'c0af', 'eda080', 'f4908080', 'e282', '61e282ac62', 'efbfbd']) {
      const bytes = Buffer.from(hex, 'hex');
      const s = decodeGoBytes(bytes);
      expect(Buffer.from(encodeGoString(s)).toString('hex')).toBe(hex);
      expect(utf8Length(s)).toBe(bytes.length);
      expect(isValidUTF8(s)).toBe(bytes.toString('utf8') === s && Buffer.from(s, 'utf8').equals(bytes));
    }
    expect(isValidUTF8('x.y/\u{1F600}')).toBe(true);
    expect(isValidUTF8('\ud800')).toBe(false);
    expect(isValidUTF8('\udc00x')).toBe(false);
  });
});

describe('goQuote / goQuoteRune (strconv.Quote / QuoteRune)', () => {
  it.each([
    ['abc', '"abc"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['\n\t\u0007\u0000\u007f', '"\\n\\t\\a\\x00\\x7f"'],
    ['☺é', '"☺é"'],
    ['\u00a0\u00ad\u2028', '"\\u00a0\\u00ad\\u2028"'],
    ['\u{1F600}', '"\u{1F600}"'],
    ['\u{E0001}', '"\\U000e0001"'],
    [decodeGoBytes(Buffer.from('78ff', 'hex')), '"x\\xff"'],
    // Not printable to Go 1.26 (Unicode 15.0), printable to a Node with Unicode 16+; strconv.Quote in go1.26.8.
    ['\u{1FA89}\u1C89\u{31350}', '"\\U0001fa89\\u1c89\u{31350}"'],
  ])('goQuote(%j) = %s', (s, want) => expect(goQuote(s)).toBe(want));

  it.each([
    [0x27, "'\\''"],
    [0x22, `'"'`],
    [0x5c, "'\\\\'"],
    [0x20, "' '"],
    [0x263a, "'☺'"],
    [0x09, "'\\t'"],
    [0xd800, "'�'"],
    [0x1fa89, "'\\U0001fa89'"], // strconv.QuoteRune in go1.26.8
  ])('goQuoteRune(%i) = %s', (cp, want) => expect(goQuoteRune(cp)).toBe(want));
});
