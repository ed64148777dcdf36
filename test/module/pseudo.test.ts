import { describe, expect, it } from 'vitest';
import { InvalidVersionError } from '../../src/module/errors.js';
import {
  decDecimal,
  incDecimal,
  isPseudoVersion,
  isZeroPseudoVersion,
  pseudoVersion,
  pseudoVersionBase,
  pseudoVersionRev,
  pseudoVersionTime,
  zeroPseudoVersion,
} from '../../src/module/pseudo.js';
import { compare, isValid } from '../../src/module/semver.js';
import { prng, tables, thrown } from './tables.js';

const FIXED_TIME = new Date('2006-01-02T15:04:05Z');

describe('module.pseudoTests vectors', () => {
  const rows = tables['module.pseudoTests'].rows;
  it('has all 13 rows', () => expect(rows).toHaveLength(13));
  it.each(rows)('$major $older → $version', ({ major, older, version }) => {
    expect(pseudoVersion(major, older, FIXED_TIME, 'hash')).toBe(version);
    expect(isPseudoVersion(version)).toBe(true);
    expect(isPseudoVersion(older)).toBe(false);
    expect(pseudoVersionTime(version).toISOString()).toBe('2006-01-02T15:04:05.000Z');
    expect(pseudoVersionRev(version)).toBe('hash');
    expect(pseudoVersionBase(version)).toBe(older);
  });
});

describe('module.invalidPseudoVersionBase vectors', () => {
  const rows = tables['module.invalidPseudoVersionBase'].rows;
  it('has all 7 rows', () => expect(rows).toHaveLength(7));
  it.each(rows)('pseudoVersionBase(%j) fails', (v) => {
    const err = thrown(() => pseudoVersionBase(v));
    expect(err).toBeInstanceOf(InvalidVersionError);
    expect((err as InvalidVersionError).pseudo).toBe(true);
  });
});

describe('module.incDecimal / decDecimal vectors', () => {
  const inc = tables['module.incDecimal'].rows;
  const dec = tables['module.decDecimal'].rows;
  it('has 5 and 8 rows', () => {
    expect(inc).toHaveLength(5);
    expect(dec).toHaveLength(8);
  });
  it.each(inc)('incDecimal($in) = $want', ({ in: d, want }) => expect(incDecimal(d)).toBe(want));
  it.each(dec)('decDecimal($in) = $want', ({ in: d, want }) => expect(decDecimal(d)).toBe(want));
  it('inverse of each other on random numbers (property)', () => {
    const rand = prng(3);
    for (let k = 0; k < 1000; k++) {
      const n = BigInt(Math.floor(rand() * 1e15)) * BigInt(1 + Math.floor(rand() * 1e6));
      const s = n.toString();
      expect(incDecimal(s)).toBe((n + 1n).toString());
      expect(decDecimal(incDecimal(s))).toBe(s);
      if (n > 0n) expect(decDecimal(s)).toBe((n - 1n).toString());
    }
  });
});

describe('pseudo-version details', () => {
  it('error texts match Go', () => {
    expect((thrown(() => pseudoVersionRev('v1.0.0')) as Error).message).toBe(
      'pseudo-version "v1.0.0" invalid: syntax error',
    );
    expect((thrown(() => pseudoVersionBase('v0.0.0-20060102150405-hash+incompatible')) as Error).message).toBe(
      'pseudo-version "v0.0.0-20060102150405-hash+incompatible" invalid: lacks base version, but has build metadata "+incompatible"',
    );
    expect((thrown(() => pseudoVersionBase('v1.0.0-0.20060102150405-hash')) as Error).message).toBe(
      'pseudo-version "v1.0.0-0.20060102150405-hash" invalid: version before v1.0.0 would have negative patch number',
    );
    expect((thrown(() => pseudoVersionTime('v1.0.0-20061302150405-hash')) as Error).message).toBe(
      'pseudo-version "v1.0.0-20061302150405-hash" invalid: malformed time "20061302150405"',
    );
  });

  it('pseudoVersionTime rejects impossible times and accepts leap days', () => {
    for (const ts of [
      '20060230150405',
      '20060100150405',
      '20060102240000',
      '20060102156000',
      '20060102150460',
      '20050229000000',
      '21000229000000',
    ]) {
      expect(
        thrown(() => pseudoVersionTime(`v0.0.0-${ts}-abcdef123456`)),
        ts,
      ).toBeInstanceOf(InvalidVersionError);
    }
    expect(pseudoVersionTime('v0.0.0-20040229235959-abcdef123456').toISOString()).toBe('2004-02-29T23:59:59.000Z');
    expect(pseudoVersionTime('v0.0.0-20000229000000-abcdef123456').toISOString()).toBe('2000-02-29T00:00:00.000Z');
    expect(pseudoVersionTime('v0.0.0-00500101000000-abcdef123456').getUTCFullYear()).toBe(50);
  });

  it('recognizes the forms and rejects look-alikes', () => {
    for (const v of [
      'v0.0.0-20191109021931-daa7c04131f5',
      'v1.2.4-0.20191109021931-daa7c04131f5',
      'v2.0.1-0.20191109021931-daa7c04131f5+incompatible',
      'v1.2.3-pre.0.20191109021931-daa7c04131f5',
      'v1.2.3-a.b.0.20191109021931-daa7c04131f5',
      'v1.2.3-pre.0.20191109021931-DAA7C04131F5',
    ]) {
      expect(isPseudoVersion(v), v).toBe(true);
    }
    for (const v of [
      'v1.0.0',
      'v1.2.3-20191109021931-daa7c04131f5', // form (1) needs .0.0
      'v0.0.0-2019110902193-daa7c04131f5', // 13 digits
      'v0.0.0-201911090219311-daa7c04131f5', // 15 digits
      'v1.2.3-pre.1.20191109021931-daa7c04131f5', // must be .0. before the time
      'v1.2.3-pre0.20191109021931-daa7c04131f5',
      'v0.0.0-20191109021931-', // empty revision
      'v0.0.0-20191109021931-daa7c04131f5.x',
      'v1.0.0+a-20191109021931-daa7c04131f5', // dashes only in the build
      'v0.0.0-20191109021931_daa7c04131f5',
      '',
    ]) {
      expect(isPseudoVersion(v), v).toBe(false);
    }
  });

  it('zero pseudo-versions', () => {
    expect(zeroPseudoVersion('v0')).toBe('v0.0.0-00010101000000-000000000000');
    expect(zeroPseudoVersion('')).toBe('v0.0.0-00010101000000-000000000000');
    expect(zeroPseudoVersion('v2')).toBe('v2.0.0-00010101000000-000000000000');
    expect(isZeroPseudoVersion('v0.0.0-00010101000000-000000000000')).toBe(true);
    expect(isZeroPseudoVersion('v2.0.0-00010101000000-000000000000')).toBe(true);
    expect(isZeroPseudoVersion('v0.0.0-00010101000000-000000000001')).toBe(false);
    expect(isZeroPseudoVersion('v1.0.0')).toBe(false);
    expect(isZeroPseudoVersion('')).toBe(false);
    expect(pseudoVersionTime('v0.0.0-00010101000000-000000000000').toISOString()).toBe('0001-01-01T00:00:00.000Z');
  });

  it('generated pseudo-versions parse back and sort between their base and the next release (property)', () => {
    const rand = prng(11);
    for (let k = 0; k < 500; k++) {
      const [maj, min, pat] = [Math.floor(rand() * 5), Math.floor(rand() * 20), Math.floor(rand() * 100)];
      const pre = rand() < 0.3 ? '-rc.' + Math.floor(rand() * 3) : '';
      const inc = rand() < 0.2 && maj >= 2 ? '+incompatible' : '';
      const older = rand() < 0.2 ? '' : `v${maj}.${min}.${pat}${pre}${inc}`;
      const t = new Date(Date.UTC(1990 + Math.floor(rand() * 40), 0, 1) + Math.floor(rand() * 3e10) * 1000);
      const rev = Math.floor(rand() * 2 ** 48)
        .toString(16)
        .padStart(12, '0');
      const v = pseudoVersion(`v${maj}`, older, t, rev);
      expect(isValid(v)).toBe(true);
      expect(isPseudoVersion(v), v).toBe(true);
      expect(pseudoVersionRev(v)).toBe(rev);
      expect(pseudoVersionTime(v).getTime()).toBe(Math.floor(t.getTime() / 1000) * 1000);
      expect(pseudoVersionBase(v)).toBe(older);
      if (older !== '') expect(compare(older, v)).toBe(-1);
    }
  });
});
