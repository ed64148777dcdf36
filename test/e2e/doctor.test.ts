// Issue 6's acceptance for `godepot doctor`: 0 against a healthy godepot;
// 1 with a named network problem for a closed port or a name that does not
// resolve; 1 with a configuration problem and its fix for GOSUMDB=off or
// GOFLAGS=-insecure; and a key that does not match its database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hashToken, withUser } from '../../src/auth/users.js';
import { doctor } from '../../src/cli/doctor/index.js';
import { generateKey } from '../../src/sumdb/note/index.js';
import { FakeGoProxy, FakeSumDb, faults, findGo, telemetryOff } from '../world/index.js';
import { startGodepot, tempDir, removeDir, type RunningGodepot } from '../support/godepot.js';

async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const addr = s.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  await new Promise<void>((r) => s.close(() => r()));
  return addr.port;
}

describe('godepot doctor', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let home: string;

  beforeAll(async () => {
    upstream = await FakeGoProxy.start();
    sumdb = await FakeSumDb.start();
    await sumdb.addRecord(`example.com/a v1.0.0 h1:${Buffer.alloc(32, 1).toString('base64')}\n`);
    godepot = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
    home = await tempDir('godepot-doctor-home-');
    telemetryOff(home);
  });

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await removeDir(home);
  });

  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => doctor(['--no-go', '--timeout', '3s', ...args], { env });

  it('exits 0 and says all is well against a healthy godepot, checking the tree head with the key', async () => {
    const { code, output } = await run(['--goproxy', godepot.url, '--gosumdb', sumdb.vkey]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/ok +tcp +connected to 127\.0\.0\.1:\d+ +\(\d+ ms\)/);
    expect(output).toContain(`GET /sumdb/${sumdb.name}/supported → 200: serves checksum database ${sumdb.name}`);
    expect(output).toMatch(/database http:\/\/127\.0\.0\.1:\d+\/sumdb\/localhost\.localdev\/sumdb +\(through http/);
    expect(output).toMatch(/ok +key +signed tree head of 1 records verifies/);
    expect(output).toMatch(/ok +godepot +godepot is ok/);
    expect(output).toContain('Verdict: all good');
  });

  it('calls a closed port a network problem: connection refused (exit 1)', async () => {
    const port = await closedPort();
    const { code, output, report } = await run(['--goproxy', `http://127.0.0.1:${port}`, '--gosumdb', sumdb.vkey]);
    expect(code, output).toBe(1);
    expect(output).toMatch(/FAIL +tcp +connection to 127\.0\.0\.1:\d+ refused/);
    expect(output).toContain('Verdict: NETWORK problem');
    expect(output).toContain('connection refused');
    expect(report.findings.find((f) => f.kind === 'network')?.fix).toMatch(/is the service running/);
  });

  it('names DNS when the host does not resolve (exit 1)', async () => {
    const { code, output } = await run(['--goproxy', 'http://godepot.invalid:8080', '--gosumdb', sumdb.vkey]);
    expect(code, output).toBe(1);
    expect(output).toMatch(/FAIL +dns +godepot\.invalid does not resolve/);
    expect(output).toMatch(/Verdict: NETWORK problem[\s\S]*DNS: name does not resolve/);
    expect(output).not.toContain('CONFIGURATION problem');
  });

  it('calls GOSUMDB=off a configuration problem, with the fix (exit 1), though the network is fine', async () => {
    const { code, output } = await run(['--goproxy', godepot.url, '--gosumdb', 'off']);
    expect(code, output).toBe(1);
    expect(output).toMatch(/ok +tcp/);
    expect(output).not.toContain('NETWORK problem');
    expect(output).toMatch(
      /Verdict: CONFIGURATION problem[\s\S]*GOSUMDB=off: checksum verification is disabled[\s\S]*fix: unset GOSUMDB/,
    );
  });

  it('calls GOFLAGS=-insecure a configuration problem, with the fix (exit 1), reading go env when go is present', async () => {
    const go = findGo();
    const env: NodeJS.ProcessEnv = {
      HOME: home,
      GOENV: 'off',
      GOFLAGS: '-insecure',
      GOPROXY: godepot.url,
      GOSUMDB: sumdb.vkey,
      PATH: go ? dirname(go) : '',
    };
    const { code, output, report } = await doctor(['--timeout', '3s', ...(go ? [] : ['--no-go'])], { env });
    expect(code, output).toBe(1);
    if (go) expect(report.source).toMatch(/^go env \(go1/);
    expect(report.config.GOFLAGS).toBe('-insecure');
    expect(output).toMatch(
      /Verdict: CONFIGURATION problem[\s\S]*GOFLAGS=-insecure[\s\S]*fix: remove -insecure from GOFLAGS/,
    );
    expect(output).not.toContain('NETWORK problem');
  });

  it('calls a key that does not match its database a configuration problem (exit 1)', async () => {
    const other = generateKey(sumdb.name).vkey;
    const { code, output } = await run(['--goproxy', godepot.url, '--gosumdb', other]);
    expect(code, output).toBe(1);
    expect(output).toMatch(/FAIL +key +the tree head is signed by localhost\.localdev\/sumdb\+[0-9a-f]{8}/);
    expect(output).toMatch(/Verdict: CONFIGURATION problem[\s\S]*key does not match its database/);
  });

  it('never prints the token of a GOPROXY URL, in text or JSON', async () => {
    const withToken = godepot.url.replace('http://', 'http://ci:full-token@');
    const tokenOnly = godepot.url.replace('http://', 'http://lone-token@');
    for (const proxy of [withToken, tokenOnly]) {
      for (const json of [[], ['--json']]) {
        const { output } = await run([...json, '--goproxy', proxy, '--gosumdb', sumdb.vkey]);
        expect(output).not.toMatch(/full-token|lone-token/);
        expect(output).toMatch(/xxxxx@127\.0\.0\.1/);
      }
    }
  });

  it("calls a failing upstream godepot's problem (exit 1), with godepot's reasons", async () => {
    upstream.setFault(faults.status(503));
    try {
      expect((await fetch(`${godepot.url}/example.com/failing/@v/list`)).status).toBe(502);
      const { code, output } = await run(['--goproxy', godepot.url, '--gosumdb', sumdb.vkey]);
      expect(code, output).toBe(1);
      expect(output).toContain('godepot reports a problem');
      expect(output).toContain(`upstream ${upstream.url}`);
      expect(output).not.toContain('Verdict: all good');
    } finally {
      upstream.clearFaults();
      // An answer ends the failure streak, for the tests after this one.
      expect((await fetch(`${godepot.url}/example.com/failing/@v/list`)).status).toBe(404);
    }
  });

  it('calls a refused request (401) a configuration problem (exit 1), not a proxy that works', async () => {
    const dir = await tempDir('godepot-doctor-auth-');
    const users = join(dir, 'users.json');
    await writeFile(users, withUser(null, 'ci', hashToken('right-token'), '*'));
    const guarded = await startGodepot({
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      auth: users,
      'insecure-auth': 'true',
    });
    try {
      const as = (token: string): string => guarded.url.replace('http://', `http://ci:${token}@`);
      // Over plain http the go command sends no credentials, and neither does doctor: every request is refused.
      const r = await run(['--goproxy', as('right-token'), '--gosumdb', sumdb.vkey]);
      expect(r.code, r.output).toBe(1);
      expect(r.output).toMatch(/→ 401/);
      expect(r.output).toContain('credentials missing or refused');
      expect(r.output).not.toContain('Verdict: all good');
      expect(r.output).not.toContain('right-token');
    } finally {
      await guarded.close();
      await removeDir(dir);
    }
  });

  it('prints JSON for machines with --json', async () => {
    const { code, output } = await run(['--json', '--goproxy', godepot.url, '--gosumdb', sumdb.vkey]);
    expect(code).toBe(0);
    const j = JSON.parse(output) as {
      ok: boolean;
      targets: Array<{ role: string; steps: Array<{ name: string; ok: boolean }> }>;
    };
    expect(j.ok).toBe(true);
    expect(j.targets.map((t) => t.role)).toEqual(['proxy', 'database']);
    expect(j.targets[1]?.steps.some((s) => s.name === 'key' && s.ok)).toBe(true);
  });
});
