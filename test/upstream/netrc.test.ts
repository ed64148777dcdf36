// Credentials from .netrc for https upstreams, as the go command sends them
// (netrc.ts): a company's module proxy that `go` reaches with the user's
// ~/.netrc must not answer godepot 401 with the same file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { goauthUsesNetrc, netrcCredentials, parseNetrc } from '../../src/upstream/index.js';
import { doctor } from '../../src/cli/doctor/index.js';
import { removeDir, spawnGodepot, startGodepot, tempDir } from '../support/godepot.js';
import { hasOpenssl, selfSignedCert } from '../support/tls.js';

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('reading .netrc as the go command does', () => {
  it('takes machine entries with a login and a password, on one line or several, skipping macros and stopping at default', () => {
    const text = [
      'machine one.example login alice password a1',
      'machine two.example',
      '  login bob',
      '  password b2',
      'machine nopass.example login carol',
      'machine nologin.example password c0',
      'macdef init',
      'machine inmacro.example login x password y',
      '',
      'machine three.example:8443 login dan password d3',
      'default',
      'machine after.example login e password e5',
    ].join('\n');
    expect(parseNetrc(text)).toEqual([
      { machine: 'one.example', login: 'alice', password: 'a1' },
      { machine: 'two.example', login: 'bob', password: 'b2' },
      { machine: 'three.example:8443', login: 'dan', password: 'd3' },
    ]);
  });

  it('uses it when GOAUTH is unset or names netrc, not when it is off or names only other commands', () => {
    expect(goauthUsesNetrc(undefined)).toBe(true);
    expect(goauthUsesNetrc('')).toBe(true);
    expect(goauthUsesNetrc('netrc')).toBe(true);
    expect(goauthUsesNetrc('git /src ; netrc')).toBe(true);
    expect(goauthUsesNetrc('off')).toBe(false);
    expect(goauthUsesNetrc('git /src')).toBe(false);
  });

  it('gives https URLs of a machine (host and port as the URL has them) its credentials, the last entry winning', async () => {
    const dir = await tempDir('godepot-netrc-');
    try {
      const file = join(dir, 'netrc');
      await writeFile(
        file,
        'machine corp.example login old password p0\nmachine corp.example login ci password p1\nmachine ports.example:8443 login p password p2\n',
      );
      const auth = netrcCredentials({ NETRC: file });
      expect(auth('https://corp.example/goproxy')).toBe(basic('ci', 'p1'));
      expect(auth('http://corp.example/goproxy')).toBeUndefined();
      expect(auth('https://sub.corp.example')).toBeUndefined();
      expect(auth('https://ports.example:8443/x')).toBe(basic('p', 'p2'));
      expect(auth('https://ports.example/x')).toBeUndefined();
      expect(netrcCredentials({ NETRC: file, GOAUTH: 'off' })('https://corp.example')).toBeUndefined();
      expect(netrcCredentials({ NETRC: join(dir, 'missing') })('https://corp.example')).toBeUndefined();
      // HOME/.netrc when NETRC is not set.
      await writeFile(join(dir, '.netrc'), 'machine home.example login h password h1\n');
      expect(netrcCredentials({ HOME: dir })('https://home.example')).toBe(basic('h', 'h1'));
    } finally {
      await removeDir(dir);
    }
  });
});

describe.skipIf(!hasOpenssl)('an upstream that wants the credentials of .netrc', () => {
  let dir: string;
  let cert: string;
  let certFile: string;
  let server: Server;
  let url: string;
  const seen: string[] = [];

  beforeAll(async () => {
    dir = await tempDir('godepot-netrc-');
    const made = selfSignedCert(dir, 'corp-proxy', 'IP:127.0.0.1');
    cert = made.cert;
    certFile = made.certFile;
    server = createServer({ cert, key: made.key }, (req, res) => {
      const auth = req.headers.authorization ?? '';
      seen.push(auth);
      if (auth !== basic('ci', 'from-netrc') && auth !== basic('url', 'from-url')) {
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Basic realm="corp"' });
        res.end('unauthorized: give a user and token\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('v1.0.0\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    await writeFile(
      join(dir, 'netrc'),
      `machine 127.0.0.1:${(server.address() as { port: number }).port} login ci password from-netrc\n`,
    );
  });

  afterAll(async () => {
    server?.close();
    await removeDir(dir);
  });

  const list = async (
    upstream: string,
    netrcFile: string,
  ): Promise<{ status: number; body: string; said: string[] }> => {
    const g = await startGodepot(
      { upstream, sumdb: 'off' },
      {
        compose: {
          ambientAuth: netrcCredentials({ NETRC: netrcFile }),
          pools: { secureContext: createSecureContext({ ca: cert }) },
        },
      },
    );
    try {
      const res = await fetch(`${g.url}/example.com/m/@v/list`);
      return { status: res.status, body: await res.text(), said: g.logs.map((l) => String(l.msg)) };
    } finally {
      await g.close();
      await removeDir(g.data);
    }
  };

  it('sends them, and an upstream URL with its own user:password sends those instead', async () => {
    seen.length = 0;
    const r = await list(url, join(dir, 'netrc'));
    expect([r.status, r.body]).toEqual([200, 'v1.0.0\n']);
    expect(seen).toEqual([basic('ci', 'from-netrc')]);
    expect(r.said).toContain(`credentials from .netrc (as the go command sends them) for ${url}`);
    seen.length = 0;
    const withUser = url.replace('https://', 'https://url:from-url@');
    const own = await list(withUser, join(dir, 'netrc'));
    expect([own.status, own.body]).toEqual([200, 'v1.0.0\n']);
    expect(seen).toEqual([basic('url', 'from-url')]);
    expect(own.said.some((m) => m.startsWith('credentials from .netrc'))).toBe(false);
  });

  it('without an entry the upstream refuses, and the client is told so', async () => {
    seen.length = 0;
    const r = await list(url, join(dir, 'none'));
    expect(seen).toEqual(['']);
    // godepot's credentials were refused, not the client's: a 502 that says whose and what to do, never a 401.
    expect(r.status).toBe(502);
    expect(r.body).toMatch(/401: .*godepot's credentials for this upstream are missing or refused: .*\.netrc/);
  });

  it('a served godepot reads $NETRC on its own, with the defaults (as `npm start` runs it)', async () => {
    seen.length = 0;
    const data = await tempDir();
    const empty = await tempDir();
    const g = await spawnGodepot(['--data', data, '--upstream', url, '--sumdb', 'off'], {
      NETRC: join(dir, 'netrc'),
      SSL_CERT_FILE: certFile,
      SSL_CERT_DIR: empty,
    });
    try {
      const res = await fetch(`${g.url}/example.com/m/@v/list`);
      expect([res.status, await res.text()]).toEqual([200, 'v1.0.0\n']);
      expect(seen).toContain(basic('ci', 'from-netrc'));
      expect(g.output()).toContain(`credentials from .netrc (as the go command sends them) for ${url}`);
    } finally {
      await g.stop();
      await removeDir(data);
      await removeDir(empty);
    }
  });

  it('doctor --module sends them as the go command would, trusting the CA of its environment', async () => {
    seen.length = 0;
    const empty = await tempDir();
    try {
      const env = {
        GOPROXY: url,
        GOSUMDB: 'off',
        NETRC: join(dir, 'netrc'),
        SSL_CERT_FILE: certFile,
        SSL_CERT_DIR: empty,
      };
      const { report, output } = await doctor(['--no-go', '--timeout', '5s', '--module', 'example.com/m'], { env });
      expect(seen).toContain(basic('ci', 'from-netrc'));
      expect(report.findings.filter((f) => f.severity === 'problem').map((f) => f.message)).toEqual([
        'GOSUMDB=off: checksum verification is disabled; no download is checked against the checksum database',
      ]);
      expect(output).toMatch(/ok {4}tls/);
      // Without the file the same check names the missing credentials.
      const without = await doctor(['--no-go', '--timeout', '5s', '--module', 'example.com/m'], {
        env: { ...env, NETRC: join(dir, 'none') },
      });
      expect(without.output).toMatch(/godepot wants a user and token/);
      // GOPROXY written as a bare host (the go command reads it as https://) is checked the same way.
      seen.length = 0;
      await doctor(['--no-go', '--timeout', '5s', '--module', 'example.com/m'], {
        env: { ...env, GOPROXY: url.replace(/^https:\/\//, '') },
      });
      expect(seen).toContain(basic('ci', 'from-netrc'));
    } finally {
      await removeDir(empty);
    }
  });
});
