// The network checks of `godepot doctor`, one step at a time so a failure
// names its layer: DNS resolution, TCP connect, TLS handshake (https), then
// HTTP. Each step has its own deadline and reports how long it took.
import { lookup } from 'node:dns/promises';
import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { request } from 'undici';
import { codesOf, TLS_CODE } from '../../upstream/errors.js';
import { PLAIN_HTTP_ANSWER } from '../../util/trust.js';
import { connectingAgent, followedRedirect, REDIRECTS, USER_AGENT } from '../../upstream/http.js';
import { goTrustOptions, type TrustOptions } from '../../upstream/roots.js';
import { splitCredentials } from '../../upstream/credentials.js';

export type StepName = 'dns' | 'tcp' | 'tls' | 'http' | 'key' | 'godepot';
export type StepFailure =
  'dns' | 'refused' | 'connect' | 'timeout' | 'tls' | 'plain-http' | 'status' | 'auth' | 'body' | 'key' | 'unhealthy';

export interface Step {
  readonly name: StepName;
  readonly ok: boolean;
  readonly detail: string;
  readonly ms: number;
  readonly failure?: StepFailure;
  /** Informational lines (e.g. "does not serve this database") are neither ok nor failed. */
  readonly note?: boolean;
  /** What to do, when the step knows better than its failure's usual fix (a godepot's reasons). */
  readonly fix?: string;
}

const CODE_FAILURE: Record<string, StepFailure> = {
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NONAME: 'dns',
  EAI_NODATA: 'dns',
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  TimeoutError: 'timeout',
  // An answer that is not HTTP: the port has another service behind it, not a broken path.
  HTTPParserError: 'body',
};

export function classify(err: unknown, fallback: StepFailure): StepFailure {
  const codes = codesOf(err);
  for (const c of codes) {
    const f = CODE_FAILURE[c];
    if (f) return f;
  }
  return codes.some((c) => TLS_CODE.test(c)) ? 'tls' : fallback;
}

function errText(err: unknown): string {
  // The first system code (ECONNREFUSED, ERR_TLS_…), not an error class name.
  const code = codesOf(err).find((c) => /^[A-Z][A-Z0-9_]+$/.test(c));
  const msg = err instanceof Error ? err.message : String(err);
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}

async function timed<T>(ms: number, f: (signal: AbortSignal) => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const signal = AbortSignal.timeout(ms);
  const value = await Promise.race([
    f(signal),
    new Promise<never>((_, reject) =>
      signal.addEventListener(
        'abort',
        () => reject(Object.assign(new Error(`no answer within ${ms / 1000}s`), { code: 'ETIMEDOUT' })),
        { once: true },
      ),
    ),
  ]);
  return { value, ms: Math.round(performance.now() - started) };
}

function portOf(u: URL): number {
  if (u.port) return Number(u.port);
  return u.protocol === 'https:' ? 443 : 80;
}

/** DNS, TCP and (for https) TLS to the URL's host; stops at the first failure. */
export async function probeConnection(
  url: string,
  timeoutMs: number,
  trust: TrustOptions = goTrustOptions(),
): Promise<{ steps: Step[]; ok: boolean }> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = portOf(u);
  const steps: Step[] = [];
  const fail = (
    name: StepName,
    started: number,
    err: unknown,
    fallback: StepFailure,
    what: string,
  ): { steps: Step[]; ok: boolean } => {
    steps.push({
      name,
      ok: false,
      ms: Math.round(performance.now() - started),
      failure: classify(err, fallback),
      detail: `${what}: ${errText(err)}`,
    });
    return { steps, ok: false };
  };
  let address = host;
  let started = performance.now();
  if (isIP(host) === 0) {
    try {
      const r = await timed(timeoutMs, () => lookup(host, { all: true }));
      address = r.value[0]?.address ?? host;
      steps.push({
        name: 'dns',
        ok: true,
        ms: r.ms,
        detail: `${host} → ${r.value
          .map((a) => a.address)
          .slice(0, 3)
          .join(', ')}`,
      });
    } catch (err) {
      return fail('dns', started, err, 'dns', `${host} does not resolve`);
    }
  }
  started = performance.now();
  try {
    const r = await timed(timeoutMs, (signal) =>
      openSocket(() => tcpConnect({ host: address, port }), 'connect', signal),
    );
    r.value.destroy();
    steps.push({ name: 'tcp', ok: true, ms: r.ms, detail: `connected to ${address}:${port}` });
  } catch (err) {
    const f = classify(err, 'connect');
    return fail(
      'tcp',
      started,
      err,
      'connect',
      f === 'refused'
        ? `connection to ${address}:${port} refused (nothing listens there)`
        : `cannot connect to ${address}:${port}`,
    );
  }
  if (u.protocol === 'https:') {
    started = performance.now();
    try {
      const r = await timed(timeoutMs, (signal) =>
        openSocket(
          () =>
            tlsConnect({
              host: address,
              port,
              ...(isIP(host) === 0 ? { servername: host } : {}),
              ALPNProtocols: ['http/1.1'],
              ...trust,
            }),
          'secureConnect',
          signal,
        ),
      );
      const s = r.value as TLSSocket;
      const cert = s.getPeerCertificate();
      const detail = `${s.getProtocol() ?? 'TLS'}, certificate for ${cert.subject?.CN ?? host} valid until ${cert.valid_to ?? '?'}`;
      s.destroy();
      steps.push({ name: 'tls', ok: true, ms: r.ms, detail });
    } catch (err) {
      // An https URL of a plain-HTTP server (a GOPROXY entry without a scheme means https://): not a certificate problem.
      if (PLAIN_HTTP_ANSWER.test(errText(err))) {
        const ms = Math.round(performance.now() - started);
        steps.push({
          name: 'tls',
          ok: false,
          ms,
          failure: 'plain-http',
          detail: `${host}:${port} answered in plain HTTP, not TLS`,
        });
        return { steps, ok: false };
      }
      return fail('tls', started, err, 'tls', `TLS handshake with ${host} failed`);
    }
  }
  return { steps, ok: true };
}

function openSocket(open: () => Socket, ready: 'connect' | 'secureConnect', signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = open();
    signal.addEventListener('abort', () => s.destroy(), { once: true });
    s.once(ready, () => resolve(s));
    s.once('error', (err) => {
      s.destroy();
      reject(err);
    });
  });
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: Buffer;
  readonly ms: number;
}

/**
 * url without its userinfo, and the Authorization the go command would send
 * it: over https only, the URL's own user:password, else ambientAuth's
 * (.netrc) for it.
 */
export function withCredentials(
  url: string,
  ambientAuth?: (url: string) => string | undefined,
): { target: URL; authorization?: string } {
  const target = new URL(url);
  const { credential } = splitCredentials(target);
  target.username = '';
  target.password = '';
  if (target.protocol !== 'https:') return { target };
  const authorization = credential?.authorization ?? ambientAuth?.(target.toString().replace(/\/+$/, ''));
  return authorization === undefined ? { target } : { target, authorization };
}

/**
 * One GET with one deadline for the whole answer, redirects included; the
 * body is cut at 1 MiB. Redirects are followed as the go command follows
 * them (to http(s), never from https to http, 10 requests at most); one it
 * would not follow is the answer. Through `proxy` (an HTTP proxy URL) when
 * given, and with the credentials the go command would send: over https
 * only, the URL's user:password, else ambientAuth's (.netrc) for it, and to
 * that origin only.
 */
export async function httpGet(
  url: string,
  timeoutMs: number,
  proxy?: string,
  trust: TrustOptions = goTrustOptions(),
  ambientAuth?: (url: string) => string | undefined,
): Promise<HttpAnswer> {
  const { target, authorization } = withCredentials(url, ambientAuth);
  const agent = connectingAgent({ timeout: timeoutMs, ...trust }, proxy);
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    let at = target;
    for (let requests = 1; ; requests++) {
      const res = await request(at, {
        dispatcher: agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal,
        headers: {
          'user-agent': USER_AGENT,
          ...(authorization && at.origin === target.origin ? { authorization } : {}),
        },
      });
      const to = REDIRECTS.has(res.statusCode) ? redirectTarget(at, target, res.headers.location, requests) : null;
      if (to) {
        await res.body.dump().catch(() => undefined);
        at = to;
        continue;
      }
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const c of res.body) {
        const b = c as Buffer;
        n += b.length;
        if (n > 1 << 20) break;
        chunks.push(b);
      }
      return { status: res.statusCode, body: Buffer.concat(chunks), ms: Math.round(performance.now() - started) };
    }
  } finally {
    await agent.close().catch(() => undefined);
  }
}

/** Where a redirect leads when the go command would follow it (upstream/http.ts); null when it is the answer. */
function redirectTarget(from: URL, first: URL, location: string | string[] | undefined, requests: number): URL | null {
  const l = [location].flat()[0];
  if (l === undefined || l === '') return null;
  const to = followedRedirect(first, from, l, requests);
  return typeof to === 'string' ? null : to;
}
