import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileFor, startDirServer } from '../../src/runtime/dir-server.js';
import { importSettings, layoutRoot, lookupsInOrder, scanDatabases, scanLayout } from '../../src/cli/import.js';
import { mergeVersionList, proxyKey } from '../../src/cli/export.js';
import { settingsFrom } from '../support/godepot.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'godepot-scan-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function put(root: string, rel: string, text = 'x'): Promise<void> {
  await mkdir(join(root, rel, '..'), { recursive: true });
  await writeFile(join(root, rel), text);
}

describe('reading a Go module cache', () => {
  it('finds cache/download inside a GOMODCACHE, and every module version with its files', async () => {
    const modcache = await tmp();
    const dl = join(modcache, 'cache', 'download');
    await put(dl, 'example.com/!upper/!lib/@v/v1.0.0.info');
    await put(dl, 'example.com/!upper/!lib/@v/v1.0.0.mod');
    await put(dl, 'example.com/!upper/!lib/@v/v1.0.0.zip');
    await put(dl, 'example.com/!upper/!lib/@v/v1.0.0.ziphash');
    await put(dl, 'example.com/!upper/!lib/@v/v1.0.0.lock');
    await put(dl, 'example.com/!upper/!lib/@v/list');
    await put(dl, 'example.com/modonly/@v/v0.1.0.mod');
    await put(dl, 'example.com/bad/@v/notaversion.mod');
    await put(dl, 'sumdb/sum.golang.org/lookup/example.com/modonly@v0.1.0');
    await put(dl, 'sumdb/localhost.localdev/sumdb/tile/8/0/000.p/3');
    await put(modcache, 'example.com/!upper/!lib@v1.0.0/lib.go');
    const root = await layoutRoot(modcache);
    expect(root).toBe(dl);
    const { found, skipped, listed } = await scanLayout(root);
    const byKey = Object.fromEntries(found.map((f) => [`${f.path}@${f.version}`, [...f.files].sort()]));
    expect(byKey).toEqual({
      'example.com/Upper/Lib@v1.0.0': ['info', 'mod', 'zip'],
      'example.com/modonly@v0.1.0': ['mod'],
    });
    // The modules whose version list came along (imported for @v/list and @latest).
    expect([...listed]).toEqual(['example.com/Upper/Lib']);
    expect(skipped).toEqual(['example.com/bad/@v/notaversion.mod: not a valid module version']);
    expect(await scanDatabases(root)).toEqual(['localhost.localdev/sumdb', 'sum.golang.org']);
    // A linked folder is not walked: it may lead anywhere on this machine (through / it took many seconds).
    const outside = await tmp();
    await put(outside, 'db.example/tile/8/0/000', 'x');
    await symlink(outside, join(dl, 'sumdb', 'linked.example'));
    expect(await scanDatabases(root)).toEqual(['localhost.localdev/sumdb', 'sum.golang.org']);
  });

  it('takes only regular files: a link in a carried-over folder may point anywhere on this machine', async () => {
    const root = await tmp();
    const outside = await tmp();
    await put(outside, 'secret', 'not for godepot');
    await put(root, 'example.com/a/@v/v1.0.0.mod');
    await symlink(join(outside, 'secret'), join(root, 'example.com/a/@v/v1.0.0.zip'));
    await symlink(join(outside, 'secret'), join(root, 'example.com/a/@v/v1.1.0.mod'));
    const { found } = await scanLayout(root);
    expect(found.map((f) => [`${f.path}@${f.version}`, [...f.files]])).toEqual([['example.com/a@v1.0.0', ['mod']]]);
  });

  it("lists a database's lookups oldest first (the go command's order), skipping empty and foreign files", async () => {
    const root = await tmp();
    const base = 'sumdb/localhost.localdev/sumdb/lookup/';
    const files = [
      ['example.com/!upper@v1.0.0', 300],
      ['example.com/a@v1.0.0', 100],
      ['example.com/b/v2@v2.0.0', 200],
    ] as const;
    for (const [f, t] of files) {
      await put(root, base + f, 'record');
      await utimes(join(root, base + f), t, t);
    }
    await put(root, base + 'example.com/empty@v1.0.0', '');
    await put(root, base + 'example.com/c@v1.0.0.lock', 'x');
    expect(await lookupsInOrder(root, 'localhost.localdev/sumdb')).toEqual([
      { path: 'example.com/a', version: 'v1.0.0' },
      { path: 'example.com/b/v2', version: 'v2.0.0' },
      { path: 'example.com/Upper', version: 'v1.0.0' },
    ]);
    expect(await lookupsInOrder(root, 'other.example')).toEqual([]);
  });

  it('walks no link on the way to the layout, the databases or the lookups: it may lead anywhere on this machine', async () => {
    // What a link leads to: a layout with a database's lookup, as one carried over would hold.
    const outside = await tmp();
    await put(outside, 'example.com/a/@v/v1.0.0.mod');
    await put(outside, 'sumdb/sum.golang.org/lookup/example.com/a@v1.0.0', 'record');
    const modcache = await tmp();
    await mkdir(join(modcache, 'cache'));
    await symlink(outside, join(modcache, 'cache', 'download'));
    expect(await layoutRoot(modcache)).toBe(modcache);
    for (const link of ['sumdb', 'sumdb/sum.golang.org', 'sumdb/sum.golang.org/lookup']) {
      const root = await tmp();
      await mkdir(join(root, link, '..'), { recursive: true });
      await symlink(join(outside, link), join(root, link));
      expect(await scanDatabases(root), link).toEqual([]);
      expect(await lookupsInOrder(root, 'sum.golang.org'), link).toEqual([]);
    }
  });

  it('puts the folder first as upstream and database mirror; --offline leaves only the folder; always strict', () => {
    const base = settingsFrom({ upstream: 'https://up.example', sumdb: 'sum.golang.org', verify: 'fallback' });
    const on = importSettings(base, 'http://127.0.0.1:9');
    expect(on.upstream.entries.map((e) => e.url)).toEqual(['http://127.0.0.1:9', 'https://up.example']);
    expect(on.sumdb[0]?.urls).toEqual(['http://127.0.0.1:9/sumdb/sum.golang.org', 'https://sum.golang.org']);
    expect(on.sumdb[0]?.viaUpstreams).toBe(true);
    expect(on.verify.mode).toBe('strict');
    const off = importSettings({ ...base, offline: true }, 'http://127.0.0.1:9');
    expect(off.offline).toBe(false);
    expect(off.upstream.entries.map((e) => e.url)).toEqual(['http://127.0.0.1:9']);
    expect(off.sumdb[0]?.urls).toEqual(['http://127.0.0.1:9/sumdb/sum.golang.org']);
    expect(off.sumdb[0]?.viaUpstreams).toBe(false);
  });
});

describe('the folder server', () => {
  it("maps request paths to files inside the root only, and never the go command's own files", () => {
    const root = '/data/dl';
    expect(fileFor(root, '/example.com/!upper/@v/v1.0.0.zip')).toBe('/data/dl/example.com/!upper/@v/v1.0.0.zip');
    expect(fileFor(root, '/example.com/%21upper/@v/v1.0.0.mod')).toBe('/data/dl/example.com/!upper/@v/v1.0.0.mod');
    for (const bad of [
      '/../etc/passwd',
      '/a/%2e%2e/b',
      '/a%2fb',
      '/a/.staging/x',
      '/x/@v/v1.0.0.ziphash',
      '/x/@v/v1.0.0.lock',
      '/',
      '/a\\b',
    ]) {
      expect(fileFor(root, bad), bad).toBeNull();
    }
  });

  it('serves files, answers supported for databases it holds, and 404s empty files like the go command', async () => {
    const root = await tmp();
    await put(root, 'example.com/a/@v/v1.0.0.mod', 'module example.com/a\n');
    await put(root, 'example.com/a/@v/v1.0.1.mod', '');
    await put(root, 'sumdb/sum.golang.org/lookup/example.com/a@v1.0.0', '1\nrecord\n');
    const s = await startDirServer(root, ['sum.golang.org', 'other.example/db']);
    try {
      const get = async (p: string): Promise<[number, string]> => {
        const r = await fetch(s.url + p);
        return [r.status, await r.text()];
      };
      expect(await get('/example.com/a/@v/v1.0.0.mod')).toEqual([200, 'module example.com/a\n']);
      expect((await get('/example.com/a/@v/v1.0.1.mod'))[0]).toBe(404);
      expect((await get('/sumdb/sum.golang.org/supported'))[0]).toBe(200);
      expect((await get('/sumdb/other.example/db/supported'))[0]).toBe(404);
      expect(await get('/sumdb/sum.golang.org/lookup/example.com/a@v1.0.0')).toEqual([200, '1\nrecord\n']);
      // The import's report shows these words: they say what the folder lacks.
      expect(await get('/example.com/a/@v/v9.0.0.zip')).toEqual([
        404,
        'not found: the folder holds no example.com/a/@v/v9.0.0.zip\n',
      ]);
      expect(await get('/sumdb/sum.golang.org/lookup/example.com/b@v1.0.0')).toEqual([
        404,
        'not found: the folder holds no sumdb/sum.golang.org/lookup/example.com/b@v1.0.0\n',
      ]);
      // A link in a carried-over folder may point anywhere on this machine: not served.
      const outside = join(await tmp(), 'secret');
      await writeFile(outside, 'not for the verifier\n');
      await symlink(outside, join(root, 'sumdb/sum.golang.org/lookup/example.com/a@v1.0.2'));
      expect((await get('/sumdb/sum.golang.org/lookup/example.com/a@v1.0.2'))[0]).toBe(404);
      // Nor is a file below a linked folder.
      await put(join(outside, '..'), 'elsewhere/b@v1.0.0', 'not for the verifier\n');
      await symlink(join(outside, '..', 'elsewhere'), join(root, 'sumdb/sum.golang.org/lookup/example.org'));
      expect((await get('/sumdb/sum.golang.org/lookup/example.org/b@v1.0.0'))[0]).toBe(404);
      expect(s.counts).toEqual({ served: 3, missing: 6 });
    } finally {
      await s.close();
    }
  });
});

describe('export layout', () => {
  it('writes GOPROXY paths with case-escaping', () => {
    expect(proxyKey('example.com/Upper/Lib', 'v1.0.0-RC1', 'zip')).toBe('example.com/!upper/!lib/@v/v1.0.0-!r!c1.zip');
  });

  it('merges @v/list in semver order without duplicates, dropping junk', () => {
    expect(mergeVersionList('v1.10.0\nv1.2.0\n\nnot-a-version\n', ['v1.2.0', 'v1.9.0', 'v2.0.0+incompatible'])).toBe(
      'v1.2.0\nv1.9.0\nv1.10.0\nv2.0.0+incompatible\n',
    );
    // The go command's proxy client (cmd/go, Go 1.26) takes each line's first field: a list may give times too.
    expect(mergeVersionList('v1.0.0 2019-01-01T00:00:00Z\r\n  v1.1.0\tx\n', ['v1.2.0'])).toBe(
      'v1.0.0\nv1.1.0\nv1.2.0\n',
    );
  });
});
