// A user of one team trying to read a module outside its patterns by another
// spelling of its path, or by another way of asking (HEAD, Range,
// If-None-Match, a database lookup), once the module is cached in memory by
// a user who may read it. Every attempt must be refused (403, or 400 for a
// path that names no valid module), show none of its bytes, and reach
// neither the upstream nor the checksum database. Raw paths: fetch would
// normalise '//' and '/./' away before they reached godepot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, type IncomingHttpHeaders } from 'node:http';
import type { FakeGoProxy, FakeSumDb } from '../world/index.js';
import type { RunningGodepot } from '../support/godepot.js';
import { startAuthRig, type AuthRig } from '../support/auth-rig.js';
import { hashToken, withUser } from '../../src/auth/users.js';

const FULL = 'full-token-0123456789abcdef';
const LIMITED = 'limited-token-0123456789abcdef';
const basic = (user: string, token: string): string => 'Basic ' + Buffer.from(`${user}:${token}`).toString('base64');

/** One request with the path sent exactly as given. */
function raw(
  base: string,
  path: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1'), headers: res.headers }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a module outside the user’s patterns, in every spelling', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let rig: AuthRig;

  beforeAll(async () => {
    rig = await startAuthRig(
      [
        { path: 'example.com/pub', version: 'v1.0.0', files: { 'go.mod': 'module example.com/pub\n' } },
        {
          path: 'corp.example/secret',
          version: 'v1.0.0',
          files: { 'go.mod': 'module corp.example/secret\n', 'plans.go': 'package secret // MERGER-PLANS\n' },
        },
      ],
      withUser(withUser(null, 'ci', hashToken(FULL), '*'), 'oss', hashToken(LIMITED), 'example.com/*'),
    );
    ({ godepot, upstream, sumdb } = rig);
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('refuses each spelling and way of asking, once the module is cached for a user who may read it', async () => {
    const ci = { authorization: basic('ci', FULL) };
    const zip = await raw(godepot.url, '/corp.example/secret/@v/v1.0.0.zip', ci);
    expect(zip.status).toBe(200);
    const etag = zip.headers.etag ?? '';
    for (const p of [
      '/corp.example/secret/@v/list',
      '/corp.example/secret/@latest',
      '/corp.example/secret/@v/v1.0.0.mod',
      '/corp.example/secret/@v/v1.0.0.info',
    ])
      expect((await raw(godepot.url, p, ci)).status, p).toBe(200);
    const upstreamBefore = upstream.count('secret');
    const sumdbBefore = sumdb.count('secret');

    const oss = { authorization: basic('oss', LIMITED) };
    const attempts: Array<[string, Record<string, string>, string?]> = [
      ['/corp.example/secret/@v/v1.0.0.zip', oss],
      ['/corp.example/secret/@v/v1.0.0.zip', oss, 'HEAD'],
      ['/corp.example/secret/@v/v1.0.0.zip', { ...oss, range: 'bytes=0-10' }],
      ['/corp.example/secret/@v/v1.0.0.zip', { ...oss, 'if-none-match': etag || '*' }],
      ['/corp.example/secret/@v/v1.0.0.zip', { ...oss, 'if-none-match': '*' }],
      ['/corp.example/secret/@v/v1.0.0.zip?go-get=1', oss],
      ['/corp.example/secret/@v/v1.0.0.info', oss],
      ['/corp.example/secret/@v/v1.0.0.mod', oss],
      ['/corp.example/secret/@v/list', oss],
      ['/corp.example/secret/@v/master.info', oss],
      ['/corp.example/secret/@v/v2.0.0.info', oss],
      ['/corp.example/secret/@latest', oss],
      ['/corp.example/secret/@latest', oss, 'HEAD'],
      ['/corp.example/!secret/@v/list', oss],
      ['/!corp.example/secret/@v/list', oss],
      ['/corp%2Eexample/secret/@v/v1.0.0.zip', oss],
      ['/%63orp.example/secret/@v/v1.0.0.zip', oss],
      ['/corp.example/secret%2F@v/list', oss],
      ['/corp.example/secret/%40v/list', oss],
      ['/corp.example/secret/%40latest', oss],
      ['/corp.example/secret//@v/list', oss],
      ['//corp.example/secret/@v/list', oss],
      ['/corp.example//secret/@v/list', oss],
      ['/corp.example/./secret/@v/list', oss],
      ['/corp.example/secret/./@v/list', oss],
      ['/example.com/pub/../../corp.example/secret/@v/list', oss],
      ['/example.com/pub/%2e%2e/%2e%2e/corp.example/secret/@v/list', oss],
      ['/example.com/pub/@v/../../corp.example/secret/@v/v1.0.0.zip', oss],
      ['/example.com/pub/@v/x/corp.example/secret/@latest', oss],
      ['/corp.example/secret/v2/@v/list', oss],
      ['/corp.example/secret/sub/pkg/@v/list', oss],
      ['/corp.example/secret/@v/v1.0.0.zip/', oss],
      [`/sumdb/${sumdb.name}/lookup/corp.example/secret@v1.0.0`, oss],
      [`/sumdb/${sumdb.name}/lookup/corp.example/secret@v1.0.0/`, oss],
      [`/sumdb/${sumdb.name}/lookup/corp.example/secret@v1.0.0-x/y`, oss],
      [`/sumdb/${sumdb.name}/lookup/corp.example/!secret@v1.0.0`, oss],
      [`/sumdb/${sumdb.name}//lookup/corp.example/secret@v1.0.0`, oss],
      // Not this user's, nor anyone's: the same answers with no credentials or a wrong token.
      ['/corp.example/secret/@v/v1.0.0.zip', {}],
      ['/corp.example/secret/@v/v1.0.0.zip', { authorization: basic('oss', FULL) }],
      ['/corp.example/secret/@v/v1.0.0.zip', { authorization: basic('ci', LIMITED) }],
      ['/corp.example/secret/@v/v1.0.0.zip', { authorization: basic('ci', FULL).toLowerCase() }],
      ['/corp.example/secret/@v/v1.0.0.zip', { authorization: 'Basic ' + Buffer.from(FULL).toString('base64') }],
      ['/corp.example/secret/@v/v1.0.0.zip', { authorization: 'Basic ' + Buffer.from(`:${FULL}`).toString('base64') }],
      ['/corp.example/secret/@v/v1.0.0.zip', { authorization: `Bearer ${FULL}` }],
      ['/corp.example/secret/@v/v1.0.0.zip', { authorization: `Basic ${'A'.repeat(6000)}` }],
    ];
    for (const [path, headers, method] of attempts) {
      const r = await raw(godepot.url, path, headers, method);
      const what = `${method ?? 'GET'} ${path} ${JSON.stringify(headers).slice(0, 80)}`;
      expect([400, 401, 403, 404], what).toContain(r.status);
      expect(r.body, what).not.toContain('MERGER-PLANS');
      expect(r.body, what).not.toContain('module corp.example/secret');
      expect(r.body, what).not.toMatch(/v1\.0\.0\s*$/m);
      expect(r.headers['cache-control'], what).toBe('no-store');
      expect(r.headers.etag, what).toBeUndefined();
      if (r.status === 401) expect(r.headers['www-authenticate'], what).toMatch(/^Basic /);
      expect(r.body, what).not.toContain(FULL);
      expect(r.body, what).not.toContain(LIMITED);
    }
    expect(upstream.count('secret')).toBe(upstreamBefore);
    expect(sumdb.count('secret')).toBe(sumdbBefore);
    const logs = JSON.stringify(godepot.logs);
    expect(logs).not.toContain(FULL);
    expect(logs).not.toContain(LIMITED);
    expect(logs).not.toContain(hashToken(FULL).toString('hex'));
  });

  it('marks what a user may read private: a shared cache in front must not hand it to another', async () => {
    const oss = { authorization: basic('oss', LIMITED) };
    for (const p of ['/example.com/pub/@v/v1.0.0.zip', '/example.com/pub/@v/v1.0.0.info', '/example.com/pub/@v/list']) {
      const r = await raw(godepot.url, p, oss);
      expect(r.status, p).toBe(200);
      expect(r.headers['cache-control'], p).toMatch(/^private, /);
    }
    const r = await raw(godepot.url, '/example.com/pub/@v/v1.0.0.zip', { ...oss, 'if-none-match': '*' });
    expect(r.status).toBe(304);
    expect(r.headers['cache-control']).toMatch(/^private, /);
  });
});
