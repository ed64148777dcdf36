// Answers to branch and commit queries are the client's choice of name (every
// prefix of every commit of a large repository is one the upstream answers):
// they are kept in a bounded number of files, each answer still the one for
// its own query, served from cache within its TTL and stale in an outage. The
// real server on loopback, with a bounded number of requests.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { QUERY_SLOTS } from '../../src/proxy/mutable.js';
import { ManualClock } from '../../src/util/clock.js';
import { FakeSumDb } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { loopbackServers } from '../support/upstream-rig.js';

const servers = loopbackServers();
const clock = new ManualClock();
let up = true;
let calls = 0;
let sumdb: FakeSumDb;
let godepot: RunningGodepot;

/** The pseudo-version the upstream answers for commit prefix q. */
function pseudo(q: string): string {
  return `v0.0.0-20240101000000-${q.padEnd(12, '0').slice(0, 12)}`;
}

beforeAll(async () => {
  const upstream = await servers.serve((req, res) => {
    calls++;
    const q = /\/@v\/([0-9a-f]+)\.info$/.exec(req.url ?? '')?.[1];
    if (!up || q === undefined) return void res.writeHead(up ? 404 : 502).end('no\n');
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ Version: pseudo(q), Time: '2024-01-01T00:00:00Z' }));
  });
  sumdb = await FakeSumDb.start();
  godepot = await startGodepot(
    { upstream, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'query-ttl': '1m' },
    { compose: { clock } },
  );
});

afterAll(async () => {
  await godepot?.close();
  await sumdb?.close();
});

/** The i-th distinct commit-prefix query, spread over a few modules. */
function query(i: number): { path: string; q: string } {
  const q = (0xabc0000 + i).toString(16);
  return { path: `/example.com/m${i % 7}/@v/${q}.info`, q };
}

async function get(path: string): Promise<{ status: number; version: unknown; cache: string | null }> {
  const r = await fetch(godepot.url + path);
  const body = await r.text();
  const version = r.status === 200 ? (JSON.parse(body) as { Version?: unknown }).Version : body;
  return { status: r.status, version, cache: r.headers.get('x-godepot-cache') };
}

it("keeps the answers of many distinct queries in a bounded number of files, each its own query's", async () => {
  const count = 600;
  let next = 0;
  const wrong: string[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        const { path, q } = query(next++);
        const r = await get(path);
        if (r.status !== 200 || r.version !== pseudo(q)) wrong.push(`${path}: ${r.status} ${String(r.version)}`);
      }
    }),
  );
  expect(wrong).toEqual([]);
  expect(calls).toBe(count);
  // Within the TTL, a query asked again is a hit, with its own answer.
  const last = query(count - 1);
  expect(await get(last.path)).toEqual({ status: 200, version: pseudo(last.q), cache: 'hit' });
  expect(calls).toBe(count);

  const folder = join(godepot.data, 'query');
  const files = (await readdir(folder, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  expect(files.length).toBeGreaterThan(count / 2);
  // A file per slot, never one per query.
  expect(files.filter((e) => e.parentPath !== join(folder, 'slot')).map((e) => e.name)).toEqual([]);
  expect(files.every((e) => /^[0-9a-f]{4}$/.test(e.name) && parseInt(e.name, 16) < QUERY_SLOTS)).toBe(true);

  // Past the TTL, in an outage, the stored answer is served stale, still its own query's.
  clock.advance(120_000);
  up = false;
  expect(await get(last.path)).toEqual({ status: 200, version: pseudo(last.q), cache: 'stale' });
}, 60_000);

it('an answer stored before the slots, under its own key, is still served in an outage', async () => {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const dir = join(godepot.data, 'query', 'example.com', 'old', '@v');
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'fedcba9.info'),
    JSON.stringify({ Version: pseudo('fedcba9'), Time: '2024-01-01T00:00:00Z' }),
  );
  up = false;
  expect(await get('/example.com/old/@v/fedcba9.info')).toEqual({
    status: 200,
    version: pseudo('fedcba9'),
    cache: 'stale',
  });
});
