// Where a checksum database's log is read (issue 10 item 1): its own host
// and every upstream proxy that answers /sumdb/<name>/supported with 200,
// probed once; a probe without a definite answer is tried again after a
// while (moved on a fake clock, not waited for).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DEADLINES } from '../../src/config/settings.js';
import {
  EndpointRegistry,
  HttpPools,
  MirrorSet,
  Reachability,
  readLimited,
  SourcesFailedError,
  SumdbSources,
} from '../../src/upstream/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { FakeGoProxy, FakeSumDb, faults } from '../world/index.js';
import { startGodepot } from '../support/godepot.js';
import { waitFor } from '../support/ports.js';

const pools: HttpPools[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

function setup(upstreams: string[], fixed: string[]) {
  const clock = new ManualClock();
  const p = new HttpPools(DEFAULT_DEADLINES);
  pools.push(p);
  const reach: Reachability = new Reachability(clock, (u) => endpoints.get(u).status().lastFailure?.detail);
  const endpoints: EndpointRegistry = new EndpointRegistry(
    p,
    {
      deadlines: DEFAULT_DEADLINES,
      retry: { attempts: 1, baseDelay: 5, maxDelay: 5 },
      breaker: { failures: 100, halfOpenAfter: 60_000 },
    },
    reach.observer(),
  );
  const sources = new SumdbSources({
    name: 'localhost.localdev/sumdb',
    fixed,
    upstreams,
    endpoints,
    reach,
    clock,
    reprobeAfterMs: 30_000,
    waitForProbesMs: 5_000,
  });
  return { clock, endpoints, sources };
}

describe('the sources of a database given without URLs', () => {
  let db: FakeSumDb;
  let serving: FakeGoProxy;
  let plain: FakeGoProxy;
  beforeAll(async () => {
    db = await FakeSumDb.start();
    serving = await FakeGoProxy.start();
    serving.mountSumDb(db);
    plain = await FakeGoProxy.start();
  });
  afterAll(async () => {
    await Promise.all([db.close(), serving.close(), plain.close()]);
  });

  it('adds the upstreams that serve the database, first, and leaves out those that answer 404', async () => {
    const own = 'http://127.0.0.1:1/sumdb'; // nothing listens there: the database host is down
    const { sources } = setup([plain.url, serving.url], [own]);
    expect(sources.current()).toEqual([own]);
    await sources.probe();
    expect(sources.current()).toEqual([`${serving.url}/sumdb/${db.name}`, own]);
    const status = sources.status();
    expect(status.find((s) => s.url === `${plain.url}/sumdb/${db.name}`)?.state).toBe('unsupported');
    // A definite 404 is not asked again.
    plain.resetLog();
    await sources.probe();
    expect(plain.count('/supported')).toBe(0);
  });

  it('asks again after a failed probe, once the re-probe time has passed', async () => {
    const { sources, clock } = setup([serving.url], []);
    const undo = serving.setFault(faults.status(503), '/supported');
    await sources.probe();
    expect(sources.current()).toEqual([]);
    expect(sources.status()[0]?.state).toBe('failing');
    undo();
    serving.resetLog();
    await sources.probe();
    expect(serving.count('/supported')).toBe(0); // not yet due
    clock.advance(30_000);
    await sources.probe();
    expect(serving.count('/supported')).toBe(1);
    expect(sources.current()).toEqual([`${serving.url}/sumdb/${db.name}`]);
  });

  it("a probe is shared: one caller that goes away stops waiting, the probe goes on for the others' sake", async () => {
    const own = 'http://127.0.0.1:1/sumdb';
    const { sources } = setup([serving.url], [own]);
    serving.setFault(faults.hold(), '/supported', { times: 1 });
    const gone = new AbortController();
    const first = sources.ready(gone.signal);
    await waitFor(async () => serving.heldCount === 1, 5_000, 'the probe to arrive');
    gone.abort();
    await first;
    serving.releaseHeld();
    // The probe that was under way answers (a new one is not due yet): the upstream serves the database.
    await sources.probe();
    expect(sources.current()).toEqual([`${serving.url}/sumdb/${db.name}`, own]);
    expect(sources.status()[0]?.state).not.toBe('failing');
  });

  it('reads the log through a discovered upstream when the own host is down', async () => {
    const own = 'http://127.0.0.1:1/sumdb';
    const { sources, endpoints } = setup([serving.url], [own]);
    const set = new MirrorSet(sources, endpoints, 100);
    const f = await set.get('/latest', 'sumdb-latest', readLimited(1 << 16));
    expect(f.meta.upstream).toBe(`${serving.url}/sumdb/${db.name}`);
    // With the upstream's endpoint failing too, the error names every source and what it did.
    const undo = serving.setFault(faults.status(503), '/latest');
    try {
      const err = await set.get('/latest', 'sumdb-latest', readLimited(1 << 16)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourcesFailedError);
      const msg = (err as Error).message;
      expect(msg).toContain(`${serving.url}/sumdb/${db.name}`);
      expect(msg).toContain('503');
      expect(msg).toContain(own);
      expect(msg).toContain('connection refused');
    } finally {
      undo();
    }
  });
});

describe("a source's state in a group of processes", () => {
  it('is ok again in a process whose last call failed once another process ends the failure streak', async () => {
    // Browser review with --workers 2: the tree section flipped between "unreachable" and "ok" on every poll
    // after the database came back, as each worker told its own last call.
    const own = 'http://127.0.0.1:1/sumdb';
    const { sources, endpoints } = setup([], [own]);
    await endpoints
      .get(own)
      .get('/latest', 'sumdb-latest', 'sumdb', readLimited(1 << 16))
      .catch(() => 0);
    expect(sources.status()[0]?.state).toBe('failing');
    // Another process's call succeeded (its news: the streak ended, the breaker closed all along).
    endpoints.get(own).follow({ upstream: own, state: 'closed', at: Date.now() + 1 });
    expect(sources.status()[0]?.state).toBe('ok');
  });
});

describe('the 502 a client sees when no source answers', () => {
  it('names every source tried and what each did, with the database named once', async () => {
    const db = await FakeSumDb.start();
    const g = await startGodepot({
      upstream: 'http://127.0.0.1:1',
      sumdb: `${db.vkey} http://127.0.0.1:1/a,http://127.0.0.1:2/b`,
    });
    try {
      const res = await fetch(`${g.url}/sumdb/${db.name}/lookup/example.com/m@v1.0.0`);
      const body = await res.text();
      expect(res.status).toBe(502);
      expect(body).toContain('http://127.0.0.1:1/a');
      expect(body).toContain('http://127.0.0.1:2/b');
      expect(body.split(`checksum database ${db.name}`).length - 1).toBe(1);
    } finally {
      await g.close();
      await db.close();
    }
  });
});

describe('the start-up probe', () => {
  it('shows in /readyz and the log, before any build, that a database has no source that answers', async () => {
    const db = await FakeSumDb.start();
    const g = await startGodepot(
      { upstream: 'http://127.0.0.1:1', sumdb: `${db.vkey} http://127.0.0.1:1/sumdb` },
      { background: true },
    );
    try {
      await g.g.probed;
      const ready = (await (await fetch(`${g.url}/readyz`)).json()) as {
        status: string;
        reasons: string[];
        upstreams: Array<{ url: string; reachable?: boolean }>;
        sumdb: Array<{ status: string; sources: Array<{ url: string; state: string }> }>;
      };
      expect(ready.status).toBe('degraded');
      expect(ready.reasons).toContainEqual(
        expect.stringMatching(new RegExp(`^checksum database ${db.name}: unreachable`)),
      );
      expect(ready.sumdb[0]?.status).toBe('unreachable');
      expect(ready.sumdb[0]?.sources).toEqual([
        expect.objectContaining({ url: 'http://127.0.0.1:1/sumdb', state: 'failing' }),
      ]);
      expect(ready.upstreams.find((u) => u.url === 'http://127.0.0.1:1')?.reachable).toBe(false);
      expect(g.logs.some((l) => String(l.msg).startsWith(`checksum database ${db.name}: no source answers`))).toBe(
        true,
      );
    } finally {
      await g.close();
      await db.close();
    }
  });

  it('logs which sources work when one does', async () => {
    const db = await FakeSumDb.start();
    const g = await startGodepot(
      { upstream: 'http://127.0.0.1:1', sumdb: `${db.vkey} ${db.url}` },
      { background: true },
    );
    try {
      await g.g.probed;
      expect(g.logs.map((l) => l.msg)).toContain(`checksum database ${db.name}: read through ${db.url}`);
      const ready = (await (await fetch(`${g.url}/readyz`)).json()) as { sumdb: Array<{ status: string }> };
      expect(ready.sumdb[0]?.status).not.toBe('unreachable');
    } finally {
      await g.close();
      await db.close();
    }
  });

  it('--sumdb off is said out loud: a warning at start and verification "off" in /readyz', async () => {
    const g = await startGodepot({ upstream: 'http://127.0.0.1:1', sumdb: 'off' });
    try {
      const ready = (await (await fetch(`${g.url}/readyz`)).json()) as { verification: string; sumdb: unknown[] };
      expect(ready.verification).toBe('off');
      expect(ready.sumdb).toEqual([]);
      expect(g.logs.some((l) => l.level === 40 && String(l.msg).includes('checksum verification is off'))).toBe(true);
    } finally {
      await g.close();
    }
  });
});
