import { describe, expect, it } from 'vitest';
import { BadPatternError, pathMatch } from '../../src/module/pathmatch.js';
import { matchPrefixPatterns } from '../../src/module/patterns.js';
import { decodeGoBytes } from '../../src/module/gostring.js';
import { prng, pick, tables } from './tables.js';

describe('module.matchPrefixPatterns vectors', () => {
  const rows = tables['module.matchPrefixPatterns'].rows;
  it('has all 26 rows', () => expect(rows).toHaveLength(26));
  it.each(rows)('matchPrefixPatterns($globs, $target) = $want', ({ globs, target, want }) => {
    expect(matchPrefixPatterns(globs, target)).toBe(want);
  });
});

describe('matchPrefixPatterns', () => {
  it('skips malformed globs and keeps looking', () => {
    expect(matchPrefixPatterns('[,rsc.io', 'rsc.io/quote')).toBe(true);
    expect(matchPrefixPatterns('rsc.io/[', 'rsc.io/quote')).toBe(false);
    expect(matchPrefixPatterns('*/text', 'rsc.io/text')).toBe(true);
    expect(matchPrefixPatterns('*/text', 'golang.org/x/text')).toBe(false);
    expect(matchPrefixPatterns('golang.org/x', 'golang.org/x/text')).toBe(true);
    expect(matchPrefixPatterns('golang.org/x', 'golang.org/xerrors')).toBe(false);
  });
});

// Go's path/match_test.go table: [pattern, name, match, bad pattern].
const goMatchTests: [string, string, boolean, boolean][] = [
  ['abc', 'abc', true, false],
  ['*', 'abc', true, false],
  ['*c', 'abc', true, false],
  ['a*', 'a', true, false],
  ['a*', 'abc', true, false],
  ['a*', 'ab/c', false, false],
  ['a*/b', 'abc/b', true, false],
  ['a*/b', 'a/c/b', false, false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true, false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true, false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false, false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false, false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true, false],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false, false],
  ['ab[c]', 'abc', true, false],
  ['ab[b-d]', 'abc', true, false],
  ['ab[e-g]', 'abc', false, false],
  ['ab[^c]', 'abc', false, false],
  ['ab[^b-d]', 'abc', false, false],
  ['ab[^e-g]', 'abc', true, false],
  ['a\\*b', 'a*b', true, false],
  ['a\\*b', 'ab', false, false],
  ['a?b', 'a☺b', true, false],
  ['a[^a]b', 'a☺b', true, false],
  ['a???b', 'a☺b', false, false],
  ['a[^a][^a][^a]b', 'a☺b', false, false],
  ['[a-ζ]*', 'α', true, false],
  ['*[a-ζ]', 'A', false, false],
  ['a?b', 'a/b', false, false],
  ['a*b', 'a/b', false, false],
  ['[\\]a]', ']', true, false],
  ['[\\-]', '-', true, false],
  ['[x\\-]', 'x', true, false],
  ['[x\\-]', '-', true, false],
  ['[x\\-]', 'z', false, false],
  ['[\\-x]', 'x', true, false],
  ['[\\-x]', '-', true, false],
  ['[\\-x]', 'a', false, false],
  ['[]a]', ']', false, true],
  ['[-]', '-', false, true],
  ['[x-]', 'x', false, true],
  ['[x-]', '-', false, true],
  ['[x-]', 'z', false, true],
  ['[-x]', 'x', false, true],
  ['[-x]', '-', false, true],
  ['[-x]', 'a', false, true],
  ['\\', 'a', false, true],
  ['[a-b-c]', 'a', false, true],
  ['[', 'a', false, true],
  ['[^', 'a', false, true],
  ['[^bc', 'a', false, true],
  ['a[', 'a', false, true],
  ['a[', 'ab', false, true],
  ['a[', 'x', false, true],
  ['a/b[', 'x', false, true],
  ['*x', 'xxx', true, false],
];

describe('pathMatch (Go path.Match)', () => {
  it.each(goMatchTests)('pathMatch(%j, %j) = %s, bad=%s', (pattern, name, want, bad) => {
    if (bad) {
      expect(() => pathMatch(pattern, name)).toThrow(BadPatternError);
    } else {
      expect(pathMatch(pattern, name)).toBe(want);
    }
  });

  it('works on UTF-8 bytes like Go', () => {
    expect(pathMatch('?', 'é')).toBe(true); // one rune, two bytes
    expect(pathMatch('??', 'é')).toBe(false);
    expect(pathMatch('*??', 'éé')).toBe(true);
    expect(pathMatch('[\u{1F600}-\u{1F64F}]', '\u{1F610}')).toBe(true);
    expect(pathMatch('[^a]', '\u{1F610}')).toBe(true);
    // A class bound that is not UTF-8 is a bad pattern; a name byte that is not UTF-8 matches '?'.
    expect(() => pathMatch(decodeGoBytes(Buffer.from('5bff5d', 'hex')), 'a')).toThrow(BadPatternError);
    expect(pathMatch('a?', decodeGoBytes(Buffer.from('61ff', 'hex')))).toBe(true);
    expect(pathMatch('', '')).toBe(true);
    expect(pathMatch('', 'a')).toBe(false);
  });

  it('finishes on adversarial input (an exponential matcher would hit the test timeout)', () => {
    expect(pathMatch('a*'.repeat(30) + 'b', 'a'.repeat(2000))).toBe(false);
    expect(pathMatch('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false);
  });

  it('agrees with a simple reference matcher on random ASCII patterns without classes (property)', () => {
    const rand = prng(7);
    // Reference: '*' = [^/]*, '?' = [^/], '\\c' = c; full match. Built as a RegExp.
    const toRegExp = (pattern: string): RegExp | null => {
      let re = '^';
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern.charAt(i);
        if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else if (c === '\\') {
          i++;
          if (i >= pattern.length) return null;
          re += pattern.charAt(i).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
        } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      }
      return new RegExp(re + '$');
    };
    for (let k = 0; k < 3000; k++) {
      const pattern = Array.from({ length: Math.floor(rand() * 6) }, () =>
        pick(rand, ['a', 'b', '/', '*', '?', '\\*', '\\']),
      ).join('');
      const name = Array.from({ length: Math.floor(rand() * 6) }, () => pick(rand, ['a', 'b', '/', '*'])).join('');
      const re = toRegExp(pattern);
      if (re === null) {
        // A trailing lone backslash: bad pattern only once the matcher reaches it.
        try {
          pathMatch(pattern, name);
        } catch (err) {
          expect(err).toBeInstanceOf(BadPatternError);
        }
        continue;
      }
      expect(pathMatch(pattern, name), `${pattern} ~ ${name}`).toBe(re.test(name));
    }
  });
});
