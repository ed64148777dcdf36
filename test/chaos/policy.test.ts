// When the checksum database cannot be reached for a module godepot has not
// verified, --verify decides: strict refuses, fallback serves it marked
// unverified (quarantined, re-verified later), quorum needs two upstream
// proxies to agree. And what the database says later is final.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule } from '../world/index.js';
import { closeAll, startGodepot, type RunningGodepot, type RawSettings } from '../support/godepot.js';
import { fetchAll as get, sha256hex as sha } from '../support/http.js';

const FAST: RawSettings = {
  'sumdb-first-byte-timeout': '300ms',
  'sumdb-total-timeout': '800ms',
  'metadata-first-byte-timeout': '500ms',
  'metadata-total-timeout': '1500ms',
  'retry-base-delay': '10ms',
  'retry-max-delay': '50ms',
  'breaker-failures': '1000',
  'stale-grace': '300ms',
};

describe('verification policies while the checksum database is down', () => {
  let a: FakeGoProxy;
  let b: FakeGoProxy;
  let sumdb: FakeSumDb;
  const mods = new Map<string, BuiltModule>();
  const running: RunningGodepot[] = [];

  const start = async (extra: RawSettings): Promise<RunningGodepot> => {
    const g = await startGodepot({ sumdb: `${sumdb.vkey} ${sumdb.url}`, ...FAST, ...extra });
    running.push(g);
    return g;
  };

  beforeAll(async () => {
    const fixtures = ['strict', 'fallback', 'quorum', 'split', 'rule', 'private', 'heal', 'bad'].map((n) => ({
      path: `example.com/${n}`,
      version: 'v1.0.0',
      files: { 'go.mod': `module example.com/${n}\n`, [`${n}.go`]: `package ${n}\n` },
    }));
    for (const m of await buildModules(fixtures)) mods.set(m.path, m);
    a = await FakeGoProxy.start([...mods.values()]);
    b = await FakeGoProxy.start([...mods.values()]);
    sumdb = await FakeSumDb.start({ records: [...mods.values()] });
  }, 60_000);
  afterEach(async () => {
    for (const p of [a, b, sumdb]) {
      p.clearFaults();
      p.resetLog();
    }
    await closeAll(running);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await sumdb.close();
  });

  it('fallback: says "serving unverified" once for a burst of artifacts, not once each (the incident counts them)', async () => {
    const g = await start({ upstream: a.url });
    sumdb.setFault(faults.status(503));
    const served = await Promise.all(
      [...mods.keys()].flatMap((m) => ['mod', 'zip'].map((k) => get(`${g.url}/${m}/@v/v1.0.0.${k}`))),
    );
    const unverified = served.filter((r) => r.headers.get('x-godepot-verification') === 'unverified');
    expect(unverified.length).toBeGreaterThan(8);
    const said = g.logs.filter((l) => l.msg === 'serving unverified: checksum database unavailable; will re-verify');
    expect(said).toHaveLength(1);
    expect(said[0]?.level).toBe(40);
  });

  it('strict: refuses with 502 saying why, stores nothing', async () => {
    const g = await start({ upstream: a.url, verify: 'strict' });
    sumdb.setFault(faults.hang());
    const r = await get(`${g.url}/example.com/strict/@v/v1.0.0.zip`);
    expect(r.status).toBe(502);
    expect(r.text).toMatch(/cannot verify example\.com\/strict@v1\.0\.0.*strict/);
    expect(await g.g.storage.list('unverified/')).toEqual([]);
    expect(await g.g.storage.list('mod/')).toEqual([]);
  });

  it('fallback: serves the bytes marked unverified, not as immutable, kept apart from verified storage', async () => {
    const g = await start({ upstream: a.url });
    sumdb.setFault(faults.status(503));
    const r = await get(`${g.url}/example.com/fallback/@v/v1.0.0.zip`);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-godepot-verification')).toBe('unverified');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(sha(r.body)).toBe(sha((mods.get('example.com/fallback') as BuiltModule).zip));
    // Answered once checked; stored behind the answer.
    await g.g.service.idle();
    expect(await g.g.storage.stat('unverified/example.com/fallback/@v/v1.0.0.zip')).not.toBeNull();
    expect(await g.g.storage.stat('mod/example.com/fallback/@v/v1.0.0.zip')).toBeNull();
    const ready = (await (await fetch(`${g.url}/readyz`)).json()) as { status: string; unverifiedArtifacts: number };
    expect(ready.status).toBe('degraded');
    expect(ready.unverifiedArtifacts).toBe(1);
  });

  it('fallback, then the database heals: re-verification promotes the quarantined copy', async () => {
    const g = await start({ upstream: a.url });
    sumdb.setFault(faults.hang());
    expect((await get(`${g.url}/example.com/heal/@v/v1.0.0.zip`)).headers.get('x-godepot-verification')).toBe(
      'unverified',
    );
    expect((await get(`${g.url}/example.com/heal/@v/v1.0.0.mod`)).headers.get('x-godepot-verification')).toBe(
      'unverified',
    );
    await g.g.service.idle();
    sumdb.clearFaults();
    const pass = await g.g.reverify.runOnce();
    expect(pass).toEqual({ verified: 2, purged: 0, unavailable: 0, unknown: 0, contradicted: 0, unreadable: 0 });
    const r = await get(`${g.url}/example.com/heal/@v/v1.0.0.zip`);
    expect(r.headers.get('x-godepot-verification')).toBe('verified');
    expect(r.headers.get('cache-control')).toContain('immutable');
    expect(await g.g.storage.list('unverified/')).toEqual([]);
    expect(a.count('/example.com/heal/@v/v1.0.0.zip')).toBe(1);
  });

  it('fallback served altered bytes; when the database answers they are purged and the mismatch alert raised', async () => {
    const g = await start({ upstream: a.url });
    sumdb.setFault(faults.hang());
    a.setFault(faults.alter(), '/example.com/bad/');
    const r = await get(`${g.url}/example.com/bad/@v/v1.0.0.zip`);
    expect(r.headers.get('x-godepot-verification')).toBe('unverified');
    await g.g.service.idle();
    sumdb.clearFaults();
    a.clearFaults();
    expect(await g.g.reverify.runOnce()).toEqual({
      verified: 0,
      purged: 1,
      unavailable: 0,
      unknown: 0,
      contradicted: 0,
      unreadable: 0,
    });
    expect(g.logs.some((l) => l.alert === 'checksum_mismatch')).toBe(true);
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    expect(metrics).toMatch(/godepot_checksum_mismatch_total\{kind="zip"\} 1/);
    const healed = await get(`${g.url}/example.com/bad/@v/v1.0.0.zip`);
    expect(healed.headers.get('x-godepot-verification')).toBe('verified');
    expect(sha(healed.body)).toBe(sha((mods.get('example.com/bad') as BuiltModule).zip));
  });

  it('quorum: two proxies serving identical bytes are accepted (and re-verified later); disagreeing ones are refused', async () => {
    const g = await start({ upstream: `${a.url}|${b.url}`, verify: 'quorum' });
    sumdb.setFault(faults.hang());
    const ok = await get(`${g.url}/example.com/quorum/@v/v1.0.0.zip`);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.headers.get('x-godepot-verification')).toBe('quorum');
    await g.g.service.idle();
    expect(await g.g.storage.stat('unverified/example.com/quorum/@v/v1.0.0.zip')).not.toBeNull();
    // Served from the cache later, it is still what it was: accepted by quorum (not "unverified").
    const again = await get(`${g.url}/example.com/quorum/@v/v1.0.0.zip`);
    expect(again.status, again.text).toBe(200);
    expect(again.headers.get('x-godepot-cache')).toBe('hit');
    expect(again.headers.get('x-godepot-verification')).toBe('quorum');
    b.setFault(faults.alter(), '/example.com/split/');
    const split = await get(`${g.url}/example.com/split/@v/v1.0.0.zip`);
    expect(split.status).toBe(502);
    expect(split.text).toMatch(/quorum policy needs two sources .* serving identical bytes, 1 did/);
    expect(await g.g.storage.list('mod/')).toEqual([]);
    expect(g.logs.some((l) => String(l.msg).startsWith('--verify quorum needs two sources'))).toBe(false);
  });

  it('quorum with a single source says at start that it can never agree', async () => {
    const g = await start({ upstream: a.url, verify: 'quorum' });
    const warned = g.logs.filter((l) => String(l.msg).startsWith('--verify quorum needs two sources'));
    expect(warned).toHaveLength(1);
    expect(String(warned[0]?.msg)).toContain(`there is one (${a.url})`);
  });

  it('per-module rules override the default, and --nosumdb modules are never looked up', async () => {
    const g = await start({
      upstream: a.url,
      'verify-rule': 'example.com/rule=strict',
      nosumdb: 'example.com/private',
    });
    sumdb.setFault(faults.status(500));
    expect((await get(`${g.url}/example.com/rule/@v/v1.0.0.zip`)).status).toBe(502);
    const p = await get(`${g.url}/example.com/private/@v/v1.0.0.zip`);
    expect(p.status).toBe(200);
    expect(p.headers.get('x-godepot-verification')).toBe('skipped');
    expect(sumdb.count('example.com/private')).toBe(0);
    const lookup = await get(`${g.url}/sumdb/${sumdb.name}/lookup/example.com/private@v1.0.0`);
    expect(lookup.status).toBe(403);
    expect(sumdb.count('example.com/private')).toBe(0);
  });
});
