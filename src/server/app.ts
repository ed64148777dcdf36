// The HTTP application, separate from listen(): routes, the error → status
// mapping (in one place), access logs and request metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { toGodepotError, GodepotError } from '../proxy/errors.js';
import type { Artifact } from '../proxy/artifact.js';
import { decodeRequestPath, parseProxyPath, type ProxyRequest } from '../proxy/request.js';
import type { ModuleService } from '../proxy/service.js';
import type { ServiceEvents } from '../proxy/context.js';
import type { Metrics } from './metrics.js';
import { sendArtifact, sendError, sendText } from './respond.js';
import type { Health } from './health.js';
import type { SumdbEndpoint } from './sumdb-endpoint.js';

export interface AppDeps {
  readonly service: ModuleService;
  readonly sumdbs: readonly SumdbEndpoint[];
  readonly metrics: Metrics;
  readonly health: Health;
  readonly log: Logger;
  readonly accessLog: boolean;
  readonly events: ServiceEvents;
  /** JSON for GET /api/incidents. */
  readonly incidents?: () => Promise<unknown>;
}

interface RequestLog {
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
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Refuses new requests (503) and waits for in-flight ones, at most timeoutMs. */
  drain(timeoutMs: number): Promise<boolean>;
  readonly inFlight: number;
}

const ABOUT = 'godepot: a verifying Go module proxy and checksum-database mirror.\nUse it with: GOPROXY=<this URL> (keep GOSUMDB on).\n';

export function createApp(deps: AppDeps): App {
  let inFlight = 0;
  let draining = false;
  const idleWaiters: Array<() => void> = [];

  const finished = (): void => {
    inFlight--;
    if (inFlight === 0) idleWaiters.splice(0).forEach((f) => f());
  };

  async function route(req: IncomingMessage, res: ServerResponse, info: RequestLog, signal: AbortSignal): Promise<void> {
    const head = req.method === 'HEAD';
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    switch (rawPath) {
      case '/':
        info.route = 'about';
        return sendText(res, 200, ABOUT, undefined, head);
      case '/healthz':
        info.route = 'healthz';
        return sendText(res, 200, 'ok\n', undefined, head);
      case '/readyz': {
        info.route = 'readyz';
        const r = await deps.health.readiness();
        return sendText(res, r.ready ? 200 : 503, JSON.stringify(r, null, 2) + '\n', 'application/json', head);
      }
      case '/metrics':
        info.route = 'metrics';
        return sendText(res, 200, await deps.metrics.registry.metrics(), deps.metrics.registry.contentType, head);
      case '/api/incidents':
        info.route = 'incidents';
        return sendText(res, 200, JSON.stringify(deps.incidents ? await deps.incidents() : [], null, 2) + '\n', 'application/json', head);
    }
    if (draining) throw new GodepotError('shutting_down', 'godepot: shutting down; retry in a moment');
    const path = decodeRequestPath(rawPath);
    if (path.startsWith('/sumdb/')) return serveSumdb(req, res, path.slice('/sumdb/'.length), info, signal);
    let parsed: ProxyRequest | null;
    try {
      parsed = parseProxyPath(path);
    } catch (err) {
      info.route = 'bad_request';
      throw err;
    }
    if (!parsed) throw new GodepotError('not_found', 'not found: godepot serves the GOPROXY protocol (/<module>/@v/list, /@v/<version>.info|.mod|.zip, /@latest) and /sumdb/<name>/…');
    info.route = parsed.kind;
    info.module = parsed.path;
    if ('version' in parsed) info.version = parsed.version;
    const artifact = await deps.service.get(parsed, signal);
    note(info, artifact);
    deps.metrics.cache.inc({ kind: artifact.kind, outcome: artifact.cache });
    deps.events.served?.({ kind: artifact.kind, outcome: artifact.cache, verification: artifact.verification });
    await sendArtifact(req, res, artifact);
  }

  async function serveSumdb(req: IncomingMessage, res: ServerResponse, rest: string, info: RequestLog, signal: AbortSignal): Promise<void> {
    info.route = 'sumdb';
    // Database names may contain '/', so match configured names as prefixes.
    const db = deps.sumdbs.find((d) => rest.startsWith(d.name + '/'));
    if (!db) {
      throw new GodepotError('not_found', `not found: godepot does not mirror checksum database ${JSON.stringify(rest.split('/')[0] ?? '')}`);
    }
    const sub = rest.slice(db.name.length + 1);
    info.route = sumdbRoute(sub);
    const answer = await db.serve(sub, signal);
    info.cache = answer.cache;
    const headers: Record<string, string | number> = {
      'content-type': answer.contentType,
      'content-length': answer.body.length,
      'cache-control': answer.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-godepot-cache': answer.cache,
    };
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    inFlight++;
    const info: RequestLog = { route: 'other' };
    const ctl = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) ctl.abort(new Error('client went away'));
      const seconds = (performance.now() - started) / 1000;
      deps.metrics.httpRequests.inc({ route: info.route, status: String(res.statusCode) });
      deps.metrics.httpDuration.observe({ route: info.route }, seconds);
      if (deps.accessLog) {
        deps.log.info({ method: req.method, path: req.url, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10, ...info }, 'request');
      }
      finished();
    });
    const method = req.method ?? '';
    if (method !== 'GET' && method !== 'HEAD') {
      info.route = 'method_not_allowed';
      sendError(res, new GodepotError('method_not_allowed', `godepot: method ${method.slice(0, 20)} not allowed; the module proxy protocol is read-only (GET, HEAD)`));
      return;
    }
    route(req, res, info, ctl.signal).catch((err: unknown) => {
      const e = toGodepotError(err, 'the request');
      info.error = e.code;
      if (e.status >= 500) deps.log.warn({ path: req.url, code: e.code, err: e.message, details: e.details }, 'request failed');
      if (e.code === 'internal') deps.log.error({ path: req.url, err: err instanceof Error ? err.stack : String(err) }, 'internal error');
      deps.events.served?.({ kind: (['list', 'latest', 'info', 'mod', 'zip'] as const).find((k) => k === info.route) ?? 'info', outcome: 'error', status: e.status });
      sendError(res, e, method === 'HEAD');
    });
  }

  return {
    handle,
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

function note(info: RequestLog, a: Artifact): void {
  info.cache = a.cache;
  info.verification = a.verification;
  if (a.upstream) {
    info.upstream = a.upstream.url;
    info.upstreamMs = Math.round(a.upstream.ms);
  }
}

function sumdbRoute(sub: string): string {
  if (sub === 'supported') return 'sumdb_supported';
  if (sub === 'latest') return 'sumdb_latest';
  if (sub.startsWith('lookup/')) return 'sumdb_lookup';
  if (/^tile\/\d+\/data\//.test(sub)) return 'sumdb_data_tile';
  if (sub.startsWith('tile/')) return 'sumdb_tile';
  return 'sumdb_other';
}
