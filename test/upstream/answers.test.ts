// How an upstream's 200 is read when it is not plainly the bytes asked for:
// a Content-Encoding godepot did not ask for (it sends identity; a static
// file store serves an object uploaded gzipped as it is, and the go
// command's HTTP client decodes gzip).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { gzipSync } from 'node:zlib';
import { EndpointRegistry, HttpPools, readLimited, UpstreamError } from '../../src/upstream/index.js';
import type { DEFAULT_DEADLINES, Deadlines } from '../../src/config/settings.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
async function serve(handler: Handler): Promise<string> {
  const s = createServer(handler);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  servers.push(s);
  const a = s.address();
  if (!a || typeof a === 'string') throw new Error('no address');
  return `http://127.0.0.1:${a.port}`;
}
afterAll(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

const pools: HttpPools[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});
function registry(): EndpointRegistry {
  const d: Deadlines = { connect: 500, firstByte: 500, idle: 500, total: 2_000 };
  const deadlines = { metadata: d, zip: d, sumdb: d } as typeof DEFAULT_DEADLINES;
  const p = new HttpPools(deadlines);
  pools.push(p);
  return new EndpointRegistry(p, {
    deadlines,
    retry: { attempts: 1, baseDelay: 5, maxDelay: 20 },
    breaker: { failures: 100, halfOpenAfter: 60_000 },
  });
}

/** A server answering 200 with body, sent with this Content-Encoding. */
const encoded =
  (encoding: string, body: Buffer): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-encoding': encoding, 'content-length': body.length });
    res.end(body);
  };

describe('Content-Encoding of an answer', () => {
  const goMod = Buffer.from('module example.com/m\n\ngo 1.21\n');

  it('a gzipped body is read as the bytes it encodes, as the go command reads it', async () => {
    const url = await serve(encoded('gzip', gzipSync(goMod)));
    const r = await registry()
      .get(url)
      .get('/example.com/m/@v/v1.0.0.mod', 'mod', 'metadata', readLimited(1 << 20));
    expect(r.found && r.value.toString()).toBe(goMod.toString());
  });

  it("the reader's limit counts the decoded bytes (a small gzip of a huge body is refused)", async () => {
    const bomb = gzipSync(Buffer.alloc(8 << 20));
    expect(bomb.length).toBeLessThan(64 << 10);
    const url = await serve(encoded('gzip', bomb));
    const err = await registry()
      .get(url)
      .get('/example.com/m/@v/v1.0.0.info', 'info', 'metadata', readLimited(64 << 10))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ failure: 'body', detail: `response larger than ${64 << 10} bytes` });
  });

  it('a gzipped body that stalls half-way fails at the idle deadline, as a plain one does', async () => {
    const zipped = gzipSync(Buffer.alloc(1 << 20, 'x'));
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': zipped.length });
      res.write(zipped.subarray(0, zipped.length >> 1));
    });
    const err = await registry()
      .get(url)
      .get('/example.com/m/@v/v1.0.0.mod', 'mod', 'metadata', readLimited(2 << 20))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ failure: 'timeout', detail: 'the response body stalled past the idle deadline' });
  });

  it('an encoding godepot cannot decode is a bad body naming it, not bytes taken for the artifact', async () => {
    const url = await serve(encoded('br', Buffer.from([0x0b, 0x02, 0x80])));
    const err = await registry()
      .get(url)
      .get('/example.com/m/@v/v1.0.0.mod', 'mod', 'metadata', readLimited(1 << 20))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ failure: 'body', transient: false });
    expect((err as UpstreamError).detail).toMatch(/Content-Encoding "br"/);
  });
});
