// godepot doctor behind a company's HTTP proxy: it checks the path the go
// command's requests take (through HTTPS_PROXY/HTTP_PROXY), not a direct
// path the network does not allow. The proxy below is the only way to the
// upstream's name: nothing else resolves it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { configFromEnv } from '../../src/cli/doctor/goenv.js';
import { doctor } from '../../src/cli/doctor/index.js';
import { runDoctor } from '../../src/cli/doctor/run.js';
import { proxyRules } from '../../src/upstream/index.js';
import { startForwardProxy, type ForwardProxy } from '../support/forward-proxy.js';

const NAME = 'goproxy.corp.example';

describe('doctor behind an HTTP proxy', () => {
  let upstream: Server;
  let proxy: ForwardProxy;
  let url: string;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      res.writeHead(req.url === '/sumdb/sum.golang.org/supported' ? 200 : 404, { 'content-type': 'text/plain' });
      res.end();
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    url = `http://${NAME}:${(upstream.address() as AddressInfo).port}`;
    proxy = await startForwardProxy([NAME]);
  });

  afterAll(async () => {
    upstream?.close();
    await proxy?.close();
  });

  it('reaches the upstream through the proxy and says that its network lines are about the proxy', async () => {
    const report = await runDoctor(
      { ...configFromEnv({}), GOPROXY: url, GOSUMDB: 'off' },
      { timeoutMs: 5000, source: 'test', proxies: proxyRules({ HTTP_PROXY: proxy.url }) },
    );
    const target = report.targets.find((t) => t.role === 'proxy');
    expect(target?.steps.map((s) => [s.name, s.ok])).toEqual([
      ['tcp', true],
      ['http', true],
    ]);
    expect(target?.steps[0]?.detail).toContain(`HTTP proxy ${proxy.url}: connected to 127.0.0.1`);
    expect(target?.steps[1]?.detail).toBe(
      'GET /sumdb/sum.golang.org/supported → 200: serves checksum database sum.golang.org',
    );
    expect(proxy.asked).toContain(`GET ${url}/sumdb/sum.golang.org/supported`);
    // No network problem (GOSUMDB=off is a configuration one, said on its own).
    expect(report.findings.filter((f) => f.kind === 'network').map((f) => f.message)).toEqual([]);
  });

  it('takes the proxy from the environment, as `godepot doctor` is run, and says so', async () => {
    proxy.asked.length = 0;
    const { report, output } = await doctor(['--no-go', '--timeout', '5s'], {
      env: { GOPROXY: url, GOSUMDB: 'off', HTTP_PROXY: proxy.url, NO_PROXY: 'other.example' },
    });
    expect(proxy.asked).toContain(`GET ${url}/sumdb/sum.golang.org/supported`);
    expect(output).toContain(`HTTP proxy ${proxy.url}: connected to 127.0.0.1`);
    expect(report.findings.filter((f) => f.kind === 'network').map((f) => f.message)).toEqual([
      `the go command's requests go through an HTTP proxy (http URLs through ${proxy.url} (HTTP_PROXY); never for loopback or NO_PROXY=other.example), and so do these checks: their DNS, TCP and TLS lines are about the proxy, their HTTP lines about the service behind it`,
    ]);
  });
});
