// A client that names many distinct unreachable origin hosts (`--upstream
// <proxy>,direct` walks to the origin of any module the proxy lacks) must not
// grow godepot's memory or its list of open incidents without limit (the
// origin breaker remembers ORIGIN_HOSTS hosts), nor flood the operator's log
// (each host's failed fetch and outage would be a line: spaced). Loopback
// only: a fake `go` says each host does not resolve. The bound is set to
// HOSTS here (ORIGIN_HOSTS is 1,000: 1,200 go runs took 72 s of a CI run);
// the breaker's own tests hold it to ORIGIN_HOSTS.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeGoProxy } from '../world/index.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';

/** The breaker's bound on origin hosts in this test. */
const HOSTS = 100;

let dir: string;
let upstream: FakeGoProxy;
let godepot: RunningGodepot;

beforeAll(async () => {
  dir = await tempDir();
  const go = join(dir, 'go');
  await writeFile(go, '#!/bin/sh\necho "dial tcp: lookup somewhere.example: no such host" >&2\nexit 1\n');
  await chmod(go, 0o755);
  upstream = await FakeGoProxy.start([]);
  godepot = await startGodepot(
    { upstream: `${upstream.url},direct`, 'breaker-failures': '1', 'vcs-concurrency': '8', data: join(dir, 'data') },
    { vcs: { go, env: { PATH: process.env.PATH ?? '' }, originHosts: HOSTS } },
  );
});

afterAll(async () => {
  await godepot?.close();
  await upstream?.close();
  await removeDir(dir);
});

it('keeps at most its bound of origin outages open, however many hosts clients name', async () => {
  const hosts = HOSTS + 200;
  let next = 0;
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < hosts) {
        const r = await fetch(`${godepot.url}/h${next++}.example/m/@v/list`);
        await r.arrayBuffer();
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    }),
  );
  // Every one reached its origin and failed there (not refused by an upstream's breaker, not answered 404).
  expect(
    [...statuses.keys()].every((s) => s >= 500),
    JSON.stringify([...statuses]),
  ).toBe(true);
  const open = (await godepot.g.incidents.list()).filter((inc) => inc.end === undefined);
  expect(open.length).toBeGreaterThan(0);
  expect(open.length).toBeLessThanOrEqual(HOSTS);
  // Nor the operator's log: every host's outage opened and most were forgotten, yet a few lines say so (the
  // incident records keep each one for the operator page).
  const loud = godepot.logs.filter((l) => typeof l.level === 'number' && l.level >= 30 && l.msg !== 'request');
  const byMsg = new Map<string, number>();
  for (const l of loud) {
    const key = String(l.msg)
      .replace(/h\d+\.example/g, 'h*.example')
      .slice(0, 60);
    byMsg.set(key, (byMsg.get(key) ?? 0) + 1);
  }
  expect(loud.length, JSON.stringify([...byMsg])).toBeLessThan(50);
  expect(loud.some((l) => String(l.msg).startsWith('outage of origin h'))).toBe(true);
  // What the go command said is still there for the operator, in the lines said.
  expect(loud.some((l) => l.msg === 'fetching a public module from its origin failed' && l.output !== undefined)).toBe(
    true,
  );
}, 120_000);
