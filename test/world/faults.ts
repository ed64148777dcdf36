// Fault switches shared by the fake upstreams. A fault is chosen per request
// (the newest matching rule wins) and either replaces the transport behaviour
// (hang, hold, reset, status, slow, truncate, garbage, delay) or asks the handler
// for different content (alter, alterRecord, alterTile, badSignature).

export type Fault =
  /** Accept the connection, read the request, never answer (until close()). */
  | { kind: 'hang' }
  /** Accept the request and hold it until the test calls releaseHeld(), then answer normally (no clock involved). */
  | { kind: 'hold' }
  /** Destroy the socket with a TCP RST as soon as the request arrives. */
  | { kind: 'reset' }
  /** Answer with this status and a text/plain body. */
  | { kind: 'status'; code: number; body?: string }
  /** Send the real answer, dripping the body at this rate. */
  | { kind: 'slow'; bytesPerSecond: number }
  /** Declare the full Content-Length, send half the body, close the connection. */
  | { kind: 'truncate' }
  /** 200 with bytes that are not what was asked for (not a zip, not JSON, not a note). */
  | { kind: 'garbage' }
  /** Wait, then answer normally. */
  | { kind: 'delay'; ms: number }
  /** Proxy: a well-formed but different .zip / .mod for that version (its h1 differs). */
  | { kind: 'alter' }
  /** Sumdb: /lookup answers with record text that differs from what the log holds. */
  | { kind: 'alterRecord' }
  /** Sumdb: served tiles have one byte flipped. */
  | { kind: 'alterTile' }
  /** Sumdb: tree notes are signed by a different key that has the same name and key hash. */
  | { kind: 'badSignature' }
  /** Answer with this status and a Retry-After header (delay-seconds or an HTTP-date, sent as given). */
  | { kind: 'retryAfter'; code: number; value: string }
  /** Answer 200 with one response header of this many bytes (an oversized header). */
  | { kind: 'hugeHeader'; bytes: number };

export type FaultKind = Fault['kind'];

/** Constructors, so tests read `proxy.setFault(faults.status(503), '.zip')`. */
export const faults = {
  hang: (): Fault => ({ kind: 'hang' }),
  hold: (): Fault => ({ kind: 'hold' }),
  reset: (): Fault => ({ kind: 'reset' }),
  status: (code: number, body?: string): Fault =>
    body === undefined ? { kind: 'status', code } : { kind: 'status', code, body },
  slow: (bytesPerSecond: number): Fault => ({ kind: 'slow', bytesPerSecond }),
  truncate: (): Fault => ({ kind: 'truncate' }),
  garbage: (): Fault => ({ kind: 'garbage' }),
  delay: (ms: number): Fault => ({ kind: 'delay', ms }),
  alter: (): Fault => ({ kind: 'alter' }),
  alterRecord: (): Fault => ({ kind: 'alterRecord' }),
  alterTile: (): Fault => ({ kind: 'alterTile' }),
  badSignature: (): Fault => ({ kind: 'badSignature' }),
  retryAfter: (value: string, code = 503): Fault => ({ kind: 'retryAfter', code, value }),
  hugeHeader: (bytes: number): Fault => ({ kind: 'hugeHeader', bytes }),
} as const;

/** The faults every fake server applies itself, whatever it serves. */
export const TRANSPORT_FAULTS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'hang',
  'hold',
  'reset',
  'status',
  'slow',
  'truncate',
  'garbage',
  'delay',
  'retryAfter',
  'hugeHeader',
]);

/** One request as the fake saw it. */
export interface LoggedRequest {
  method: string;
  /** The request target as received (percent-encoding kept, e.g. `%21`). */
  path: string;
  /** The path percent-decoded (`!` instead of `%21`); equals path when it cannot be decoded. */
  decodedPath: string;
  /** The status sent; undefined while pending and for hang/reset/truncate. */
  status?: number;
  /** Date.now() when the request arrived. */
  at: number;
  /** The fault applied to this request, if any. */
  fault?: FaultKind;
}

/**
 * Which requests a rule (or a count) applies to: a substring of the path
 * (raw or decoded), a RegExp tested on both, or a predicate. Omitted: all.
 */
export type RequestMatch = string | RegExp | ((request: LoggedRequest) => boolean);

export function matches(request: LoggedRequest, match: RequestMatch | undefined): boolean {
  if (match === undefined) return true;
  if (typeof match === 'string') return request.path.includes(match) || request.decodedPath.includes(match);
  if (match instanceof RegExp) return match.test(request.path) || match.test(request.decodedPath);
  return match(request);
}

export interface FaultOptions {
  /** Apply to this many matching requests only, then the rule disappears. Default: until cleared. */
  times?: number;
}

export interface FaultRule {
  fault: Fault;
  match: RequestMatch | undefined;
  remaining: number;
}

/** The rules of one server; the newest matching rule wins. */
export class FaultTable {
  private rules: FaultRule[] = [];

  constructor(private readonly supported: ReadonlySet<FaultKind>) {}

  /** Adds a rule; returns a function that removes it again. */
  add(fault: Fault, match?: RequestMatch, options: FaultOptions = {}): () => void {
    if (!this.supported.has(fault.kind)) {
      throw new Error(`fault ${fault.kind} is not supported by this server`);
    }
    const times = options.times ?? Number.POSITIVE_INFINITY;
    if (!(times > 0)) throw new Error(`fault times must be positive, got ${String(times)}`);
    const rule: FaultRule = { fault, match, remaining: times };
    this.rules.unshift(rule);
    return () => {
      this.rules = this.rules.filter((r) => r !== rule);
    };
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault for this request, consuming one use of a counted rule. */
  take(request: LoggedRequest): Fault | undefined {
    const rule = this.rules.find((r) => matches(request, r.match));
    if (rule === undefined) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
    return rule.fault;
  }
}
