import { describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { IncidentLog, readIncidents } from '../../src/proxy/incidents.js';
import { formatIncidentTable, incidentsCommand } from '../../src/cli/incidents.js';
import { FsStorage, MemoryStorage } from '../../src/storage/index.js';
import { UpstreamError } from '../../src/upstream/index.js';

const silent = pino({ level: 'silent' });
const failure = (): UpstreamError =>
  new UpstreamError({
    upstream: 'https://proxy.example',
    failure: 'timeout',
    detail: 'no response within the first-byte deadline',
    transient: true,
  });

describe('incident log', () => {
  it('records an outage from breaker open to close with what was served meanwhile', async () => {
    const storage = new MemoryStorage();
    const log = new IncidentLog(storage, silent);
    const ep = log.endpointObserver();
    const ev = log.serviceEvents();
    ev.served?.({ kind: 'zip', outcome: 'hit', verification: 'verified' }); // before the outage: not counted
    ep.onBreaker?.('https://proxy.example', 'open', failure());
    ev.served?.({ kind: 'zip', outcome: 'hit', verification: 'verified' });
    ev.served?.({ kind: 'list', outcome: 'stale', verification: 'n/a' });
    ev.served?.({ kind: 'mod', outcome: 'miss', verification: 'unverified' });
    ev.served?.({ kind: 'info', outcome: 'error', status: 504 });
    ep.onBreaker?.('https://proxy.example', 'half-open', undefined);
    const during = await log.list();
    expect(during).toHaveLength(1);
    expect(during[0]?.end).toBeUndefined();
    ep.onBreaker?.('https://proxy.example', 'closed', undefined);
    await log.flush();
    const [inc] = await readIncidents(storage);
    expect(inc).toMatchObject({
      upstream: 'https://proxy.example',
      failureClass: 'timeout',
      servedFromCache: 2,
      servedUnverified: 1,
      failed: 1,
    });
    // The duration is the span between the recorded start and end, to the millisecond.
    expect(inc?.end).toBeDefined();
    expect(inc?.durationMs).toBe(Date.parse(inc?.end ?? '') - Date.parse(inc?.start ?? ''));
    const table = formatIncidentTable(await readIncidents(storage));
    expect(table.split('\n')[0]).toMatch(
      /^START\s+END\s+DURATION\s+UPSTREAM\s+FAILURE\s+FROM CACHE\s+UNVERIFIED\s+FAILED\s+DETAIL$/,
    );
    expect(table).toMatch(/https:\/\/proxy\.example\s+timeout\s+2\s+1\s+1\s+no response/);
  });

  it('`godepot incidents` prints the table of a data folder (and JSON with --json)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'godepot-incidents-'));
    const storage = await FsStorage.open(dir);
    const log = new IncidentLog(storage, silent);
    log.endpointObserver().onBreaker?.('https://sum.example', 'open', failure());
    await log.flush();
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => {
      out.push(s);
      return true;
    }) as typeof process.stdout.write;
    try {
      expect(await incidentsCommand(['--data', dir])).toBe(0);
      expect(await incidentsCommand(['--data', dir, '--json'])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(out[0]).toMatch(/https:\/\/sum\.example\s+timeout/);
    expect(out[0]).toMatch(/ongoing/);
    expect(JSON.parse(out[1] ?? '[]')[0]).toMatchObject({ upstream: 'https://sum.example' });
    expect(formatIncidentTable([])).toBe('No upstream incidents recorded.\n');
  });
});
