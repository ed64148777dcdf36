// A client that names many distinct failing modules through `--upstream
// <proxy>,direct` must not flood the operator's log: apart from the access
// log, the lines at info level or above stay few however many it names.
// Loopback only: a fake `go` says each host does not resolve.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeGoProxy } from '../world/index.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';

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
    { upstream: `${upstream.url},direct`, 'vcs-concurrency': '8', data: join(dir, 'data') },
    { vcs: { go, env: { PATH: process.env.PATH ?? '' } } },
  );
});

afterAll(async () => {
  await godepot?.close();
  await upstream?.close();
  await removeDir(dir);
});

it('says a few lines, not one per failing origin module, however many distinct hosts clients name', async () => {
  const hosts = 2_000;
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
  // Every one reached its origin and failed there.
  expect(
    [...statuses.keys()].every((s) => s >= 500),
    JSON.stringify([...statuses]),
  ).toBe(true);
  const loud = godepot.logs.filter((l) => typeof l.level === 'number' && l.level >= 30 && l.msg !== 'request');
  const byMsg = new Map<string, number>();
  for (const l of loud) byMsg.set(String(l.msg), (byMsg.get(String(l.msg)) ?? 0) + 1);
  expect(loud.length, JSON.stringify([...byMsg])).toBeLessThan(50);
  // What the go command said is still there for the operator, once.
  expect(loud.some((l) => l.output !== undefined)).toBe(true);
}, 120_000);
