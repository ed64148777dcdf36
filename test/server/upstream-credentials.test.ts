// An upstream given as https://user:password@host, as in GOPROXY: godepot
// sends the user and password as HTTP Basic authorization — to the proxy and
// to the checksum database it serves at /sumdb/<name>/ — and never shows the
// password: not in a response body or header, a log line or a metric.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { startGodepot, removeDir, tempDir, type RunningGodepot } from '../support/godepot.js';
import { noNameResolves } from '../support/dns.js';
import { hashToken } from '../../src/auth/users.js';

const PASSWORD = 's3cret';
const EXPECTED = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;
const CLIENT = { authorization: `Basic ${Buffer.from('ci:tok').toString('base64')}` };

describe('upstream credentials', () => {
  let mods: BuiltModule[];
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  /** In front of the fake proxy: refuses calls without alice's credentials, fails /broken/ paths. */
  let gate: Server;
  const seen: Array<{ path: string; authorization: string | undefined }> = [];
  let godepot: RunningGodepot;
  let dir: string;

  beforeAll(async () => {
    mods = await buildModules([
      {
        path: 'example.com/ok',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/ok\n', 'ok.go': 'package ok\n' },
      },
    ]);
    upstream = await FakeGoProxy.start(mods);
    sumdb = await FakeSumDb.start({ records: mods });
    upstream.mountSumDb(sumdb);
    gate = createServer((req: IncomingMessage, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      seen.push({ path, authorization: req.headers.authorization });
      if (req.headers.authorization !== EXPECTED) res.writeHead(401).end('who are you?\n');
      else if (path.startsWith('/example.com/broken/')) res.writeHead(500).end('upstream on fire\n');
      else void upstream.handle(req, res, path);
    });
    gate.listen(0, '127.0.0.1');
    await once(gate, 'listening');
    dir = await tempDir();
    const users = join(dir, 'users.json');
    await writeFile(
      users,
      JSON.stringify({ users: [{ name: 'ci', tokenSha256: hashToken('tok').toString('hex'), modules: ['*'] }] }),
    );
    godepot = await startGodepot(
      {
        upstream: `http://alice:${PASSWORD}@127.0.0.1:${(gate.address() as AddressInfo).port}`,
        // The key alone: read at the database's own host (which does not resolve here) and through the upstream.
        sumdb: sumdb.vkey,
        auth: users,
        'insecure-auth': 'true',
        'retry-attempts': '1',
      },
      { compose: { pools: { lookup: noNameResolves() } } },
    );
  });
  afterAll(async () => {
    await godepot.close();
    gate.close();
    await Promise.all([upstream.close(), sumdb.close()]);
    await removeDir(dir);
    await removeDir(godepot.data);
  });

  it('sends them to the upstream and to the checksum database it serves', async () => {
    const res = await fetch(`${godepot.url}/example.com/ok/@v/v1.0.0.mod`, { headers: CLIENT });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-godepot-verification')).toBe('verified');
    await res.arrayBuffer();
    expect(seen.filter((r) => r.path.startsWith('/sumdb/')).length).toBeGreaterThan(0);
    expect(seen.filter((r) => r.authorization !== EXPECTED)).toEqual([]);
  });

  it('shows the upstream with its password redacted, and the password nowhere', async () => {
    const failed = await fetch(`${godepot.url}/example.com/broken/@v/v1.0.0.info`, { headers: CLIENT });
    expect(failed.status).toBe(502);
    const answers = [failed];
    for (const path of ['/readyz', '/metrics', '/api/upstreams', '/api/sumdb', '/api/incidents'])
      answers.push(await fetch(godepot.url + path, { headers: CLIENT }));
    const shown: string[] = [];
    for (const a of answers) {
      shown.push(await a.text());
      a.headers.forEach((value, name) => shown.push(`${name}: ${value}`));
    }
    shown.push(...godepot.logs.map((l) => JSON.stringify(l)));
    const all = shown.join('\n');
    expect(all).toContain(`alice:xxxxx@127.0.0.1`);
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(EXPECTED.slice('Basic '.length));
  });
});
