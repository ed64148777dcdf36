// A source that refuses data tiles (proxy.golang.org's /sumdb/ answers each
// one `403 Go module path not permitted`) is not asked for another for an
// hour; it is still asked for everything else (runtime/mirror-remote.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { MirrorRemote } from '../../src/runtime/mirror-remote.js';
import { EndpointRegistry, HttpPools, MirrorSet } from '../../src/upstream/index.js';
import { settingsFrom } from '../support/godepot.js';

describe('a source that refuses data tiles', () => {
  let server: Server;
  let url: string;
  const asked: string[] = [];
  const pools: HttpPools[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      asked.push(req.url ?? '');
      if (req.url?.includes('/tile/8/data/')) res.writeHead(403).end('Go module path not permitted\n');
      else res.end('hash tile bytes');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sumdb/sum.example`;
  });

  afterAll(async () => {
    for (const p of pools) await p.close();
    server.close();
  });

  const remote = (sources: string[], now: () => number): MirrorRemote => {
    const settings = settingsFrom({ data: '/nonexistent' });
    const p = new HttpPools(settings.deadlines);
    pools.push(p);
    const endpoints = new EndpointRegistry(p, { ...settings, retry: { attempts: 1, baseDelay: 1, maxDelay: 1 } });
    return new MirrorRemote(new MirrorSet(sources, endpoints, settings.hedgeDelay), undefined, now);
  };

  const DEAD = 'http://127.0.0.1:1/sumdb/sum.example';
  for (const [name, sources, then] of [
    ['as the only source', (u: string) => [u], /^RemoteError: no source serves data tiles \(http:.* refused them\)$/],
    // The other source is still asked: it may serve them.
    [
      'beside a source that does not answer',
      (u: string) => [u, DEAD],
      new RegExp(`^RemoteError: no source answered: upstream ${DEAD} failed: connection failed`),
    ],
  ] as const) {
    it(`${name}: is asked once an hour for them, and still for the rest`, async () => {
      asked.length = 0;
      let now = 1_000_000;
      const r = remote(sources(url), () => now);
      const data = (): Promise<unknown> =>
        r
          .get('/tile/8/data/000', 'data', () => undefined)
          .then(
            (res) => res,
            (err: unknown) => err,
          );
      await data();
      await data();
      await data();
      expect(asked.filter((p) => p.includes('/data/'))).toHaveLength(1);
      expect(String(await data())).toMatch(then);
      // Hash tiles from the same source are still asked for.
      expect(await r.get('/tile/8/0/000', 'tile', () => undefined)).toMatchObject({ found: true });
      now += 60 * 60_000 + 1;
      await data();
      expect(asked.filter((p) => p.includes('/data/'))).toHaveLength(2);
    });
  }
});
