// The connection cap and reserve of http-server.ts over HTTPS: the handler
// sees the TLS socket, not the TCP one the server accepted, so the reserve
// is entered after the handshake, on the TLS socket. A request there is
// answered (marked reserved) and not cut off; a silent one is closed; past
// the cap the connection is closed, with no plain-text 503 inside TLS.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { createHttpServer, type GodepotServer } from '../../src/server/http-server.js';
import { createTlsServer } from '../../src/runtime/tls.js';
import type { App } from '../../src/server/app.js';
import { removeDir, tempDir } from '../support/godepot.js';
import { hasOpenssl, selfSignedCert } from '../support/tls.js';
import { FakeClock } from '../support/clock.js';

async function waitFor(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > ms) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A reserve connection must send its request within this long (on the fake clock: the test moves it). */
const RESERVE_MS = 500;

describe.skipIf(!hasOpenssl)('the connection reserve over HTTPS', () => {
  let dir: string;
  let server: GodepotServer;
  let port: number;
  const sockets: TLSSocket[] = [];
  const reserved: boolean[] = [];
  /** Answers to /hold requests, kept open: their connections are busy, not idle (reaching the reserve closes idle ones). */
  const holding: ServerResponse[] = [];
  /** Answers to other requests, ended when the test says (as an upstream fetch would, later). */
  const answering: ServerResponse[] = [];
  const clock = new FakeClock();

  beforeAll(async () => {
    dir = await tempDir('godepot-tls-reserve-');
    const { certFile: cert, keyFile: key } = selfSignedCert(dir, 'localhost');
    // An app that answers when the test ends the response, as an upstream fetch would; /hold, never.
    const app: App = {
      handle(req: IncomingMessage, res: ServerResponse, inReserve?: boolean) {
        if (req.url === '/hold') {
          holding.push(res);
          return;
        }
        reserved.push(inReserve === true);
        answering.push(res);
      },
      refuse(_req, res) {
        res.statusCode = 400;
        res.end();
      },
      drain: async () => true,
      inFlight: 0,
    };
    // Cap 6, reserve 3: connections 4 to 6 are in the reserve, the 7th is past the cap.
    server = createHttpServer(
      app,
      { maxConnections: 6, reserve: 3, reserveHeadersTimeout: RESERVE_MS },
      (o, h) => createTlsServer({ cert, key }, o, h, pino({ level: 'silent' })) as unknown as Server,
      clock,
    );
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    holding.splice(0);
    answering.splice(0);
    await waitFor(() => server.connectionCount === 0, 'every connection closed');
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((res) => server.close(res));
    await removeDir(dir);
  });

  /** A TLS connection and what it receives; `closed` settles with the client-side error code, if any. */
  function open(): Promise<{ socket: TLSSocket; received: () => string; closed: Promise<string | undefined> }> {
    return new Promise((resolve) => {
      let got = '';
      let code: string | undefined;
      const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      sockets.push(socket);
      const closed = new Promise<string | undefined>((r) => socket.on('close', () => r(code)));
      const connection = { socket, received: () => got, closed };
      socket.on('data', (d: Buffer) => (got += d.toString()));
      socket.on('error', (err: NodeJS.ErrnoException) => {
        code = err.code;
        resolve(connection);
      });
      socket.on('secureConnect', () => resolve(connection));
    });
  }

  /** Opens n connections, each with a request in flight. */
  async function hold(n: number): Promise<void> {
    const before = holding.length;
    for (let i = 0; i < n; i++) (await open()).socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => holding.length === before + n, 'the held requests');
  }

  it('a request on a reserve connection is served as reserved, and answered after the reserve timeout', async () => {
    await hold(3);
    const c = await open(); // the 4th: in the reserve
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => answering.length === 1, 'the request');
    // The reserve timeout passes while the app works: the request came in time, so the connection stays.
    await clock.advance(RESERVE_MS * 4);
    expect(server.connectionCount).toBe(4);
    answering[0]?.end('done\n');
    await c.closed;
    expect({ reserved: reserved.at(-1), answered: c.received().includes('done') }).toEqual({
      reserved: true,
      answered: true,
    });
  });

  it('a reserve connection that sends no request is closed after the reserve timeout', async () => {
    await hold(3);
    const c = await open();
    await clock.until(() => clock.pending === 1, 'the reserve to wait for a request');
    await clock.advance(RESERVE_MS - 1);
    expect(server.connectionCount).toBe(4);
    await clock.advance(1);
    await c.closed;
    expect(c.received()).toBe('');
  });

  it('a reserve connection that never ends its handshake is closed after the reserve timeout, not the handshake one', async () => {
    // Node's handshakeTimeout (headersTimeout here, 10 s) would hold the reserve through a flood of such connections:
    // /healthz unanswered for that long, where over plain HTTP the reserve frees after reserveHeadersTimeout.
    await hold(3);
    const silent: Socket[] = [];
    for (const hello of ['', '\x16\x03\x01\x00\xf0\x01\x00\x00\xec\x03\x03']) {
      const s = tcpConnect(port, '127.0.0.1');
      s.on('error', () => undefined);
      await once(s, 'connect');
      s.write(Buffer.from(hello, 'latin1')); // nothing, or half a ClientHello
      silent.push(s);
    }
    await clock.until(() => clock.pending === 2, 'the reserve to wait for their requests');
    await clock.advance(RESERVE_MS - 1);
    expect(server.connectionCount).toBe(5);
    await clock.advance(1);
    await Promise.all(silent.map((s) => (s.closed ? undefined : once(s, 'close'))));
    await waitFor(() => server.connectionCount === 3, 'the two to be closed', 2_000);
  });

  it('past the cap a connection is closed, with nothing written into the TLS stream', async () => {
    await hold(6);
    const past = await open(); // the 7th
    expect(await past.closed).toBe('ECONNRESET');
    expect(past.received()).toBe('');
  });
});

describe.skipIf(!hasOpenssl)('plain HTTP on the HTTPS port', () => {
  it('is answered 400 in plain text saying to use https://, and the port keeps serving TLS', async () => {
    const dir = await tempDir('godepot-tls-plain-');
    const { certFile: cert, keyFile: key } = selfSignedCert(dir, 'localhost');
    const app: App = {
      handle(_req: IncomingMessage, res: ServerResponse) {
        res.end('served\n');
      },
      refuse(_req, res) {
        res.statusCode = 400;
        res.end();
      },
      drain: async () => true,
      inFlight: 0,
    };
    const server = createHttpServer(
      app,
      {},
      (o, h) => createTlsServer({ cert, key }, o, h, pino({ level: 'silent' })) as unknown as Server,
    );
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    const port = (server.address() as AddressInfo).port;
    try {
      const plain = tcpConnect(port, '127.0.0.1');
      let got = '';
      plain.on('data', (d: Buffer) => (got += d.toString()));
      plain.on('error', () => undefined);
      await once(plain, 'connect');
      plain.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await once(plain, 'close');
      expect(got.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
      expect(got).toContain('use https://');

      const secure = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      let answer = '';
      secure.on('data', (d: Buffer) => (answer += d.toString()));
      await once(secure, 'secureConnect');
      secure.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await once(secure, 'close');
      expect(answer).toContain('served');
      await waitFor(() => server.connectionCount === 0, 'every connection closed');
    } finally {
      server.closeAllConnections();
      await new Promise((res) => server.close(res));
      await removeDir(dir);
    }
  });
});
