// doctor against a godepot that answers but reports a problem in /readyz:
// the verdict says what godepot says and gives the fix that fits it, and a
// failed request quotes what the service answered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { configFromEnv } from '../../src/cli/doctor/goenv.js';
import { runDoctor } from '../../src/cli/doctor/run.js';

const DB = 'sum.golang.org';
const SAID =
  "godepot: checksum database sum.golang.org: no source answered: upstream http://127.0.0.1:2 failed: connection failed (connection refused); modules whose go.sum lines you have keep building through godepot; for a new one try again later, and keep GOSUMDB on (godepot's /readyz and /ui/ show the outage)";

/** What a godepot started with --sumdb "sum.golang.org http://127.0.0.1:2" says while that URL refuses. */
const READYZ = {
  ready: true,
  status: 'degraded',
  reasons: [
    `checksum database ${DB} source http://127.0.0.1:2: connection refused; failing since 2026-01-01T00:00:00.000Z (5s)`,
    `checksum database ${DB}: unreachable (no source of ${DB} answers: http://127.0.0.1:2 failing (connect: connection refused))`,
  ],
  upstreams: [
    { url: 'http://127.0.0.1:1', state: 'closed', health: 'healthy' },
    { url: 'http://127.0.0.1:2', state: 'closed', health: 'failing since …', failingSince: '2026-01-01T00:00:00.000Z' },
  ],
  verification: 'on',
  sumdb: [
    {
      name: DB,
      status: 'unreachable',
      sources: [{ url: 'http://127.0.0.1:2', via: 'mirror', state: 'failing', detail: 'connect: connection refused' }],
    },
  ],
};

describe('doctor reading a godepot that reports a problem', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/readyz')
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(READYZ));
      if (req.url === `/sumdb/${DB}/supported`) return void res.writeHead(200).end();
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`${SAID}\n`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server?.close();
  });

  it("calls it godepot's problem, with the fix for a database no source of which answers", async () => {
    const report = await runDoctor(
      { ...configFromEnv({}), GOPROXY: url, GOSUMDB: DB },
      { timeoutMs: 5000, source: 'test' },
    );
    const godepot = report.findings.find((f) => f.subject === url);
    // /readyz answered 200: "HTTP error" and "the service answers with an error" were not what happened.
    expect(godepot).toMatchObject({ kind: 'service', severity: 'problem' });
    expect(godepot?.message).toMatch(
      /^proxy http:\/\/127\.0\.0\.1:\d+: godepot reports a problem \(godepot is degraded: /,
    );
    // Said once, in godepot's words (its reasons), not again in the doctor's.
    expect(godepot?.message.match(/http:\/\/127\.0\.0\.1:2 /g)).toHaveLength(1);
    expect(godepot?.fix).toBe(
      `on godepot's host: if godepot's upstream proxy serves the log (as proxy.golang.org serves sum.golang.org), give godepot --sumdb without URLs (--sumdb sum.golang.org) so it is read there too, or add <upstream>/sumdb/sum.golang.org to its URLs; meanwhile it serves what it has verified (builds with a complete go.sum keep working)`,
    );
  });

  it('quotes what the service answered a request it failed', async () => {
    const report = await runDoctor(
      { ...configFromEnv({}), GOPROXY: url, GOSUMDB: DB },
      { timeoutMs: 5000, source: 'test' },
    );
    const latest = report.targets.find((t) => t.role === 'database')?.steps.find((s) => s.name === 'http');
    // It said only "GET /latest → 502".
    expect(latest).toMatchObject({ ok: false, failure: 'status', detail: `GET /latest → 502: ${SAID}` });
  });
});

describe('doctor reading a godepot whose storage takes no writes', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const readyz = {
      ready: false,
      status: 'not-ready',
      reasons: ['storage fs is not writable: ENOSPC: no space left on device, write'],
      storage: { kind: 'fs', writable: false, error: 'ENOSPC: no space left on device, write' },
      upstreams: [{ url: 'http://127.0.0.1:1', state: 'closed', health: 'healthy' }],
      verification: 'on',
      sumdb: [{ name: DB, status: 'ok', sources: [] }],
    };
    server = createServer((req, res) => {
      if (req.url === '/readyz')
        return void res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify(readyz));
      res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server?.close();
  });

  it('says to make the storage writable, not to read the incidents', async () => {
    const report = await runDoctor(
      { ...configFromEnv({}), GOPROXY: url, GOSUMDB: DB },
      { timeoutMs: 5000, source: 'test' },
    );
    const godepot = report.findings.find((f) => f.subject === url);
    expect(godepot).toMatchObject({ kind: 'service', severity: 'problem' });
    expect(godepot?.message).toContain('no space left on device');
    expect(godepot?.fix).toMatch(/^on godepot's host: make its storage writable again/);
  });
});
