// serve --workers 2, the real CLI: requests spread over both workers still
// fetch an uncached zip from the upstream once (read-aheads included), every client gets the same
// verified bytes, an outage one worker sees is the other's at once, and
// /metrics and the operator page answer for the whole group whichever worker
// a scrape reaches. The tests share one server, in order: the first stores
// the zip the later ones serve, and the outage test leaves the upstream's
// breaker open.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule } from '../world/index.js';
import {
  allListening,
  isAlive,
  listeningLines,
  removeDir,
  spawnGodepot,
  tempDir,
  type ChildGodepot,
} from '../support/godepot.js';
import { sampleSum } from '../support/metrics.js';
import { getAlone } from '../support/http.js';
import { waitFor } from '../support/ports.js';

describe('godepot serve --workers 2', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let mod: BuiltModule;
  let ahead: BuiltModule;
  let looked: BuiltModule;
  let data: string;
  let godepot: ChildGodepot;

  /** The pids of the processes that logged that they listen: the workers. */
  const listeningPids = (): number[] => listeningLines(godepot).map((l) => l.pid);

  beforeAll(async () => {
    // Big enough to stream from storage rather than memory, small enough to build fast.
    const payload = 'package w\n\n// ' + 'x'.repeat(3 << 20) + '\n';
    [mod, ahead, looked] = (await buildModules([
      {
        path: 'example.com/workers',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/workers\n', 'w.go': payload },
      },
      {
        path: 'example.com/ahead',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/ahead\n', 'a.go': 'package ahead\n' },
      },
      {
        path: 'example.com/looked',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/looked\n', 'l.go': 'package looked\n' },
      },
    ])) as [BuiltModule, BuiltModule, BuiltModule];
    upstream = await FakeGoProxy.start([mod, ahead, looked]);
    sumdb = await FakeSumDb.start({ records: [mod, ahead] });
    data = await tempDir();
    godepot = await spawnGodepot(
      [
        '--workers',
        '2',
        '--data',
        data,
        '--upstream',
        upstream.url,
        '--sumdb',
        `${sumdb.vkey} ${sumdb.url}`,
        // An outage is noticed after 3 failures across modules, and not probed again during the test.
        '--retry-attempts',
        '1',
        '--breaker-failures',
        '3',
        '--breaker-half-open-after',
        '10m',
      ],
      // Node's round-robin: connections alternate between the workers, so every test here reaches both for sure
      // (by default the kernel picks, which may hand a short burst to one worker).
      { NODE_CLUSTER_SCHED_POLICY: 'rr' },
    );
    // spawnGodepot returns when the first worker listens; wait for the second.
    expect(await allListening(godepot, 2)).toHaveLength(2);
  });

  afterAll(async () => {
    await godepot?.stop();
    await upstream?.close();
    await sumdb?.close();
    if (data) await removeDir(data);
  });

  it('fetches one uncached zip once for requests spread over both workers', async () => {
    // The upstream takes its time, so every request arrives while the first fetch is under way.
    upstream.setFault(faults.delay(800), '.zip');
    const url = `${godepot.url}/example.com/workers/@v/v1.0.0.zip`;
    const answers = await Promise.all(Array.from({ length: 24 }, () => getAlone(url)));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body.equals(mod.zip)).toBe(true);
    }
    // Once in the server's life, whichever test of this file asked first.
    expect(upstream.count('.zip')).toBe(1);
    // Both workers answered some of them (else this proves nothing about
    // coordination). Access-log lines are written in batches: wait for all 24.
    const zipLines = (): Array<{ pid: number }> =>
      godepot
        .output()
        .split('\n')
        .filter((l) => l.includes('"msg":"request"') && l.includes('v1.0.0.zip'))
        .map((l) => JSON.parse(l) as { pid: number });
    await waitFor(async () => zipLines().length >= 24, 5_000, 'the access log never showed all 24 answers');
    expect(new Set(zipLines().map((l) => l.pid)).size).toBe(2);
  });

  it("reads ahead across workers: a client's .mod, .info and .zip on alternating workers cost one upstream fetch each", async () => {
    // The .mod's worker reads the .info ahead, the .info's the zip; the other worker, asked for
    // what is being read ahead, waits for its lease rather than fetching again.
    upstream.setFault(faults.delay(300), '/example.com/ahead/');
    const base = `${godepot.url}/example.com/ahead/@v/v1.0.0`;
    const answers = [];
    for (const [ext, want] of [
      ['mod', ahead.mod],
      ['info', ahead.info],
      ['zip', ahead.zip],
    ] as const) {
      const a = await getAlone(`${base}.${ext}`);
      expect(a.status, ext).toBe(200);
      expect(a.body.equals(want), ext).toBe(true);
      answers.push(a);
    }
    expect(answers[2]?.headers['x-godepot-verification']).toBe('verified');
    for (const ext of ['mod', 'info', 'zip'])
      expect(upstream.count(`/example.com/ahead/@v/v1.0.0.${ext}`), ext).toBe(1);
  });

  it('looks a module up in the checksum database once when both workers need its record at once', async () => {
    // Released now: no data tile either worker holds (the earlier tests' modules) can answer for it.
    await sumdb.addAll([looked]);
    // The database answers slowly, so the second worker asks while the first one's lookup is under way.
    sumdb.setFault(faults.delay(300), '/lookup/');
    try {
      const base = `${godepot.url}/example.com/looked/@v/v1.0.0`;
      const [m, z] = await Promise.all([getAlone(`${base}.mod`), getAlone(`${base}.zip`)]);
      expect(m.status).toBe(200);
      expect(z.status).toBe(200);
      expect(z.headers['x-godepot-verification']).toBe('verified');
      expect(sumdb.count('/lookup/example.com/looked@v1.0.0')).toBe(1);
      // The two requests reached different workers (else this proves nothing across processes).
      const pids = (): Set<number> =>
        new Set(
          godepot
            .output()
            .split('\n')
            .filter((l) => l.includes('"msg":"request"') && l.includes('example.com/looked/@v/v1.0.0.'))
            .map((l) => (JSON.parse(l) as { pid: number }).pid),
        );
      await waitFor(async () => pids().size === 2, 5_000, 'the .mod and the .zip were not answered by both workers');
    } finally {
      sumdb.clearFaults();
    }
  });

  it('shows one verified tree on /readyz and /api/sumdb from either worker, though only one looked up its head', async () => {
    // A record of a release no worker holds: one lookup, on one worker, verifies the grown tree.
    await sumdb.addAll([
      { path: 'example.com/status', version: 'v1.0.0', h1: `h1:${'A'.repeat(43)}=`, goModH1: `h1:${'B'.repeat(43)}=` },
    ]);
    const lookup = await getAlone(`${godepot.url}/sumdb/${sumdb.name}/lookup/example.com/status@v1.0.0`);
    expect(lookup.status).toBe(200);
    // The head is stored behind the answer: once it is there, the other worker learns it when asked its status.
    const latest = join(data, 'sumdb', ...sumdb.name.split('/'), 'latest');
    const stored = async (): Promise<string | undefined> =>
      (await readFile(latest, 'utf8').catch(() => '')).split('\n')[1];
    await waitFor(async () => (await stored()) === String(sumdb.size), 5_000, 'the verified head was never stored');
    // Scrapes on fresh connections alternate between the workers (round-robin): both answer, with one size.
    const sizes = async (): Promise<number[]> => {
      const ready = JSON.parse((await getAlone(`${godepot.url}/readyz`)).body.toString()) as {
        sumdb: Array<{ treeSize: number; status: string }>;
      };
      const api = JSON.parse((await getAlone(`${godepot.url}/api/sumdb`)).body.toString()) as {
        trees: Array<{ size: number; status: string }>;
      };
      expect(ready.sumdb[0]?.status).toBe('ok');
      expect(api.trees[0]?.status).toBe('ok');
      return [ready.sumdb[0]?.treeSize ?? 0, api.trees[0]?.size ?? 0];
    };
    const seen = await Promise.all(Array.from({ length: 6 }, sizes));
    expect(seen.flat()).toEqual(Array.from({ length: 12 }, () => sumdb.size));
  });

  it('asks the upstream once about a module it does not have, and every worker answers 404', async () => {
    const missing = '/example.com/workers/@v/v1.9.9.mod';
    upstream.setFault(faults.delay(800), missing);
    const answers = await Promise.all(Array.from({ length: 12 }, () => getAlone(godepot.url + missing)));
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 12 }, () => 404));
    expect(upstream.count(missing)).toBe(1);
  });

  it("costs the group an outage's first failures once: when one worker's breaker opens, the other fails fast too", async () => {
    upstream.setFault(faults.status(503, 'down for maintenance'), '/example.com/down');
    const info = (i: number): string => `${godepot.url}/example.com/down${i}/@v/v1.0.0.info`;
    // Modules one after another, each on a new connection (so both workers get some), until a breaker opens.
    let i = 0;
    let body = '';
    while (!body.includes('circuit open') && i < 20) {
      const a = await getAlone(info(i++));
      expect(a.status).toBeGreaterThanOrEqual(500);
      body = a.body.toString();
    }
    expect(body).toContain('circuit open');
    const since = /failing since (\S+)/.exec(body)?.[1];
    expect(since).toBeDefined();
    // The group asks the upstream at most once more: the opening worker's one probe with a module that has not
    // failed yet (breaker.ts); the other worker followed at once and asks nothing. Alone, it would have needed
    // failures of its own to open, then a probe of its own.
    const calls = upstream.count('/example.com/down');
    const more = await Promise.all(Array.from({ length: 10 }, (_, k) => getAlone(info(100 + k))));
    const bodies = more.map((a) => a.body.toString());
    expect(more.map((a) => a.status)).toEqual(Array.from({ length: 10 }, () => 502));
    expect(upstream.count('/example.com/down') - calls).toBeLessThanOrEqual(1);
    expect(bodies.filter((b) => b.includes('circuit open')).length).toBeGreaterThanOrEqual(9);
    // One "failing since" for the whole group.
    for (const b of bodies) expect(b).toContain(`failing since ${since}`);
    // One ongoing outage in the group's incident log, whichever worker is asked (each writes its own record),
    // counting the failed answers of both: the 10 above at least. A worker writes its counts within 5 s and
    // reuses what it read of the others' for 5 s, so every worker's view adds up within about 10 s.
    const outages = async (): Promise<Array<{ end?: string; failed: number }>> =>
      (
        JSON.parse((await getAlone(`${godepot.url}/api/incidents`)).body.toString()) as Array<{
          upstream: string;
          end?: string;
          failed: number;
        }>
      ).filter((x) => x.upstream === upstream.url);
    const views = async (): Promise<Array<Array<{ end?: string; failed: number }>>> =>
      Promise.all(Array.from({ length: 4 }, outages));
    await waitFor(
      async () => (await views()).every((v) => (v[0]?.failed ?? 0) >= 10),
      20_000,
      'the group view never added up',
    );
    for (const view of await views()) {
      expect(view.map((x) => x.end)).toEqual([undefined]);
      expect(view[0]?.failed).toBeGreaterThanOrEqual(10);
    }
    // The breaker stays open (10 min): the tests after this one need no upstream.
    upstream.clearFaults();
  });

  it('answers /metrics for the whole group from either worker', async () => {
    const scrape = async (): Promise<string> => (await getAlone(`${godepot.url}/metrics`)).body.toString();
    const counts = (text: string): number[] => [
      sampleSum(text, 'godepot_http_requests_total', { route: 'zip', status: '200' }),
      sampleSum(text, 'godepot_cache_requests_total', { kind: 'zip' }),
      sampleSum(text, 'godepot_http_request_duration_seconds_count', { route: 'zip' }),
    ];
    const before = counts(await scrape());
    const url = `${godepot.url}/example.com/workers/@v/v1.0.0.zip`;
    const answers = await Promise.all(Array.from({ length: 12 }, () => getAlone(url)));
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 12 }, () => 200));
    // Responses are counted when they finish; wait until all 12 are.
    const want = before.map((n) => n + 12);
    await waitFor(
      async () => (counts(await scrape())[0] ?? 0) >= (want[0] ?? 0),
      5_000,
      'the group metrics never counted all 12 answers',
    );
    expect(counts(await scrape())).toEqual(want);
    // Scrapes on fresh connections reach both workers; each sees the group's totals.
    for (let i = 0; i < 6; i++) expect(counts(await scrape())).toEqual(want);
  });

  it("shows the whole group's numbers on the operator page from either worker", async () => {
    // Hits in the last hour, from a scrape on a connection of its own (so scrapes reach both workers).
    const hits = async (): Promise<number> => {
      const s = JSON.parse((await getAlone(`${godepot.url}/api/series`)).body.toString()) as {
        hit: Array<number | null>;
      };
      return Math.round(s.hit.reduce<number>((n, x) => n + (x ?? 0), 0) * 10);
    };
    const before = await Promise.all(Array.from({ length: 4 }, hits));
    expect(new Set(before).size).toBe(1);
    // The zip the first test stored (the upstream's breaker is open since the outage test).
    const url = `${godepot.url}/example.com/workers/@v/v1.0.0.zip`;
    const answers = await Promise.all(Array.from({ length: 12 }, () => getAlone(url)));
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 12 }, () => 200));
    // Each answer is counted when it ends; then every scrape, whichever worker answers it, sees all 12.
    const want = (before[0] ?? 0) + 12;
    await waitFor(async () => (await hits()) >= want, 5_000, 'the operator page never counted all 12 answers');
    expect(await Promise.all(Array.from({ length: 6 }, hits))).toEqual(Array.from({ length: 6 }, () => want));
  });

  // Last, as it stops the server the others share.
  it('stops on SIGTERM: the primary and every worker exit', async () => {
    const workerPids = listeningPids();
    expect(workerPids).toHaveLength(2);
    expect(await godepot.stop()).toBe(0);
    await waitFor(async () => !workerPids.some(isAlive), 5_000, 'a worker outlived its primary');
  });
});

describe('godepot serve --workers 2 when its primary is killed', () => {
  // Node's cluster ends a worker whose channel to the primary closes unexpectedly; this keeps it so.
  it('the workers stop too, rather than live on with nobody to coordinate them', async () => {
    const data = await tempDir();
    const godepot = await spawnGodepot(['--workers', '2', '--data', data, '--upstream', 'off', '--sumdb', 'off']);
    try {
      const pids = (await allListening(godepot, 2)).map((l) => l.pid);
      expect(pids).toHaveLength(2);
      expect(pids.filter(isAlive)).toHaveLength(2);
      await godepot.stop('SIGKILL');
      await waitFor(async () => !pids.some(isAlive), 20_000, 'a worker outlived its killed primary');
    } finally {
      await godepot.stop('SIGKILL');
      await removeDir(data);
    }
  }, 30_000);

  it('a go command a worker runs for an origin fetch ends with the worker, not left behind in its own process group', async () => {
    // go runs detached (its own group, so that go and its git processes are killed together): a signal to
    // godepot's group never reaches it, and a worker ended by its primary's death must end it itself.
    const data = await tempDir();
    const bin = await tempDir('godepot-fakego-');
    const pidFile = join(bin, 'go.pid');
    await writeFile(join(bin, 'go'), `#!/bin/sh\necho $$ > "${pidFile}"\nexec sleep 300\n`);
    await chmod(join(bin, 'go'), 0o755);
    const godepot = await spawnGodepot(
      ['--workers', '2', '--data', data, '--upstream', 'off', '--sumdb', 'off', '--private', 'corp.example/*'],
      { PATH: `${bin}:${process.env.PATH ?? ''}` },
    );
    let goPid = 0;
    try {
      const pids = (await allListening(godepot, 2)).map((l) => l.pid);
      const client = getAlone(godepot.url + '/corp.example/lib/@v/list').catch(() => null);
      await waitFor(
        async () => (goPid = Number(await readFile(pidFile, 'utf8').catch(() => '0'))) > 0,
        10_000,
        'go never ran',
      );
      expect(isAlive(goPid)).toBe(true);
      await godepot.stop('SIGKILL');
      await waitFor(async () => !pids.some(isAlive), 20_000, 'a worker outlived its killed primary');
      await client;
      // Killed, it may stay a zombie until whoever adopted it reaps it: only a process still running counts.
      const running = (pid: number): boolean => {
        try {
          return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
        } catch {
          return isAlive(pid);
        }
      };
      await waitFor(async () => !running(goPid), 5_000, `go (pid ${goPid}) outlived the worker that ran it`);
    } finally {
      await godepot.stop('SIGKILL');
      if (goPid > 0 && isAlive(goPid)) process.kill(goPid, 'SIGKILL');
      await removeDir(data);
      await removeDir(bin);
    }
  }, 40_000);
});

describe('godepot serve --workers 2 when a worker dies', () => {
  it('starts another in its slot: the group keeps answering, and slot 1 still speaks for it', async () => {
    const data = await tempDir();
    const godepot = await spawnGodepot(['--workers', '2', '--data', data, '--upstream', 'off', '--sumdb', 'off']);
    const lines = (): Array<{ pid: number; msg: string; data?: string }> => listeningLines(godepot);
    const said = (text: string): number => godepot.output().split(text).length - 1;
    try {
      const [lead, second] = await allListening(godepot, 2);
      if (!lead || !second) throw new Error(`two workers did not say they listen:\n${godepot.output()}`);
      expect(lead.data).toBe(data);
      expect(second.msg).toBe('listening (worker 2 of 2)');

      process.kill(second.pid, 'SIGKILL');
      await waitFor(async () => lines().length >= 3, 20_000, 'no worker replaced worker 2');
      expect(said('worker 2 died; starting another')).toBe(1);
      // The primary's line names the worker's PID beside its own, not in place of it (a second "pid" key, which
      // a JSON reader takes instead of the first).
      const died = godepot
        .output()
        .split('\n')
        .filter((l) => l.includes('worker 2 died'))
        .map((l) => JSON.parse(l) as { pid: number; workerPid: number });
      expect(died).toEqual([expect.objectContaining({ pid: godepot.child.pid, workerPid: second.pid })]);
      const replacement = lines().find((l) => l.pid !== second.pid && l.msg === 'listening (worker 2 of 2)');
      expect(replacement, godepot.output()).toBeDefined();
      expect((await fetch(`${godepot.url}/healthz`)).status).toBe(200);

      // The worker in slot 1 says where godepot listens; its replacement does too, once.
      process.kill(lead.pid, 'SIGKILL');
      await waitFor(async () => lines().length >= 4, 20_000, 'no worker replaced worker 1');
      expect(said('worker 1 died; starting another')).toBe(1);
      const leads = lines().filter((l) => l.data !== undefined);
      expect(leads.map((l) => l.pid)).toHaveLength(2);
      expect(leads[1]?.pid).not.toBe(lead.pid);
      expect((await fetch(`${godepot.url}/healthz`)).status).toBe(200);

      // Worker 2's replacement dies young too: the next one comes after a wait, said with why, not at once in a loop.
      if (!replacement) throw new Error('no replacement');
      process.kill(replacement.pid, 'SIGKILL');
      await waitFor(async () => said('times in a row; starting another in 1s') === 1, 20_000, godepot.output());
      expect(said('worker 2 died; starting another')).toBe(1);
      await waitFor(async () => lines().length >= 5, 20_000, 'no worker replaced worker 2 after its wait');
      expect((await fetch(`${godepot.url}/healthz`)).status).toBe(200);
      // Both serve again, and /readyz says so (from the primary's pings).
      const ready = async (): Promise<{ status: string; reasons: string[]; coordination?: { workers?: unknown } }> =>
        (await fetch(`${godepot.url}/readyz`)).json() as never;
      await waitFor(
        async () => JSON.stringify((await ready()).coordination?.workers) === '{"of":2,"serving":2,"down":[]}',
        20_000,
        'readyz did not show both workers serving',
      );
      expect((await ready()).status).toBe('ok');

      // While a slot waits out its pause, /readyz says the machine serves with less than its capacity, and why.
      const third = lines().at(-1);
      if (third?.msg !== 'listening (worker 2 of 2)') throw new Error(godepot.output());
      process.kill(third.pid, 'SIGKILL');
      await waitFor(async () => said('times in a row; starting another in 2s') === 1, 20_000, godepot.output());
      const degraded = await ready();
      expect(degraded.status).toBe('degraded');
      expect(degraded.reasons).toEqual([
        expect.stringMatching(
          /^worker 2 of 2 does not serve since \S+: its workers died 3 times in a row soon after they started; the next starts at \S+ \(the log says why they die\)$/,
        ),
      ]);
      expect(degraded.coordination?.workers).toMatchObject({ of: 2, serving: 1 });
    } finally {
      await godepot.stop();
      await removeDir(data);
    }
  }, 60_000);
});

describe('godepot serve --workers 2 when a worker running go is killed', () => {
  // go runs detached (its own group, so that go and its git processes are killed together): a signal to the
  // worker's group never reaches it, and a SIGKILLed worker (an operator, the OOM killer, the primary's watch of
  // hung workers) runs no exit hook. Left behind, adopted by PID 1, a go stuck on a hung origin ran for ever.
  it('the primary kills the go it was running, and what that go started', async () => {
    const data = await tempDir();
    const bin = await tempDir('godepot-fakego-');
    const pidFile = join(bin, 'go.pid');
    // A go that starts a child of its own (as go starts git), says both PIDs, and waits.
    await writeFile(
      join(bin, 'go'),
      `#!/bin/sh\nsleep 300 &\necho "$$ $!" > "${pidFile}.tmp" && mv "${pidFile}.tmp" "${pidFile}"\nexec sleep 300\n`,
    );
    await chmod(join(bin, 'go'), 0o755);
    const godepot = await spawnGodepot(
      ['--workers', '2', '--data', data, '--upstream', 'off', '--sumdb', 'off', '--private', 'corp.example/*'],
      { PATH: `${bin}:${process.env.PATH ?? ''}` },
    );
    let fakes: number[] = [];
    try {
      const workers = (await allListening(godepot, 2)).map((l) => l.pid);
      const client = getAlone(godepot.url + '/corp.example/lib/@v/list').catch(() => null);
      await waitFor(
        async () =>
          (fakes = (await readFile(pidFile, 'utf8').catch(() => '')).trim().split(' ').map(Number)).length === 2,
        10_000,
        'go never ran',
      );
      const [goPid = 0] = fakes;
      const worker = parentOf(goPid);
      expect(workers).toContain(worker);
      expect(fakes.filter(running)).toHaveLength(2);
      process.kill(worker, 'SIGKILL');
      await client;
      await waitFor(
        async () => !fakes.some(running),
        5_000,
        `go (pid ${goPid}) or its child outlived the killed worker that ran it`,
      );
      // The other worker serves on, and the killed one is replaced.
      await waitFor(async () => listeningLines(godepot).length >= 3, 20_000, 'no worker replaced the killed one');
    } finally {
      await godepot.stop('SIGKILL');
      for (const pid of fakes) if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
      await removeDir(data);
      await removeDir(bin);
    }
  }, 40_000);
});

/** Whether pid runs: killed, a process may stay a zombie until whoever adopted it reaps it, which does not count. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return isAlive(pid);
  }
}

/** The parent process of pid (Linux: /proc/PID/stat). */
function parentOf(pid: number): number {
  const m = /^\d+ \(.*\) \S+ (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return Number(m?.[1]);
}

/** Which of pids has a TCP connection to 127.0.0.1:port open (Linux: its descriptors against /proc/net/tcp). */
function connectedTo(pids: number[], port: number): number | undefined {
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set(
    readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[2] === remote)
      .map((f) => f[9]),
  );
  return pids.find((pid) =>
    readdirSync(`/proc/${pid}/fd`).some((fd) => {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${pid}/fd/${fd}`));
      return m !== null && inodes.has(m[1]);
    }),
  );
}

function readlinkSafe(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

describe('godepot serve --workers 2 when a worker hangs', () => {
  // A stopped process (or a blocked event loop) does not exit: without the primary's watch, its clients and every
  // other worker's request for the zip it was fetching waited for it for ever (30 minutes, the server's backstop).
  // (17 s on an idle machine: 15 s before the watch ends the stopped worker; its budget is for a loaded one.)
  it('ends it: its clients get a connection error, the others the zip it was fetching, and another takes its slot', async () => {
    const [mod] = (await buildModules([
      { path: 'example.com/hung', version: 'v1.0.0', files: { 'go.mod': 'module example.com/hung\n' } },
    ])) as [BuiltModule];
    const upstream = await FakeGoProxy.start([mod]);
    const sumdb = await FakeSumDb.start({ records: [mod] });
    const data = await tempDir();
    const godepot = await spawnGodepot(
      ['--workers', '2', '--data', data, '--upstream', upstream.url, '--sumdb', `${sumdb.vkey} ${sumdb.url}`],
      // Round-robin: both workers have clients waiting for the one fetch.
      { NODE_CLUSTER_SCHED_POLICY: 'rr' },
    );
    let holder: number | undefined;
    try {
      const pids = (await allListening(godepot, 2)).map((l) => l.pid);
      upstream.setFault(faults.hold(), '.zip');
      const url = `${godepot.url}/example.com/hung/@v/v1.0.0.zip`;
      const answers = Array.from({ length: 8 }, () =>
        getAlone(url).then(
          (a) => (a.status === 200 && a.body.equals(mod.zip) ? 'zip' : `${a.status}`),
          () => 'connection error',
        ),
      );
      await waitFor(async () => upstream.heldCount === 1, 10_000, 'godepot never asked the upstream for the zip');
      holder = connectedTo(pids, Number(new URL(upstream.url).port));
      if (holder === undefined) throw new Error('no worker is connected to the upstream');
      process.kill(holder, 'SIGSTOP');
      upstream.clearFaults();

      const got = await Promise.all(answers);
      expect(
        got.filter((a) => a !== 'zip' && a !== 'connection error'),
        got.join(),
      ).toEqual([]);
      expect(got.filter((a) => a === 'zip').length, got.join()).toBeGreaterThan(0);
      // Fetched again by the live worker once the stopped one's lease ended.
      expect(upstream.count('.zip')).toBe(2);
      // Killed: its clients' connections closed as it died, which may be before the primary reaped it (a zombie).
      const killed = holder;
      await waitFor(async () => !running(killed), 5_000, `the hung worker (pid ${killed}) was not killed`);
      expect(godepot.output().split('has not answered for').length - 1).toBe(1);
      await waitFor(async () => listeningLines(godepot).length >= 3, 20_000, 'no worker replaced the hung one');
      expect((await getAlone(url)).body.equals(mod.zip)).toBe(true);
    } finally {
      if (holder !== undefined && isAlive(holder)) process.kill(holder, 'SIGCONT');
      await godepot.stop();
      await upstream.close();
      await sumdb.close();
      await removeDir(data);
    }
  }, 120_000);
});
