import { describe, expect, it } from 'vitest';
import { decodeRequestPath, parseProxyPath, storageKey, upstreamPath } from '../../src/proxy/request.js';
import { GodepotError } from '../../src/proxy/errors.js';
import { escapePath } from '../../src/module/index.js';

const parse = (raw: string) => parseProxyPath(decodeRequestPath(raw));

describe('request paths', () => {
  it('parses every endpoint, with ! and %21 alike and + kept literal', () => {
    expect(parse('/github.com/!azure/go/@v/list')).toEqual({ kind: 'list', path: 'github.com/Azure/go' });
    expect(parse('/github.com/%21azure/go/@latest')).toEqual({ kind: 'latest', path: 'github.com/Azure/go' });
    expect(parse('/example.com/m/@v/v2.0.0+incompatible.zip')).toEqual({
      kind: 'zip',
      path: 'example.com/m',
      version: 'v2.0.0+incompatible',
    });
    expect(parse('/rsc.io/!q!u!o!t!e/@v/v1.5.3-!p!r!e.mod')).toEqual({
      kind: 'mod',
      path: 'rsc.io/QUOTE',
      version: 'v1.5.3-PRE',
    });
    expect(parse('/example.com/m/@v/master.info')).toEqual({
      kind: 'info',
      path: 'example.com/m',
      version: 'master',
      query: true,
    });
    expect(parse('/example.com/m/@v/v1.0.0.info')).toEqual({
      kind: 'info',
      path: 'example.com/m',
      version: 'v1.0.0',
      query: false,
    });
    expect(parse('/gopkg.in/yaml.v2/@v/v2.4.0.zip')).toEqual({
      kind: 'zip',
      path: 'gopkg.in/yaml.v2',
      version: 'v2.4.0',
    });
    expect(parse('/example.com/m/v3/@v/v3.1.0.mod')).toEqual({
      kind: 'mod',
      path: 'example.com/m/v3',
      version: 'v3.1.0',
    });
    expect(parse('/favicon.ico')).toBeNull();
  });

  it('round-trips through upstream paths and storage keys', () => {
    const req = { kind: 'zip' as const, path: 'github.com/BurntSushi/toml', version: 'v1.2.0' };
    expect(upstreamPath(req)).toBe('/github.com/!burnt!sushi/toml/@v/v1.2.0.zip');
    expect(storageKey(req)).toBe('mod/github.com/!burnt!sushi/toml/@v/v1.2.0.zip');
    expect(storageKey(req, 'unverified')).toBe('unverified/github.com/!burnt!sushi/toml/@v/v1.2.0.zip');
    expect(parse(upstreamPath(req))).toEqual(req);
    expect(storageKey({ kind: 'info', path: 'example.com/m', version: 'main', query: true })).toBe(
      'query/example.com/m/@v/main.info',
    );
  });

  it(".info of a version that is not the path's is a query for the upstream to resolve; its .mod and .zip are 400s", () => {
    // go get example.com/m@v2.0.0 (a proxy answers v2.0.0+incompatible), go install example.com/m/v2/cmd/x@v2.1.0
    // (asks example.com/m/v2/cmd/x and example.com/m/v2/cmd, which must answer 404 for it to go on).
    for (const [path, escaped, version] of [
      ['example.com/m', 'example.com/m', 'v2.0.0'],
      ['example.com/m/v2/cmd/x', 'example.com/m/v2/cmd/x', 'v2.1.0'],
      ['example.com/m/v2', 'example.com/m/v2', 'v1.0.0'],
      ['gopkg.in/yaml.v1', 'gopkg.in/yaml.v1', 'v2.0.0'],
      ['github.com/Docker/docker', 'github.com/!docker/docker', 'v20.10.24-RC1'],
    ] as const) {
      const req = parse(`/${escaped}/@v/${version.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)}.info`);
      expect(req).toEqual({ kind: 'info', path, version, query: true });
      if (req === null) continue;
      expect(storageKey(req)).toMatch(/^query\//);
      expect(parse(upstreamPath(req))).toEqual(req);
    }
  });

  const bad: Array<[string, number, RegExp]> = [
    ['/example.com%2fm/@v/list', 400, /encoded/],
    ['/example.com/m%00/@v/list', 400, /encoded/],
    ['/example.com/%E0%A4%A/@v/list', 400, /percent-encoding/],
    ['/a/../b/@v/list', 400, /"\.\."/],
    ['/%2e%2e/x/@v/list', 400, /"\.\."/],
    ['/a/./b/@v/list', 400, /"\.\."/],
    ['/example.com/m/@v/..', 400, /"\.\."/],
    ['/example.com/m/@v/.', 400, /"\.\."/],
    ['/example.com/m/%2E/@v/list', 400, /"\.\."/],
    ['/Example.com/m/@v/list', 400, /invalid module path/],
    ['/example.com/m/@v/v1.0.zip', 400, /canonical versions only.*use v1\.0\.0/],
    ['/example.com/m/@v/v1.0.0+meta.mod', 400, /canonical/],
    ['/example.com/m/@v/v2.0.0.zip', 400, /v2/],
    ['/example.com/m/v2/@v/v1.0.0.mod', 400, /should be v2, not v1/],
    ['/example.com/m/@v/v1.0.0.tgz', 400, /unknown request/],
    ['/example.com/m/@v/a/b.info', 400, /unknown request/],
    ['/example.com/' + 'x'.repeat(3000) + '/@v/list', 414, /longer than/],
  ];
  it.each(bad)('%s → %i', (raw, status, message) => {
    let err: unknown;
    try {
      parse(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GodepotError);
    expect((err as GodepotError).status).toBe(status);
    expect((err as GodepotError).message).toMatch(message);
  });

  it('takes "..." and names that start with dots as names, not dot segments', () => {
    expect(decodeRequestPath('/example.com/m/.../@v/list')).toBe('/example.com/m/.../@v/list');
    expect(decodeRequestPath('/example.com/..m/@v/list')).toBe('/example.com/..m/@v/list');
  });

  it('parses whatever escapePath produces for random upper-case paths (property)', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = 'abcXYZ019-._~';
    for (let i = 0; i < 500; i++) {
      const elems = Array.from({ length: 1 + rnd(3) }, () =>
        Array.from({ length: 1 + rnd(8) }, () => alphabet[rnd(alphabet.length)]).join(''),
      );
      const path = `host${rnd(9)}.example/${elems.join('/')}`;
      let esc: string;
      try {
        esc = escapePath(path);
      } catch {
        continue; // not a valid module path: nothing to round-trip
      }
      expect(parse(`/${esc}/@v/list`)).toEqual({ kind: 'list', path });
      expect(parse(`/${esc.replaceAll('!', '%21')}/@v/list`)).toEqual({ kind: 'list', path });
    }
  });
});
