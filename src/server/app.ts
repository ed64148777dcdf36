// The HTTP application, separate from listen(): routes, the error → status
// mapping (in one place), access logs and request metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { toGodepotError, GodepotError, type ErrorCode } from '../proxy/errors.js';
import type { Artifact } from '../proxy/artifact.js';
import { decodeRequestPath, parseProxyPath, type ProxyRequest } from '../proxy/request.js';
import type { ModuleService } from '../proxy/service.js';
import type { ServiceEvents } from '../proxy/context.js';
import type { Metrics } from './metrics.js';
import { immutableFor, sendArtifact, sendBuffered, sendError, sendText, type CacheScope } from './respond.js';
import type { Health } from './health.js';
import { parseSumdbRequest, sumdbRoute } from '../sumdb/request.js';
import type { SumdbEndpoint } from './sumdb-endpoint.js';
import type { OperatorRoutes } from './api.js';
import { systemClock, type Clock } from '../util/clock.js';
import { SAID_EVERY_MS, Spacing } from '../util/spacing.js';

export interface AppDeps {
  readonly service: ModuleService;
  readonly sumdbs: readonly SumdbEndpoint[];
  readonly metrics: Metrics;
  readonly health: Health;
  readonly log: Logger;
  /** Writes one access-log line per request (null: no access log). */
  readonly accessLog: ((record: object) => void) | null;
  readonly events: ServiceEvents;
  /** JSON for GET /api/incidents. */
  readonly incidents?: () => Promise<unknown>;
  /** This godepot's name in the Via header of its upstream calls (selfTag): a request carrying it is a loop. */
  readonly self?: string;
  /** --node-name: named first in /readyz, so that a check of several nodes says which one answered. */
  readonly node?: string;
  /** The --auth gate: the refusal (401 'unauthorized', 403 'forbidden') of a request, or null to let it in. */
  readonly authorize?: (req: IncomingMessage) => GodepotError | null;
  /**
   * With --auth: whether a request's user may read the operator pages (a user allowed every module). /readyz
   * is open, and shows the others its failure texts withheld: they quote upstreams, which may name modules.
   */
  readonly operatorUser?: (req: IncomingMessage) => boolean;
  /** The operator page and its JSON API (api.ts); an auth gate wraps this one function. */
  readonly operator?: OperatorRoutes;
  /** What the spacing of 'request failed' warnings is measured on (default: the system clock). */
  readonly clock?: Clock;
}

interface RequestLog {
  method?: string;
  path?: string;
  status?: number;
  ms?: number;
  route: string;
  module?: string;
  version?: string;
  cache?: string;
  verification?: string;
  upstream?: string;
  upstreamMs?: number;
  error?: string;
}

export interface App {
  /**
   * Answers one request. `reserved`: the connection is in the flood reserve
   * (http-server.ts): only /healthz and cache hits held in memory are
   * answered, anything else gets 503.
   */
  handle(req: IncomingMessage, res: ServerResponse, reserved?: boolean): void;
  /** Answers a request with an error without routing it (logged and counted like any other). */
  refuse(req: IncomingMessage, res: ServerResponse, code: ErrorCode, message: string): void;
  /** Refuses new requests (503) and waits for in-flight ones, at most timeoutMs. */
  drain(timeoutMs: number): Promise<boolean>;
  readonly inFlight: number;
}

const ABOUT =
  'godepot: a verifying Go module proxy and checksum-database mirror.\nUse it with: GOPROXY=<this URL> (keep GOSUMDB on).\n';

export function createApp(deps: AppDeps): App {
  const clock = deps.clock ?? systemClock;
  // An upstream or a store that is down fails every request alike: one warning per code every SAID_EVERY_MS
  // says it (with how many more failed since the last), not one per request, which would bury the outage line
  // (the access log has each request's code); a failure that opens no outage (a private module's credentials,
  // a single module's upstream error) still reaches the log with its reason.
  const warned = new Spacing<ErrorCode>(SAID_EVERY_MS, () => clock.now());
  let inFlight = 0;
  let draining = false;
  // Behind --auth every answer is someone's: a shared cache in front must not keep module artifacts for others.
  const scope: CacheScope = deps.authorize ? 'private' : 'public';
  const idleWaiters: Array<() => void> = [];

  const finished = (): void => {
    inFlight--;
    if (inFlight === 0) idleWaiters.splice(0).forEach((f) => f());
  };

  /** The routes that are not artifacts (health, metrics, …); null when rawPath is none of them. */
  function special(
    rawPath: string,
  ): ((req: IncomingMessage, res: ServerResponse, info: RequestLog, head: boolean) => Promise<void>) | null {
    switch (rawPath) {
      case '/':
        return async (_req, res, info, head) => {
          info.route = 'about';
          sendText(res, 200, ABOUT, undefined, head);
        };
      case '/healthz':
        return async (_req, res, info, head) => {
          info.route = 'healthz';
          sendText(res, 200, 'ok\n', undefined, head);
        };
      case '/readyz':
        return async (req, res, info, head) => {
          info.route = 'readyz';
          const r = await deps.health.readiness({ details: deps.operatorUser?.(req) ?? true });
          const body = deps.node ? { node: deps.node, ...r } : r;
          sendText(res, r.ready ? 200 : 503, JSON.stringify(body, null, 2) + '\n', 'application/json', head);
        };
      case '/metrics':
        return async (_req, res, info, head) => {
          info.route = 'metrics';
          sendText(res, 200, await deps.metrics.exposition(), deps.metrics.registry.contentType, head);
        };
      case '/api/incidents':
        return async (_req, res, info, head) => {
          info.route = 'incidents';
          sendText(
            res,
            200,
            JSON.stringify(deps.incidents ? await deps.incidents() : [], null, 2) + '\n',
            'application/json',
            head,
          );
        };
    }
    return null;
  }

  /**
   * Routes one request. A cache hit held in memory is answered right here,
   * synchronously (returns undefined); everything else returns the promise
   * of its answer. Throws (or rejects) with what sendError should answer.
   */
  function route(
    req: IncomingMessage,
    res: ServerResponse,
    info: RequestLog,
    signal: () => AbortSignal,
    reserved: boolean,
  ): Promise<void> | undefined {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const page = deps.operator?.(rawPath, req);
    if (page) {
      if (reserved) throw overloaded();
      info.route = page.route;
      return page.serve(req, res, req.method === 'HEAD');
    }
    const other = special(rawPath);
    if (other && (!reserved || rawPath === '/healthz')) return other(req, res, info, req.method === 'HEAD');
    if (reserved && other) throw overloaded();
    if (draining) throw new GodepotError('shutting_down', 'godepot: shutting down; retry in a moment');
    const path = decodeRequestPath(rawPath);
    if (path.startsWith('/sumdb/')) return serveSumdb(req, res, path.slice('/sumdb/'.length), info, signal());
    let p: ProxyRequest | null;
    try {
      p = parseProxyPath(path);
    } catch (err) {
      info.route = 'bad_request';
      throw err;
    }
    if (!p)
      throw new GodepotError(
        'not_found',
        'not found: godepot serves the GOPROXY protocol (/<module>/@v/list, /@v/<version>.info|.mod|.zip, /@latest) and /sumdb/<name>/…',
      );
    info.route = p.kind;
    info.module = p.path;
    if ('version' in p) info.version = p.version;
    const hit = deps.service.peek(p);
    if (hit) {
      served(info, hit);
      sendBuffered(req, res, hit, hit.body, scope);
      return undefined;
    }
    if (reserved) throw overloaded();
    return serveArtifact(req, res, p, info, signal());
  }

  async function serveArtifact(
    req: IncomingMessage,
    res: ServerResponse,
    parsed: ProxyRequest,
    info: RequestLog,
    signal: AbortSignal,
  ): Promise<void> {
    const artifact = await deps.service.get(parsed, signal);
    served(info, artifact);
    await sendArtifact(req, res, artifact, scope);
  }

  function served(info: RequestLog, artifact: Artifact): void {
    note(info, artifact);
    deps.metrics.cache.inc(artifact.kind, artifact.cache);
    deps.events.served?.({ kind: artifact.kind, outcome: artifact.cache, verification: artifact.verification });
  }

  async function serveSumdb(
    req: IncomingMessage,
    res: ServerResponse,
    rest: string,
    info: RequestLog,
    signal: AbortSignal,
  ): Promise<void> {
    info.route = 'sumdb';
    // Database names may contain '/', so match configured names as prefixes.
    const db = deps.sumdbs.find((d) => rest.startsWith(d.name + '/'));
    if (!db) {
      throw new GodepotError(
        'not_found',
        `not found: godepot does not mirror checksum database ${JSON.stringify(rest.split('/')[0] ?? '')}`,
      );
    }
    const request = parseSumdbRequest(rest.slice(db.name.length + 1));
    info.route = sumdbRoute(request);
    const answer = await db.serve(request, signal);
    info.cache = answer.cache;
    // Counted as an artifact's answer is: a database outage's incident shows the lookups its copy covered.
    deps.events.served?.({ kind: 'sumdb', outcome: answer.cache });
    const headers: Record<string, string | number> = {
      'content-type': answer.contentType,
      'content-length': answer.body.length,
      'cache-control': answer.immutable ? immutableFor(scope) : 'no-cache',
      'x-godepot-cache': answer.cache,
    };
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  }

  /** Counts and logs a request once its response is done (or abandoned). */
  function account(req: IncomingMessage, res: ServerResponse, info: RequestLog, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.httpRequests.inc(info.route, statusText(res.statusCode));
    deps.metrics.httpDuration.observe(info.route, seconds);
    if (deps.accessLog) {
      info.method = req.method;
      info.path = req.url;
      info.status = res.statusCode;
      info.ms = Math.round(seconds * 1e4) / 10;
      deps.accessLog(info);
    }
    finished();
  }

  function handle(req: IncomingMessage, res: ServerResponse, reserved = false, refusal?: GodepotError): void {
    const started = performance.now();
    inFlight++;
    // Every field, in log order, from the start: one object shape for every request.
    const info: RequestLog = {
      method: undefined,
      path: undefined,
      status: undefined,
      ms: undefined,
      route: 'other',
      module: undefined,
      version: undefined,
      cache: undefined,
      verification: undefined,
      upstream: undefined,
      upstreamMs: undefined,
      error: undefined,
    };
    // Made on first use: a cache hit answered from memory never needs one.
    let ctl: AbortController | undefined;
    let gone = false;
    const signal = (): AbortSignal => {
      if (!ctl) {
        ctl = new AbortController();
        if (gone) ctl.abort(new Error('client went away'));
      }
      return ctl.signal;
    };
    const method = req.method ?? '';
    const failed = (err: unknown): void => {
      // The client hung up (its request and any write then fail): nothing to
      // answer, and not a server error; the access log says client_closed.
      if (gone || res.destroyed) return;
      const e = toGodepotError(err, 'the request');
      info.error = e.code;
      if (e.status >= 500 && e.code !== 'overloaded') {
        const record = { path: req.url, code: e.code, err: e.message, details: e.details };
        // A store that takes no writes (a full disk, a read-only folder, an object store away) needs an operator;
        // an upstream's failure is covered from the cache (its outage has lines of its own).
        const level = e.code === 'storage_failed' ? 'error' : 'warn';
        warned.say(deps.log, level, e.code, record, 'request failed', 'alsoFailedSince');
      }
      if (e.code === 'internal')
        deps.log.error({ path: req.url, err: err instanceof Error ? err.stack : String(err) }, 'internal error');
      deps.events.served?.({
        kind: info.route.startsWith('sumdb')
          ? 'sumdb'
          : ((['list', 'latest', 'info', 'mod', 'zip'] as const).find((k) => k === info.route) ?? 'info'),
        outcome: 'error',
        status: e.status,
      });
      sendError(res, e, method === 'HEAD');
    };
    let answering: Promise<void> | undefined;
    let gate: GodepotError | null = null;
    if (refusal) {
      info.route = 'refused';
      failed(refusal);
    } else if (method !== 'GET' && method !== 'HEAD') {
      info.route = 'method_not_allowed';
      sendError(
        res,
        new GodepotError(
          'method_not_allowed',
          `godepot: method ${method.slice(0, 20)} not allowed; the module proxy protocol is read-only (GET, HEAD)`,
        ),
      );
    } else if (deps.self !== undefined && req.headers.via?.includes(deps.self)) {
      // This godepot asking itself: answered at once (else each miss waits out its own deadline, then says "time-out").
      info.route = 'loop';
      sendError(
        res,
        new GodepotError(
          'loop_detected',
          'godepot: this request came from this godepot itself: its --upstream (or a proxy behind it) leads back here; point --upstream at a module proxy such as https://proxy.golang.org',
        ),
        method === 'HEAD',
      );
    } else if (deps.authorize && (gate = deps.authorize(req)) !== null) {
      info.route = 'auth';
      info.error = gate.code;
      if (gate.code === 'unauthorized') res.setHeader('www-authenticate', 'Basic realm="godepot", charset="UTF-8"');
      sendError(res, gate, method === 'HEAD');
    } else {
      try {
        answering = route(req, res, info, signal, reserved)?.catch(failed);
      } catch (err) {
        failed(err);
      }
    }
    if (answering === undefined && res.writableEnded && !res.socket?.writableLength) {
      // Answered synchronously (a memory hit, a refusal) and the kernel took
      // every byte: nothing is left to abort or to wait for when draining.
      account(req, res, info, started);
      return;
    }
    res.on('close', () => {
      if (!res.writableFinished) {
        gone = true;
        info.error = 'client_closed';
        ctl?.abort(new Error('client went away'));
      }
      account(req, res, info, started);
    });
  }

  return {
    handle,
    refuse: (req, res, code, message) => handle(req, res, false, new GodepotError(code, message)),
    get inFlight() {
      return inFlight;
    },
    async drain(timeoutMs: number): Promise<boolean> {
      draining = true;
      if (inFlight === 0) return true;
      return await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), timeoutMs);
        idleWaiters.push(() => {
          clearTimeout(t);
          resolve(true);
        });
      });
    },
  };
}

function overloaded(): GodepotError {
  return new GodepotError('overloaded', 'godepot: too many connections; retry in a few seconds');
}

/** Status codes as label values, made once each. */
const STATUS_TEXT: string[] = [];
function statusText(code: number): string {
  return (STATUS_TEXT[code] ??= String(code));
}

function note(info: RequestLog, a: Artifact): void {
  info.cache = a.cache;
  info.verification = a.verification;
  if (a.upstream) {
    info.upstream = a.upstream.url;
    info.upstreamMs = Math.round(a.upstream.ms);
  }
}
