import { describe, expect, it } from 'vitest';
import {
  build,
  canonical,
  compare,
  compareVersionsForSort,
  isValid,
  major,
  majorMinor,
  max,
  prerelease,
  sortVersions,
} from '../../src/module/semver.js';
import { pick, prng, shuffled, tables } from './tables.js';

const rows = tables['semver.tests'].rows;
const golden = tables['semver.sortGolden'].rows;

describe('semver.tests vectors', () => {
  it('has all 32 rows', () => {
    expect(rows).toHaveLength(32);
    expect(golden).toHaveLength(32);
  });

  it.each(rows)('isValid/canonical($in)', ({ in: v, out }) => {
    expect(isValid(v)).toBe(out !== '');
    expect(canonical(v)).toBe(out);
  });

  it.each(rows)('major/majorMinor/prerelease/build($in)', ({ in: v, out }) => {
    // Expected values derived from the row as golang.org/x/mod's semver_test.go derives them.
    const dot = out.indexOf('.');
    expect(major(v)).toBe(dot >= 0 ? out.slice(0, dot) : '');

    let mm = '';
    if (out !== '') {
      mm = v;
      const plus = mm.indexOf('+');
      if (plus >= 0) mm = mm.slice(0, plus);
      const dash = mm.indexOf('-');
      if (dash >= 0) mm = mm.slice(0, dash);
      const dots = mm.split('.').length - 1;
      if (dots === 0) mm += '.0';
      else if (dots === 2) mm = mm.slice(0, mm.lastIndexOf('.'));
    }
    expect(majorMinor(v)).toBe(mm);

    const dashOut = out.indexOf('-');
    expect(prerelease(v)).toBe(out !== '' && dashOut >= 0 ? out.slice(dashOut) : '');
    const plusIn = v.indexOf('+');
    expect(build(v)).toBe(out !== '' && plusIn >= 0 ? v.slice(plusIn) : '');
  });

  it('compare: rows are in increasing order, equal canonical forms compare equal', () => {
    let pairs = 0;
    rows.forEach((a, i) => {
      rows.forEach((b, j) => {
        const want = a.out === b.out ? 0 : i < j ? -1 : 1;
        expect(compare(a.in, b.in), `compare(${a.in}, ${b.in})`).toBe(want);
        pairs++;
      });
    });
    expect(pairs).toBe(32 * 32);
  });

  it('max: canonical form of the later row', () => {
    rows.forEach((a, i) => {
      rows.forEach((b, j) => {
        const want = i < j ? canonical(b.in) : canonical(a.in);
        expect(max(a.in, b.in), `max(${a.in}, ${b.in})`).toBe(want);
      });
    });
  });

  it('sortVersions of shuffled inputs equals the sort golden', () => {
    const rand = prng(20180101);
    const inputs = rows.map((r) => r.in);
    for (let k = 0; k < 20; k++) {
      expect(sortVersions(shuffled(rand, inputs))).toEqual(golden);
    }
  });

  it('sortVersions does not modify its input', () => {
    const input = ['v1.2.0', 'v1.0.0'];
    sortVersions(input);
    expect(input).toEqual(['v1.2.0', 'v1.0.0']);
  });
});

describe('semver edge cases', () => {
  it('compares numbers by value, not as strings', () => {
    expect(compare('v1.10.0', 'v1.9.0')).toBe(1);
    expect(compare('v10.0.0', 'v9.0.0')).toBe(1);
    expect(compare('v1.0.0-10', 'v1.0.0-9')).toBe(1);
    expect(compare('v1.0.0-a', 'v1.0.0-9')).toBe(1);
    expect(compare('v1.0.0-alpha.1', 'v1.0.0-alpha')).toBe(1);
    expect(compare('v1.0.0+a', 'v1.0.0+b')).toBe(0);
  });

  it('rejects leading zeros, empty identifiers and junk', () => {
    for (const bad of [
      'v01.0.0',
      'v1.01.0',
      'v1.0.01',
      'v1.0.0-01',
      'v1.0.0-a..b',
      'v1.0.0-',
      'v1.0.0+',
      'v1.0.0+a..b',
      '1.0.0',
      'v',
      'v1.',
      'v1.0.',
      'v1.0.0.0',
      'v1.0.0-é',
      'V1.0.0',
      '',
    ]) {
      expect(isValid(bad), bad).toBe(false);
    }
    for (const good of [
      'v0.0.0',
      'v1.0.0-0',
      'v1.0.0-0a',
      'v1.0.0-a-',
      'v1.0.0+01',
      'v1.0.0-x+y.z',
      'v123456789012345678901234567890.0.0',
    ]) {
      expect(isValid(good), good).toBe(true);
    }
  });

  it('majorMinor keeps the spelling of a valid version', () => {
    expect(majorMinor('v2.1.0')).toBe('v2.1');
    expect(majorMinor('v2')).toBe('v2.0');
    expect(majorMinor('v2.1')).toBe('v2.1');
    expect(majorMinor('bad')).toBe('');
  });
});

/** Random version-like strings: mostly valid, some invalid, many ties. */
function randomVersion(rand: () => number): string {
  const num = (): string => pick(rand, ['0', '1', '2', '9', '10', '11', '01', '100']);
  const ident = (): string =>
    pick(rand, ['0', '1', '2', '10', '01', 'a', 'alpha', 'beta', 'rc', 'a-b', '-', 'Z', 'x1']);
  let v = 'v' + num();
  const shape = rand();
  if (shape < 0.1) return pick(rand, ['', 'bad', 'v', '1.0.0', 'v1.0.0-', 'v1..0']);
  if (shape < 0.2) return v;
  v += '.' + num();
  if (shape < 0.3) return v;
  v += '.' + num();
  if (rand() < 0.5) {
    const n = 1 + Math.floor(rand() * 3);
    v += '-' + Array.from({ length: n }, ident).join('.');
  }
  if (rand() < 0.3) v += '+' + pick(rand, ['meta', 'incompatible', 'a.b', '01']);
  return v;
}

describe('compare is a total order consistent with sortVersions (property)', () => {
  const rand = prng(0x5eed);
  const sample = Array.from({ length: 300 }, () => randomVersion(rand));

  it('is reflexive and antisymmetric', () => {
    for (const a of sample) {
      expect(compare(a, a)).toBe(0);
      for (const b of sample.slice(0, 60)) {
        expect(compare(a, b) + compare(b, a)).toBe(0);
      }
    }
  });

  it('is transitive, and equality means equal canonical forms', () => {
    for (let k = 0; k < 5000; k++) {
      const [a, b, c] = [pick(rand, sample), pick(rand, sample), pick(rand, sample)];
      if (compare(a, b) <= 0 && compare(b, c) <= 0) expect(compare(a, c), `${a} ${b} ${c}`).toBeLessThanOrEqual(0);
      if (compare(a, b) === 0 && compare(b, c) === 0) expect(compare(a, c)).toBe(0);
      if (isValid(a) && isValid(b)) expect(compare(a, b) === 0).toBe(canonical(a) === canonical(b));
    }
  });

  it('sortVersions yields a non-decreasing sequence, the same for every input order', () => {
    const sorted = sortVersions(sample);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1] ?? '';
      const cur = sorted[i] ?? '';
      expect(compare(prev, cur)).toBeLessThanOrEqual(0);
      expect(compareVersionsForSort(prev, cur)).toBeLessThanOrEqual(0);
    }
    for (let k = 0; k < 5; k++) expect(sortVersions(shuffled(rand, sample))).toEqual(sorted);
  });
});
