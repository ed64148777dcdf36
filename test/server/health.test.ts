// /readyz's status and its reasons (server/health.ts): degraded when
// something godepot depends on fails, not when one copy of a checksum
// database's log fails while another answers.
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_DEADLINES } from '../../src/config/settings.js';
import { coveredSources, Health } from '../../src/server/health.js';
import type { SumdbEndpoint } from '../../src/server/sumdb-endpoint.js';
import { MemoryStorage } from '../../src/storage/index.js';
import type { SumdbStatus } from '../../src/sumdb/index.js';
import { EndpointRegistry, HttpPools, Reachability, readLimited, UpstreamError } from '../../src/upstream/index.js';
import { FakeClock } from '../support/clock.js';

const PROXY = 'http://127.0.0.1:9/proxy';
const DB_HOST = 'https://sum.example';
const VIA_PROXY = `${PROXY}/sumdb/sum.example`;

const pools: HttpPools[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

/** Endpoints as a served godepot has them, one attempt per call, on clock. */
function registry(clock = new FakeClock(), reach?: Reachability): EndpointRegistry {
  const p = new HttpPools(DEFAULT_DEADLINES);
  pools.push(p);
  return new EndpointRegistry(
    p,
    {
      deadlines: DEFAULT_DEADLINES,
      retry: { attempts: 1, baseDelay: 5, maxDelay: 5 },
      breaker: { failures: 3, halfOpenAfter: 60_000 },
    },
    reach?.observer(),
    clock,
  );
}

/** What an upstream opened at the clock's start (2026-01-01) reads as, at that moment. */
const OPENED = 'circuit open, next probe in 1m00s; failing since 2026-01-01T00:00:00.000Z (0s)';

function world(db: Pick<SumdbStatus, 'status' | 'detail'>, opts: { unverified?: number } = {}) {
  const clock = new FakeClock();
  const endpoints = registry(clock);
  for (const url of [PROXY, DB_HOST, VIA_PROXY]) endpoints.get(url);
  const open = (url: string): void =>
    endpoints.follow({ upstream: url, state: 'open', at: clock.now(), failure: 'dns', detail: 'cannot resolve host' });
  const sumdb: SumdbEndpoint = {
    name: 'sum.example',
    serve: () => Promise.reject(new Error('not used')),
    status: () => ({
      name: 'sum.example',
      treeSize: 42,
      ...db,
      sources: [
        { url: VIA_PROXY, via: 'upstream', state: 'ok', at: new Date().toISOString() },
        { url: DB_HOST, via: 'database', state: 'failing', at: new Date().toISOString() },
      ],
    }),
  };
  const health = new Health(new MemoryStorage(), endpoints, [sumdb], false, async () => opts.unverified ?? 0);
  return { health, open, endpoints };
}

describe('/readyz status', () => {
  it("is ok while the database's own host is down and its log is read through the proxy", async () => {
    const { health, open } = world({ status: 'ok' });
    open(DB_HOST);
    const r = await health.readiness();
    expect(r.upstreams.find((u) => u.url === DB_HOST)?.state).toBe('open');
    expect([r.status, r.reasons]).toEqual(['ok', []]);
  });

  it('is degraded when every source of the database fails, whatever its status says yet', async () => {
    const { health, open } = world({ status: 'ok' });
    open(DB_HOST);
    open(VIA_PROXY);
    const r = await health.readiness();
    expect([r.status, r.reasons]).toEqual([
      'degraded',
      [
        `checksum database sum.example source ${DB_HOST}: cannot resolve host; ${OPENED}`,
        `checksum database sum.example source ${VIA_PROXY}: cannot resolve host; ${OPENED}`,
      ],
    ]);
  });

  it('is degraded, saying why, when the proxy fails', async () => {
    const { health, open } = world({ status: 'ok' });
    open(PROXY);
    const r = await health.readiness();
    expect([r.status, r.reasons]).toEqual(['degraded', [`upstream ${PROXY}: cannot resolve host; ${OPENED}`]]);
  });

  it('is degraded once the proxy fails a call, before its breaker opens', async () => {
    // A lone upstream refusing every connection serves nothing new: the field saw "ok" here until the
    // breaker opened, which takes failures across three modules.
    const { health, endpoints } = world({ status: 'ok' });
    const refused = await endpoints
      .get(PROXY)
      .get('/example.com/m/@v/list', 'list', 'metadata', readLimited(1000))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UpstreamError);
    const r = await health.readiness();
    expect(r.upstreams.find((u) => u.url === PROXY)?.state).toBe('closed');
    expect(r.status).toBe('degraded');
    expect(r.reasons).toEqual([
      `upstream ${PROXY}: ${(refused as UpstreamError).detail}; failing since 2026-01-01T00:00:00.000Z (0s)`,
    ]);
  });

  it('is degraded when no copy of the log answers, and with artifacts awaiting re-verification', async () => {
    const { health, open } = world({ status: 'unreachable', detail: 'no source answers' }, { unverified: 3 });
    open(DB_HOST);
    open(VIA_PROXY);
    const r = await health.readiness();
    expect([r.status, r.reasons]).toEqual([
      'degraded',
      [
        `checksum database sum.example source ${DB_HOST}: cannot resolve host; ${OPENED}`,
        `checksum database sum.example source ${VIA_PROXY}: cannot resolve host; ${OPENED}`,
        'checksum database sum.example: unreachable (no source answers)',
        '3 artifacts served unverified, awaiting re-verification',
      ],
    ]);
  });
});

describe('/readyz upstream state', () => {
  it('says one state per upstream: open until a probe goes, never half-open beside "circuit breaker open"', async () => {
    const clock = new FakeClock();
    // As compose.ts wires them: the reachability reads each endpoint's last failure.
    const reach: Reachability = new Reachability(clock, (url) => endpoints.get(url).status().lastFailure?.detail);
    const endpoints = registry(clock, reach);
    const health = new Health(new MemoryStorage(), endpoints, [], false, undefined, reach);
    const proxy = endpoints.get(PROXY);
    const read = readLimited(1000);
    for (const m of ['a', 'b', 'c'])
      await proxy.get(`/example.com/${m}/@v/list`, 'list', 'metadata', read).catch(() => 0);
    // Refused by the open breaker: nothing learnt about the upstream.
    await expect(proxy.get('/example.com/a/@v/list', 'list', 'metadata', read)).rejects.toMatchObject({
      breakerOpen: true,
    });
    const refused = (await health.readiness()).upstreams[0];
    expect(refused).toMatchObject({
      state: 'open',
      health: 'circuit open, next probe in 1m00s; failing since 2026-01-01T00:00:00.000Z (0s)',
      nextProbeAt: '2026-01-01T00:01:00.000Z',
      reachable: false,
    });
    expect(refused?.detail).toMatch(/^connect: /);
    // Past the half-open time, with no call yet to probe: still open, and nothing says otherwise.
    await clock.advance(61_000);
    const r = await health.readiness();
    const u = r.upstreams[0];
    expect(u).toMatchObject({
      state: 'open',
      health: 'circuit open, next probe due now; failing since 2026-01-01T00:00:00.000Z (1m01s)',
    });
    expect(JSON.stringify(r)).not.toMatch(/half-open|circuit breaker open/);
    expect(r.reasons).toEqual([`upstream ${PROXY}: ${u?.lastFailure?.detail ?? '?'}; ${u?.health ?? '?'}`]);
  });
});

describe('/readyz storage check', () => {
  it('answers within its bound when the store hangs: not ready, saying so', async () => {
    const hung = new MemoryStorage();
    hung.checkWritable = () => new Promise<void>(() => undefined);
    // Counting the quarantined artifacts lists the store too: it hangs as well, within the same bound.
    const count = (): Promise<number> => new Promise<number>(() => undefined);
    const health = new Health(hung, registry(), [], false, count, undefined, undefined, 50);
    const r = await health.readiness();
    expect([r.ready, r.status]).toEqual([false, 'not-ready']);
    expect(r.storage.error).toBe('storage memory did not answer within 0.05s');
  });

  it('names an object store that hangs as its errors do, not by its kind alone', async () => {
    const hung = Object.assign(new MemoryStorage(), { name: 's3://bucket/prefix at http://127.0.0.1:9000' });
    hung.checkWritable = () => new Promise<void>(() => undefined);
    const count = (): Promise<number> => new Promise<number>(() => undefined);
    const health = new Health(hung, registry(), [], false, count, undefined, undefined, 50);
    const r = await health.readiness();
    expect(r.storage.error).toBe('storage s3://bucket/prefix at http://127.0.0.1:9000 did not answer within 0.05s');
  });
  it('writes once for the /readyz requests that arrive while a check runs, and again for the next', async () => {
    // /readyz is open and each operator page asks every 2 s: a write per request is a write per client.
    const store = new MemoryStorage();
    let writes = 0;
    let finish: () => void = () => undefined;
    store.checkWritable = () => {
      writes++;
      return new Promise<void>((resolve) => (finish = resolve));
    };
    const health = new Health(store, registry(), [], false, undefined, undefined, undefined, 5_000);
    const asked = Array.from({ length: 50 }, () => health.readiness());
    await new Promise((r) => setImmediate(r));
    expect(writes).toBe(1);
    finish();
    const answers = await Promise.all(asked);
    expect(answers.every((r) => r.ready)).toBe(true);
    const next = health.readiness();
    await new Promise((r) => setImmediate(r));
    finish();
    expect((await next).ready).toBe(true);
    expect(writes).toBe(2);
  });
});

describe('coveredSources', () => {
  const at = (url: string, state: 'closed' | 'open', failing = state === 'open') => ({
    url,
    state,
    health: failing ? 'failing' : 'healthy',
    ...(failing ? { failingSince: '2026-12-05T12:00:00.000Z' } : {}),
  });
  const dbs = new Map([
    [DB_HOST, 'sum.example'],
    [VIA_PROXY, 'sum.example'],
  ]);
  const dbOf = (url: string): string | undefined => dbs.get(url);

  it('is the failing sources of a database with another healthy source, never a proxy', () => {
    expect(coveredSources([at(PROXY, 'open'), at(DB_HOST, 'open'), at(VIA_PROXY, 'closed')], dbOf)).toEqual(
      new Set([DB_HOST]),
    );
    // Closed but failing lately is not healthy, so it covers nothing.
    expect(coveredSources([at(DB_HOST, 'open'), at(VIA_PROXY, 'closed', true)], dbOf)).toEqual(new Set());
    expect(coveredSources([at(DB_HOST, 'open'), at(VIA_PROXY, 'open')], dbOf)).toEqual(new Set());
    expect(coveredSources([at(DB_HOST, 'open')], dbOf)).toEqual(new Set());
  });
});
