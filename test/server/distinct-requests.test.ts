// An anonymous client sending many distinct valid-looking requests (module
// paths, versions, queries, checksum-database lookups and tiles) that the
// upstream does not have, or fails on, must not grow /metrics: no label is
// built from a module path, a version, an upstream's words or a status it
// sent. Loopback only; every loop bounded.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { FakeSumDb } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';

let status = 404;
let upstream: Server;
let sumdb: FakeSumDb;
let godepot: RunningGodepot;
let db: string;

beforeAll(async () => {
  // Every answer differs (its words, and in turn its status), as a hostile or failing upstream's may. Not found
  // is 404 or 410 by the tens of the request's number (request()), so that the warm-up's first ten requests, one
  // of each kind, get 404 and the next ten 410, however the eight connections interleave them.
  let n = 0;
  upstream = createServer((req, res) => {
    const i = Number(/\/(?:example\.com\/m|h)(\d+)/.exec(String(req.url))?.[1] ?? 0);
    res.writeHead(status === 404 && Math.floor(i / 10) % 2 === 1 ? 410 : status, { 'content-type': 'text/plain' });
    res.end(`no ${String(req.url)} (answer ${n++})\n`);
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const { port } = upstream.address() as { port: number };
  sumdb = await FakeSumDb.start();
  db = sumdb.vkey.split('+')[0] as string;
  godepot = await startGodepot({ upstream: `http://127.0.0.1:${port}`, sumdb: `${sumdb.vkey} ${sumdb.url}` });
});

afterAll(async () => {
  await godepot?.close();
  await sumdb?.close();
  upstream?.close();
});

/** A tile index as a tile path spells it (000, x001/234). */
function tileIndex(i: number): string {
  const three = (n: number): string => String(n % 1000).padStart(3, '0');
  return i < 1000 ? three(i) : `x${three(Math.floor(i / 1000))}/${three(i)}`;
}

/** The i-th distinct request: every kind a client may ask for, each for a module and version never asked before. */
function request(i: number): string {
  const m = `example.com/m${i}`;
  switch (i % 10) {
    case 0:
      return `/${m}/@v/list`;
    case 1:
      return `/${m}/@latest`;
    case 2:
      return `/${m}/@v/v1.0.${i}.info`;
    case 3:
      return `/${m}/@v/v1.0.${i}.mod`;
    case 4:
      return `/${m}/@v/v1.0.${i}.zip`;
    case 5:
      return `/${m}/@v/branch${i}.info`;
    case 6:
      return `/h${i}.example/!upper/@v/v0.0.0-20200101000000-${String(i).padStart(12, '0')}.mod`;
    case 7:
      return `/sumdb/${db}/lookup/${m}@v1.0.${i}`;
    case 8:
      return `/sumdb/${db}/tile/8/0/${tileIndex(i)}`;
    default:
      return `/sumdb/${db}/tile/8/data/${tileIndex(i)}`;
  }
}

let next = 0;
/** Sends the next `count` distinct requests over 8 connections; the statuses answered. */
async function send(count: number): Promise<Set<number>> {
  const end = next + count;
  const statuses = new Set<number>();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < end) {
        const r = await fetch(godepot.url + request(next++));
        await r.arrayBuffer();
        statuses.add(r.status);
      }
    }),
  );
  return statuses;
}

/** The series /metrics shows now (its sample lines, without values). */
async function series(): Promise<string[]> {
  const text = await (await fetch(`${godepot.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.slice(0, l.lastIndexOf(' ')));
}

it('distinct requests the upstream lacks or fails on add no /metrics series', async () => {
  // Each kind once, so that every series a kind of request brings exists before counting.
  await send(20);
  status = 502;
  await send(20);
  status = 404;
  await series(); // /metrics' own series
  const before = await series();
  // 3,000 distinct requests: a label made of any of them would show as hundreds of new series (12,000 took 26 s
  // of a 30 s bound on a slow VM with a full test run beside it). The warm-up's failures may still keep the
  // upstream's breaker open for a while: 502 then.
  expect((await send(1_500)).has(404)).toBe(true);
  status = 502;
  const failed = await send(1_500);
  expect(failed.has(502), [...failed].join(' ')).toBe(true);
  const after = await series();
  expect(after.filter((s) => !before.includes(s))).toEqual([]);
}, 60_000);
