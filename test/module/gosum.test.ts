import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareModuleVersions, sortModuleVersions, type ModuleVersion } from '../../src/module/gosum.js';
import { compare } from '../../src/module/semver.js';
import { vectorPath } from '../support/txtar.js';
import { prng, pick, shuffled } from './tables.js';

const mv = (path: string, version: string): ModuleVersion => ({ path, version });

describe('sortModuleVersions (module.Sort)', () => {
  it('orders go.sum lines: path, then semver, then the /go.mod suffix', () => {
    const want = [
      mv('golang.org/x/text', 'v0.0.0-20170915032832-14c0d48ead0c'),
      mv('golang.org/x/text', 'v0.0.0-20170915032832-14c0d48ead0c/go.mod'),
      mv('golang.org/x/text', 'v0.3.0'),
      mv('golang.org/x/text', 'v0.3.0/go.mod'),
      mv('golang.org/x/text', 'v0.10.0/go.mod'),
      mv('rsc.io/quote', 'v1.5.2'),
      mv('rsc.io/quote', 'v1.5.2/go.mod'),
      mv('rsc.io/quote/v3', 'v3.0.0'),
      mv('rsc.io/sampler', 'v1.3.0/go.mod'),
      mv('rsc.io/sampler', 'v1.99.99/go.mod'),
    ];
    const rand = prng(1);
    for (let k = 0; k < 20; k++) expect(sortModuleVersions(shuffled(rand, want))).toEqual(want);
  });

  it('sorts the gosumcheck test.sum lines', () => {
    const text = readFileSync(vectorPath('golang-mod/gosumcheck/test.sum'), 'utf8');
    const lines = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [path = '', version = ''] = l.split(' ');
        return mv(path, version);
      });
    expect(lines).toHaveLength(6);
    expect(sortModuleVersions(lines).map((m) => `${m.path} ${m.version}`)).toEqual([
      'golang.org/x/text v0.0.0-20170915032832-14c0d48ead0c',
      'golang.org/x/text v0.0.0-20170915032832-14c0d48ead0c/go.mod',
      'rsc.io/quote v1.5.2',
      'rsc.io/quote v1.5.2/go.mod',
      'rsc.io/sampler v1.3.0/go.mod',
      'rsc.io/text v1.5.2',
    ]);
  });

  it('compares paths as Go strings (UTF-8 bytes)', () => {
    const list = [mv('x.io/\u{1F600}', 'v1.0.0'), mv('x.io/\uE000', 'v1.0.0')];
    expect(sortModuleVersions(list).map((m) => m.path)).toEqual(['x.io/\uE000', 'x.io/\u{1F600}']);
  });

  it('is a consistent order: sorted output is non-decreasing and stable for ties (property)', () => {
    const rand = prng(5);
    const paths = ['a.io/x', 'a.io/x/v2', 'b.io/y', 'a.io/x-y'];
    const versions = ['v1.0.0', 'v1.0.0+meta', 'v1.2.0', 'v1.10.0', 'v2.0.0+incompatible', 'v1.0.0-pre', 'bad', 'v1.0'];
    const list = Array.from({ length: 400 }, () => {
      const v = pick(rand, versions);
      return mv(pick(rand, paths), rand() < 0.5 ? v + '/go.mod' : v);
    });
    const sorted = sortModuleVersions(list);
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1] as ModuleVersion;
      const b = sorted[i] as ModuleVersion;
      expect(compareModuleVersions(a, b)).toBeLessThanOrEqual(0);
      if (a.path === b.path)
        expect(compare(a.version.split('/')[0] ?? '', b.version.split('/')[0] ?? '')).toBeLessThanOrEqual(0);
    }
    expect(sortModuleVersions(sorted)).toEqual(sorted);
  });
});
