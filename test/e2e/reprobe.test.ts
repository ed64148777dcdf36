// With the defaults a new user gets (background work on, --breaker-half-open-after
// 10s): an upstream that failed and came back while no client asked is asked
// again on its own, so /readyz clears without traffic. Time is the upstreams'
// injected clock, moved by the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, faults } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { FakeClock } from '../support/clock.js';
import { waitFor } from '../support/ports.js';
import { REPROBE_PATH } from '../../src/runtime/probe.js';

describe('a failing upstream asked again in the background', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  const clock = new FakeClock();

  beforeAll(async () => {
    const built = await buildModules([
      {
        path: 'example.com/r',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/r\n', 'r.go': 'package r\n' },
      },
    ]);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    // One attempt per call: a retry's pause would wait on the fake clock too.
    godepot = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'retry-attempts': '1' },
      { background: true, compose: { upstreamClock: clock } },
    );
  });
  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  const status = async (): Promise<string> =>
    ((await (await fetch(`${godepot.url}/readyz`)).json()) as { status: string }).status;

  it('clears /readyz one half-open period after the upstream is back, with no client asking', async () => {
    const undo = upstream.setFault(faults.status(503), '/example.com/r/');
    expect((await fetch(`${godepot.url}/example.com/r/@v/list`)).status).toBe(502);
    expect(await status()).toBe('degraded');
    undo();
    // Nothing asks before the period has passed.
    await clock.advance(5_000);
    expect(upstream.count(REPROBE_PATH)).toBe(0);
    expect(await status()).toBe('degraded');
    await clock.advance(5_000);
    await waitFor(async () => (await status()) === 'ok', 5_000, '/readyz back to ok');
    expect(upstream.count(REPROBE_PATH)).toBe(1);
  });
});
