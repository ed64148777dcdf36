// The go line of a root go.mod (ParseLax + version.Lang) and the vendor rules it selects.
import { describe, expect, it } from 'vitest';
import { goModLang, isVendoredPackage } from '../../src/modzip/index.js';

describe('goModLang', () => {
  const cases: Array<[string, { major: number; minor: number } | null]> = [
    ['module m\n\ngo 1.24\n', { major: 1, minor: 24 }],
    ['go 1.21.3', { major: 1, minor: 21 }],
    ['go 1.22rc1 // comment\n', { major: 1, minor: 22 }],
    ['go 1.23-x\n', { major: 1, minor: 23 }], // fixed by the lax rule
    ['go v1.30.x\n', { major: 1, minor: 30 }],
    ['module m\n', null],
    ['', null],
    ['go 1.24\ngo 1.25\n', null], // repeated go statement
    ['go 1.24 1.25\n', null],
    ['go "1.24"\n', null],
    ['go 01.24\n', null],
    ['module m\nmodule n\ngo 1.24\n', null],
    ['module "unterminated\ngo 1.24\n', null],
    ['require (\n\tgo 1.24\n)\n', null], // inside a block it is not the go directive
    ['module m\ngo 1.24\nmodules.txt is excluded in 1.24+. See golang.org/issue/63395\n', { major: 1, minor: 24 }],
    ['// go 1.24\n', null],
  ];
  for (const [text, want] of cases) {
    it(JSON.stringify(text), () => {
      expect(goModLang(Buffer.from(text))).toEqual(want);
    });
  }
});

describe('isVendoredPackage', () => {
  const go123 = { major: 1, minor: 23 };
  const go124 = { major: 1, minor: 24 };
  const cases: Array<[string, boolean, boolean]> = [
    // name, before 1.24, from 1.24
    ['vendor/modules.txt', false, true],
    ['vendor/x/y.go', true, true],
    ['vendor/x.go', false, false],
    ['pkg/vendor/vendor.go', true, false], // golang.org/issue/37397
    ['pkg/vendor/foo/foo.go', true, true],
    ['a/b/vendor/c.go', true, false],
    ['vendorx/a/b.go', false, false],
    ['x/vendor', false, false],
  ];
  for (const [name, old, cur] of cases) {
    it(name, () => {
      expect(isVendoredPackage(name, null)).toBe(old);
      expect(isVendoredPackage(name, go123)).toBe(old);
      expect(isVendoredPackage(name, go124)).toBe(cur);
    });
  }
});
