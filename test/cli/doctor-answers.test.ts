// doctor against services that answer what the go command does not expect:
// a redirect (followed as the go command follows it), another status on the
// supported probe (which fails every checksum lookup of the go command), an
// answer that is not HTTP, and a host that hangs (the check's deadline is
// --timeout, once).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { configFromEnv } from '../../src/cli/doctor/goenv.js';
import { runDoctor } from '../../src/cli/doctor/run.js';
import { FakeGoProxy, FakeSumDb } from '../world/index.js';

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('doctor and unexpected answers', () => {
  let sumdb: FakeSumDb;
  let target: FakeGoProxy;
  const servers: Array<Server | ReturnType<typeof createTcpServer>> = [];
  const http = async (handler: RequestListener): Promise<string> => {
    const s = createServer(handler);
    servers.push(s);
    return listen(s);
  };
  const check = (goproxy: string, timeoutMs = 3000) =>
    runDoctor({ ...configFromEnv({}), GOPROXY: goproxy, GOSUMDB: sumdb.vkey }, { timeoutMs, source: 'test' });

  beforeAll(async () => {
    sumdb = await FakeSumDb.start();
    await sumdb.addRecord(`example.com/a v1.0.0 h1:${Buffer.alloc(32, 1).toString('base64')}\n`);
    target = await FakeGoProxy.start();
    target.mountSumDb(sumdb);
  });

  afterAll(async () => {
    for (const s of servers) s.close();
    await target?.close();
    await sumdb?.close();
  });

  it('follows a redirect as the go command does, and checks the database it leads to', async () => {
    const moved = await http((req, res) => res.writeHead(302, { location: `${target.url}${req.url}` }).end());
    const report = await check(moved);
    expect(report.ok, JSON.stringify(report.findings)).toBe(true);
    const db = report.targets.find((t) => t.role === 'database');
    expect(db?.url).toBe(`${moved}/sumdb/${sumdb.name}`);
    expect(db?.steps.find((s) => s.name === 'key')).toMatchObject({ ok: true });
  });

  it('fails a supported probe answered with another status: the go command then fails every checksum lookup', async () => {
    for (const answer of [400, 429, 302]) {
      // A 302 without a Location is the answer, for the go command as for doctor.
      const odd = await http((_req, res) => res.writeHead(answer).end('refused here\n'));
      const report = await check(odd);
      expect(report.ok, `${answer}`).toBe(false);
      const f = report.findings.find((x) => x.severity === 'problem');
      expect(f?.message).toContain(`/sumdb/${sumdb.name}/supported → ${answer}`);
      expect(f?.kind).toBe('service');
    }
  });

  it('calls an answer that is not HTTP a service that is not a proxy, not a broken network path', async () => {
    const tcp = createTcpServer((s) => {
      s.on('error', () => undefined);
      s.end('SSH-2.0-OpenSSH_9.6\r\n');
    });
    servers.push(tcp);
    const report = await check(await listen(tcp));
    expect(report.ok).toBe(false);
    const f = report.findings.find((x) => x.severity === 'problem');
    expect(f).toMatchObject({ kind: 'service' });
    expect(f?.message).toContain('unexpected answer');
  });

  it('gives a host that never finishes its answer one deadline, and does not ask it again for /readyz', async () => {
    const paths: string[] = [];
    const trickle = await http((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(200);
      // A byte now and then: no idle deadline ever fires.
      const t = setInterval(() => res.write('a'), 50);
      res.on('close', () => clearInterval(t));
    });
    const report = await check(trickle, 500);
    const step = report.targets[0]?.steps.find((s) => s.name === 'http');
    expect(step).toMatchObject({ ok: false, failure: 'timeout' });
    // The deadline of the check, not twice it.
    expect(step?.ms).toBeLessThan(1000);
    expect(paths).toEqual([`/sumdb/${sumdb.name}/supported`]);
    expect(report.targets[0]?.steps.some((s) => s.name === 'godepot')).toBe(false);
  });
});
