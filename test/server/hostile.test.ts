// Bad input gets a clear 4xx, never a crash, a hang, a stack trace or a file
// outside the data folder; the server keeps serving afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildModules, FakeGoProxy, FakeSumDb } from '../world/index.js';
import { startGodepot, removeDir, type RunningGodepot } from '../support/godepot.js';

/** A raw request: the path is sent exactly as given (no normalisation by a client library). */
function raw(url: string, method: string, path: string): Promise<{ status: number; body: string; type: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`timeout for ${method} ${path.slice(0, 80)}`)));
    req.on('error', reject);
    req.end();
  });
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  await walk(dir);
  return out;
}

describe('hostile requests', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;

  beforeAll(async () => {
    const built = await buildModules([
      {
        path: 'example.com/ok',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/ok\n', 'ok.go': 'package ok\n' },
      },
      {
        path: 'example.com/CamelCase',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/CamelCase\n', 'c.go': 'package camelcase\n' },
      },
      { path: 'example.com/inc', version: 'v2.0.0+incompatible', files: { 'inc.go': 'package inc\n' } },
    ]);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    godepot = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
  });
  afterAll(async () => {
    await godepot.close();
    await upstream.close();
    await sumdb.close();
    await removeDir(godepot.data);
  });

  const cases: Array<[string, string, string]> = [
    ['traversal with ..', 'GET', '/../../etc/passwd'],
    ['traversal inside a module path', 'GET', '/example.com/../../../etc/@v/list'],
    ['encoded traversal', 'GET', '/%2e%2e/%2e%2e/etc/passwd/@v/list'],
    ['encoded traversal in a version', 'GET', '/example.com/ok/@v/%2e%2e%2f%2e%2e%2fx.info'],
    ['encoded slash', 'GET', '/example.com%2fok/@v/list'],
    ['encoded backslash', 'GET', '/example.com%5cok/@v/list'],
    ['NUL', 'GET', '/example.com/ok%00/@v/list'],
    ['unescaped upper case', 'GET', '/github.com/Azure/azure-sdk/@v/list'],
    ['bad ! escape', 'GET', '/github.com/!/x/@v/list'],
    ['non-canonical version for .zip', 'GET', '/example.com/ok/@v/v1.0.zip'],
    ['non-canonical version for .mod', 'GET', '/example.com/ok/@v/v1.0.0+build.mod'],
    ['branch name for .zip', 'GET', '/example.com/ok/@v/master.zip'],
    ['unknown suffix', 'GET', '/example.com/ok/@v/v1.0.0.tar.gz'],
    ['unknown @v request', 'GET', '/example.com/ok/@v/'],
    ['bad percent-encoding', 'GET', '/example.com/ok%zz/@v/list'],
    ['9000-character path', 'GET', '/example.com/' + 'a'.repeat(9000) + '/@v/list'],
    ['major version mismatch', 'GET', '/example.com/ok/@v/v2.0.0.mod'],
    ['PUT', 'PUT', '/example.com/ok/@v/v1.0.0.zip'],
    ['POST', 'POST', '/example.com/ok/@v/list'],
    ['DELETE', 'DELETE', '/example.com/ok/@v/v1.0.0.info'],
    ['sumdb lookup with traversal', 'GET', '/sumdb/localhost.localdev/sumdb/lookup/../../x@v1.0.0'],
    ['sumdb bad tile', 'GET', '/sumdb/localhost.localdev/sumdb/tile/8/0/1234'],
    ['sumdb unknown database', 'GET', '/sumdb/evil.example/supported'],
  ];

  it.each(cases)('%s → 4xx with a short text/plain reason', async (_name, method, path) => {
    const r = await raw(godepot.url, method, path);
    expect(r.status, r.body).toBeGreaterThanOrEqual(400);
    expect(r.status, r.body).toBeLessThan(500);
    expect(r.type).toContain('text/plain');
    expect(r.body.length).toBeLessThan(700);
    expect(r.body).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
  });

  it('writes nothing outside the data folder and keeps serving', async () => {
    const parent = dirname(godepot.data);
    const before = new Set((await readdir(parent)).filter((n) => !n.startsWith('godepot-')));
    for (const [, method, path] of cases) await raw(godepot.url, method, path);
    const after = (await readdir(parent)).filter((n) => !n.startsWith('godepot-'));
    expect(after.filter((n) => !before.has(n))).toEqual([]);
    // Inside the data folder, only what a valid request put there.
    for (const f of await listTree(godepot.data)) {
      expect(f.startsWith(godepot.data + '/')).toBe(true);
      expect(f).not.toMatch(/passwd|\.\./);
    }
    const ok = await raw(godepot.url, 'GET', '/example.com/ok/@v/v1.0.0.info');
    expect(ok.status).toBe(200);
    expect((await stat(godepot.data)).isDirectory()).toBe(true);
  });

  it('accepts %21 and ! for upper case, and keeps + literal', async () => {
    const a = await raw(godepot.url, 'GET', '/example.com/%21camel%21case/@v/v1.0.0.info');
    expect(a.status, a.body).toBe(200);
    expect(JSON.parse(a.body).Version).toBe('v1.0.0');
    const b = await raw(godepot.url, 'GET', '/example.com/!camel!case/@v/v1.0.0.mod');
    expect(b.status, b.body).toBe(200);
    expect(b.body).toBe('module example.com/CamelCase\n');
    const c = await raw(godepot.url, 'GET', '/example.com/inc/@v/v2.0.0+incompatible.mod');
    expect(c.status, c.body).toBe(200);
    expect(c.body).toBe('module example.com/inc\n');
    const d = await raw(godepot.url, 'HEAD', '/example.com/inc/@v/v2.0.0%2Bincompatible.zip');
    expect(d.status, d.body).toBe(200);
    // A space is not a plus: "v2.0.0 incompatible" is not a version.
    const e = await raw(godepot.url, 'GET', '/example.com/inc/@v/v2.0.0%20incompatible.zip');
    expect(e.status).toBe(400);
  });

  // A valid but very long module path or version is a client's mistake: a 400
  // that says so, not a 500 from the storage key it would need.
  const long = 'example.com/' + 'abcdefghi/'.repeat(110) + 'x';
  it.each([
    ['.zip', `/${long}/@v/v1.0.0.zip`, 'module path too long'],
    ['list', `/${long}/@v/list`, 'module path too long'],
    ['@latest', `/${long}/@latest`, 'module path too long'],
    ['checksum-database lookup', `/sumdb/localhost.localdev/sumdb/lookup/${long}@v1.0.0`, 'module path too long'],
    ['query version', `/example.com/ok/@v/${'b'.repeat(300)}.info`, 'version too long'],
    // A folder or file name longer than the filesystem allows (255 bytes), beside folders that exist.
    ['path element', `/example.com/${'a'.repeat(256)}/@v/v1.0.0.info`, 'path element too long'],
    [
      'path element, checksum-database lookup',
      `/sumdb/localhost.localdev/sumdb/lookup/example.com/${'a'.repeat(256)}@v1.0.0`,
      'path element too long',
    ],
    ['version as a file name', `/example.com/ok/@v/${'b'.repeat(251)}.info`, 'version too long'],
    // Its checksum-database record would be kept as <last element>@<version>: 268 characters.
    [
      'last element and version together',
      `/example.com/${'a'.repeat(200)}/@v/v1.0.0-${'c'.repeat(60)}.mod`,
      'version too long for this module path',
    ],
  ])('a very long module path or version, %s: 400 with the reason', async (_n, path, reason) => {
    const r = await raw(godepot.url, 'GET', path);
    expect(r.status, r.body).toBe(400);
    expect(r.body).toContain(reason);
  });

  it('a module path of 512 characters with elements of 255 is looked up (not found upstream), one more is refused', async () => {
    const element = 'a'.repeat(255);
    const at = `example.com/${element}/${'b'.repeat(512 - 'example.com/'.length - 256)}`;
    expect(at).toHaveLength(512);
    const r = await raw(godepot.url, 'GET', `/${at}/@v/v1.0.0.info`);
    expect(r.status, r.body).toBe(404);
    const over = await raw(godepot.url, 'GET', `/${at}b/@v/v1.0.0.info`);
    expect(over.status, over.body).toBe(400);
    // The longest version whose .info is still a file name: looked up, not refused.
    const v = await raw(godepot.url, 'GET', `/example.com/ok/@v/v1.0.0-${'c'.repeat(250 - 'v1.0.0-'.length)}.info`);
    expect(v.status, v.body).toBe(404);
  });
});
