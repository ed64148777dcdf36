// How an upstream's answer is read when it is not plainly the bytes asked
// for: a Content-Encoding godepot did not ask for (it sends identity; a
// static file store serves an object uploaded gzipped as it is, and the go
// command's HTTP client decodes gzip), and redirects, followed as the go
// command follows them (at most 10, never from https to http).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { gzipSync } from 'node:zlib';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import { readLimited, UpstreamError } from '../../src/upstream/index.js';
import { removeDir, tempDir } from '../support/godepot.js';
import { hasOpenssl, selfSignedCert } from '../support/tls.js';
import { loopbackServers, shortRegistries, type Handler } from '../support/upstream-rig.js';

const { serve, keep } = loopbackServers();
const registry = shortRegistries();

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
    expect(err).toMatchObject({
      failure: 'timeout',
      detail: 'the response body stalled past the idle deadline of 0.5s',
    });
  });

  it('a gzipped body that is not gzip is a bad body saying so, not retried as a connection cut short', async () => {
    let hits = 0;
    const url = await serve((req, res) => {
      hits++;
      encoded('gzip', Buffer.from('module example.com/m\n'))(req, res);
    });
    const err = await registry({ attempts: 3 })
      .get(url)
      .get('/example.com/m/@v/v1.0.0.mod', 'mod', 'metadata', readLimited(1 << 20))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ failure: 'body', transient: false });
    expect((err as UpstreamError).detail).toMatch(
      /^the answer has Content-Encoding gzip, but its bytes are no gzip \(/,
    );
    expect(hits).toBe(1);
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

/** A server whose every answer is a redirect to `to(path)` with this status (no Location when to gives undefined). */
const redirect =
  (to: (path: string) => string | undefined, status = 302): Handler =>
  (req, res) => {
    const location = to(req.url ?? '/');
    res.writeHead(status, location === undefined ? {} : { location });
    res.end();
  };

const read = readLimited(1 << 20);

describe('redirects', () => {
  it('are followed to another host; the credentials for the upstream go to it alone', async () => {
    const seen: (string | undefined)[] = [];
    const other = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200);
      res.end('v1.0.0\n');
    });
    const upstream = await serve((req, res) => {
      seen.push(req.headers.authorization);
      redirect((p) => other + p, 307)(req, res);
    });
    const credentials = [{ url: upstream, authorization: 'Basic dTpw' }];
    const r = await registry({ credentials }).get(upstream).get('/example.com/m/@v/list', 'list', 'metadata', read);
    expect(r.found && r.value.toString()).toBe('v1.0.0\n');
    expect(seen).toEqual(['Basic dTpw', undefined]);
  });

  it('a 3xx without a Location (or an empty one) is the answer: a bad status', async () => {
    for (const to of [undefined, '']) {
      const url = await serve(redirect(() => to));
      await expect(registry().get(url).get('/example.com/m/@v/list', 'list', 'metadata', read)).rejects.toMatchObject({
        failure: 'status',
        status: 302,
        detail: '302',
      });
    }
  });

  it('a redirect loop stops after 10 redirects, as the go command stops, and is not retried', async () => {
    let hits = 0;
    const url = await serve((req, res) => {
      hits++;
      redirect((p) => (p.endsWith('/a') ? p.replace(/a$/, 'b') : p.replace(/b$/, 'a')))(req, res);
    });
    const err = await registry({ attempts: 3 })
      .get(url)
      .get('/example.com/m/@v/a', 'info', 'metadata', read)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ failure: 'status', status: 302, transient: false });
    expect((err as UpstreamError).detail).toMatch(/stopped after 10 redirects/);
    expect(hits).toBe(10);
  });

  it('a redirect to another scheme (file:) is refused at once, not retried as a connection failure', async () => {
    let hits = 0;
    const url = await serve((req, res) => {
      hits++;
      redirect(() => 'file:///etc/passwd')(req, res);
    });
    const err = await registry({ attempts: 3 })
      .get(url)
      .get('/example.com/m/@v/list', 'list', 'metadata', read)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ failure: 'status', status: 302, transient: false });
    expect((err as UpstreamError).detail).toMatch(/redirected to file:\/\/\/etc\/passwd, not an http\(s\) URL/);
    expect(hits).toBe(1);
  });

  it("a chain of redirects each just inside the first-byte deadline is held to the call's total deadline", async () => {
    // Each hop answers after 0.4 s (the first-byte deadline is 0.5 s): a fresh deadline per hop would let 10 hops
    // take 4 s; the call has 2 s in all.
    let hits = 0;
    const url = await serve((req, res) => {
      hits++;
      const n = Number(/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
      setTimeout(() => redirect((p) => p.replace(/\d+$/, String(n + 1)))(req, res), 400);
    });
    const started = performance.now();
    const err = await registry()
      .get(url)
      .get('/example.com/m/@v/0', 'info', 'metadata', read)
      .catch((e: unknown) => e);
    const took = performance.now() - started;
    expect(err).toMatchObject({ failure: 'timeout', detail: 'no complete answer within 2s' });
    expect(took).toBeLessThan(3_000);
    expect(hits).toBeLessThanOrEqual(6);
  });

  it('a Retry-After on a redirect is no failure: the redirect is followed at once, as the go command follows it', async () => {
    const other = await serve((_req, res) => {
      res.writeHead(200);
      res.end('v1.0.0\n');
    });
    const url = await serve((req, res) => {
      res.writeHead(307, { location: other + (req.url ?? '/'), 'retry-after': '3600' });
      res.end();
    });
    const r = await registry({ attempts: 3 }).get(url).get('/example.com/m/@v/list', 'list', 'metadata', read);
    expect(r.found && r.value.toString()).toBe('v1.0.0\n');
  });

  describe.skipIf(!hasOpenssl)('from https', () => {
    let dir: string;
    let secureContext: SecureContext;
    let https: string;
    let plainHits = 0;
    let plain: string;

    beforeAll(async () => {
      dir = await tempDir('godepot-redirects-');
      const made = selfSignedCert(dir, 'upstream', 'IP:127.0.0.1');
      secureContext = createSecureContext({ ca: made.cert });
      plain = await serve((_req, res) => {
        plainHits++;
        res.writeHead(200);
        res.end('v6.6.6\n');
      });
      const s = createHttpsServer(
        { cert: made.cert, key: made.key },
        redirect((p) => plain + p),
      );
      s.listen(0, '127.0.0.1');
      await once(s, 'listening');
      keep(s);
      https = `https://127.0.0.1:${(s.address() as { port: number }).port}`;
    });
    afterAll(async () => {
      await removeDir(dir);
    });

    it('never to http, as the go command refuses (what comes over plain http anyone on the way may have changed)', async () => {
      const err = await registry({ connect: { secureContext } })
        .get(https)
        .get('/example.com/m/@v/list', 'list', 'metadata', read)
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ failure: 'status', status: 302, transient: false });
      expect((err as UpstreamError).detail).toMatch(
        /^302: redirected from secure URL https:\/\/127\.0\.0\.1:\d+\/example\.com\/m\/@v\/list to insecure URL http:/,
      );
      expect(plainHits).toBe(0);
    });
  });
});
