// Query versions godepot passes upstream: only what no lax server can
// decode or normalise into something else (src/module/query.ts).
import { describe, expect, it } from 'vitest';
import { MAX_QUERY_VERSION, queryVersionProblem } from '../../src/module/index.js';

describe('queryVersionProblem', () => {
  it('accepts branch, tag, commit and semver-prefix queries', () => {
    for (const v of [
      'main',
      'master',
      'v1',
      'v1.2',
      'v1.2.3-pre',
      'abcdef123456',
      'release-1.x',
      'feature_x',
      'a~b',
      'V2',
      'v1.2.3+build.1',
      'v1.0.0-rc.1+meta-data',
    ])
      expect(queryVersionProblem(v), v).toBeNull();
  });

  it('refuses anything a decoder or a path normaliser could change, with a reason', () => {
    for (const v of [
      '',
      '.hidden',
      '..',
      'x..y',
      'x.',
      '-x',
      '~x',
      'x,y',
      ' x',
      '#x',
      '%2e%2e',
      'x%2fy',
      'x+y',
      'v1.2+build',
      'v1.2.3+',
      'v1.2.3+a..b',
      'v1.2.3 +x',
      'x;y',
      'x@y',
      'x\\y',
      'x/y',
      'é',
      'con',
      'x'.repeat(MAX_QUERY_VERSION + 1),
    ])
      expect(queryVersionProblem(v), JSON.stringify(v)).toMatch(/./);
  });
});
