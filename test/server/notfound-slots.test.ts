// Clients may name as many missing modules as they like: the upstream's 404
// for each is remembered (in memory for --notfound-ttl, in the data folder as
// the answer in an outage), and neither grows with the names asked for. The
// real server on loopback, with a bounded number of requests.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NOT_FOUND_SLOTS } from '../../src/proxy/shared-fetch.js';
import { ManualClock } from '../../src/util/clock.js';
import { FakeSumDb } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { loopbackServers } from '../support/upstream-rig.js';

const servers = loopbackServers();
const clock = new ManualClock();
let status = 404;
let calls = 0;
let sumdb: FakeSumDb;
let godepot: RunningGodepot;

beforeAll(async () => {
  const upstream = await servers.serve((req, res) => {
    calls++;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`no ${String(req.url)}\n`);
  });
  sumdb = await FakeSumDb.start();
  godepot = await startGodepot(
    { upstream, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'notfound-ttl': '1m' },
    { compose: { clock } },
  );
});

afterAll(async () => {
  await godepot?.close();
  await sumdb?.close();
});

/** The i-th distinct name: a list, an @latest, a branch query of a module never asked before. */
function request(i: number): string {
  const m = `example.com/m${i}`;
  return [`/${m}/@v/list`, `/${m}/@latest`, `/${m}/@v/branch${i}.info`][i % 3] as string;
}

async function get(path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(godepot.url + path);
  return { status: r.status, body: await r.text() };
}

it('keeps the 404s of many distinct missing names in a bounded number of files, still answering with them', async () => {
  const count = 600;
  let next = 0;
  const statuses = new Set<number>();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) statuses.add((await get(request(next++))).status);
    }),
  );
  expect([...statuses]).toEqual([404]);
  expect(calls).toBe(count);
  // Within the TTL, a name asked again costs no upstream call.
  expect((await get(request(count - 1))).status).toBe(404);
  expect(calls).toBe(count);

  const folder = join(godepot.data, 'notfound');
  const files = (await readdir(folder, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  expect(files.length).toBeGreaterThan(count / 2);
  // A file per slot, never one per name: at most NOT_FOUND_SLOTS, whatever names are asked for.
  expect(files.filter((e) => e.parentPath !== join(folder, 'slot')).map((e) => e.name)).toEqual([]);
  expect(files.every((e) => /^[0-9a-f]{4}$/.test(e.name) && parseInt(e.name, 16) < NOT_FOUND_SLOTS)).toBe(true);

  // Past the TTL, in an outage, the last 404 is still the answer: the go command's prefix search goes on.
  clock.advance(120_000);
  status = 502;
  const after = await get(request(count - 1));
  expect(after.status, after.body).toBe(404);
  expect(after.body).toContain('its last answer');
}, 60_000);
