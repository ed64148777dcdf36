// upstreamUrl: what godepot asks an upstream for is exactly the escaped path
// it built. Percent-escapes and characters outside a path's set are refused,
// and so is any path a URL parser would rewrite (dot segments).
import { describe, expect, it } from 'vitest';
import { upstreamUrl } from '../../src/upstream/index.js';

const BASE = 'https://proxy.example';

describe('upstreamUrl', () => {
  it('joins a base (with or without a path) and an escaped path unchanged', () => {
    const path = '/github.com/!azure/sdk-for-go/@v/v1.0.0+incompatible.zip';
    expect(upstreamUrl(BASE, path).href).toBe(BASE + path);
    expect(upstreamUrl(BASE + '/go', path).href).toBe(BASE + '/go' + path);
    expect(upstreamUrl(BASE, '/sumdb/sum.golang.org/lookup/example.com/m@v1.0.0').pathname).toBe(
      '/sumdb/sum.golang.org/lookup/example.com/m@v1.0.0',
    );
    expect(upstreamUrl(BASE, '/example.com/m/@v/list').host).toBe('proxy.example');
  });

  it('refuses any percent-escape, even one a URL parser keeps as it is', () => {
    for (const path of ['/example.com/%41/@v/list', '/example.com/m/%2e%2e/@v/list', '/a%2Fb/@latest', '/m/%']) {
      expect(() => upstreamUrl(BASE, path), path).toThrow(/refusing to build an upstream URL from unescaped path/);
    }
  });

  it('refuses a path not starting with "/" or holding characters a path does not', () => {
    for (const path of ['example.com/m/@v/list', '/a b', '/a\\b', '/a?b', '/a#b', '/caf\u00e9', '/a\nb']) {
      expect(() => upstreamUrl(BASE, path), JSON.stringify(path)).toThrow(/unescaped path/);
    }
  });

  it('refuses dot segments, which a URL parser would resolve to another path', () => {
    for (const path of [
      '/example.com/m/../../secret/@v/list',
      '/example.com/./m/@v/list',
      '/..',
      '/example.com/m/..',
      '/example.com/m/.',
    ]) {
      expect(() => upstreamUrl(BASE, path), path).toThrow(/a URL parser rewrites it/);
      expect(() => upstreamUrl(BASE + '/go', path), path).toThrow(/a URL parser rewrites it/);
    }
    // Dots that are not whole segments are ordinary characters.
    expect(upstreamUrl(BASE, '/example.com/m/@v/v1.0.0..info').pathname).toBe('/example.com/m/@v/v1.0.0..info');
    expect(upstreamUrl(BASE, '/example.com/.m/@v/list').pathname).toBe('/example.com/.m/@v/list');
  });
});
