// A full checksum-database tile is immutable and cacheable for a year; behind
// --auth every answer is its user's, so a shared cache in front must not keep
// it for clients without credentials (Cache-Control: private), as for modules.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import pino from 'pino';
import { createApp, type AppDeps } from '../../src/server/app.js';
import type { SumdbEndpoint } from '../../src/server/sumdb-endpoint.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** An app whose only database answers every request with a full (immutable) tile. */
async function serve(auth: boolean): Promise<string> {
  const db = {
    name: 'sum.example',
    serve: async () => ({
      body: Buffer.alloc(8192, 1),
      contentType: 'application/octet-stream',
      immutable: true,
      cache: 'hit',
    }),
    status: () => ({ status: 'ok' }),
  } as unknown as SumdbEndpoint;
  const metrics = { httpRequests: { inc: () => undefined }, httpDuration: { observe: () => undefined } };
  const app = createApp({
    sumdbs: [db],
    metrics,
    log: pino({ level: 'silent' }),
    accessLog: null,
    events: {},
    ...(auth ? { authorize: () => null } : {}),
  } as unknown as AppDeps);
  const s = createServer((req, res) => app.handle(req, res)).listen(0, '127.0.0.1');
  servers.push(s);
  await once(s, 'listening');
  const a = s.address();
  if (!a || typeof a === 'string') throw new Error('no address');
  return `http://127.0.0.1:${a.port}`;
}

describe('Cache-Control of checksum-database tiles', () => {
  it('public without --auth, private behind it', async () => {
    for (const [auth, scope] of [
      [false, 'public'],
      [true, 'private'],
    ] as const) {
      const r = await fetch(`${await serve(auth)}/sumdb/sum.example/tile/8/0/000`);
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe(`${scope}, max-age=31536000, immutable`);
    }
  });
});
