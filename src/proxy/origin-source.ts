// Module origins as a source of the module service: the same interface as
// the upstream proxy list, so that origin fetches get the service's cache,
// single flight, stale serving and verification unchanged. Two shapes:
// OriginSource for private modules (only their origin, never a proxy), and
// DirectFallback for `--upstream <proxies>,direct` (the origin where the
// GOPROXY walk reaches direct; the checksum database still checks what it
// returns, and under --verify quorum the origin is one of the sources that
// must agree).
import { Readable } from 'node:stream';
import { isCanonicalVersion, isVersionOf, unescapePath, unescapeVersion } from '../module/index.js';
import {
  BadBodyError,
  LocalFailure,
  NotFoundError,
  type BodyReader,
  type CallClass,
  type Fetched,
  type ProxyList,
} from '../upstream/index.js';
import { OriginError } from '../vcs/errors.js';
import type { Origin } from '../vcs/origin.js';
import type { ModuleSource } from './context.js';
import { GodepotError } from './errors.js';

/** An upstream path (/<escaped module>/@v/list, /@latest, /@v/<escaped version>.<ext>) taken apart. */
function parseUpstreamPath(p: string): { path: string; kind: string; version: string } {
  const latest = p.endsWith('/@latest');
  const at = p.lastIndexOf('/@v/');
  if (latest) return { path: unescapePath(p.slice(1, -'/@latest'.length)), kind: 'latest', version: '' };
  if (at < 0) throw new Error(`internal: not an upstream path: ${p}`);
  const path = unescapePath(p.slice(1, at));
  const file = p.slice(at + 4);
  if (file === 'list') return { path, kind: 'list', version: '' };
  const dot = file.lastIndexOf('.');
  return { path, kind: file.slice(dot + 1), version: unescapeVersion(file.slice(0, dot)) };
}

/** How what an origin fetch returned names its source (Fetched meta.upstream, logs, errors). */
export function originLabel(host: string): string {
  return `origin ${host}`;
}

/** Whether meta.upstream names an origin (originLabel), not a proxy (a proxy is named by its URL). */
export function isOriginLabel(upstream: string): boolean {
  return upstream.startsWith('origin ');
}

/** The error the service reports for a failed origin fetch (404/410 pass through as NotFoundError). */
function fromOrigin(err: OriginError): Error {
  const upstream = originLabel(err.host);
  switch (err.failure) {
    case 'not_found':
      return new NotFoundError(upstream, 404, err.message);
    case 'gone':
      return new NotFoundError(upstream, 410, err.message);
    case 'timeout':
      return new GodepotError('upstream_timeout', err.message, { upstream, failure: err.failure });
    case 'moved':
      return new GodepotError('checksum_mismatch', err.message, { upstream, ...err.details });
    case 'bad_content':
      return new GodepotError('bad_upstream_content', err.message, { upstream });
    case 'busy':
      return new GodepotError('overloaded', err.message, { upstream });
    default:
      return new GodepotError('upstream_failed', err.message, { upstream, failure: err.failure });
  }
}

export class OriginSource implements ModuleSource {
  readonly disabled = false;

  /** Told before a go run that fetches a version's .info, .mod and .zip (whenDownloading). */
  private downloading: ((path: string, version: string, kind: 'info' | 'mod' | 'zip') => void) | null = null;

  constructor(private readonly origin: Origin) {}

  /**
   * Calls listener when a fetch of a version's .info, .mod or .zip is about
   * to run `go mod download`, which fetches all three (a query, a list or
   * @latest is `go list`: no zip comes of it). Not for getEach: that is a
   * cross-check of what another source served, not a fetch stored from.
   */
  whenDownloading(listener: (path: string, version: string, kind: 'info' | 'mod' | 'zip') => void): void {
    this.downloading = listener;
  }

  private async body(
    upstreamPath: string,
    signal: AbortSignal,
    tell: boolean,
  ): Promise<{ body: Buffer | Readable; host: string }> {
    const { path, kind, version } = parseUpstreamPath(upstreamPath);
    const host = path.split('/')[0] ?? path;
    const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v) + '\n');
    const download = async (k: 'info' | 'mod' | 'zip'): Promise<Buffer | Readable> => {
      if (tell) this.downloading?.(path, version, k);
      const d = await this.origin.download(path, version, signal);
      if (k === 'zip') return d.zip.stream();
      d.zip.release();
      return d[k];
    };
    try {
      switch (kind) {
        case 'list':
          return { body: Buffer.from((await this.origin.list(path, signal)).map((v) => v + '\n').join('')), host };
        case 'latest':
          return { body: json(await this.origin.query(path, 'latest', signal)), host };
        case 'info':
          // A branch, a commit, or a version that is not this path's (v2.0.0 of a module without /v2): the go
          // command resolves it (to v2.0.0+incompatible) or says it does not exist.
          if (!isCanonicalVersion(version) || !isVersionOf(path, version))
            return { body: json(await this.origin.query(path, version, signal)), host };
          return { body: await download('info'), host };
        case 'mod':
        case 'zip':
          return { body: await download(kind), host };
      }
    } catch (err) {
      throw err instanceof OriginError ? fromOrigin(err) : err;
    }
    throw new Error(`internal: no origin fetch for ${kind}`);
  }

  get<T>(
    upstreamPath: string,
    _kind: string,
    _cls: CallClass,
    read: BodyReader<T>,
    signal?: AbortSignal,
  ): Promise<Fetched<T>> {
    return this.fetch(upstreamPath, read, signal, true);
  }

  private async fetch<T>(
    upstreamPath: string,
    read: BodyReader<T>,
    signal: AbortSignal | undefined,
    tell: boolean,
  ): Promise<Fetched<T>> {
    const { body, host } = await this.body(upstreamPath, signal ?? new AbortController().signal, tell);
    const meta = { upstream: originLabel(host), url: `${originLabel(host)}${upstreamPath}`, status: 200, headers: {} };
    // As an upstream's body: read within read(), let go of after it (a zip's descriptor with it).
    const stream = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    try {
      return { value: await read(stream, meta), meta };
    } catch (err) {
      // What getOnce makes of a reader's errors for a proxy: a body refused, or a failure on our side (the disk).
      if (err instanceof LocalFailure) throw err.cause;
      if (err instanceof BadBodyError) {
        const message = `godepot: ${meta.upstream} sent a bad answer for ${upstreamPath}: ${err.message}`;
        throw new GodepotError('bad_upstream_content', message, { upstream: meta.upstream });
      }
      throw err;
    } finally {
      stream.destroy();
    }
  }

  async getEach<T>(
    upstreamPath: string,
    _kind: string,
    _cls: CallClass,
    read: BodyReader<T>,
    signal?: AbortSignal,
  ): Promise<{ found: Fetched<T>[]; errors: Error[] }> {
    try {
      return { found: [await this.fetch(upstreamPath, read, signal, false)], errors: [] };
    } catch (err) {
      return { found: [], errors: [err instanceof Error ? err : new Error(String(err))] };
    }
  }
}

/**
 * `<proxies>,direct` or `<proxies>|direct`: the proxies first; the origin when
 * the GOPROXY walk goes past them, as the go command's does — after ',' only
 * when they said 404/410 (a proxy's 403 or outage ends the walk: what a
 * gatekeeper refuses is not fetched around it), after '|' whatever they did.
 */
export class DirectFallback implements ModuleSource {
  readonly disabled = false;

  constructor(
    private readonly proxies: ProxyList,
    private readonly origin: ModuleSource,
  ) {}

  async get<T>(
    upstreamPath: string,
    kind: string,
    cls: CallClass,
    read: BodyReader<T>,
    signal?: AbortSignal,
  ): Promise<Fetched<T>> {
    if (!this.proxies.disabled) {
      const fetched = await this.proxies.getOrPass(upstreamPath, kind, cls, read, signal);
      if (fetched) return fetched;
    }
    return this.origin.get(upstreamPath, kind, cls, read, signal);
  }

  /** Every proxy and the origin, each on its own (quorum: the origin is a source as independent as any proxy). */
  async getEach<T>(
    upstreamPath: string,
    kind: string,
    cls: CallClass,
    read: BodyReader<T>,
    signal?: AbortSignal,
  ): Promise<{ found: Fetched<T>[]; errors: Error[] }> {
    const [proxies, origin] = await Promise.all([
      this.proxies.disabled ? { found: [], errors: [] } : this.proxies.getEach(upstreamPath, kind, cls, read, signal),
      this.origin.getEach(upstreamPath, kind, cls, read, signal),
    ]);
    return { found: [...proxies.found, ...origin.found], errors: [...proxies.errors, ...origin.errors] };
  }
}
