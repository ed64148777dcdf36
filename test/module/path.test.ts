import { describe, expect, it } from 'vitest';
import {
  check,
  checkPathMajor,
  isVersionOf,
  matchPathMajor,
  pathMajorPrefix,
  canonicalVersion,
  isCanonicalVersion,
} from '../../src/module/check.js';
import { escapePath, escapeVersion, unescapePath } from '../../src/module/escape.js';
import { COVERED_UNICODE_VERSION } from '../../src/module/unicode.js';
import {
  InvalidPathError,
  InvalidVersionError,
  ModuleError,
  checkFilePath,
  checkImportPath,
  checkPath,
  isValidFilePath,
  isValidImportPath,
  isValidModulePath,
  splitPathVersion,
} from '../../src/module/path.js';
import { decodeVectorString, tables, thrown } from './tables.js';

const pathRows = tables['module.checkPathTests'].rows.map((r) => ({ ...r, decoded: decodeVectorString(r.path) }));

describe('module.checkPathTests vectors', () => {
  it('has all 105 rows, one of them not UTF-8', () => {
    expect(pathRows).toHaveLength(105);
    expect(pathRows.filter((r) => !r.decoded.validUTF8)).toHaveLength(1);
  });

  it.each(pathRows.map((r) => [JSON.stringify(r.decoded.text), r] as const))('%s', (_label, row) => {
    const path = row.decoded.text;
    for (const [fn, valid, want, kind] of [
      [checkPath, isValidModulePath, row.ok, 'module'],
      [checkImportPath, isValidImportPath, row.importOK, 'import'],
      [checkFilePath, isValidFilePath, row.fileOK, 'file'],
    ] as const) {
      const err = thrown(() => fn(path));
      expect(valid(path)).toBe(want);
      if (want) {
        expect(err).toBeNull();
      } else {
        expect(err).toBeInstanceOf(InvalidPathError);
        const e = err as InvalidPathError;
        expect(e.kind).toBe(kind);
        expect(e.path).toBe(path);
        expect(e.message.startsWith(`malformed ${kind} path `)).toBe(true);
        expect(e.message.endsWith(`: ${e.reason}`)).toBe(true);
      }
    }
    if (!row.ok) {
      expect(thrown(() => escapePath(path))).toBeInstanceOf(InvalidPathError);
      expect(thrown(() => unescapePath(path))).toBeInstanceOf(InvalidPathError);
    }
    const { prefix, pathMajor } = splitPathVersion(path);
    expect(prefix + pathMajor).toBe(path);
  });

  it('rejects bytes that are not UTF-8, both as escaped bytes and lossily decoded', () => {
    for (const row of pathRows.filter((r) => !r.decoded.validUTF8)) {
      const err = thrown(() => checkPath(row.decoded.text)) as InvalidPathError;
      expect(err.reason).toBe('invalid UTF-8');
      // The table gives Go source spelling ("\xFF"); %q prints lowercase hex.
      const quoted = (row.decoded.goLiteral ?? '').replace(/\\x[0-9A-F]{2}/g, (m) => m.toLowerCase());
      expect(err.message).toBe(`malformed module path ${quoted}: invalid UTF-8`);
      expect(thrown(() => checkImportPath(row.decoded.text))).toBeInstanceOf(InvalidPathError);
      expect(thrown(() => checkFilePath(row.decoded.text))).toBeInstanceOf(InvalidPathError);
      // A caller that decoded the bytes with U+FFFD still gets a rejection (U+FFFD is no letter).
      for (const fn of [checkPath, checkImportPath, checkFilePath]) {
        expect(thrown(() => fn(row.decoded.lossy))).toBeInstanceOf(InvalidPathError);
      }
    }
    // A lone surrogate from anywhere is invalid UTF-8 too.
    expect((thrown(() => checkFilePath('a/\ud800b')) as InvalidPathError).reason).toBe('invalid UTF-8');
  });
});

describe('Go error texts', () => {
  const cases: [() => void, string][] = [
    [() => checkPath('x'), 'malformed module path "x": missing dot in first path element'],
    [() => checkPath(''), 'malformed module path "": empty string'],
    [() => checkPath('x.y/z/v1'), 'malformed module path "x.y/z/v1": invalid version'],
    [() => checkPath('X.y/z'), `malformed module path "X.y/z": invalid char 'X' in first path element`],
    [() => checkPath('-x/z'), 'malformed module path "-x/z": leading dash'],
    [() => checkPath('.x/z'), 'malformed module path ".x/z": leading dot in path element'],
    [() => checkPath('x.y/z/'), 'malformed module path "x.y/z/": trailing slash'],
    [() => checkPath('x.y//z'), 'malformed module path "x.y//z": double slash'],
    [() => checkPath('x.y/z/../../w'), 'malformed module path "x.y/z/../../w": invalid path element ".."'],
    [() => checkPath('x./z'), 'malformed module path "x./z": trailing dot in path element'],
    [
      () => checkPath('x.y/aux.foo'),
      'malformed module path "x.y/aux.foo": "aux" disallowed as path element component on Windows',
    ],
    [() => checkPath('x.y/z~09'), 'malformed module path "x.y/z~09": trailing tilde and digits in path element'],
    [() => checkPath('x☺y'), `malformed module path "x☺y": invalid char '☺'`],
    [() => checkPath('x.y+/z'), `malformed module path "x.y+/z": invalid char '+'`],
    [() => checkPath('/x.y/z'), 'malformed module path "/x.y/z": empty path element'],
    [() => checkImportPath('x.y"/z'), `malformed import path "x.y\\"/z": invalid char '"'`],
    [() => checkFilePath("x.y/z'"), `malformed file path "x.y/z'": invalid char '\\''`],
    [() => checkFilePath('x.y/z\\'), `malformed file path "x.y/z\\\\": invalid char '\\\\'`],
    [() => checkFilePath('a/\u00a0'), `malformed file path "a/\\u00a0": invalid char '\\u00a0'`],
    [() => checkFilePath('a/b\tc'), `malformed file path "a/b\\tc": invalid char '\\t'`],
    // A character outside the BMP is one character (two UTF-16 units): quoted whole, and the one after it checked.
    [() => checkFilePath('a/\u{1F600}b'), `malformed file path "a/\u{1F600}b": invalid char '\u{1F600}'`],
    [
      () => checkFilePath('a/\u{1D49C}\u{1F600}'),
      `malformed file path "a/\u{1D49C}\u{1F600}": invalid char '\u{1F600}'`,
    ],
    [() => check('rsc.io/quote', '0.1.0'), 'rsc.io/quote@0.1.0: invalid version: not a semantic version'],
    [
      () => check('github.com/go-yaml/yaml', 'v2.0.0'),
      'github.com/go-yaml/yaml@v2.0.0: invalid version: should be v0 or v1, not v2',
    ],
    [() => check('gopkg.in/yaml.v1', 'v2.0.0'), 'gopkg.in/yaml.v1@v2.0.0: invalid version: should be v1, not v2'],
    [
      () => check('github.com/go-yaml/yaml/v2', 'v3.0.0'),
      'github.com/go-yaml/yaml/v2@v3.0.0: invalid version: should be v2, not v3',
    ],
    [() => check('rsc io/quote', 'v1.0.0'), `malformed module path "rsc io/quote": invalid char ' '`],
    [() => checkPathMajor('v2.0.0', ''), 'version "v2.0.0" invalid: should be v0 or v1, not v2'],
    // Letters of Unicode 15.1–17.0 are not letters to Go 1.26 (unicode.Version 15.0.0), whatever Node's ICU says.
    // Expected texts from golang.org/x/mod v0.43.0 built with go1.26.8.
    [() => checkFilePath('a/\u{2EBF0}'), `malformed file path "a/\\U0002ebf0": invalid char '\\U0002ebf0'`],
    [() => checkFilePath('a/\u1C89x'), `malformed file path "a/\\u1c89x": invalid char '\\u1c89'`],
    [() => checkFilePath('a/\uA7CB'), `malformed file path "a/\\ua7cb": invalid char '\\ua7cb'`],
    [() => checkFilePath('a/\u{13460}.go'), `malformed file path "a/\\U00013460.go": invalid char '\\U00013460'`],
    [() => checkFilePath('a/\u{1E6C0}'), `malformed file path "a/\\U0001e6c0": invalid char '\\U0001e6c0'`],
    [() => checkFilePath('a/\u088F'), `malformed file path "a/\\u088f": invalid char '\\u088f'`],
    [() => escapeVersion('v1.0.0-\u{2EBF0}'), 'version "v1.0.0-\\U0002ebf0" invalid: disallowed version string'],
  ];
  it('takes a letter outside the BMP as one character', () => {
    expect(isValidFilePath('a/\u{1D49C}x')).toBe(true);
    expect(isValidFilePath('a/x\u{1D49C}')).toBe(true);
    expect(isValidFilePath('a/\u{31350}')).toBe(true); // a letter of Unicode 15.0 (x/mod v0.43.0, go1.26.8)
  });

  it('knows the letters of every Unicode version up to the one this Node has', () => {
    // NEWER_THAN_GO lists the characters assigned after Go's Unicode 15.0; a newer Node needs it extended.
    expect(Number(process.versions.unicode)).toBeLessThanOrEqual(Number(COVERED_UNICODE_VERSION));
  });
  it.each(cases)('%#', (fn, message) => {
    const err = thrown(fn);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(message);
  });

  it('check throws ModuleError carrying the cause', () => {
    const bad = thrown(() => check('rsc io/quote', 'v1.0.0')) as ModuleError;
    expect(bad).toBeInstanceOf(ModuleError);
    expect(bad.cause).toBeInstanceOf(InvalidPathError);
    const mismatch = thrown(() => check('rsc.io/quote', 'v2.0.0')) as ModuleError;
    expect(mismatch).toBeInstanceOf(ModuleError);
    expect(mismatch.path).toBe('rsc.io/quote');
    expect(mismatch.version).toBe('v2.0.0');
    expect(mismatch.reason).toBe('invalid version: should be v0 or v1, not v2');
    expect(mismatch.cause).toBeInstanceOf(InvalidVersionError);
  });

  it('ModuleError formats as Go does without an InvalidVersionError', () => {
    expect(new ModuleError('m.io/x', 'v1.0.0', new Error('boom')).message).toBe('m.io/x@v1.0.0: boom');
    expect(new ModuleError('m.io/x', '', new Error('boom')).message).toBe('module m.io/x: boom');
    expect(new ModuleError('m.io/x', '', new InvalidVersionError('v1', true, 'syntax error')).message).toBe(
      'm.io/x@v1: invalid pseudo-version: syntax error',
    );
  });
});

describe('module.splitPathVersionTests vectors', () => {
  const rows = tables['module.splitPathVersionTests'].rows;
  it('has all 8 rows', () => expect(rows).toHaveLength(8));
  it.each(rows)('$pathPrefix + $version', ({ pathPrefix, version }) => {
    expect(splitPathVersion(pathPrefix + version)).toEqual({ prefix: pathPrefix, pathMajor: version, ok: true });
  });
  it('rejects malformed suffixes', () => {
    for (const p of [
      'x.y/z/v1',
      'x.y/z/v0',
      'x.y/z/v2.0',
      'x.y/z/v02',
      'gopkg.in/yaml',
      'gopkg.in/yaml.v01',
      'gopkg.in/v2',
    ]) {
      expect(splitPathVersion(p), p).toEqual({ prefix: p, pathMajor: '', ok: false });
    }
    expect(splitPathVersion('gopkg.in/yaml.v2-unstable')).toEqual({
      prefix: 'gopkg.in/yaml',
      pathMajor: '.v2-unstable',
      ok: true,
    });
  });
});

describe('module.checkTests vectors', () => {
  const rows = tables['module.checkTests'].rows;
  it('has all 29 rows', () => expect(rows).toHaveLength(29));
  it.each(rows)('check($path, $version) ok=$ok', ({ path, version, ok }) => {
    const err = thrown(() => check(path, version));
    if (ok) expect(err).toBeNull();
    else expect(err).toBeInstanceOf(ModuleError);
    // For a valid path, check's verdict is isVersionOf's.
    if (isValidModulePath(path)) expect(isVersionOf(path, version)).toBe(ok);
  });
});

describe('module.matchPathMajor vectors', () => {
  const rows = tables['module.matchPathMajor'].rows;
  it('has all 11 rows', () => expect(rows).toHaveLength(11));
  it.each(rows)('matchPathMajor($v, $pathMajor) = $want', ({ v, pathMajor, want }) => {
    expect(matchPathMajor(v, pathMajor)).toBe(want);
    const err = thrown(() => checkPathMajor(v, pathMajor));
    if (want) expect(err).toBeNull();
    else expect(err).toBeInstanceOf(InvalidVersionError);
  });
});

describe('pathMajorPrefix, canonicalVersion', () => {
  it('pathMajorPrefix', () => {
    expect(pathMajorPrefix('')).toBe('');
    expect(pathMajorPrefix('/v2')).toBe('v2');
    expect(pathMajorPrefix('.v1-unstable')).toBe('v1');
    expect(() => pathMajorPrefix('v2')).toThrow(/lacks separator/);
    expect(() => pathMajorPrefix('/v2.0')).toThrow(/not a valid major version/);
  });

  it('canonicalVersion keeps +incompatible and nothing else of the build', () => {
    expect(canonicalVersion('v2.0.0+incompatible')).toBe('v2.0.0+incompatible');
    expect(canonicalVersion('v2+incompatible')).toBe('');
    expect(canonicalVersion('v2.1')).toBe('v2.1.0');
    expect(canonicalVersion('v1.0.0+meta')).toBe('v1.0.0');
    expect(canonicalVersion('bad')).toBe('');
    expect(isCanonicalVersion('v1.0.0')).toBe(true);
    expect(isCanonicalVersion('v2.0.0+incompatible')).toBe(true);
    expect(isCanonicalVersion('v1.0')).toBe(false);
    expect(isCanonicalVersion('v1.0.0+meta')).toBe(false);
    expect(isCanonicalVersion('')).toBe(false);
  });
});
