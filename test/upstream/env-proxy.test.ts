// godepot reaches its upstreams through the HTTP proxy the environment
// names, by the go command's rules (env-proxy.ts): where `go` gets through a
// company's proxy, godepot must too. Until 2026-12-05 it ignored
// HTTPS_PROXY and connected directly. The proxy here is a small forward
// proxy on loopback that maps the upstream's name to the test world, while
// godepot's own resolver resolves no name at all: an answer can only have
// come through the proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import { proxyRules } from '../../src/upstream/index.js';
import { noNameResolves } from '../support/dns.js';
import { removeDir, spawnGodepot, startGodepot, tempDir } from '../support/godepot.js';
import { hasOpenssl, selfSignedCert } from '../support/tls.js';
import { startForwardProxy, type ForwardProxy } from '../support/forward-proxy.js';

const u = (s: string): URL => new URL(s);

describe('which calls go through a proxy (the go command’s rules)', () => {
  it('HTTPS_PROXY for https, HTTP_PROXY for http; upper case first; a value without a scheme is http://', () => {
    const r = proxyRules({ HTTPS_PROXY: 'corp:3128', https_proxy: 'http://other:1', http_proxy: 'http://plain:8080' });
    expect(r.any).toBe(true);
    expect(r.proxyFor(u('https://proxy.golang.org/x'))).toBe('http://corp:3128/');
    expect(r.proxyFor(u('http://mirror.example/x'))).toBe('http://plain:8080/');
    expect(proxyRules({ HTTPS_PROXY: 'socks5://corp:1080' }).proxyFor(u('https://x.example'))).toBe(
      'socks5://corp:1080',
    );
    expect(proxyRules({}).any).toBe(false);
    expect(proxyRules({}).proxyFor(u('https://proxy.golang.org'))).toBeUndefined();
    expect(proxyRules({ HTTP_PROXY: 'http://p:1' }).proxyFor(u('https://proxy.golang.org'))).toBeUndefined();
  });

  it('never for localhost or loopback addresses', () => {
    const r = proxyRules({ HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1' });
    for (const url of ['http://localhost:8080', 'http://127.0.0.1:9', 'https://127.200.1.1', 'http://[::1]:80'])
      expect(r.proxyFor(u(url)), url).toBeUndefined();
    expect(r.proxyFor(u('http://128.0.0.1'))).toBe('http://p:1/');
  });

  it('NO_PROXY: *, domains with and without a leading dot or "*.", ports, addresses and CIDR blocks', () => {
    const r = proxyRules({
      HTTPS_PROXY: 'http://p:1',
      HTTP_PROXY: 'http://p:1',
      NO_PROXY:
        ' Corp.Example , .inner.example,*.star.example, ports.example:8443, 10.0.0.0/8, 192.168.1.5, [2001:db8::1]:443',
    });
    const direct = [
      'https://corp.example',
      'https://git.corp.example',
      'https://a.inner.example',
      'https://b.star.example',
      'https://ports.example:8443',
      'http://10.20.30.40',
      'http://192.168.1.5:8080',
      'https://[2001:db8::1]',
    ];
    const proxied = [
      'https://notcorp.example',
      'https://inner.example',
      'https://star.example',
      'https://ports.example',
      'http://11.0.0.1',
      'http://192.168.1.6',
      'http://[2001:db8::1]:80',
    ];
    for (const url of direct) expect(r.proxyFor(u(url)), url).toBeUndefined();
    for (const url of proxied) expect(r.proxyFor(u(url)), url).toBe('http://p:1/');
    expect(proxyRules({ HTTPS_PROXY: 'http://p:1', no_proxy: '*' }).proxyFor(u('https://x.example'))).toBeUndefined();
  });

  it('says what it does without the proxy password', () => {
    const r = proxyRules({ HTTPS_PROXY: 'http://me:secret@corp:3128', NO_PROXY: 'corp.example' });
    expect(r.describe()).toBe(
      'https URLs through http://me:xxxxx@corp:3128 (HTTPS_PROXY); never for loopback or NO_PROXY=corp.example',
    );
  });
});

describe.skipIf(!hasOpenssl)('godepot behind an HTTP proxy', () => {
  const NAME = 'mirror.corp.example';
  let dir: string;
  let cert: string;
  let plain: Server;
  let secure: Server;
  let proxy: ForwardProxy;
  let proxyUrl: string;
  const port = (s: Server): number => (s.address() as AddressInfo).port;
  const list = (_req: unknown, res: import('node:http').ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('v1.0.0\nv1.1.0\n');
  };

  beforeAll(async () => {
    dir = await tempDir('godepot-proxy-');
    const made = selfSignedCert(dir, NAME, `DNS:${NAME}`);
    cert = made.cert;
    plain = createHttpServer(list);
    secure = createHttpsServer({ cert, key: made.key }, list);
    for (const s of [plain, secure]) {
      s.listen(0, '127.0.0.1');
      await once(s, 'listening');
    }
    proxy = await startForwardProxy([NAME]);
    proxyUrl = proxy.url;
  });

  afterAll(async () => {
    for (const s of [plain, secure]) s?.close();
    await proxy?.close();
    await removeDir(dir);
  });

  const viaGodepot = async (
    upstream: string,
    env: NodeJS.ProcessEnv,
    settings: Record<string, string> = {},
  ): Promise<{ status: number; body: string }> => {
    const g = await startGodepot(
      { upstream, sumdb: 'off', ...settings },
      {
        compose: {
          proxies: proxyRules(env),
          pools: { lookup: noNameResolves(), secureContext: createSecureContext({ ca: cert }) },
        },
      },
    );
    try {
      const res = await fetch(`${g.url}/example.com/m/@v/list`);
      return { status: res.status, body: await res.text() };
    } finally {
      await g.close();
      await removeDir(g.data);
    }
  };

  it('asks an http upstream through HTTP_PROXY, in absolute form', async () => {
    proxy.asked.length = 0;
    const upstream = `http://${NAME}:${port(plain)}`;
    expect(await viaGodepot(upstream, { HTTP_PROXY: proxyUrl })).toEqual({ status: 200, body: 'v1.0.0\nv1.1.0\n' });
    expect(proxy.asked).toContain(`GET ${upstream}/example.com/m/@v/list`);
  });

  it('asks an https upstream through HTTPS_PROXY, by CONNECT, checking its certificate', async () => {
    proxy.asked.length = 0;
    const upstream = `https://${NAME}:${port(secure)}`;
    expect(await viaGodepot(upstream, { HTTPS_PROXY: proxyUrl })).toEqual({ status: 200, body: 'v1.0.0\nv1.1.0\n' });
    expect(proxy.asked).toEqual([`CONNECT ${NAME}:${port(secure)}`]);
  });

  it('a proxy that accepts and never answers CONNECT: a 504 within the deadline, naming the proxy', async () => {
    // undici waits up to 300 s for a proxy's answer to CONNECT, and a request waiting for its connection
    // does not see its abort signal: every build through such a proxy hung for minutes.
    const silent = createNetServer((socket) => socket.on('error', () => undefined));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const started = performance.now();
      const r = await viaGodepot(
        `https://${NAME}:${port(secure)}`,
        { HTTPS_PROXY: silentUrl },
        { 'metadata-connect-timeout': '500ms', 'metadata-first-byte-timeout': '500ms', 'metadata-total-timeout': '2s' },
      );
      expect(performance.now() - started).toBeLessThan(6_000);
      expect(r.status).toBe(504);
      expect(r.body).toContain(`through the HTTP proxy ${silentUrl}`);
    } finally {
      silent.close();
    }
  }, 20_000);

  it('a proxy that refuses connections: the 502 names the proxy, not only the upstream', async () => {
    const closed = createNetServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    const r = await viaGodepot(`https://${NAME}:${port(secure)}`, { HTTPS_PROXY: closedUrl });
    expect(r.status).toBe(502);
    expect(r.body).toContain(`connection refused (through the HTTP proxy ${closedUrl})`);
  });

  it('connects directly to a host NO_PROXY names (here its name does not resolve: a 502 that says so)', async () => {
    proxy.asked.length = 0;
    const upstream = `https://${NAME}:${port(secure)}`;
    const r = await viaGodepot(upstream, { HTTPS_PROXY: proxyUrl, NO_PROXY: 'corp.example' });
    expect(r.status).toBe(502);
    expect(r.body).toMatch(/cannot resolve host/);
    expect(proxy.asked).toEqual([]);
  });

  it('a served godepot takes HTTP_PROXY from its environment, with the defaults (as `npm start` runs it)', async () => {
    proxy.asked.length = 0;
    const upstream = `http://${NAME}:${port(plain)}`;
    const data = await tempDir();
    const g = await spawnGodepot(['--data', data, '--upstream', upstream, '--sumdb', 'off'], {
      HTTP_PROXY: proxy.url,
    });
    try {
      const res = await fetch(`${g.url}/example.com/m/@v/list`);
      expect([res.status, await res.text()]).toEqual([200, 'v1.0.0\nv1.1.0\n']);
      expect(proxy.asked).toContain(`GET ${upstream}/example.com/m/@v/list`);
      expect(g.output()).toContain(`upstream calls: http URLs through ${proxy.url} (HTTP_PROXY)`);
    } finally {
      await g.stop();
      await removeDir(data);
    }
  });
});
