// doctor --module: a failed private-module fetch is diagnosed as the
// client's credentials, godepot's credentials, network, or configuration.
import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { doctor } from '../../src/cli/doctor/index.js';
import { diagnoseModuleFetch } from '../../src/cli/doctor/private.js';

const M = 'corp.example/lib';
const P = 'https://godepot.internal';

describe('diagnosing a private module fetch', () => {
  it('names who lacks what', () => {
    expect(diagnoseModuleFetch(M, P, { status: 200, body: 'v1.0.0\n' })).toBeNull();
    const cases: Array<[number, string, string, RegExp]> = [
      [401, 'godepot: authentication required', 'config', /godepot wants a user and token/],
      [403, 'godepot: user x may not read', 'config', /may not read this module/],
      // godepot's host lacks them: not the client's Go settings, whose verdict would send the reader to the wrong machine.
      [502, 'godepot: no valid credentials for corp.example to fetch …', 'service', /godepot's own credentials/],
      [
        502,
        "godepot: fetching corp.example/lib from corp.example is not allowed by GOVCS in godepot's environment",
        'service',
        /GOVCS/,
      ],
      [502, 'godepot: cannot reach corp.example to fetch …', 'network', /cannot reach the Git host/],
      [504, 'godepot: fetching … timed out', 'network', /cannot reach the Git host/],
      [404, 'not found: corp.example/lib version list', 'config', /not found/],
      [500, 'godepot: internal error', 'service', /godepot failed/],
    ];
    for (const [status, body, kind, message] of cases) {
      const f = diagnoseModuleFetch(M, P, { status, body });
      expect(f?.kind, body).toBe(kind);
      expect(f?.message, body).toMatch(message);
      expect(f?.severity).toBe('problem');
    }
    expect(diagnoseModuleFetch(M, P, { status: 404, body: '' })?.fix).toMatch(/--private/);
    // A public module in hg or svn: public fetches are git only whatever godepot's GOVCS says, so not "set GOVCS".
    const hg = diagnoseModuleFetch(M, P, {
      status: 502,
      body: "godepot: corp.example/lib version list is not kept in git at corp.example, and godepot fetches public modules with git only; get it through an upstream proxy that has it, or if corp.example/lib is private, add it to --private (go: GOVCS disallows using hg for public corp.example/lib; see 'go help vcs')",
    });
    expect(hg?.fix).not.toMatch(/set GOVCS/);
    expect(hg?.fix).toMatch(/--private/);
  });
});

describe("quoting godepot's answer", () => {
  it("quotes a long answer whole, and a stranger's page shortened at word boundaries, its end kept", () => {
    const module = `${M}/${'deep/'.repeat(20)}pkg`;
    const godepot = `godepot: cannot reach corp.example to fetch ${module}: fatal: unable to access 'https://corp.example/${'x'.repeat(150)}/': Connection refused; check the network, DNS and HTTP(S)_PROXY of godepot's environment (stored versions are still served)`;
    expect(godepot.length).toBeGreaterThan(300);
    const f = diagnoseModuleFetch(module, P, { status: 502, body: godepot });
    expect(f?.message).toContain(`(502: ${godepot})`);
    const page = `${'<p>words of a proxy error page</p> '.repeat(100)}please retry`;
    const said = diagnoseModuleFetch(module, P, { status: 500, body: page })?.message ?? '';
    expect(said.length).toBeLessThan(page.length);
    expect(said).toMatch(/\(500: <p>words .* … .*please retry\)$/);
  });
});

describe('--module when this machine cannot reach godepot', () => {
  it('says the path to godepot is broken, not godepot’s path to the Git host', async () => {
    // A port nothing listens on: every request to it is refused.
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const { report, code } = await doctor(['--no-go', '--timeout', '2s', '--module', M], {
      env: { GOPROXY: `http://127.0.0.1:${port}`, GOSUMDB: 'off' },
    });
    expect(code).toBe(1);
    const f = report.findings.find((x) => x.subject === M);
    expect(f).toMatchObject({ kind: 'network', severity: 'problem' });
    expect(f?.message).toMatch(/this machine cannot reach godepot/);
    expect(f?.message).not.toMatch(/Git host/);
    expect(f?.fix).not.toMatch(/Git host/);
  }, 15_000);
});

describe('--module when godepot takes the request and does not answer in time', () => {
  it('says godepot is waiting for the Git host, not that this machine cannot reach godepot', async () => {
    // godepot answers its probes; the version list waits on a Git host that hangs.
    const server = createServer((req, res) => {
      if (req.url === `/${M}/@v/list`) return;
      res.writeHead(404).end('not found');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { report, code } = await doctor(['--no-go', '--timeout', '1s', '--module', M], {
        env: { GOPROXY: url, GOSUMDB: 'off' },
      });
      expect(code).toBe(1);
      expect(report.targets[0]?.steps.every((s) => s.ok)).toBe(true);
      const f = report.findings.find((x) => x.subject === M);
      expect(f).toMatchObject({ kind: 'network', severity: 'problem' });
      expect(f?.message).toMatch(/godepot took the request but gave no answer in time/);
      expect(f?.message).not.toMatch(/cannot reach godepot/);
      expect(f?.fix).toMatch(/from godepot to the module's Git host/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 15_000);
});

describe('--module when GOPROXY names no proxy', () => {
  it('says the module was not fetched, rather than nothing', async () => {
    const { report, output } = await doctor(['--no-go', '--module', M], { env: { GOPROXY: 'direct', GOSUMDB: 'off' } });
    const f = report.findings.find((x) => x.subject === M);
    expect(f).toMatchObject({ kind: 'config', severity: 'warning' });
    expect(f?.message).toMatch(/was not fetched: GOPROXY=direct names no http\(s\) proxy/);
    expect(output).toContain(`${M} was not fetched`);
  });
});
