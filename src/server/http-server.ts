// The one HTTP server godepot listens with, in production and in tests: the
// client-side half of DESIGN invariant 9. Every client wait is bounded —
// headers, the whole request, idle keep-alive — and the number of
// connections is capped below the process's descriptor limit, so a flood is
// answered (503) instead of exhausting descriptors and failing to accept.
//
// Connections are admitted in three zones:
//   - up to `maxConnections - reserve`: served normally;
//   - the last `reserve` connections below the cap: they must send a request
//     within `reserveHeadersTimeout`, and only /healthz and cache hits held
//     in memory are answered on them (anything else: 503, closed), so health
//     checks and hot artifacts keep flowing during a flood;
//   - beyond the cap: a 503 is written at once and the connection closed
//     (over HTTPS it is closed without a word: an answer would first cost
//     a TLS handshake, during a flood).
// Reaching the reserve also closes idle keep-alive connections.
//
// Every TCP connection counts towards the cap from the moment it is
// accepted: it holds a descriptor. A connection accepted in the reserve must
// send its request within reserveHeadersTimeout of the accept — over HTTPS,
// its handshake too (else a flood of handshakes never begun would hold the
// reserve for the whole handshake time-out, headersTimeout). A connection
// accepted below the reserve enters it, if the server is that close to its
// cap by then, when it can carry a request: at once for plain HTTP, after
// its handshake for HTTPS, whose socket (the one the request handler sees)
// is then the TLS socket, not the TCP one.
//
// The protocol is read-only: a request that announces a body is answered 400
// and its connection closed, so a client cannot hold a descriptor by never
// sending the body it announced.
//
// The cap bounds work only if a connection carries a bounded amount of it:
// Node starts every request pipelined on a connection at once (it stops
// reading only once answers pile up unread, and an answer waiting for an
// upstream piles up nothing), so one connection could start thousands of
// upstream fetches. Beyond MAX_PIPELINED unanswered requests, a connection's
// next request is answered 503 and the connection closed after it. Node
// tells only the response being written that its connection closed; those
// queued behind it (pipelined) are told here, so that their work is given
// up and they stop counting as in flight.
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { App } from './app.js';
import { systemClock, type WaitingClock } from '../util/clock.js';

export interface HttpServerLimits {
  /** Time to receive a request's headers (Node's headersTimeout). */
  readonly headersTimeout: number;
  /** Time to receive a whole request (Node's requestTimeout). */
  readonly requestTimeout: number;
  /** How long an idle keep-alive connection is kept; longer than clients keep theirs, so they close first. */
  readonly keepAliveTimeout: number;
  /** A connection silent for this long (no bytes either way) is closed. */
  readonly socketTimeout: number;
  /** How often Node checks the header and request timeouts. */
  readonly checkInterval: number;
  /** Open client connections at most; null: derived from the descriptor limit. */
  readonly maxConnections: number | null;
  /** Connections below the cap kept for /healthz and cache hits. */
  readonly reserve: number;
  /** Time a connection in the reserve has to send its request. */
  readonly reserveHeadersTimeout: number;
  /**
   * How long a connection may stay silent while godepot prepares its answer (past every fetch's own deadline:
   * a backstop for an answer that would never come).
   */
  readonly preparingTimeout: number;
}

const DEFAULT_LIMITS: HttpServerLimits = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 65_000,
  socketTimeout: 120_000,
  checkInterval: 1_000,
  maxConnections: null,
  reserve: 64,
  reserveHeadersTimeout: 2_000,
  preparingTimeout: 30 * 60_000,
};

/** Descriptors kept for everything but client connections (files, upstream pools, logs). */
const DESCRIPTORS_FOR_OTHERS = 128;
/**
 * Descriptors one connection may hold: its socket, and what its answer is read from for as long as the client
 * takes to read it (a stored zip's file, an object store's connection). Counting the socket alone, a few hundred
 * clients that stop reading large zips took every descriptor: nothing could be opened or accepted, /healthz
 * included, until the socket timeout closed them.
 */
const DESCRIPTORS_PER_CONNECTION = 2;

/** Unanswered requests one connection may have (HTTP/1.1 pipelining; the go command sends one at a time). */
export const MAX_PIPELINED = 32;

/** The soft limit on open descriptors (Linux: /proc/self/limits), or null when unknown. */
function descriptorLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The connection cap: the configured one, else what the descriptor limit leaves room for. */
function connectionCap(limits: HttpServerLimits, fdLimit = descriptorLimit()): number {
  if (limits.maxConnections !== null) return limits.maxConnections;
  if (fdLimit === null) return 10_000;
  const fit = Math.floor((fdLimit - DESCRIPTORS_FOR_OTHERS) / DESCRIPTORS_PER_CONNECTION);
  return Math.max(limits.reserve + 16, Math.min(10_000, fit));
}

const OVER_CAP_BODY = 'godepot: too many connections; retry in a few seconds\n';
const OVER_CAP =
  'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n' +
  `Retry-After: 5\r\nCache-Control: no-store\r\nX-Godepot-Error: overloaded\r\n` +
  `Content-Length: ${Buffer.byteLength(OVER_CAP_BODY)}\r\n\r\n${OVER_CAP_BODY}`;

const CONNECT_BODY = 'godepot: method CONNECT not allowed; godepot is a module proxy (GOPROXY), not an HTTP proxy\n';
const CONNECT_REFUSED =
  'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Type: text/plain; charset=utf-8\r\n' +
  `X-Godepot-Error: method_not_allowed\r\nConnection: close\r\n` +
  `Content-Length: ${Buffer.byteLength(CONNECT_BODY)}\r\n\r\n${CONNECT_BODY}`;

const PLAIN_HTTP_BODY =
  'godepot: this port speaks HTTPS and the client sent plain HTTP: use https:// in GOPROXY (and the URL you typed)\n';
/** A plain HTTP request on the HTTPS port (what Go's net/http also answers with 400 rather than a silent close). */
const PLAIN_HTTP_REFUSED =
  'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nX-Godepot-Error: https_required\r\n' +
  `Connection: close\r\nContent-Length: ${Buffer.byteLength(PLAIN_HTTP_BODY)}\r\n\r\n${PLAIN_HTTP_BODY}`;

export interface GodepotServer extends Server {
  /** Open client connections now. */
  readonly connectionCount: number;
  readonly connectionCap: number;
}

/** Makes the listening server from Node's server options and the handler: plain HTTP unless given (HTTPS). */
export type ServerFactory = (
  /** handshakeTimeout: for an HTTPS server (node:tls), ignored by plain HTTP. */
  options: ServerOptions & { readonly handshakeTimeout?: number },
  handler: (req: IncomingMessage, res: ServerResponse) => void,
) => Server;

export function createHttpServer(
  app: App,
  given: Partial<HttpServerLimits> = {},
  make: ServerFactory = createServer,
  /** Times the reserve's wait for a request (tests move a fake one). */
  clock: WaitingClock = systemClock,
): GodepotServer {
  const limits: HttpServerLimits = { ...DEFAULT_LIMITS, ...given };
  const cap = connectionCap(limits);
  const reserve = Math.min(limits.reserve, Math.floor(cap / 2));
  /** Connections in the reserve (the socket requests arrive on), with the abort of the wait that closes them. */
  const limited = new WeakMap<Socket, AbortController>();
  /**
   * The responses of each connection that arrived while another was being
   * answered (pipelined: Node gives them no socket until their turn), until
   * each is sent whole or given up. The go command sends one request at a
   * time: this stays empty, and a request costs one property read here.
   */
  const queued = new WeakMap<Socket, Set<ServerResponse>>();
  /** Each connection's latest response that had the socket when it arrived (the one being answered, if unfinished). */
  const current = new WeakMap<Socket, ServerResponse>();
  let open = 0;
  let lastIdleSweep = -Infinity;

  /** Adds a pipelined res to its connection's queue; returns how many of them are unanswered now. */
  const enqueue = (sock: Socket, res: ServerResponse): number => {
    let pending = queued.get(sock);
    if (!pending) {
      const p = new Set<ServerResponse>();
      pending = p;
      queued.set(sock, p);
      sock.once('close', () => {
        // The response being written (it has the socket) hears of the close from Node; the ones queued behind it do not.
        for (const r of [...p]) {
          if (r.socket !== null) continue;
          r.destroy();
          r.emit('close');
        }
        p.clear();
      });
    }
    const p = pending;
    p.add(res);
    res.once('close', () => p.delete(res));
    return p.size;
  };

  /**
   * Whether a response is being answered on sock (an answer started or owed there), or the last one ended the
   * connection (Connection: close): nothing may follow it.
   */
  const answering = (sock: Socket): boolean => {
    const r = current.get(sock);
    return (r !== undefined && (!r.writableFinished || !r.shouldKeepAlive)) || (queued.get(sock)?.size ?? 0) > 0;
  };

  /**
   * Whether the silence on sock is godepot's: an answer owed there that nothing has been written of yet (an
   * upstream fetch, verification, a go run for a private module: bounded by their own deadlines). Not when the
   * client has stopped reading an answer being written.
   */
  const preparing = (sock: Socket): ServerResponse | null => {
    const r = current.get(sock);
    // Not finished: still being prepared, or written and not yet taken by the client (whatever is queued behind).
    if (r !== undefined && !r.writableFinished) return r.headersSent ? null : r;
    for (const q of queued.get(sock) ?? []) if (!q.headersSent) return q;
    return null;
  };
  /** Idle periods (socketTimeout) each answer being prepared has kept its connection silent so far. */
  const silentPeriods = new WeakMap<ServerResponse, number>();

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const sock = req.socket;
    req.url = originForm(req.url ?? '/');
    const reserved = sock !== undefined && limited.has(sock);
    if (reserved) {
      limited.get(sock)?.abort();
      res.shouldKeepAlive = false;
    }
    // Before any refusal too: a parse error in the body it announced must not put a second answer behind it.
    if (res.socket !== null) current.set(sock, res);
    if (hasBody(req)) {
      res.shouldKeepAlive = false;
      app.refuse(req, res, 'bad_request', 'godepot: requests to a module proxy carry no body');
      return;
    }
    if (hostLines(req.rawHeaders) > 1) {
      // RFC 9112 §3.2: a 400. A proxy in front may have routed (or cached) it by the other one.
      res.shouldKeepAlive = false;
      app.refuse(req, res, 'bad_request', 'godepot: more than one Host header in the request; send one');
      return;
    }
    if (res.socket === null && enqueue(sock, res) >= MAX_PIPELINED) {
      res.shouldKeepAlive = false;
      app.refuse(
        req,
        res,
        'overloaded',
        `godepot: too many requests in flight on one connection (at most ${MAX_PIPELINED} pipelined); send fewer at a time`,
      );
      return;
    }
    app.handle(req, res, reserved);
  };

  const server = make(
    {
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeout,
      connectionsCheckingInterval: limits.checkInterval,
      handshakeTimeout: limits.headersTimeout,
    },
    handler,
  ) as GodepotServer;
  server.maxRequestsPerSocket = 0;
  server.timeout = limits.socketTimeout;

  // A connection silent for socketTimeout: Node would close it even while the client waits for an answer godepot
  // is still preparing (a 500 MB zip over a slow link, a private repository's clone: minutes), and the go command
  // would fail with an unexpected EOF. Closed only when the silence is the client's.
  server.on('timeout', (socket: Socket) => {
    const r = preparing(socket);
    const periods = r ? (silentPeriods.get(r) ?? 0) + 1 : 0;
    if (!r || periods * limits.socketTimeout >= limits.preparingTimeout) {
      socket.destroy();
      return;
    }
    silentPeriods.set(r, periods);
    socket.setTimeout(limits.socketTimeout); // Node arms the idle timer again only on activity
  });

  const tls = server instanceof TlsServer;

  /** The wait that closes a connection in the reserve unless its request comes in time (the handler aborts it). */
  const reserveWait = (socket: Socket): AbortController => {
    const wait = new AbortController();
    clock.sleep(limits.reserveHeadersTimeout, wait.signal).then(
      () => socket.destroy(),
      () => undefined,
    );
    socket.once('close', () => wait.abort());
    const now = performance.now();
    if (now - lastIdleSweep > 1_000) {
      lastIdleSweep = now;
      server.closeIdleConnections();
    }
    return wait;
  };

  /**
   * HTTPS connections accepted in the reserve whose handshake has not ended, by peer address (the TCP socket and
   * the TLS socket made of it share it): their reserve wait runs from the accept, so that connections that never
   * finish a handshake leave the reserve as soon as silent ones do over plain HTTP, not after handshakeTimeout.
   */
  const handshaking = new Map<string, AbortController>();
  const peer = (socket: Socket): string | null =>
    socket.remotePort === undefined ? null : `${socket.remoteAddress}|${socket.remotePort}`;

  /** Puts a connection that can carry requests in the reserve, if the server is that close to its cap. */
  const admit = (socket: Socket): void => {
    const key = tls ? peer(socket) : null;
    const accepted = key === null ? undefined : handshaking.get(key);
    if (accepted && key !== null) {
      handshaking.delete(key);
      limited.set(socket, accepted);
      return;
    }
    if (open <= cap - reserve) return;
    limited.set(socket, reserveWait(socket));
  };

  server.on('connection', (socket: Socket) => {
    open++;
    socket.once('close', () => open--);
    if (open > cap) {
      if (tls) {
        socket.destroy();
        return;
      }
      socket.end(OVER_CAP);
      socket.destroySoon();
      setTimeout(() => socket.destroy(), 1_000).unref();
      return;
    }
    if (!tls) admit(socket);
    else if (open > cap - reserve) {
      const key = peer(socket);
      if (key === null) {
        socket.destroy(); // gone already
        return;
      }
      const wait = reserveWait(socket);
      handshaking.set(key, wait);
      socket.once('close', () => {
        if (handshaking.get(key) === wait) handshaking.delete(key);
      });
    }
  });
  if (tls) {
    server.on('secureConnection', admit);
    // OpenSSL recognises an HTTP request where a ClientHello was due: answered in plain text on the TCP socket
    // under the TLS one (node:tls's _parent), as nothing else can reach a client that speaks no TLS. Any other
    // handshake failure closes the connection, as node:tls does when nobody listens.
    server.on('tlsClientError', (err: NodeJS.ErrnoException, tlsSocket: Socket) => {
      const raw = (tlsSocket as Socket & { _parent?: unknown })._parent;
      if (err.code === 'ERR_SSL_HTTP_REQUEST' && raw instanceof Socket && raw.writable && !raw.writableEnded) {
        raw.on('error', () => undefined);
        raw.end(PLAIN_HTTP_REFUSED);
        setTimeout(() => raw.destroy(), 1_000).unref();
      }
      tlsSocket.destroy();
    });
  }
  // A client that sends garbage or resets mid-request: answer 400 when possible, never crash. Not while an
  // earlier request is unanswered: the client takes the next answer for that request's (or finds it in a body).
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && !socket.writableEnded && !answering(socket as Socket) && err.code !== 'ECONNRESET') {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
        socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
      else socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy();
  });
  // CONNECT (a client taking godepot for a forward proxy): Node would close the connection without a word.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => undefined);
    socket.end(CONNECT_REFUSED);
    setTimeout(() => socket.destroy(), 1_000).unref();
  });
  Object.defineProperty(server, 'connectionCount', { get: () => open });
  Object.defineProperty(server, 'connectionCap', { value: cap });
  return server;
}

/** How many Host field lines a request has (Node keeps the first and drops the others from req.headers). */
function hostLines(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).length === 4 && /^host$/i.test(raw[i] as string)) n++;
  return n;
}

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined && cl !== '0') return true;
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * The path and query of a request target: an absolute-form target (`GET http://host/path`, what a client sends
 * to a forward proxy) is one a server must accept (RFC 9112 §3.2.2). Made here, before the --auth gate and the
 * router read req.url, so that both see the same path.
 */
function originForm(target: string): string {
  if (target.charCodeAt(0) === 0x2f) return target; // '/': the origin form every client but a proxy's sends
  const m = /^https?:\/\/[^/?#]*/i.exec(target);
  if (!m) return target;
  const rest = target.slice(m[0].length);
  return rest.startsWith('/') ? rest : '/' + rest;
}
