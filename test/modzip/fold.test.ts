// strToFold and the collision checker: Unicode simple case folding orbits
// (unicode.SimpleFold), not toLowerCase.
import { describe, expect, it } from 'vitest';
import { checkFiles, strToFold } from '../../src/modzip/index.js';

function collide(a: string, b: string): string[] {
  return checkFiles([
    { path: a, size: 1 },
    { path: b, size: 1 },
  ]).invalid.map((p) => p.reason);
}

describe('strToFold', () => {
  it('keeps lowercase ASCII as is and lowers A-Z', () => {
    expect(strToFold('abc/def.go')).toBe('abc/def.go');
    expect(strToFold('ABC/Def.GO')).toBe('abc/def.go');
  });

  it('maps each orbit to one representative', () => {
    const orbits = [
      ['k', 'K', '\u212A'], // KELVIN SIGN
      ['s', 'S', '\u017F'], // LONG S
      ['\u00E5', '\u00C5', '\u212B'], // ANGSTROM SIGN
      ['\u03C3', '\u03A3', '\u03C2'], // sigma, final sigma
      ['\u00DF', '\u1E9E'], // sharp s
      ['\u03B8', '\u0398', '\u03D1', '\u03F4'], // theta forms
      ['\u1E9B', '\u1E60', '\u1E61'], // long s with dot above
    ];
    for (const orbit of orbits) {
      const folds = new Set(orbit.map(strToFold));
      expect([...folds], orbit.join(' ')).toHaveLength(1);
    }
  });

  it('keeps apart what simple folding keeps apart', () => {
    // Dotless i and dotted capital I have no simple folding (only Turkic or full mappings).
    expect(strToFold('\u0131')).not.toBe(strToFold('i'));
    expect(strToFold('\u0130')).not.toBe(strToFold('i'));
    expect(strToFold('\u0131')).not.toBe(strToFold('I'));
    // Go's tables (Unicode 15) have no simple folding here, though newer regex engines do: Go decides.
    expect(strToFold('\u0390')).not.toBe(strToFold('\u1FD3'));
    expect(strToFold('\uFB05')).not.toBe(strToFold('\uFB06'));
  });

  it("takes Go's orbits: every one also folds for the regex engine, and its minimum is its own", () => {
    // The table is Go's (fold-table.ts); a corrupted or misread entry would break one of these.
    let orbits = 0;
    for (let cp = 0x80; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const s = String.fromCodePoint(cp);
      const rep = strToFold(s);
      if (rep === s) continue;
      orbits++;
      const repCp = rep.codePointAt(0) ?? -1;
      expect(repCp, `U+${cp.toString(16)}`).toBeLessThan(cp);
      expect(strToFold(rep), `U+${cp.toString(16)}`).toBe(rep);
      const raw = repCp >= 0x61 && repCp <= 0x7a ? String.fromCodePoint(repCp - 0x20) : rep;
      const re = new RegExp(`^\\u{${cp.toString(16)}}$`, 'iu');
      expect(re.test(rep) || re.test(raw), `U+${cp.toString(16)} ~ ${rep}`).toBe(true);
    }
    expect(orbits).toBeGreaterThan(1_300);
  });
});

describe('collisions', () => {
  it('finds collisions toLowerCase would miss', () => {
    expect(collide('s.go', '\u017F.go')).toEqual(['case-insensitive file name collision: "s.go" and "\u017F.go"']);
    expect(collide('\u03C3.go', '\u03C2.go')).toEqual([
      'case-insensitive file name collision: "\u03C3.go" and "\u03C2.go"',
    ]);
    expect(collide('k.go', '\u212A.go')).toEqual(['case-insensitive file name collision: "k.go" and "\u212A.go"']);
  });

  it('finds collisions of non-ASCII letters and of directories', () => {
    expect(collide('\u00C9t\u00E9.go', '\u00E9T\u00C9.go')).toEqual([
      'case-insensitive file name collision: "\u00C9t\u00E9.go" and "\u00E9T\u00C9.go"',
    ]);
    expect(collide('x/\u00C5/a.go', 'x/\u00E5/b.go')).toEqual([
      'case-insensitive file name collision: "x/\u00C5" and "x/\u00E5"',
    ]);
  });

  it('finds every path under a directory that collided, not only the first', () => {
    // Checked against go 1.26.8 / golang.org/x/mod v0.43.0 CheckFiles: both a/b/... are invalid, only A is valid.
    const report = checkFiles(['A', 'a/b/c', 'a/b/d'].map((path) => ({ path, size: 1 })));
    expect(report.valid).toEqual(['A']);
    expect(report.invalid).toEqual([
      { path: 'a/b/c', reason: 'case-insensitive file name collision: "A" and "a"' },
      { path: 'a/b/d', reason: 'case-insensitive file name collision: "A" and "a"' },
    ]);
  });

  it('does not confuse names that only look alike', () => {
    expect(collide('\u0131.go', 'I.go')).toEqual([]);
    expect(collide('a.go', 'b.go')).toEqual([]);
    // Go's x/mod accepts these two side by side (no simple folding in its Unicode 15 tables): so does godepot.
    expect(collide('\u0390.go', '\u1FD3.go')).toEqual([]);
  });
});
