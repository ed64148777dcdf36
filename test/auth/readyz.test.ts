// /readyz stays open under --auth (load balancers carry no credentials), but
// its failure texts quote what upstreams answered, and an upstream's error
// may name the module it failed on: only a user allowed every module (who
// may read /api and /metrics anyway) sees them; everyone else gets the
// status with those texts withheld.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGoProxy, faults } from '../world/index.js';
import type { RunningGodepot } from '../support/godepot.js';
import { startAuthRig, type AuthRig } from '../support/auth-rig.js';
import { hashToken, withUser } from '../../src/auth/users.js';
import { WITHHELD } from '../../src/server/health.js';

const FULL = 'full-token-0123456789abcdef';
const LIMITED = 'limited-token-0123456789abcdef';
const basic = (user: string, token: string): Record<string, string> => ({
  authorization: 'Basic ' + Buffer.from(`${user}:${token}`).toString('base64'),
});

describe('/readyz under --auth', () => {
  let upstream: FakeGoProxy;
  let godepot: RunningGodepot;
  let rig: AuthRig;
  beforeAll(async () => {
    rig = await startAuthRig(
      [{ path: 'example.com/pub', version: 'v1.0.0', files: { 'go.mod': 'module example.com/pub\n' } }],
      withUser(withUser(null, 'ci', hashToken(FULL), '*'), 'oss', hashToken(LIMITED), 'example.com/*'),
      // Refusals of one kind after the first within 10 s are logged at debug level (spaced): every one is seen here.
      { 'log-level': 'debug' },
    );
    ({ godepot, upstream } = rig);
  });
  afterAll(async () => {
    await rig.close();
  });

  it('withholds the failure texts, which may name modules, from all but a user allowed every module', async () => {
    upstream.setFault(faults.status(500, 'fetching corp.example/merger-plans@v1.0.0: internal error'), 'merger');
    const failed = await fetch(`${godepot.url}/corp.example/merger-plans/@v/v1.0.0.info`, {
      headers: basic('ci', FULL),
    });
    expect(failed.status).toBe(502);
    for (const headers of [{}, basic('oss', LIMITED), basic('ci', 'wrong')]) {
      const r = await fetch(`${godepot.url}/readyz`, { headers });
      const text = await r.text();
      expect(r.status).toBe(200);
      expect(text).not.toContain('merger-plans');
      const j = JSON.parse(text) as { status: string; reasons: string[]; upstreams: Array<{ detail?: string }> };
      expect(j.status).toBe('degraded');
      expect(j.reasons.join('\n')).toContain(WITHHELD);
      expect(j.upstreams.some((u) => u.detail === WITHHELD)).toBe(true);
    }
    const full = await (await fetch(`${godepot.url}/readyz`, { headers: basic('ci', FULL) })).text();
    expect(full).toContain('merger-plans');
  });

  it('counts and logs a wrong token shown to /readyz (it must not check a stolen token unseen); no credentials says nothing', async () => {
    const refusals = () =>
      godepot.logs.filter((l) => l.reason === 'bad_credentials' && l.path === '/readyz' && l.user === 'ci').length;
    const before = refusals();
    expect((await fetch(`${godepot.url}/readyz`, { headers: basic('ci', 'stolen?') })).status).toBe(200);
    expect(refusals()).toBe(before + 1);
    const metrics = await (await fetch(`${godepot.url}/metrics`, { headers: basic('ci', FULL) })).text();
    expect(metrics).toMatch(/godepot_auth_failures_total\{reason="bad_credentials"\} [1-9]/);
    const quiet = godepot.logs.length;
    expect((await fetch(`${godepot.url}/readyz`)).status).toBe(200);
    expect(godepot.logs.slice(quiet).filter((l) => l.level === 40)).toEqual([]);
  });
});
