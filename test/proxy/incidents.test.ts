import { existsSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { saidAt } from '../../src/util/said-once.js';
import { IncidentLog, readIncidents, REOPEN_WITHIN_MS, STALE_AFTER_MS } from '../../src/proxy/incidents.js';
import { formatIncidentTable, incidentsCommand } from '../../src/cli/incidents.js';
import { FsStorage, MemoryStorage } from '../../src/storage/index.js';
import { UpstreamError } from '../../src/upstream/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { SAID_EVERY_MS } from '../../src/util/spacing.js';

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
    const clock = new ManualClock();
    const log = new IncidentLog(storage, silent, { clock });
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
    clock.advance(90_000);
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
    expect(inc?.start).toBe('2026-01-01T00:00:00.000Z');
    expect(inc?.end).toBe('2026-01-01T00:01:30.000Z');
    expect(inc?.durationMs).toBe(90_000);
    const table = formatIncidentTable(await readIncidents(storage));
    expect(table.split('\n')[0]).toMatch(
      /^START\s+END\s+DURATION\s+UPSTREAM\s+FAILURE\s+FROM CACHE\s+UNVERIFIED\s+FAILED\s+DETAIL$/,
    );
    expect(table).toMatch(/https:\/\/proxy\.example\s+timeout\s+2\s+1\s+1\s+no response/);
  });

  it("says an outage's start, return and end once per log output: a quiet worker says them at debug", async () => {
    const levels = (quiet: boolean): Array<[number, string]> => {
      const lines: Array<[number, string]> = [];
      const logger = pino(
        { level: 'debug' },
        { write: (l: string) => void lines.push([JSON.parse(l).level, JSON.parse(l).msg]) },
      );
      const clock = new ManualClock();
      const log = new IncidentLog(new MemoryStorage(), logger, { clock, level: saidAt(!quiet), persist: false });
      const ep = log.endpointObserver();
      ep.onBreaker?.('https://proxy.example', 'open', failure());
      clock.advance(60_000);
      ep.onBreaker?.('https://proxy.example', 'closed', undefined);
      clock.advance(1_000);
      ep.onBreaker?.('https://proxy.example', 'open', failure());
      return lines;
    };
    const said = levels(false);
    expect(said.map(([, m]) => m)).toEqual([
      'outage of https://proxy.example: timeout (no response within the first-byte deadline); godepot serves what it ' +
        'holds until it answers again: if others reach it, check how this host does (network, DNS, HTTPS_PROXY)',
      'https://proxy.example answers again: the outage is over',
      'https://proxy.example fails again 1s after answering: the outage goes on',
    ]);
    expect(said.map(([l]) => l)).toEqual([50, 40, 30]);
    // The same lines from every other worker of the node, at debug (20): the log says each once.
    expect(levels(true)).toEqual(said.map(([, m]) => [20, m]));
  });

  it('shortens a long detail in the table at word boundaries, keeping its end (the JSON keeps it whole)', async () => {
    const storage = new MemoryStorage();
    const log = new IncidentLog(storage, silent, { clock: new ManualClock() });
    const detail = 'no complete answer within 13s (last attempt: connect: connection refused to https://proxy.example)';
    const e = new UpstreamError({ upstream: 'https://proxy.example', failure: 'timeout', detail, transient: true });
    log.endpointObserver().onBreaker?.('https://proxy.example', 'open', e);
    await log.flush();
    const [inc] = await readIncidents(storage);
    expect(inc?.detail).toBe(detail);
    const row = formatIncidentTable([inc!]).split('\n')[1] ?? '';
    // Cut at 60 characters it ended "connect: connect", a word cut in two, and the URL it named was gone.
    expect(row).toMatch(/\s{2}no complete answer within 13s … to https:\/\/proxy\.example\)$/);
  });

  it('shows an event (a refused fork) as an event, not as an outage of 0s', async () => {
    const log = new IncidentLog(new MemoryStorage(), silent, { clock: new ManualClock() });
    log.recordEvent('checksum database sum.example', 'inconsistent', 'refused a tree head that does not extend ours');
    const [inc] = await log.list();
    expect(inc?.event).toBe(true);
    const row = formatIncidentTable([inc!]).split('\n')[1] ?? '';
    expect(row).toMatch(/Z\s+-\s+event\s+checksum database sum\.example\s+inconsistent/);
    expect(row).not.toMatch(/\b0s\b/);
  });

  it('starts when the failure streak that opened the breaker began, not when it opened', async () => {
    const clock = new ManualClock();
    const log = new IncidentLog(new MemoryStorage(), silent, { clock });
    const streak = failure();
    streak.since = clock.now() - 25_000;
    log.endpointObserver().onBreaker?.('https://proxy.example', 'open', streak);
    const [inc] = await log.list();
    expect(inc?.start).toBe(new Date(clock.now() - 25_000).toISOString());
  });

  it('`godepot incidents` prints the table of a data folder (and JSON with --json)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'godepot-incidents-'));
    const storage = await FsStorage.open(dir);
    const log = new IncidentLog(storage, silent);
    log.endpointObserver().onBreaker?.('https://sum.example', 'open', failure());
    await log.flush();
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: process.stderr, env: {} };
    expect(await incidentsCommand(['--data', dir], io)).toBe(0);
    expect(await incidentsCommand(['--data', dir, '--json'], io)).toBe(0);
    expect(out[0]).toMatch(/https:\/\/sum\.example\s+timeout/);
    expect(out[0]).toMatch(/ongoing/);
    expect(JSON.parse(out[1] ?? '[]')[0]).toMatchObject({ upstream: 'https://sum.example' });
    expect(formatIncidentTable([])).toBe('No upstream incidents recorded.\n');
    // A record that does not read: the table of the others, and a line on stderr that names it.
    await storage.put('incidents/torn.json', Buffer.from('{"id":'));
    const err: string[] = [];
    out.length = 0;
    expect(await incidentsCommand(['--data', dir], { ...io, err: { write: (t: string) => err.push(t) > 0 } })).toBe(0);
    expect(out[0]).toMatch(/https:\/\/sum\.example\s+timeout/);
    expect(err.join('')).toBe('godepot: left out the incident record incidents/torn.json (not JSON); remove it\n');
  });

  it('`godepot incidents` on a folder that is not there says so, and makes none', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'godepot-incidents-'));
    const missing = join(parent, 'data');
    const io = { out: () => undefined, err: process.stderr, env: {} };
    await expect(incidentsCommand(['--data', missing], io)).rejects.toThrow(
      `no godepot data folder at ${missing}: give --data DIR, the folder godepot serve keeps its data in (GODEPOT_DATA)`,
    );
    expect(existsSync(missing)).toBe(false);
    // A folder that is there but no data folder (a mistyped path's parent, a home folder): the same.
    await expect(incidentsCommand(['--data', parent], io)).rejects.toThrow(`no godepot data folder at ${parent}`);
    expect(existsSync(join(parent, '.staging'))).toBe(false);
    // An empty log says which folder it read: an empty answer from the wrong folder looks like a right one.
    const empty = await mkdtemp(join(tmpdir(), 'godepot-incidents-'));
    await (await FsStorage.open(empty)).close();
    const out: string[] = [];
    expect(await incidentsCommand(['--data', empty], { ...io, out: (t: string) => void out.push(t) })).toBe(0);
    expect(out.join('')).toBe(`No upstream incidents recorded.\n(read ${empty})\n`);
  });

  it('`godepot incidents --help` prints help', async () => {
    const out: string[] = [];
    expect(await incidentsCommand(['--help'], { out: (t) => void out.push(t), err: process.stderr, env: {} })).toBe(0);
    expect(out.join('')).toMatch(/^Usage: godepot incidents \[--data DIR \| --storage s3:\/\/BUCKET\/PREFIX/);
    expect(out.join('')).toMatch(/--s3-endpoint URL/);
  });

  it('ends an incident when its upstream answers again, without waiting for the breaker to close', async () => {
    const log = new IncidentLog(new MemoryStorage(), silent, { clock: new ManualClock() });
    const ep = log.endpointObserver();
    ep.onBreaker?.('https://proxy.example', 'open', failure());
    expect((await log.list())[0]?.end).toBeUndefined();
    ep.onCall?.({ upstream: 'https://proxy.example', kind: 'info', outcome: 'timeout', seconds: 1 });
    expect((await log.list())[0]?.end).toBeUndefined();
    ep.onCall?.({ upstream: 'https://proxy.example', kind: 'list', outcome: 'not_found', seconds: 0.01 });
    expect((await log.list())[0]?.end).toBeDefined();
  });

  it('an outage over which the wall clock stepped back (NTP) ends at its start, never before it', async () => {
    // Ended at the stepped clock, it ended before it began: a negative durationMs in the record, the log line
    // and /api/incidents (which the operator page shows as no duration at all).
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const log = new IncidentLog(storage, silent, { clock });
    const ep = log.endpointObserver();
    ep.onBreaker?.('https://proxy.example', 'open', failure());
    clock.advance(-3600_000);
    ep.onBreaker?.('https://proxy.example', 'closed', undefined);
    await log.flush();
    const [inc] = await readIncidents(storage);
    expect(inc).toMatchObject({ start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:00:00.000Z', durationMs: 0 });
  });

  it('an outage still open when godepot stops after the wall clock stepped back ends at its start, not before', async () => {
    // Its last record was rewritten at the stepped clock (a request served meanwhile): ended there, as a stop ends
    // it, the record ended an hour before it began.
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const log = new IncidentLog(storage, silent, { clock });
    log.endpointObserver().onBreaker?.('https://proxy.example', 'open', failure());
    clock.advance(-3600_000);
    log.serviceEvents().served?.({ kind: 'info', outcome: 'error', status: 502 });
    await log.stop();
    const [inc] = await readIncidents(storage, clock.now());
    expect(inc).toMatchObject({
      start: '2026-01-01T00:00:00.000Z',
      end: '2026-01-01T00:00:00.000Z',
      durationMs: 0,
      endUnknown: true,
      failed: 1,
    });
  });

  it('goes on with the same incident when the upstream fails again within a minute of answering', async () => {
    // Only some requests failing (one kind reset, truncated zips): one answer ended the incident and the next
    // failures opened another, 28 records of under a second in 15 minutes of a soak run.
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const log = new IncidentLog(storage, silent, { clock });
    const ep = log.endpointObserver();
    const ev = log.serviceEvents();
    const answered = (): void =>
      ep.onCall?.({ upstream: 'https://proxy.example', kind: 'mod', outcome: 'ok', seconds: 0.01 });
    ep.onBreaker?.('https://proxy.example', 'open', failure());
    ev.served?.({ kind: 'info', outcome: 'error', status: 502 });
    for (let i = 0; i < 5; i++) {
      clock.advance(2_000);
      answered();
      expect((await log.list())[0]?.end).toBeDefined();
      clock.advance(REOPEN_WITHIN_MS - 1);
      ep.onBreaker?.('https://proxy.example', 'open', failure());
      ev.served?.({ kind: 'info', outcome: 'error', status: 502 });
    }
    clock.advance(1_000);
    answered();
    await log.flush();
    const one = await readIncidents(storage);
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ start: '2026-01-01T00:00:00.000Z', failed: 6 });
    expect(one[0]?.durationMs).toBe(5 * (2_000 + REOPEN_WITHIN_MS - 1) + 1_000);
    // A minute or more after it answered, a failure is another outage.
    clock.advance(REOPEN_WITHIN_MS);
    ep.onBreaker?.('https://proxy.example', 'open', failure());
    await log.flush();
    expect(await readIncidents(storage)).toHaveLength(2);
  });

  it('goes on, after a restart, with the outage of the last start that ended within a minute, not an older one', async () => {
    // Read back newest first, the records of the last start were searched from the oldest: a restart (a deploy)
    // between an answer and the next failure made a new incident though the one before ended seconds ago.
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const before = new IncidentLog(storage, silent, { clock });
    await before.load();
    const ep = before.endpointObserver();
    for (const lasts of [600_000, 5_000]) {
      clock.advance(600_000);
      ep.onBreaker?.('https://proxy.example', 'open', failure());
      clock.advance(lasts);
      ep.onBreaker?.('https://proxy.example', 'closed', undefined);
    }
    const [recent] = await before.list();
    clock.advance(20_000);
    await before.stop();
    const after = new IncidentLog(storage, silent, { clock });
    await after.load();
    after.endpointObserver().onBreaker?.('https://proxy.example', 'open', failure());
    const now = await after.list();
    expect(now).toHaveLength(2);
    expect(now[0]).toMatchObject({ id: recent?.id, start: recent?.start });
    expect(now[0]?.end).toBeUndefined();
    await after.stop();
    expect(await readIncidents(storage)).toHaveLength(2);
  });

  it('records one outage of a database as one incident, not one per source', async () => {
    const members = ['https://sum.example', 'https://proxy.example/sumdb/sum.example'];
    const log = new IncidentLog(new MemoryStorage(), silent, {
      clock: new ManualClock(),
      serviceOf: (url) =>
        members.includes(url) ? { name: 'checksum database sum.example', members } : { name: url, members: [url] },
    });
    const ep = log.endpointObserver();
    ep.onBreaker?.(members[0] as string, 'open', failure());
    expect(await log.list()).toHaveLength(0); // the other source still works: no outage
    ep.onBreaker?.(members[1] as string, 'open', failure());
    const during = await log.list();
    expect(during.map((i) => i.upstream)).toEqual(['checksum database sum.example']);
    ep.onCall?.({ upstream: members[1] as string, kind: 'sumdb-lookup', outcome: 'ok', seconds: 0.1 });
    const after = await log.list();
    expect(after).toHaveLength(1);
    expect(after[0]?.end).toBeDefined();
  });

  it('ends incidents left open by a stopped process at their last record, on the next start', async () => {
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const first = new IncidentLog(storage, silent, { clock });
    first.endpointObserver().onBreaker?.('https://proxy.example', 'open', failure());
    clock.advance(60_000);
    first.serviceEvents().served?.({ kind: 'zip', outcome: 'hit', verification: 'verified' });
    await first.flush(); // then the process is killed: no close
    clock.advance(3_600_000);
    const second = new IncidentLog(storage, silent, { clock });
    await second.load();
    const [inc] = await readIncidents(storage);
    expect(inc?.end).toBe('2026-01-01T00:01:00.000Z');
    expect(inc?.durationMs).toBe(60_000);
    // Not an end anyone saw: the outage may have gone on after godepot stopped.
    expect(inc?.endUnknown).toBe(true);
    expect((await second.list())[0]?.end).toBe('2026-01-01T00:01:00.000Z');
    const table = formatIncidentTable([inc!]);
    expect(table).toContain('stopped 2026-01-01 00:01:00Z');
    expect(table).toMatch(/≥1m/);
  });

  it('a process that stops during an outage ends its record where it stopped, not as a recovery', async () => {
    // Browser review: after a graceful stop, `godepot incidents` said "ongoing" for minutes.
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const log = new IncidentLog(storage, silent, { clock, shared: true });
    log.endpointObserver().onBreaker?.('https://proxy.example', 'open', failure());
    clock.advance(45_000);
    await log.stop();
    const [inc] = await readIncidents(storage, clock.now());
    expect(inc?.end).toBe('2026-01-01T00:00:45.000Z');
    expect(inc?.endUnknown).toBe(true);
  });

  it('alone, the records two workers of an earlier start kept of one outage are one incident', async () => {
    // Browser review: after going from --workers 2 to 1, every incident was listed twice, each with half the counts.
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const workers = [0, 1].map(() => new IncidentLog(storage, silent, { clock, shared: true }));
    for (const w of workers) w.endpointObserver().onBreaker?.('https://proxy.example', 'open', failure());
    for (const w of workers) w.serviceEvents().served?.({ kind: 'zip', outcome: 'hit', verification: 'verified' });
    clock.advance(60_000);
    for (const w of workers) w.endpointObserver().onBreaker?.('https://proxy.example', 'closed', undefined);
    for (const w of workers) await w.flush();
    const alone = new IncidentLog(storage, silent, { clock });
    await alone.load();
    const listed = await alone.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]?.servedFromCache).toBe(2);
  });

  it('a damaged record is left out with a warning that names it, never a crash at start or in the view', async () => {
    const storage = new MemoryStorage();
    const good = new IncidentLog(storage, silent, {});
    good.endpointObserver().onBreaker?.('https://proxy.example', 'open', failure());
    good.endpointObserver().onBreaker?.('https://proxy.example', 'closed', undefined);
    await good.flush();
    for (const [key, text] of <Array<[string, string]>>[
      ['incidents/null.json', 'null'],
      ['incidents/partial.json', '{"id":"partial"}'],
      ['incidents/torn.json', '{"id":"torn","upstream":"u'],
      ['incidents/wrong.json', '{"id":"w","upstream":"u","start":5,"failureClass":"x","detail":"d"}'],
    ])
      await storage.put(key, Buffer.from(text));
    const warnings: Array<Record<string, unknown>> = [];
    const log = pino(
      { level: 'warn' },
      { write: (l: string) => warnings.push(JSON.parse(l) as Record<string, unknown>) },
    );
    const second = new IncidentLog(storage, log, {});
    await second.load();
    expect(await second.list()).toHaveLength(1);
    expect(await readIncidents(storage)).toHaveLength(1);
    expect(warnings.map((w) => w.key).sort()).toEqual([
      'incidents/null.json',
      'incidents/partial.json',
      'incidents/torn.json',
      'incidents/wrong.json',
    ]);
    expect(String(warnings[0]?.msg)).toMatch(/left out.*remove it/);
    const shared = new IncidentLog(storage, silent, { shared: true });
    await shared.load();
    expect(await shared.list()).toHaveLength(1);
    // A good record filed under another name (pruning deletes by id: it would delete another file), and a
    // record whose read fails: left out and named too, never a failed start.
    const [own] = (await storage.list('incidents/')).filter((k) => !warnings.some((w) => w.key === k));
    await storage.put('incidents/renamed.json', (await storage.get(own ?? '')) ?? Buffer.alloc(0));
    const flaky = Object.assign(Object.create(storage) as MemoryStorage, {
      get: (key: string) => (key === own ? Promise.reject(new Error('EIO: i/o error, read')) : storage.get(key)),
    });
    warnings.length = 0;
    const third = new IncidentLog(flaky, log, {});
    await third.load();
    expect(await third.list()).toEqual([]);
    const why = Object.fromEntries(warnings.map((w) => [String(w.key), String(w.reason)]));
    expect(why['incidents/renamed.json']).toMatch(/its id ".*" is not its name/);
    expect(why[own ?? '']).toMatch(/could not be read: EIO/);
  });

  it('a record whose end or updatedAt is not a time is left out too: the merged view threw a RangeError', async () => {
    const storage = new MemoryStorage();
    const good = new IncidentLog(storage, silent, {});
    good.endpointObserver().onBreaker?.('https://proxy.example', 'open', failure());
    good.endpointObserver().onBreaker?.('https://proxy.example', 'closed', undefined);
    await good.flush();
    const [key] = await storage.list('incidents/');
    const record = JSON.parse(String(await storage.get(key ?? ''))) as Record<string, unknown>;
    await storage.put('incidents/end.json', Buffer.from(JSON.stringify({ ...record, id: 'end', end: 'soon' })));
    await storage.put(
      'incidents/upd.json',
      Buffer.from(JSON.stringify({ ...record, id: 'upd', end: undefined, updatedAt: 'never' })),
    );
    const damaged: string[] = [];
    expect((await readIncidents(storage, Date.now(), (k) => damaged.push(k))).map((i) => i.id)).toEqual([record.id]);
    expect(damaged.sort()).toEqual(['incidents/end.json', 'incidents/upd.json']);
  });

  it('keeps a bounded history: the newest incidents, none older than the age limit', async () => {
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const log = new IncidentLog(storage, silent, { clock, keep: 3, maxAgeMs: 24 * 3600_000 });
    const ep = log.endpointObserver();
    for (let i = 0; i < 6; i++) {
      ep.onBreaker?.('https://proxy.example', 'open', failure());
      clock.advance(10_000);
      ep.onBreaker?.('https://proxy.example', 'closed', undefined);
      clock.advance(60_000);
    }
    await log.flush();
    const kept = await readIncidents(storage);
    expect(kept.map((i) => i.start)).toEqual([
      '2026-01-01T00:05:50.000Z',
      '2026-01-01T00:04:40.000Z',
      '2026-01-01T00:03:30.000Z',
    ]);
    // A day later, the next start drops them all.
    clock.advance(25 * 3600_000);
    await new IncidentLog(storage, silent, { clock, keep: 3, maxAgeMs: 24 * 3600_000 }).load();
    expect(await readIncidents(storage)).toEqual([]);
  });

  it('forgets what it knew of an endpoint once its breaker closes: origin hosts are named by clients', async () => {
    const log = new IncidentLog(new MemoryStorage(), silent, { clock: new ManualClock(), persist: false });
    const ep = log.endpointObserver();
    for (let i = 0; i < 20_000; i++) {
      ep.onBreaker?.(`origin h${i}.example`, 'open', failure());
      ep.onBreaker?.(`origin h${i}.example`, 'closed', undefined);
    }
    expect(log.failingEndpoints).toBe(0);
    expect((await log.list()).filter((inc) => inc.end === undefined)).toEqual([]);
  });

  it('ends the outage of an endpoint no longer followed when it was last seen failing, never as "answers again"', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l).msg) });
    const clock = new ManualClock();
    const log = new IncidentLog(new MemoryStorage(), logger, { clock, persist: false });
    log.endpointObserver().onBreaker?.('origin gone.example', 'open', failure());
    clock.advance(60_000);
    log.unfollow('origin gone.example');
    const [inc] = await log.list();
    expect(inc).toMatchObject({ upstream: 'origin gone.example', endUnknown: true });
    expect(inc?.end).toBe(inc?.start);
    expect(lines.some((l) => l.includes('the outage is over'))).toBe(false);
    expect(lines.at(-1)).toMatch(/^origin gone\.example is no longer followed/);
    expect(log.failingEndpoints).toBe(0);
  });

  it('never says a quiet origin outage "goes on": its start was not said', async () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const clock = new ManualClock();
    const log = new IncidentLog(new MemoryStorage(), logger, { clock, persist: false });
    const ep = log.endpointObserver();
    ep.onBreaker?.('origin said.example', 'open', failure());
    ep.onBreaker?.('origin quiet.example', 'open', failure());
    expect(lines.map((l) => l.msg).filter((m) => m.includes('quiet.example'))).toEqual([]);
    ep.onBreaker?.('origin quiet.example', 'closed', undefined);
    // Past the spacing, within the reopening window: the same outage goes on, still unsaid, and so does its end.
    clock.advance(SAID_EVERY_MS);
    ep.onBreaker?.('origin quiet.example', 'open', failure());
    ep.onBreaker?.('origin quiet.example', 'closed', undefined);
    expect(lines.map((l) => l.msg).filter((m) => m.includes('quiet.example'))).toEqual([]);
    // A new origin outage is still said.
    ep.onBreaker?.('origin next.example', 'open', failure());
    expect(lines.at(-1)?.msg).toMatch(/^outage of origin next\.example/);
  });

  it('batch commands record nothing', async () => {
    const storage = new MemoryStorage();
    const log = new IncidentLog(storage, silent, { persist: false });
    log.endpointObserver().onBreaker?.('https://proxy.example', 'open', failure());
    await log.flush();
    expect(await storage.list('incidents/')).toEqual([]);
  });
});

describe('incident log events', () => {
  it('records a moved private tag as an incident that starts and ends at once, kept in storage', async () => {
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const log = new IncidentLog(storage, silent, { clock });
    log.recordEvent('origin of corp.example/lib', 'tag_moved', 'corp.example/lib@v1.0.0 changed at its origin');
    await log.flush();
    const [inc, ...rest] = await readIncidents(storage);
    expect(rest).toEqual([]);
    expect(inc?.upstream).toBe('origin of corp.example/lib');
    expect(inc?.failureClass).toBe('tag_moved');
    expect(inc?.start).toBe('2026-01-01T00:00:00.000Z');
    expect(inc?.end).toBe('2026-01-01T00:00:00.000Z');
    expect(inc?.durationMs).toBe(0);
  });
});

describe('incident log of several processes on one storage', () => {
  const up = 'https://proxy.example';
  const served = (log: IncidentLog, n: number, outcome: 'hit' | 'error'): void => {
    for (let i = 0; i < n; i++)
      log
        .serviceEvents()
        .served?.({ kind: 'zip', outcome, ...(outcome === 'hit' ? { verification: 'verified' } : {}) });
  };

  it('shows one outage seen by two processes, with what both served, from either of them', async () => {
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const a = new IncidentLog(storage, silent, { clock, shared: true });
    const b = new IncidentLog(storage, silent, { clock, shared: true });
    await a.load();
    await b.load();
    a.endpointObserver().onBreaker?.(up, 'open', failure());
    served(a, 3, 'hit');
    clock.advance(2_000);
    // B follows A's breaker a little later, and serves requests of its own meanwhile.
    b.endpointObserver().onBreaker?.(up, 'open', failure());
    served(b, 4, 'hit');
    served(b, 2, 'error');
    await a.flush();
    await b.flush();
    const during = await b.list();
    expect(during).toHaveLength(1);
    expect(during[0]).toMatchObject({ upstream: up, start: '2026-01-01T00:00:00.000Z', servedFromCache: 7, failed: 2 });
    expect(during[0]?.end).toBeUndefined();
    clock.advance(60_000);
    a.endpointObserver().onBreaker?.(up, 'closed', undefined);
    clock.advance(1_000);
    b.endpointObserver().onBreaker?.(up, 'closed', undefined);
    await a.flush();
    await b.flush();
    clock.advance(10_000); // past the reuse of A's last reading
    for (const view of [await a.list(), await b.list(), await readIncidents(storage, clock.now())]) {
      expect(view).toHaveLength(1);
      expect(view[0]).toMatchObject({
        start: '2026-01-01T00:00:00.000Z',
        end: '2026-01-01T00:01:03.000Z',
        durationMs: 63_000,
        servedFromCache: 7,
        failed: 2,
      });
    }
    // Two records in storage, one per process: neither overwrote the other.
    expect(await storage.list('incidents/')).toHaveLength(2);
    // A later outage is another incident.
    clock.advance(3_600_000);
    b.endpointObserver().onBreaker?.(up, 'open', failure());
    await b.flush();
    expect((await b.list()).map((i) => i.end === undefined)).toEqual([true, false]);
  });

  it('a lone process keeps its open record fresh: `godepot incidents` reads it as ongoing while it runs', async () => {
    // Field: with --workers 1, an outage a minute and a half old was "stopped …, ≥1m30s" in `godepot incidents`
    // while the server went on watching it (/api/incidents: ongoing).
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    try {
      const storage = new MemoryStorage();
      const clock = new ManualClock();
      const alone = new IncidentLog(storage, silent, { clock });
      await alone.load();
      alone.endpointObserver().onBreaker?.(up, 'open', failure());
      await alone.flush();
      for (let s = 0; s < 10; s++) {
        clock.advance(30_000);
        await vi.advanceTimersByTimeAsync(30_000);
      }
      await alone.flush();
      const [inc] = await readIncidents(storage, clock.now());
      expect(inc?.end).toBeUndefined();
      expect(inc?.endUnknown).toBeUndefined();
      expect(inc?.updatedAt).toBe(new Date(clock.now()).toISOString());
    } finally {
      vi.useRealTimers();
    }
  });

  it('ends a record left open by a process that stopped at its last write, and keeps a live one open', async () => {
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const dead = new IncidentLog(storage, silent, { clock, shared: true });
    dead.endpointObserver().onBreaker?.(up, 'open', failure());
    served(dead, 1, 'error');
    await dead.flush();
    const lastWrite = new Date(clock.now()).toISOString();
    // A process that starts while the record is recent leaves it open: its writer may be alive.
    clock.advance(STALE_AFTER_MS - 1);
    const fresh = new IncidentLog(storage, silent, { clock, shared: true });
    await fresh.load();
    expect((await fresh.list())[0]?.end).toBeUndefined();
    // Not rewritten for longer than that: it was left behind, and ended at its last write.
    clock.advance(2);
    const later = new IncidentLog(storage, silent, { clock, shared: true });
    await later.load();
    expect((await later.list())[0]).toMatchObject({ end: lastWrite, failed: 1 });
    expect((await readIncidents(storage, clock.now()))[0]?.end).toBe(lastWrite);
  });

  it('ends a record left open by a process that stopped, after the wall clock stepped back past its last write', async () => {
    // Dated ahead of the stepped clock, it read as recent: an outage nobody watched any more was ongoing, on the
    // operator page and in `godepot incidents`, for the hour the clock took to catch up.
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const dead = new IncidentLog(storage, silent, { clock, shared: true });
    dead.endpointObserver().onBreaker?.(up, 'open', failure());
    served(dead, 1, 'error');
    clock.advance(10 * 60_000);
    served(dead, 1, 'error');
    await dead.flush();
    const lastWrite = new Date(clock.now()).toISOString();
    clock.advance(-3600_000);
    const later = new IncidentLog(storage, silent, { clock, shared: true });
    await later.load();
    const ended = { end: lastWrite, durationMs: 10 * 60_000, endUnknown: true, failed: 2 };
    expect((await later.list())[0]).toMatchObject(ended);
    expect((await readIncidents(storage, clock.now()))[0]).toMatchObject(ended);
  });
});

describe('reading the stored incidents', () => {
  it('reads the records several at a time, not one after the other', async () => {
    // The 500 records kept, one after the other, took seconds on an object store at every start.
    class Watched extends MemoryStorage {
      reading = 0;
      most = 0;
      override async get(key: string): Promise<Buffer | null> {
        this.most = Math.max(this.most, ++this.reading);
        await new Promise((resolve) => setImmediate(resolve));
        this.reading--;
        return super.get(key);
      }
    }
    const storage = new Watched();
    for (let i = 0; i < 40; i++) {
      const start = new Date(Date.parse('2026-01-01T00:00:00Z') + i * 3600_000).toISOString();
      const inc = {
        id: `p-${String(i).padStart(2, '0')}`,
        upstream: `https://proxy${i}.example`,
        start,
        end: start,
        durationMs: 0,
        failureClass: 'timeout',
        detail: 'no response',
        servedFromCache: 0,
        servedUnverified: 0,
        failed: 1,
      };
      await storage.put(`incidents/${inc.id}.json`, Buffer.from(JSON.stringify(inc)));
    }
    const all = await readIncidents(storage, Date.parse('2026-03-01T00:00:00Z'));
    expect(all).toHaveLength(40);
    expect(all[0]?.upstream).toBe('https://proxy39.example');
    expect(storage.most).toBeGreaterThan(1);
    expect(storage.most).toBeLessThanOrEqual(16);
  });
});
