// One HTTP GET to an upstream, with the first-byte and idle deadlines of its
// call class, over keep-alive connection pools. Retries, breakers and overall
// deadlines are layered on top (endpoint.ts).
import { parseHttpDate } from '../util/http-date.js';
import { Agent, buildConnector, Dispatcher, Pool, ProxyAgent } from 'undici';
import type { LookupFunction } from 'node:net';
import type { SecureContext } from 'node:tls';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { CallClass, Deadlines } from './types.js';
import { classifyNetworkError, isRefusalStatus, NotFoundError, UpstreamError } from './errors.js';
import { NO_PROXY_RULES, redactProxy, type ProxyRules } from './env-proxy.js';
import type { TrustOptions } from '../util/trust.js';
import { firstLine, shorten } from '../util/shorten.js';

export const USER_AGENT = 'godepot/0.1 (+https://github.com/godepot/godepot)';

export interface ResponseMeta {
  readonly upstream: string;
  readonly url: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Consumes a 200 body. Errors it throws while reading count as a bad body. */
export type BodyReader<T> = (body: Readable, meta: ResponseMeta) => Promise<T>;

export type AttemptResult<T> =
  { found: true; value: T; meta: ResponseMeta } | { found: false; notFound: NotFoundError };

/** Thrown by body readers for a body that is well-delivered but unacceptable (too large, malformed). */
export class BadBodyError extends Error {
  constructor(
    message: string,
    readonly transient = false,
  ) {
    super(message);
    this.name = 'BadBodyError';
  }
}

/**
 * Thrown by body readers for a failure on our side (the local disk), which
 * says nothing about the upstream: it is passed through as its cause, not
 * retried and not counted against the upstream's breaker.
 */
export class LocalFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'LocalFailure';
  }
}

/** Keep-alive pools, one per call class (they differ in connect deadline). */
export class HttpPools {
  private readonly agents = new Map<CallClass, Dispatcher>();

  constructor(
    private readonly deadlines: Readonly<Record<CallClass, Deadlines>>,
    /**
     * Extra connect options: tests pass a `lookup` so names resolve without
     * leaving loopback, or a secureContext of their own.
     */
    private readonly connect: Omit<ConnectOptions, 'timeout'> = {},
    /** Which calls go through an HTTP proxy (env-proxy.ts: HTTPS_PROXY, HTTP_PROXY, NO_PROXY as the go command reads them). */
    private readonly proxies: ProxyRules = NO_PROXY_RULES,
    /**
     * The TLS trust of https connections (roots.ts), asked for at the first
     * one: loading the go command's certificates takes ~100 ms, which a
     * start-up need not wait for and plain-http upstreams never need.
     * `connect`'s own secureContext wins over it.
     */
    private readonly trust: () => TrustOptions = () => ({}),
  ) {}

  /** The HTTP proxy calls to url go through (credentials hidden), for messages; undefined when direct. */
  via(url: URL): string | undefined {
    const proxy = this.proxies.proxyFor(url);
    return proxy === undefined ? undefined : redactProxy(proxy);
  }

  dispatcher(cls: CallClass): Dispatcher {
    let d = this.agents.get(cls);
    if (!d) {
      const connect = { timeout: this.deadlines[cls].connect, ...this.connect };
      const withTrust = (): ConnectOptions => ({ ...this.trust(), ...connect });
      const pool = { keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000, connections: 128 };
      const direct = new Agent({ ...pool, connect: trustOnDemand(connect, withTrust) });
      // No redirect interceptor: getOnce follows redirects (as the go command does), each hop through the router.
      d = this.proxies.any
        ? new ProxyRouter(direct, this.proxies, (uri) => connectingAgent(withTrust(), uri, pool))
        : direct;
      this.agents.set(cls, d);
    }
    return d;
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.destroy().catch(() => undefined)));
    this.agents.clear();
  }
}

/** Connect options of every upstream connection: its deadline, TLS trust (roots.ts), and a test's resolver. */
export interface ConnectOptions {
  readonly timeout: number;
  readonly lookup?: LookupFunction;
  readonly secureContext?: SecureContext;
}

/** undici's connector, with the options for https connections (TLS trust included) made at the first one. */
function trustOnDemand(plain: ConnectOptions, tls: () => ConnectOptions): buildConnector.connector {
  const connectPlain = buildConnector(plain);
  let connectTls: buildConnector.connector | undefined;
  return (opts, callback) => {
    if (opts.protocol !== 'https:') return connectPlain(opts, callback);
    connectTls ??= buildConnector(tls());
    return connectTls(opts, callback);
  };
}

/**
 * A connection pool making connections with these options: directly, or
 * through the HTTP proxy `proxy` as the go command goes through one (an
 * http URL asked of it in absolute form, an https one through CONNECT, the
 * same options for the connection to the proxy and for TLS behind it).
 */
export function connectingAgent(
  connect: ConnectOptions,
  proxy?: string,
  pool: Omit<Agent.Options, 'connect'> = {},
): Dispatcher {
  if (proxy === undefined) return new Agent({ ...pool, connect });
  return new ProxyAgent({
    ...pool,
    uri: proxy,
    proxyTunnel: false,
    proxyTls: connect,
    requestTls: connect,
    // The proxy's answer to CONNECT is part of connecting: due within the connect deadline (undici's own
    // default is 300 s, and a request waiting for a connection does not see its abort signal).
    clientFactory: (origin, opts) =>
      new Pool(origin, { ...opts, headersTimeout: connect.timeout, bodyTimeout: connect.timeout }),
  });
}

/** Sends each request directly or through the proxy the rules name for its origin. */
class ProxyRouter extends Dispatcher {
  private readonly viaProxy = new Map<string, Dispatcher>();

  constructor(
    private readonly direct: Dispatcher,
    private readonly rules: ProxyRules,
    private readonly make: (proxy: string) => Dispatcher,
  ) {
    super();
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = opts.origin === undefined ? undefined : new URL(String(opts.origin));
    const proxy = origin ? this.rules.proxyFor(origin) : undefined;
    if (proxy === undefined) return this.direct.dispatch(opts, handler);
    let d = this.viaProxy.get(proxy);
    if (!d) {
      d = this.make(proxy);
      this.viaProxy.set(proxy, d);
    }
    return d.dispatch(opts, handler);
  }

  override async close(): Promise<void> {
    await Promise.all([this.direct, ...this.viaProxy.values()].map((d) => d.close()));
  }

  override async destroy(): Promise<void> {
    await Promise.all([this.direct, ...this.viaProxy.values()].map((d) => d.destroy()));
  }
}

const ERROR_BODY_LIMIT = 4096;

/**
 * Lets an upstream body go: undici reports the end of a body nobody read
 * as an 'error' event (RequestAbortedError), which with no listener left
 * would bring the process down.
 */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

async function readText(body: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    const b = c as Buffer;
    if (n < limit) chunks.push(b.subarray(0, limit - n));
    n += b.length;
    if (n >= limit) break;
  }
  discard(body);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * An upstream's 4xx body as the go command would have shown it to its user
 * (cmd/go/internal/web formatErrorDetail: the lines up to the first blank
 * one, at most 8 and 648 bytes), for godepot to pass on: proxy.golang.org
 * says why a module cannot be fetched under its first line (git's "terminal
 * prompts disabled", "Confirm the import path was typed correctly."), and
 * not always in ASCII. On one line, for godepot's one-line answers and its
 * logs; control and format characters (which would make the go command show
 * nothing) become '?'.
 */
function refusalWords(text: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() !== '');
  if (start < 0) return '';
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  const shown = lines.slice(start, end < 0 ? undefined : end).slice(0, 8);
  return shorten(shown.join('\n').replace(/[^\p{L}\p{M}\p{N}\p{P}\p{S}\s]/gu, '?'), 648);
}

/** Retry-After (delay-seconds or an HTTP-date in any of its three forms, RFC 9110 §10.2.3) as ms from now; undefined when absent or unreadable. */
function parseRetryAfter(v: string | string[] | undefined, now: number): number | undefined {
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  if (!s) return undefined;
  if (/^\d{1,10}$/.test(s)) return Number(s) * 1000;
  const t = parseHttpDate(s, now);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/**
 * The URL for base + path, refusing any path a URL parser would rewrite
 * (dot segments, percent-encoded dots): what is asked for upstream is
 * exactly the validated, escaped path the caller built, nothing else.
 */
export function upstreamUrl(base: string, path: string): URL {
  if (!path.startsWith('/') || /[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/.test(path) || /%/.test(path))
    throw new Error(`refusing to build an upstream URL from unescaped path ${JSON.stringify(path.slice(0, 200))}`);
  const url = new URL(base + path);
  const basePath = new URL(base).pathname.replace(/\/$/, '');
  if (url.pathname !== basePath + path)
    throw new Error(`refusing upstream path ${JSON.stringify(path.slice(0, 200))}: a URL parser rewrites it`);
  return url;
}

export interface AttemptOptions {
  readonly dispatcher: Dispatcher;
  /** The HTTP proxy the call goes through (HttpPools.via), named in connection failures. */
  readonly via?: string;
  readonly deadlines: Deadlines;
  readonly signal: AbortSignal;
  readonly headers?: Record<string, string>;
  /** The clock Retry-After dates are read against (default Date.now). */
  readonly now?: () => number;
}

/** What a 401 or 407 of an upstream means: godepot's credentials (not the client's) are missing or refused. */
const CREDENTIALS_REFUSED: Readonly<Record<number, string>> = {
  401: " (godepot's credentials for this upstream are missing or refused: give the user and password in its --upstream URL, before the host, or a .netrc entry for its host for the user godepot runs as)",
  407: ' (the HTTP proxy wants credentials godepot did not send or it refused: give the user and password in HTTPS_PROXY, before its host)',
};

/** GET base + path once. 404/410 is a result, not an error; every other failure is an UpstreamError. */
export async function getOnce<T>(
  base: string,
  path: string,
  opts: AttemptOptions,
  read: BodyReader<T>,
): Promise<AttemptResult<T>> {
  const url = upstreamUrl(base, path);
  let res = await send(base, url, opts, opts.headers);
  // Redirects are followed here, each hop through the dispatcher (so a redirect to another host takes that
  // host's route), the Authorization header sent to the upstream's own origin only.
  let at = url;
  for (let requests = 1; REDIRECTS.has(res.statusCode) && locationOf(res) !== ''; requests++) {
    discard(res.body);
    at = redirectTarget(base, url, at, res, requests);
    const { authorization: _, ...elsewhere } = opts.headers ?? {};
    res = await send(base, at, opts, at.origin === url.origin ? opts.headers : elsewhere);
  }
  const meta: ResponseMeta = { upstream: base, url: url.toString(), status: res.statusCode, headers: res.headers };
  if (res.statusCode === 200) {
    let body: Readable = res.body;
    try {
      body = decoded(res.body, res.headers['content-encoding']);
      return { found: true, value: await read(body, meta), meta };
    } catch (err) {
      discard(res.body);
      if (body !== res.body) discard(body);
      if (err instanceof LocalFailure) throw err.cause;
      if (err instanceof BadBodyError)
        throw new UpstreamError({ upstream: base, failure: 'body', detail: err.message, transient: err.transient });
      if (err instanceof UpstreamError) throw err;
      // Bytes gzip cannot read are what the upstream has, not a cut connection: asking again gets the same.
      if (body !== res.body && (err as NodeJS.ErrnoException).code === 'Z_DATA_ERROR')
        throw new UpstreamError({
          upstream: base,
          failure: 'body',
          detail: `the answer has Content-Encoding gzip, but its bytes are no gzip (${(err as Error).message})`,
          transient: false,
        });
      if (abortedByCaller(opts.signal)) throw err;
      throw classifyNetworkError(base, err, 'body', undefined, opts.deadlines);
    }
  }
  let text = '';
  try {
    text = await readText(res.body, ERROR_BODY_LIMIT);
  } catch {
    // The status line is what matters; a broken error body is not worth more.
  }
  if (res.statusCode === 404 || res.statusCode === 410) {
    return { found: false, notFound: new NotFoundError(base, res.statusCode, refusalWords(text)) };
  }
  // Another 4xx is passed on too (refusalOf); a 5xx's words are only quoted in godepot's 502 and its log.
  const said = isRefusalStatus(res.statusCode) ? refusalWords(text) : firstLine(text, 300);
  const detail = `${res.statusCode}${said ? `: ${said}` : ''}${CREDENTIALS_REFUSED[res.statusCode] ?? ''}`;
  // 501 and 508 (a loop: a godepot whose upstream leads back to itself) do not change by asking again.
  const transient =
    (res.statusCode >= 500 && res.statusCode !== 501 && res.statusCode !== 508) ||
    res.statusCode === 429 ||
    res.statusCode === 408;
  const retryAfterMs = parseRetryAfter(res.headers['retry-after'], (opts.now ?? Date.now)());
  throw new UpstreamError({
    upstream: base,
    failure: 'status',
    status: res.statusCode,
    detail,
    transient,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** One GET of url; a failure to get an answer is classified (the caller's own abort is passed on as it is). */
async function send(
  base: string,
  url: URL,
  opts: AttemptOptions,
  headers: Record<string, string> | undefined,
): Promise<Dispatcher.ResponseData> {
  try {
    return await untilAborted(
      opts.dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headersTimeout: opts.deadlines.firstByte,
        bodyTimeout: opts.deadlines.idle,
        signal: opts.signal,
        headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...headers },
      }),
      opts.signal,
    );
  } catch (err) {
    if (abortedByCaller(opts.signal)) throw err;
    throw classifyNetworkError(base, err, 'request', opts.via, opts.deadlines);
  }
}

/** Whether signal was aborted by the caller (its own abort is passed on as it is), not by its deadline (a time-out). */
function abortedByCaller(signal: AbortSignal): boolean {
  return signal.aborted && !(signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError');
}

/** The redirects the go command's HTTP client follows (Go's net/http), and how many requests one call makes at most. */
export const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const MAX_REQUESTS = 10;

/**
 * Where a redirect to `location` from `from` (the call began at `first`, and
 * has made `requests` requests) leads, as the go command follows one
 * (web/http.go): to an http(s) URL, never from https to plain http (what
 * comes over plain http anyone on the way may have changed), and 10
 * requests at most. A string says why it is not followed: the redirect is
 * then the answer. Shared by the upstream calls and `godepot doctor`.
 */
export function followedRedirect(first: URL, from: URL, location: string, requests: number): URL | string {
  if (requests >= MAX_REQUESTS) return `stopped after ${MAX_REQUESTS} redirects`;
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    return `redirected to ${JSON.stringify(location.slice(0, 200))}, which is not a URL`;
  }
  if (to.protocol !== 'http:' && to.protocol !== 'https:') return `redirected to ${shown(to)}, not an http(s) URL`;
  if (first.protocol === 'https:' && to.protocol !== 'https:')
    return `redirected from secure URL ${shown(from)} to insecure URL ${shown(to)}`;
  return to;
}

/** followedRedirect for an upstream call: a redirect not followed is a bad status, not worth retrying. */
function redirectTarget(base: string, first: URL, from: URL, res: Dispatcher.ResponseData, requests: number): URL {
  const to = followedRedirect(first, from, locationOf(res), requests);
  if (typeof to !== 'string') return to;
  throw new UpstreamError({
    upstream: base,
    failure: 'status',
    status: res.statusCode,
    detail: `${res.statusCode}: ${to}`,
    transient: false,
  });
}

/** A response's Location ('' when it has none: a 3xx without one is the answer, as for Go's client). */
function locationOf(res: Dispatcher.ResponseData): string {
  return [res.headers.location].flat()[0] ?? '';
}

/** A URL for messages: no user:password, no query (a presigned download URL carries its token there). */
function shown(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`.slice(0, 300);
}

/**
 * A 200 body as it was before its Content-Encoding. godepot asks for
 * identity, but a server may encode anyway (a static file store serves an
 * object uploaded gzipped as it is, whatever the request asks); the go
 * command's HTTP client decodes gzip, so godepot does too, and the body
 * readers' limits count the decoded bytes. Any other encoding is refused:
 * its bytes are not the artifact (a .mod's would fail its checksum as if
 * the upstream had altered it).
 */
function decoded(body: Readable, encoding: string | string[] | undefined): Readable {
  const e = (Array.isArray(encoding) ? encoding.join(', ') : (encoding ?? '')).trim().toLowerCase();
  if (e === '' || e === 'identity') return body;
  if (e === 'gzip') return pipeline(body, createGunzip(), () => undefined);
  throw new BadBodyError(
    `the answer has Content-Encoding ${JSON.stringify(e)}, which godepot did not ask for and cannot decode`,
  );
}

/**
 * The response, or signal's reason as soon as it aborts: undici sees a
 * request's signal only once the request has a connection, so a connection
 * that never comes (a proxy that never answers CONNECT) would otherwise hold
 * the call past every deadline. A response that comes after is thrown away.
 */
function untilAborted(
  response: Promise<Dispatcher.ResponseData>,
  signal: AbortSignal,
): Promise<Dispatcher.ResponseData> {
  if (signal.aborted) {
    response.then(
      (r) => discard(r.body),
      () => undefined,
    );
    return Promise.reject(signal.reason as Error);
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      response.then(
        (r) => discard(r.body),
        () => undefined,
      );
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    response.then(
      (r) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) discard(r.body);
        else resolve(r);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

/** Reads a whole body into memory, refusing more than limit bytes. */
export function readLimited(limit: number): BodyReader<Buffer> {
  return async (body) => {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of body) {
      const b = c as Buffer;
      n += b.length;
      if (n > limit) throw new BadBodyError(`response larger than ${limit} bytes`);
      chunks.push(b);
    }
    return Buffer.concat(chunks, n);
  };
}
