// FakeGoProxy over HTTP (no go command): the GOPROXY endpoints, @latest's
// preference order, case-encoded paths, 404s, alter and the sumdb mount;
// and what buildModule produces for a fixture.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashFiles, hashGoMod } from '../../src/modzip/index.js';
import { faults } from './faults.js';
import { FakeGoProxy, latestVersion, parseProxyPath } from './goproxy.js';
import { buildModule, buildToolchain, type FixtureModule } from './modules.js';
import { FakeSumDb } from './sumdb.js';
import { readZipEntries } from './zipread.js';

const mod = (path: string, version: string, files: Record<string, string> = {}): FixtureModule => ({
  path,
  version,
  files: { 'go.mod': `module ${path}\n`, 'a.go': `package a\n`, ...files },
});

const FIXTURES: FixtureModule[] = [
  mod('example.com/Upper/Lib', 'v1.0.0'),
  mod('example.com/Upper/Lib', 'v1.1.0'),
  mod('example.com/Upper/Lib', 'v1.2.0-rc.1'),
  mod('example.com/Upper/Lib', 'v1.2.1-0.20240101000000-abcdefabcdef'),
  mod('example.com/pre', 'v0.1.0-alpha'),
  mod('example.com/pre', 'v0.0.0-20250101000000-abcdefabcdef'),
  mod('example.com/pseudo', 'v0.0.0-20240101000000-abcdefabcdef'),
  mod('example.com/pseudo', 'v0.0.0-20240202000000-abcdefabcdef'),
  { path: 'example.com/old', version: 'v2.0.0+incompatible', files: { 'old.go': 'package old\n' } },
];

async function get(url: string): Promise<{ status: number; body: Buffer; type: string }> {
  const res = await fetch(url);
  return {
    status: res.status,
    body: Buffer.from(await res.arrayBuffer()),
    type: res.headers.get('content-type') ?? '',
  };
}

describe('FakeGoProxy', () => {
  let proxy: FakeGoProxy;
  beforeAll(async () => {
    proxy = await FakeGoProxy.start(FIXTURES);
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('lists tags without pseudo-versions, and 404s unknown modules', async () => {
    const list = await get(`${proxy.url}/example.com/!upper/!lib/@v/list`);
    expect(list.status).toBe(200);
    expect(list.body.toString()).toBe('v1.0.0\nv1.1.0\nv1.2.0-rc.1\n');
    expect((await get(`${proxy.url}/example.com/pseudo/@v/list`)).body.toString()).toBe('');
    expect((await get(`${proxy.url}/example.com/nope/@v/list`)).status).toBe(404);
    expect((await get(`${proxy.url}/example.com/Upper/Lib/@v/list`)).status).toBe(404);
  });

  it('@latest prefers release, then prerelease, then the newest pseudo-version', async () => {
    const latest = async (p: string): Promise<unknown> =>
      JSON.parse((await get(`${proxy.url}/${p}/@latest`)).body.toString());
    expect(await latest('example.com/%21upper/%21lib')).toMatchObject({ Version: 'v1.1.0' });
    expect(await latest('example.com/pre')).toMatchObject({ Version: 'v0.1.0-alpha' });
    expect(await latest('example.com/pseudo')).toEqual({
      Version: 'v0.0.0-20240202000000-abcdefabcdef',
      Time: '2024-02-02T00:00:00Z',
    });
    expect(latestVersion([])).toBeUndefined();
  });

  it('serves .info, .mod and .zip with ! or %21, + literally, 404 for unknown versions', async () => {
    const m = proxy.get('example.com/Upper/Lib', 'v1.0.0');
    if (m === undefined) throw new Error('fixture missing');
    const viaBang = await get(`${proxy.url}/example.com/!upper/!lib/@v/v1.0.0.zip`);
    const viaPct = await get(`${proxy.url}/example.com/%21upper/%21lib/@v/v1.0.0.zip`);
    expect(viaBang.body.equals(m.zip)).toBe(true);
    expect(viaPct.body.equals(m.zip)).toBe(true);
    expect((await get(`${proxy.url}/example.com/!upper/!lib/@v/v1.0.0.mod`)).body.toString()).toBe(
      'module example.com/Upper/Lib\n',
    );
    const info = await get(`${proxy.url}/example.com/!upper/!lib/@v/v1.0.0.info`);
    expect(info.type).toBe('application/json');
    expect(JSON.parse(info.body.toString())).toEqual({ Version: 'v1.0.0', Time: '2023-01-01T00:00:00Z' });
    expect((await get(`${proxy.url}/example.com/old/@v/v2.0.0+incompatible.mod`)).body.toString()).toBe(
      'module example.com/old\n',
    );
    expect((await get(`${proxy.url}/example.com/!upper/!lib/@v/v9.9.9.info`)).status).toBe(404);
    expect((await get(`${proxy.url}/example.com/!upper/!lib/@v/v1.0.0.tar`)).status).toBe(404);
    expect((await get(`${proxy.url}/example.com/!upper/!lib/@v/v1.0.0`)).status).toBe(404);
  });

  it('alias answers .info of a query with a version, and nothing else', async () => {
    proxy.alias('example.com/old', 'v2.0.0', 'v2.0.0+incompatible');
    proxy.alias('example.com/Upper/Lib', 'abcdefabcdef', 'v1.1.0');
    const incompatible = await get(`${proxy.url}/example.com/old/@v/v2.0.0.info`);
    expect(JSON.parse(incompatible.body.toString())).toMatchObject({ Version: 'v2.0.0+incompatible' });
    const hash = await get(`${proxy.url}/example.com/!upper/!lib/@v/abcdefabcdef.info`);
    expect(JSON.parse(hash.body.toString())).toMatchObject({ Version: 'v1.1.0' });
    // Only .info resolves a query: .mod and .zip are served for the versions themselves.
    expect((await get(`${proxy.url}/example.com/old/@v/v2.0.0.mod`)).status).toBe(404);
    expect((await get(`${proxy.url}/example.com/old/@v/main.info`)).status).toBe(404);
  });

  it('alter serves a valid zip and go.mod whose hashes differ; remove forgets', async () => {
    const m = proxy.get('example.com/pre', 'v0.1.0-alpha');
    if (m === undefined) throw new Error('fixture missing');
    proxy.setFault(faults.alter(), '/example.com/pre/');
    const zip = (await get(`${proxy.url}/example.com/pre/@v/v0.1.0-alpha.zip`)).body;
    const goMod = (await get(`${proxy.url}/example.com/pre/@v/v0.1.0-alpha.mod`)).body;
    const info = (await get(`${proxy.url}/example.com/pre/@v/v0.1.0-alpha.info`)).body;
    proxy.clearFaults();
    const entries = await readZipEntries(zip);
    expect(entries.map((e) => e.name).sort()).toEqual([...m.zipEntries].sort());
    expect(hashFiles(entries)).not.toBe(m.h1);
    expect(hashGoMod(goMod)).not.toBe(m.goModH1);
    expect(info.equals(m.info)).toBe(true);
    expect(proxy.remove('example.com/pre', 'v0.1.0-alpha')).toBe(true);
    expect(proxy.versions('example.com/pre')).toEqual(['v0.0.0-20250101000000-abcdefabcdef']);
    expect((await get(`${proxy.url}/example.com/pre/@v/v0.1.0-alpha.info`)).status).toBe(404);
    expect(proxy.remove('example.com/pre')).toBe(true);
    expect((await get(`${proxy.url}/example.com/pre/@latest`)).status).toBe(404);
  });

  it('mounts a sumdb under /sumdb/<name>/ and lets it add records from the proxy', async () => {
    const db = await FakeSumDb.start();
    try {
      proxy.mountSumDb(db);
      db.autoAddFrom(proxy);
      const base = `${proxy.url}/sumdb/${db.name}`;
      expect((await get(`${base}/supported`)).status).toBe(200);
      const lookup = await get(`${base}/lookup/example.com/%21upper/%21lib@v1.1.0`);
      expect(lookup.status).toBe(200);
      expect(lookup.body.toString()).toContain(proxy.get('example.com/Upper/Lib', 'v1.1.0')?.goSum ?? 'missing');
      expect(db.count('/lookup/')).toBe(1);
      expect((await get(`${proxy.url}/sumdb/other.example/supported`)).status).toBe(404);
    } finally {
      await db.close();
    }
  });

  it('parses proxy paths strictly', () => {
    expect(parseProxyPath('/example.com/!a/@v/v1.0.0.info')).toEqual({
      kind: 'info',
      path: 'example.com/A',
      version: 'v1.0.0',
    });
    expect(parseProxyPath('/example.com/a/@latest')).toEqual({ kind: 'latest', path: 'example.com/a' });
    expect(parseProxyPath('/example.com/A/@v/list')).toBeNull();
    expect(parseProxyPath('/example.com/a/@v/')).toBeNull();
  });
});

describe('buildModule', () => {
  it('hashes the zip it made, records go.sum lines, and synthesizes go.mod when missing', async () => {
    const m = await buildModule({
      path: 'example.com/x',
      version: 'v2.0.0+incompatible',
      files: { 'x.go': 'package x\n', 'vendor/a/b.go': 'package b\n' },
    });
    expect(m.mod.toString()).toBe('module example.com/x\n');
    expect(m.zipEntries).toEqual(['example.com/x@v2.0.0+incompatible/x.go']);
    expect(m.h1).toBe(
      hashFiles([{ name: 'example.com/x@v2.0.0+incompatible/x.go', data: Buffer.from('package x\n') }]),
    );
    expect(m.goModH1).toBe(hashGoMod(Buffer.from('module example.com/x\n')));
    expect(m.goSum).toBe(
      `example.com/x v2.0.0+incompatible ${m.h1}\nexample.com/x v2.0.0+incompatible/go.mod ${m.goModH1}\n`,
    );
  });
});

describe('buildToolchain', () => {
  it('makes a golang.org/toolchain version as cmd/distpack does: no go.mod inside, _go.mod and vendor/ kept', async () => {
    const t = await buildToolchain('go1.99.0', 'linux', 'amd64');
    expect(t.path).toBe('golang.org/toolchain');
    expect(t.version).toBe('v0.0.1-go1.99.0.linux-amd64');
    expect(t.mod.toString()).toBe('module golang.org/toolchain\n');
    const names = (await readZipEntries(t.zip)).map((e) => e.name);
    expect(names).toEqual(t.zipEntries);
    expect(names).toContain('golang.org/toolchain@v0.0.1-go1.99.0.linux-amd64/bin/go');
    expect(names).toContain('golang.org/toolchain@v0.0.1-go1.99.0.linux-amd64/src/_go.mod');
    expect(names.some((n) => n.includes('/vendor/'))).toBe(true);
    expect(names.some((n) => n.endsWith('/go.mod'))).toBe(false);
    expect(t.h1).toBe(hashFiles(await readZipEntries(t.zip)));
    expect(t.goSum).toBe(`${t.path} ${t.version} ${t.h1}\n${t.path} ${t.version}/go.mod ${hashGoMod(t.mod)}\n`);
  });
});
