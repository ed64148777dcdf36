// Crash safety: godepot killed with SIGKILL in the middle of 40 downloads
// restarts on the same data folder and serves all 40 zips byte-identical to
// the upstream's (never a half-written file); SIGTERM drains in-flight
// requests before exiting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule } from '../world/index.js';
import { spawnGodepot, removeDir, tempDir } from '../support/godepot.js';
import { sha256hex as sha } from '../support/http.js';

describe('crashes and shutdown (built CLI as a child process)', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let mods: BuiltModule[];
  const dirs: string[] = [];

  beforeAll(async () => {
    mods = await buildModules(
      Array.from({ length: 40 }, (_, i) => ({
        path: `example.com/c${i}`,
        version: 'v1.0.0',
        // Incompressible, so each zip is ~256 KB on the wire and takes a while at the dripped rate.
        files: {
          'go.mod': `module example.com/c${i}\n`,
          'c.go': `package c${i}\n`,
          'blob.bin': randomBytes(256 << 10),
        },
      })),
    );
    upstream = await FakeGoProxy.start(mods);
    sumdb = await FakeSumDb.start({ records: mods });
  }, 60_000);
  afterAll(async () => {
    await upstream.close();
    await sumdb.close();
    for (const d of dirs) await removeDir(d);
  });

  const args = (data: string): string[] => [
    '--data',
    data,
    '--upstream',
    upstream.url,
    '--sumdb',
    `${sumdb.vkey} ${sumdb.url}`,
    '--log-level',
    'info',
    '--access-log=false',
  ];

  it('SIGKILL during 40 concurrent downloads; after restart all 40 zips are served byte-identical', async () => {
    const data = await tempDir();
    dirs.push(data);
    const first = await spawnGodepot(args(data));
    // Drip every zip so that all 40 are mid-transfer when the process dies.
    upstream.setFault(faults.slow(256 << 10), '.zip');
    const pending = mods.map((m) =>
      fetch(`${first.url}/${m.path}/@v/${m.version}.zip`)
        .then((r) => r.arrayBuffer())
        .catch(() => null),
    );
    // Wait until the upstream has seen all 40 zip requests (they are in flight), then kill.
    const started = Date.now();
    while (upstream.count('.zip') < 40 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 20));
    expect(upstream.count('.zip')).toBe(40);
    // Half-written staging files exist at the moment of the kill (else their removal below proves nothing).
    const staged = async (): Promise<string[]> =>
      (await readdir(join(data, '.staging'), { recursive: true }).catch(() => [])).filter((n) => n.includes('/'));
    for (let i = 0; i < 100 && (await staged()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const leftovers = await staged();
    expect(leftovers.length).toBeGreaterThan(0);
    await first.stop('SIGKILL');
    await Promise.all(pending);
    upstream.clearFaults();

    const second = await spawnGodepot(args(data));
    try {
      const bodies = await Promise.all(
        mods.map(async (m) =>
          Buffer.from(await (await fetch(`${second.url}/${m.path}/@v/${m.version}.zip`)).arrayBuffer()),
        ),
      );
      bodies.forEach((b, i) => expect(sha(b), mods[i]?.path).toBe(sha((mods[i] as BuiltModule).zip)));
      // The dead process's half-written staging files were removed at start: only the new start's folder is left.
      const staging = await readdir(join(data, '.staging'));
      expect(staging.filter((n) => n.endsWith('.lock'))).toHaveLength(1);
      expect(staging).toHaveLength(2);
      expect(staging.filter((n) => leftovers.some((l) => l.startsWith(n)))).toEqual([]);
    } finally {
      await second.stop();
    }
  }, 90_000);

  it('SIGTERM lets an in-flight download finish, then exits 0', async () => {
    const data = await tempDir();
    dirs.push(data);
    const g = await spawnGodepot(args(data));
    const m = mods[0] as BuiltModule;
    upstream.resetLog();
    // The upstream holds the zip until the test lets it go: the download is in flight for as long as the test
    // needs, with no delay to guess.
    upstream.setFault(faults.hold(), '.zip');
    try {
      const inflight = fetch(`${g.url}/${m.path}/@v/${m.version}.zip`)
        .then(async (r) => ({ status: r.status, body: Buffer.from(await r.arrayBuffer()) }))
        .catch((e: unknown) => ({ status: String(e), body: Buffer.alloc(0) }));
      while (upstream.heldCount < 1) await new Promise((r) => setTimeout(r, 10));
      const exited = g.stop('SIGTERM');
      let gone = false;
      void exited.then(() => (gone = true));
      // Polls for the log line (a state), not for time to pass.
      while (!/draining in-flight requests/.test(g.output()) && !gone) await new Promise((r) => setTimeout(r, 10));
      // Draining: the process is still there while the download waits on its upstream.
      expect(gone).toBe(false);
      expect(g.child.exitCode).toBeNull();
      expect(upstream.releaseHeld()).toBe(1);
      const r = await inflight;
      expect(r.status).toBe(200);
      expect(sha(r.body)).toBe(sha(m.zip));
      expect(await exited).toBe(0);
    } finally {
      upstream.clearFaults();
      await g.stop('SIGKILL');
    }
  }, 60_000);
});
