// The operator page (GET /ui/) and the JSON it reads (GET /api/…). Every
// number comes from the parts that already hold it — endpoint breakers,
// the verified trees, storage, the incident log (/api/incidents, served by
// app.ts) and OperatorStats, which listens to the same events as /metrics.
// All of it is reached through one function, `operatorRoutes`, so that an
// authentication gate can wrap the page and its API in one place.
import { readFile, readdir } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Storage } from '../storage/index.js';
import type { EndpointStatus } from '../upstream/index.js';
import type { SumdbStatus } from './sumdb-endpoint.js';
import type { OperatorStats } from './stats.js';
import { coveredSources, learnShared } from './health.js';

/** One route of the page or its API: the label for logs and metrics, and its answer. */
export interface OperatorRoute {
  readonly route: string;
  serve(req: IncomingMessage, res: ServerResponse, head: boolean): Promise<void>;
}

/** Matches a raw request path (and its Accept header for `/`); null: not an operator route. */
export type OperatorRoutes = (rawPath: string, req: IncomingMessage) => OperatorRoute | null;

/** What the API reads from a checksum-database mirror (SumdbMirror has this shape). */
export interface TreeSource {
  readonly name: string;
  readonly tree: {
    readonly head: {
      readonly tree: { readonly n: number; readonly hash: Uint8Array };
      readonly checkedAt: number;
    } | null;
    readonly fork: {
      readonly detectedAt: string;
      readonly from: string;
      readonly verifiedSize: number;
      readonly conflictingSize: number;
      readonly report: string;
    } | null;
  };
  status(): SumdbStatus;
  /** Learns what other workers or nodes verified or refused, as /readyz does (SumdbMirror.syncShared). */
  syncShared?(): Promise<void>;
}

export interface OperatorApiDeps {
  readonly stats: OperatorStats;
  /** The statistics of the whole group of workers (default: this process's `stats`). */
  readonly groupStats?: () => Promise<OperatorStats>;
  /** Every upstream endpoint's breaker state (proxies and checksum-database mirrors). */
  readonly endpoints: () => readonly EndpointStatus[];
  /** The GOPROXY-list entries, in order. */
  readonly proxies: readonly string[];
  /** The sources of each checksum database now: its own host, mirrors, and upstreams serving /sumdb/<name>/. */
  readonly sumdbMirrors: () => readonly { readonly name: string; readonly urls: readonly string[] }[];
  readonly trees: readonly TreeSource[];
  readonly storage: Storage;
  /** Artifacts held in quarantine, awaiting re-verification. */
  readonly unverified: () => Promise<number>;
  readonly offline: boolean;
  /** Where the built page lives (default: dist/ui of this package). */
  readonly uiDir?: string;
  readonly now?: () => number;
  /** A monotonic clock (ms) that times the storage scan (default: performance.now). */
  readonly monotonic?: () => number;
}

/**
 * The storage scan behind /api/cache lists every stored artifact, so it is reused at least this long (ms),
 * and at least INVENTORY_SCAN_FACTOR times as long as it took: a scan of 10 s on a huge bucket runs at most
 * every 200 s, however many pages are open.
 */
const INVENTORY_TTL_MS = 30_000;
const INVENTORY_SCAN_FACTOR = 20;
/** Listed files counted between two turns of the event loop (~20 ms of work). */
const INVENTORY_SLICE = 10_000;
/**
 * With workers, the group's statistics behind /api/upstreams, /api/cache and /api/series are gathered from every
 * worker (megabytes of samples each, added up here): one gathering serves every request for at least the page's
 * refresh interval (2 s) and GROUP_STATS_FACTOR times as long as it took, however many pages are open.
 */
const GROUP_STATS_REUSE_MS = 2_000;
const GROUP_STATS_FACTOR = 10;
/** How long /api/sumdb waits to learn the other processes' tree (ms), as /readyz waits for storage. */
const SYNC_MS = 3_000;
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.(html|js|css|map|png|svg)$/;
const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json',
  png: 'image/png',
  svg: 'image/svg+xml',
};
// Everything the page loads comes from godepot itself; uPlot sets inline styles.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface Inventory {
  readonly modules: number;
  readonly versions: number;
  readonly files: number;
  readonly bytes: number;
  readonly verifiedArtifacts: number;
  readonly scannedAt: string;
}

export class OperatorApi {
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly uiDir: string;
  private readonly inventory: Reused<Inventory>;
  private readonly grouped: Reused<OperatorStats> | null;
  private assets: Promise<Set<string>> | null = null;

  constructor(private readonly deps: OperatorApiDeps) {
    this.now = deps.now ?? Date.now;
    this.monotonic = deps.monotonic ?? (() => performance.now());
    this.uiDir = deps.uiDir ?? fileURLToPath(new URL('../../dist/ui/', import.meta.url));
    const group = deps.groupStats;
    this.inventory = new Reused(this.monotonic, INVENTORY_TTL_MS, INVENTORY_SCAN_FACTOR, () =>
      inventory(deps.storage, this.now()),
    );
    this.grouped = group ? new Reused(this.monotonic, GROUP_STATS_REUSE_MS, GROUP_STATS_FACTOR, group) : null;
  }

  private stats(): Promise<OperatorStats> {
    return this.grouped ? this.grouped.get() : Promise.resolve(this.deps.stats);
  }

  /** GET /api/upstreams */
  async upstreams(): Promise<object> {
    const stats = await this.stats();
    const roles = new Map<string, { role: 'proxy' | 'sumdb'; db?: string }>();
    for (const url of this.deps.proxies) roles.set(url, { role: 'proxy' });
    for (const m of this.deps.sumdbMirrors()) for (const url of m.urls) roles.set(url, { role: 'sumdb', db: m.name });
    const endpoints = this.deps.endpoints();
    const covered = coveredSources(endpoints, (url) => roles.get(url)?.db);
    return {
      now: new Date(this.now()).toISOString(),
      offline: this.deps.offline,
      upstreams: endpoints.map((e) => ({
        ...e,
        ...(roles.get(e.url) ?? { role: 'proxy' }),
        ...(covered.has(e.url) ? { covered: true } : {}),
        ...stats.upstream(e.url),
      })),
    };
  }

  /** GET /api/sumdb */
  async sumdb(): Promise<object> {
    // Else each worker would show its own last lookup's tree. A hung store holds the page no longer than SYNC_MS.
    await learnShared(this.deps.trees, SYNC_MS);
    return {
      now: new Date(this.now()).toISOString(),
      trees: this.deps.trees.map((t) => {
        const s = t.status();
        const head = t.tree.head;
        const taken = this.deps.stats.headTakenAt(t.name);
        return {
          name: t.name,
          size: head?.tree.n ?? 0,
          rootHash: head ? Buffer.from(head.tree.hash).toString('base64') : null,
          status: s.status,
          ...(s.detail ? { detail: s.detail } : {}),
          headTakenAt: taken === undefined ? null : new Date(taken).toISOString(),
          lastCheckedAt: head ? new Date(head.checkedAt).toISOString() : null,
          fork: t.tree.fork,
        };
      }),
    };
  }

  /** GET /api/cache */
  async cache(): Promise<object> {
    const [inv, unverified, stats] = await Promise.all([
      this.scan(),
      this.deps.unverified().catch(() => null),
      this.stats(),
    ]);
    const refused = stats.refused();
    return {
      now: new Date(this.now()).toISOString(),
      modules: inv.modules,
      versions: inv.versions,
      files: inv.files,
      bytes: inv.bytes,
      scannedAt: inv.scannedAt,
      hitRatio: stats.hitRatio(),
      artifacts: { verified: inv.verifiedArtifacts, unverified, refused: refused.length },
      refused,
    };
  }

  /** GET /api/series */
  async series(): Promise<object> {
    return (await this.stats()).series();
  }

  /** The stored-artifact counts: one scan at a time, reused as INVENTORY_TTL_MS and INVENTORY_SCAN_FACTOR say. */
  private scan(): Promise<Inventory> {
    return this.inventory.get();
  }

  /** Serves a built asset of the page by file name; false when there is no such file. */
  async asset(name: string, res: ServerResponse, head: boolean): Promise<boolean> {
    if (!ASSET_NAME.test(name)) return false;
    // A folder that cannot be listed (not built yet) is listed again next time: `npm run build` then needs no restart.
    this.assets ??= readdir(this.uiDir).then(
      (names) => new Set(names),
      () => {
        this.assets = null;
        return new Set<string>();
      },
    );
    if (!(await this.assets).has(name)) return false;
    const body = await readFile(join(this.uiDir, name));
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'content-security-policy': CSP,
      'referrer-policy': 'no-referrer',
    });
    res.end(head ? undefined : body);
    return true;
  }
}

/**
 * One costly answer at a time, shared: reused while it is made, then for at least minMs (on the monotonic clock)
 * and `factor` times as long as it took; made again at the next request after it failed.
 */
class Reused<T> {
  /** The last one: started at, reused for (ms; Infinity while it runs), and its answer. */
  private last: { at: number; reuse: number; value: Promise<T> } | null = null;

  constructor(
    private readonly monotonic: () => number,
    private readonly minMs: number,
    private readonly factor: number,
    private readonly make: () => Promise<T>,
  ) {}

  get(): Promise<T> {
    const started = this.monotonic();
    if (this.last && started - this.last.at < this.last.reuse) return this.last.value;
    const value = this.make();
    const last = { at: started, reuse: Infinity, value };
    this.last = last;
    value.then(
      () => (last.reuse = Math.max(this.minMs, this.factor * (this.monotonic() - started))),
      () => {
        if (this.last === last) this.last = null;
      },
    );
    return value;
  }
}

async function inventory(storage: Storage, at: number): Promise<Inventory> {
  const blobs = await storage.listSized('mod/');
  const modules = new Set<string>();
  const versions = new Set<string>();
  let files = 0;
  let bytes = 0;
  let verified = 0;
  let n = 0;
  for (const { key, size } of blobs) {
    // Counting 150,000 files (50,000 versions) held the event loop for 250-500 ms in one go: every request
    // waited. In slices, requests are answered between them.
    if (++n % INVENTORY_SLICE === 0) await nextTurn();
    const i = key.lastIndexOf('/@v/');
    if (i < 0) continue;
    const file = key.slice(i + 4);
    const dot = file.lastIndexOf('.');
    const ext = file.slice(dot + 1);
    if (dot <= 0 || (ext !== 'info' && ext !== 'mod' && ext !== 'zip')) continue;
    const mod = key.slice('mod/'.length, i);
    modules.add(mod);
    versions.add(`${mod}@${file.slice(0, dot)}`);
    files++;
    bytes += size;
    if (ext !== 'info') verified++;
  }
  return {
    modules: modules.size,
    versions: versions.size,
    files,
    bytes,
    verifiedArtifacts: verified,
    scannedAt: new Date(at).toISOString(),
  };
}

/** True when the Accept header ranks text/html at least as high as anything else it names. */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  let html = 0;
  let best = 0;
  for (const part of accept.split(',').slice(0, 50)) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const qp = params.find((p) => p.startsWith('q='));
    const q = qp === undefined ? 1 : Number(qp.slice(2));
    if (!Number.isFinite(q)) continue;
    if (type === 'text/html') html = Math.max(html, q);
    else if (type !== '*/*' && type !== 'text/*') best = Math.max(best, q);
  }
  return html > 0 && html >= best;
}

function sendJson(res: ServerResponse, value: unknown, head: boolean): void {
  const body = Buffer.from(JSON.stringify(value, null, 2) + '\n', 'utf8');
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': body.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(head ? undefined : body);
}

function redirect(res: ServerResponse, to: string): void {
  const body = `see ${to}\n`;
  res.writeHead(302, {
    location: to,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

function notBuilt(res: ServerResponse, name: string): void {
  const body =
    name === 'index.html'
      ? 'godepot: the operator page is not built into this installation; run `npm run build` (npm ci does it)\n'
      : `not found: the operator page has no file ${JSON.stringify(name.slice(0, 100))}\n`;
  res.writeHead(404, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    // It names the file asked for: never read as HTML.
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

/** The page's routes: `/` (a browser is sent to /ui/), `/ui/…` and the JSON API except /api/incidents. */
export function operatorRoutes(api: OperatorApi): OperatorRoutes {
  const json = (route: string, f: () => object | Promise<object>): OperatorRoute => ({
    route,
    serve: async (_req, res, head) => sendJson(res, await f(), head),
  });
  return (rawPath, req) => {
    switch (rawPath) {
      case '/':
        if (!prefersHtml(req.headers.accept)) return null;
        return { route: 'ui', serve: async (_req, res) => redirect(res, '/ui/') };
      case '/ui':
        return { route: 'ui', serve: async (_req, res) => redirect(res, '/ui/') };
      case '/api/upstreams':
        return json('api_upstreams', () => api.upstreams());
      case '/api/sumdb':
        return json('api_sumdb', () => api.sumdb());
      case '/api/cache':
        return json('api_cache', () => api.cache());
      case '/api/series':
        return json('api_series', () => api.series());
    }
    if (!rawPath.startsWith('/ui/')) return null;
    const name = rawPath === '/ui/' ? 'index.html' : rawPath.slice('/ui/'.length);
    return {
      route: 'ui',
      serve: async (_req, res, head) => {
        if (!(await api.asset(name, res, head))) notBuilt(res, name);
      },
    };
  };
}
