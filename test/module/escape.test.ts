import { describe, expect, it } from 'vitest';
import { escapePath, escapeVersion, unescapePath, unescapeVersion } from '../../src/module/escape.js';
import { InvalidPathError, InvalidVersionError } from '../../src/module/errors.js';
import { isValidModulePath } from '../../src/module/path.js';
import { pick, prng, tables, thrown } from './tables.js';

describe('module.escapeTests vectors', () => {
  const rows = tables['module.escapeTests'].rows;
  it('has both rows', () => expect(rows).toHaveLength(2));
  it.each(rows)('$path', ({ path, esc }) => {
    const want = esc ?? path;
    expect(escapePath(path)).toBe(want);
    expect(unescapePath(want)).toBe(path);
  });
});

describe('module.badUnescape vectors', () => {
  const rows = tables['module.badUnescape'].rows;
  it('has all 6 rows', () => expect(rows).toHaveLength(6));
  it.each(rows)('unescapePath(%j) fails', (bad) => {
    const err = thrown(() => unescapePath(bad));
    expect(err).toBeInstanceOf(InvalidPathError);
    expect((err as Error).message.startsWith(`invalid escaped module path "`)).toBe(true);
  });
});

describe('escape error texts', () => {
  it('match Go', () => {
    expect((thrown(() => unescapePath('github.com/GoogleCloudPlatform/omega')) as Error).message).toBe(
      'invalid escaped module path "github.com/GoogleCloudPlatform/omega"',
    );
    expect((thrown(() => unescapePath('x/!abc')) as Error).message).toBe(
      'invalid escaped module path "x/!abc": malformed module path "x/Abc": missing dot in first path element',
    );
    expect((thrown(() => escapePath('x')) as Error).message).toBe(
      'malformed module path "x": missing dot in first path element',
    );
    const v = thrown(() => escapeVersion('v1!')) as InvalidVersionError;
    expect(v).toBeInstanceOf(InvalidVersionError);
    expect(v.message).toBe('version "v1!" invalid: disallowed version string');
    expect((thrown(() => unescapeVersion('v1.0.0-!')) as Error).message).toBe('invalid escaped version "v1.0.0-!"');
    expect((thrown(() => unescapeVersion('v1.0.0/x')) as Error).message).toBe(
      `invalid escaped version "v1.0.0/x": invalid char '/'`,
    );
  });

  it('versions: non-semver file names are fine, but not every file name', () => {
    expect(escapeVersion('v1.5.3-PRE')).toBe('v1.5.3-!p!r!e');
    expect(unescapeVersion('v1.5.3-!p!r!e')).toBe('v1.5.3-PRE');
    expect(escapeVersion('master')).toBe('master');
    expect(escapeVersion('latest')).toBe('latest');
    for (const bad of ['', '.', '..', 'v1/2', 'a b.', 'x*', 'con', 'v1.0.0\u0000']) {
      expect(
        thrown(() => escapeVersion(bad)),
        JSON.stringify(bad),
      ).toBeInstanceOf(InvalidVersionError);
    }
    // A Unicode letter passes the file-name check but cannot be escaped.
    expect((thrown(() => escapeVersion('vé')) as Error).message).toBe('internal error: inconsistency in EscapePath');
    for (const bad of ['V1', 'v1!', 'v1!!a', 'v1!0', 'vé', '']) {
      expect(
        thrown(() => unescapeVersion(bad)),
        bad,
      ).toBeInstanceOf(InvalidVersionError);
    }
  });

  it('resolves the cmd/go fixture names', () => {
    expect(unescapePath('rsc.io/!q!u!o!t!e')).toBe('rsc.io/QUOTE');
    expect(unescapePath('rsc.io/!c!g!o')).toBe('rsc.io/CGO');
    expect(unescapeVersion('v1.5.3-!p!r!e')).toBe('v1.5.3-PRE');
  });
});

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();

function randomElement(rand: () => number, first: boolean): string {
  const chars = first ? LOWER + '0123456789-' : LOWER + UPPER + UPPER + '0123456789-_~.';
  const len = 1 + Math.floor(rand() * 10);
  let s = '';
  for (let i = 0; i < len; i++) s += pick(rand, [...chars]);
  if (first) s += '.' + pick(rand, ['com', 'io', 'org', 'dev']);
  return s;
}

function randomModulePath(rand: () => number): string {
  const n = Math.floor(rand() * 4);
  const parts = [randomElement(rand, true)];
  for (let i = 0; i < n; i++) parts.push(randomElement(rand, false));
  return parts.join('/');
}

describe('round trips (property)', () => {
  const rand = prng(42);
  const paths: string[] = [];
  while (paths.length < 2000) {
    const p = randomModulePath(rand);
    if (isValidModulePath(p)) paths.push(p);
  }

  it('generated paths exercise upper case', () => {
    expect(paths.filter((p) => /[A-Z]/.test(p)).length).toBeGreaterThan(1000);
  });

  it('unescapePath(escapePath(p)) === p, escapes hold no upper case', () => {
    for (const p of paths) {
      const esc = escapePath(p);
      expect(esc).not.toMatch(/[A-Z]/);
      expect(esc.replaceAll('!', '')).toBe(p.toLowerCase());
      expect(unescapePath(esc)).toBe(p);
      if (!/[A-Z]/.test(p)) expect(esc).toBe(p);
    }
  });

  it('case variants of one path get distinct escapes (safe on case-insensitive stores)', () => {
    for (const p of paths.slice(0, 200)) {
      const variants = new Set([p, p.toLowerCase(), p.toUpperCase(), p.replace(/[a-z]/, (c) => c.toUpperCase())]);
      const valid = [...variants].filter(isValidModulePath);
      const escapes = new Set(valid.map((v) => escapePath(v).toLowerCase()));
      expect(escapes.size).toBe(valid.length);
    }
  });

  it('escapeVersion / unescapeVersion round trip', () => {
    for (let k = 0; k < 2000; k++) {
      const v = 'v' + randomElement(rand, false).replace(/\.+$/, '') + 'x';
      const esc = escapeVersion(v);
      expect(esc).not.toMatch(/[A-Z]/);
      expect(unescapeVersion(esc)).toBe(v);
    }
  });
});
