// A shared incident log (workers, or nodes on one bucket) keeps its limits
// over every record, not only over those of the processes still running: a
// process that stopped (a restart, a respawned worker, a deploy) never
// prunes its own records again, so whoever reads them does.
import { expect, it } from 'vitest';
import { pino } from 'pino';
import { IncidentLog, INCIDENTS_MAX_AGE_MS } from '../../src/proxy/incidents.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { UpstreamError } from '../../src/upstream/index.js';
import { ManualClock } from '../../src/util/clock.js';

const silent = pino({ level: 'silent' });
const up = 'https://proxy.example';
const failure = (): UpstreamError =>
  new UpstreamError({ upstream: up, failure: 'timeout', detail: 'no answer', transient: true });

/** One process lifetime on the shared storage: `outages` outages an hour apart, then it stops. */
async function lifetime(storage: MemoryStorage, clock: ManualClock, outages: number): Promise<void> {
  const p = new IncidentLog(storage, silent, { clock, shared: true });
  await p.load();
  for (let i = 0; i < outages; i++) {
    p.endpointObserver().onBreaker?.(up, 'open', failure());
    clock.advance(60_000);
    p.endpointObserver().onBreaker?.(up, 'closed', undefined);
    clock.advance(3_600_000);
  }
  await p.flush();
}

it('deletes at load the records of stopped processes that are older than the maximum age', async () => {
  const storage = new MemoryStorage();
  const clock = new ManualClock();
  for (let life = 0; life < 3; life++) await lifetime(storage, clock, 2);
  await lifetime(storage, clock, 1);
  expect(await storage.list('incidents/')).toHaveLength(7);
  // The last outage ended less than the maximum age ago, the one before it more.
  clock.advance(INCIDENTS_MAX_AGE_MS - 3_600_000 - 1_000);
  // Two processes start at once (a deploy) and prune the same records.
  await Promise.all([lifetime(storage, clock, 0), lifetime(storage, clock, 0)]);
  expect(await storage.list('incidents/')).toHaveLength(1);
});

it('keeps the newest records of all processes, deleting the rest when a running process reads them', async () => {
  const storage = new MemoryStorage();
  const clock = new ManualClock();
  const running = new IncidentLog(storage, silent, { clock, shared: true, keep: 3 });
  await running.load();
  // Three more processes, which stop after an outage and an event each.
  const others = [0, 1, 2].map(() => new IncidentLog(storage, silent, { clock, shared: true, keep: 3 }));
  for (const p of others) await p.load();
  for (const p of others) {
    p.endpointObserver().onBreaker?.(up, 'open', failure());
    clock.advance(60_000);
    p.endpointObserver().onBreaker?.(up, 'closed', undefined);
    clock.advance(3_600_000);
    p.recordEvent('git.example/private', 'tag_moved', 'v1.0.0 changed at its origin');
    await p.flush();
  }
  expect(await storage.list('incidents/')).toHaveLength(6);
  const view = await running.list();
  expect(view).toHaveLength(3);
  await running.flush();
  expect((await storage.list('incidents/')).sort()).toEqual(view.map((i) => `incidents/${i.id}.json`).sort());
});
