// Named upstream failures (DESIGN invariant 6): every failed upstream call
// carries its class, and the class is in the message, the log line and the
// metric label.
import { codesOf } from '../util/error-codes.js';
import { isUntrusted, PLAIN_HTTP_ANSWER, UNTRUSTED_FIX } from '../util/trust.js';
import { formatAge, healthWords, type HealthFacts } from './health-words.js';
import type { Deadlines } from './types.js';

export { codesOf, formatAge };

export type FailureClass = 'dns' | 'connect' | 'tls' | 'timeout' | 'status' | 'body';

const CLASS_WORDS: Record<FailureClass, string> = {
  dns: 'DNS lookup failed',
  connect: 'connection failed',
  tls: 'TLS handshake failed',
  timeout: 'time-out',
  status: 'bad HTTP status',
  body: 'bad response body',
};

/** Whether a value (from another process, say) names a failure class. */
export function isFailureClass(v: unknown): v is FailureClass {
  return typeof v === 'string' && Object.hasOwn(CLASS_WORDS, v);
}

function describeClass(c: FailureClass): string {
  return CLASS_WORDS[c];
}

export interface UpstreamErrorInit {
  upstream: string;
  failure: FailureClass;
  detail: string;
  status?: number;
  /** Worth another attempt (network hiccup, 5xx, time-out). */
  transient: boolean;
  retryAfterMs?: number;
}

export class UpstreamError extends Error {
  readonly upstream: string;
  readonly failure: FailureClass;
  readonly detail: string;
  readonly status: number | undefined;
  readonly transient: boolean;
  readonly retryAfterMs: number | undefined;
  /** When this upstream started failing (ms since epoch), filled in by the endpoint. */
  since: number | undefined;
  /** True when the call was not even tried because the upstream's breaker is open. */
  breakerOpen = false;
  /** With breakerOpen: when a probe may go (ms since epoch), filled in by the endpoint. */
  nextProbeAt: number | undefined;

  constructor(init: UpstreamErrorInit) {
    super(`${init.upstream}: ${describeClass(init.failure)}: ${init.detail}`);
    this.name = 'UpstreamError';
    this.upstream = init.upstream;
    this.failure = init.failure;
    this.detail = init.detail;
    this.status = init.status;
    this.transient = init.transient;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** One line for a client: which upstream, what failed, since when, and (refused) when it is tried again. */
  describe(now = Date.now()): string {
    const s = `upstream ${this.upstream} ${this.breakerOpen ? 'is unavailable' : 'failed'}: ${describeClass(this.failure)} (${this.detail})`;
    // In the words /readyz and the operator page use for the upstream.
    const state: HealthFacts = {
      state: this.breakerOpen ? 'open' : 'closed',
      failingSince: this.since,
      nextProbeAt: this.nextProbeAt,
    };
    return this.breakerOpen || this.since !== undefined ? `${s}; ${healthWords(state, now)}` : s;
  }
}

/**
 * True when the failure says the upstream is unwell (unreachable, slow,
 * 5xx, 429, a broken body) rather than giving a definite answer about this
 * request (another 4xx, such as 400 "module host not permitted" or 403):
 * only the former count against its breaker and its "failing since". A 401
 * or 407 is godepot's own credentials refused: every request fails so.
 */
export function isHealthFailure(err: UpstreamError): boolean {
  if (err.failure !== 'status') return err.failure !== 'body' || err.transient;
  const s = err.status ?? 0;
  return s >= 500 || s === 429 || s === 408 || s === 401 || s === 407;
}

/**
 * A definite answer that is not the thing asked for: 404 or 410 (the module
 * or version does not exist there), or another 4xx such as 403 "not
 * available" (see isRefusal), which is passed on to the client as it is.
 */
export class NotFoundError extends Error {
  /**
   * Set by hedged mirrors: other sources of the same thing failed rather
   * than answer, so this "not found" is one source's word alone.
   */
  othersFailed = false;

  constructor(
    readonly upstream: string,
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${upstream}: ${status} ${detail}`.trim());
    this.name = 'NotFoundError';
  }
}

/** Every source of a service (a checksum database's) was asked and none answered: what each one did, in order. */
export class SourcesFailedError extends Error {
  constructor(readonly failures: readonly Error[]) {
    super(failures.map((f) => (f instanceof UpstreamError ? f.describe() : f.message)).join('; '));
    this.name = 'SourcesFailedError';
  }

  /** True when every source timed out (the client gets 504, not 502). */
  get timeout(): boolean {
    return (
      this.failures.length > 0 && this.failures.every((f) => f instanceof UpstreamError && f.failure === 'timeout')
    );
  }
}

/** A status an upstream's refusal (a NotFoundError) can carry: a whole 4xx, as read off the wire. */
export function isRefusalStatus(status: unknown): status is number {
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 499;
}

/**
 * A definite 4xx answer other than 404/410 (403 "not available", 400 "module
 * host not permitted"): the upstream works and has said no to this request.
 * It is passed on as a NotFoundError with its status, not reported as an outage.
 */
export function refusalOf(err: UpstreamError): NotFoundError | null {
  if (err.failure !== 'status' || err.status === undefined || isHealthFailure(err)) return null;
  if (err.status < 400 || err.status > 499) return null;
  return new NotFoundError(err.upstream, err.status, err.detail.replace(/^\d{3}(: )?/, ''));
}

/** Node and OpenSSL error codes of a failed TLS handshake. */
export const TLS_CODE = /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL|HOSTNAME_MISMATCH)/;

function messageOf(err: unknown): string {
  let e: unknown = err;
  let msg = '';
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const m = (e as { message?: unknown }).message;
    if (typeof m === 'string' && m !== '' && !msg.includes(m)) msg = msg ? `${msg}: ${m}` : m;
    e = (e as { cause?: unknown }).cause;
  }
  return msg || String(err);
}

/**
 * Classifies a network-level error thrown by the HTTP client. `phase` says
 * whether the response had started (a reset then is a bad body, not a failed
 * connection).
 */
/**
 * via: the HTTP proxy the call went through; a failure to connect or to get an answer names it. deadlines:
 * the call's, so that a time-out says which one ran out and how long it was (the setting to raise).
 */
export function classifyNetworkError(
  upstream: string,
  err: unknown,
  phase: 'request' | 'body',
  via?: string,
  deadlines?: Deadlines,
): UpstreamError {
  const codes = codesOf(err);
  const has = (...c: string[]): boolean => codes.some((x) => c.includes(x));
  const msg = messageOf(err);
  const of = (ms: number | undefined): string => (ms === undefined ? '' : ` of ${ms / 1000}s`);
  let failure: FailureClass;
  let detail: string;
  let transient = true;
  if (has('ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA')) {
    failure = 'dns';
    detail = `cannot resolve host (${codes.find((c) => c.startsWith('E')) ?? 'ENOTFOUND'})`;
    transient = has('EAI_AGAIN');
  } else if (has('UND_ERR_CONNECT_TIMEOUT')) {
    failure = 'timeout';
    detail = `no connection within the connect deadline${of(deadlines?.connect)}`;
  } else if (has('UND_ERR_HEADERS_TIMEOUT')) {
    failure = 'timeout';
    detail = `no response within the first-byte deadline${of(deadlines?.firstByte)}`;
  } else if (has('UND_ERR_BODY_TIMEOUT')) {
    failure = 'timeout';
    detail = `the response body stalled past the idle deadline${of(deadlines?.idle)}`;
  } else if (has('TimeoutError')) {
    failure = 'timeout';
    detail = `no complete answer within the total deadline${of(deadlines?.total)}`;
  } else if (codes.some((c) => TLS_CODE.test(c))) {
    failure = 'tls';
    detail = isUntrusted(err)
      ? `${msg}: ${UNTRUSTED_FIX}`
      : PLAIN_HTTP_ANSWER.test(msg)
        ? `the server answered in plain HTTP, not TLS: if it serves http, write its URL with http:// (a URL without a scheme means https://, as for the go command)`
        : msg.trimEnd();
    transient = false;
  } else if (phase === 'body') {
    failure = 'body';
    detail = `response cut short (${msg})`;
  } else if (
    has(
      'ECONNREFUSED',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'EADDRNOTAVAIL',
      'ECONNRESET',
      'EPIPE',
      'UND_ERR_SOCKET',
      'UND_ERR_CLOSED',
    )
  ) {
    failure = 'connect';
    detail = codes.includes('ECONNREFUSED')
      ? 'connection refused'
      : codes.includes('ECONNRESET') || codes.includes('UND_ERR_SOCKET')
        ? 'connection reset'
        : msg;
  } else {
    failure = 'connect';
    detail = msg;
  }
  // Through a proxy, a refused or stalled connection may well be the proxy's: say which way the call went.
  if (via !== undefined && phase === 'request') detail += ` (through the HTTP proxy ${via})`;
  return new UpstreamError({ upstream, failure, detail, transient });
}

export function isAbortError(err: unknown): boolean {
  const codes = codesOf(err);
  return codes.includes('AbortError') || codes.includes('ABORT_ERR') || codes.includes('UND_ERR_ABORTED');
}
