// The sources of one checksum database's log and how they are asked. A
// database is read wherever the go command itself would read it: at the
// URLs given, or — when none were given — at its own host and at
// <upstream>/sumdb/<name>/ of every upstream proxy that answers
// /sumdb/<name>/supported with 200 (cmd/go/internal/modfetch/sumdb.go).
// Every source is an Endpoint with its own breaker; all are checked against
// the same key by the caller, and asked with hedging: the first gets a head
// start, the next is asked too if it is slow or fails.
import { passed, type Clock } from '../util/clock.js';
import type { CallClass } from './types.js';
import { isHealthy, type EndpointRegistry } from './endpoint.js';
import type { Reachability } from './reachability.js';
import { SourcesFailedError, UpstreamError } from './errors.js';
import { hedged } from './hedge.js';
import { readLimited, type BodyReader } from './http.js';
import type { Fetched } from './proxylist.js';

/** Where a source came from: the database's own host, a URL given in --sumdb, or an upstream proxy. */
export type SourceVia = 'database' | 'mirror' | 'upstream';

export interface SourceStatus {
  readonly url: string;
  readonly via: SourceVia;
  /** ok: answered last time; failing: did not; unsupported: the upstream does not serve this database; unknown: not asked yet. */
  readonly state: 'ok' | 'failing' | 'unsupported' | 'unknown';
  readonly detail?: string;
  /** ISO time of the last answer or failure. */
  readonly at?: string;
}

/** The URLs a MirrorSet asks, in order, and a moment to learn them first. */
export interface SourceList {
  current(): readonly string[];
  /** Resolves when the sources are known well enough to ask (bounded; never rejects). */
  ready(signal?: AbortSignal): Promise<void>;
}

function fixedSources(urls: readonly string[]): SourceList {
  return { current: () => urls, ready: () => Promise.resolve() };
}

export interface SumdbSourcesOptions {
  readonly name: string;
  /** The URLs given in --sumdb, or the database's own host when none were. */
  readonly fixed: readonly string[];
  /** Upstream proxy base URLs to probe for /sumdb/<name>/supported; empty when the URLs were explicit. */
  readonly upstreams: readonly string[];
  readonly endpoints: EndpointRegistry;
  /** What calls to each source showed. */
  readonly reach: Reachability;
  readonly clock: Clock;
  /** A probe that failed (no definite answer) is tried again after this long. */
  readonly reprobeAfterMs: number;
  /** Longest a call waits for probes still under way before asking the sources already known. */
  readonly waitForProbesMs: number;
}

interface Probe {
  supported: boolean | null;
  detail?: string;
  at?: number;
  running?: Promise<void>;
}

/**
 * The sources of one database: the fixed ones, and the upstreams found to
 * serve it. Upstream sources go first, as the go command uses them: the
 * database host is asked too, hedged, so either being down costs little.
 */
export class SumdbSources implements SourceList {
  private readonly probes = new Map<string, Probe>();
  private readonly fixedVia: SourceVia;

  constructor(private readonly opts: SumdbSourcesOptions) {
    for (const u of opts.upstreams) this.probes.set(u, { supported: null });
    this.fixedVia = opts.upstreams.length > 0 || opts.fixed[0] === `https://${opts.name}` ? 'database' : 'mirror';
  }

  get name(): string {
    return this.opts.name;
  }

  /** The upstream proxies asked whether they serve this database. */
  get upstreams(): readonly string[] {
    return this.opts.upstreams;
  }

  /** `<upstream>/sumdb/<name>`: where an upstream serves the database. */
  viaUpstream(upstream: string): string {
    return `${upstream}/sumdb/${this.opts.name}`;
  }

  current(): readonly string[] {
    const viaUpstreams = [...this.probes].filter(([, p]) => p.supported === true).map(([u]) => this.viaUpstream(u));
    return [...new Set([...viaUpstreams, ...this.opts.fixed])];
  }

  /** Every URL the log may be read at: the fixed ones and each upstream's (if it says it serves the database). */
  candidates(): readonly string[] {
    return [...[...this.probes.keys()].map((u) => `${this.viaUpstream(u)} (if ${u} serves it)`), ...this.opts.fixed];
  }

  /** Starts the probes that are due (never asked, or failed long enough ago); resolves when they are done. */
  probe(signal?: AbortSignal): Promise<void> {
    const now = this.opts.clock.now();
    const running: Promise<void>[] = [];
    for (const [upstream, p] of this.probes) {
      if (p.running) running.push(p.running);
      else if (p.supported === null && (p.at === undefined || passed(p.at, this.opts.reprobeAfterMs, now))) {
        p.running = this.probeOne(upstream, p, signal).finally(() => (p.running = undefined));
        running.push(p.running);
      }
    }
    return Promise.all(running).then(() => undefined);
  }

  async ready(signal?: AbortSignal): Promise<void> {
    // The common case, every probe answered: no timer, no promise.
    if (![...this.probes.values()].some((p) => p.supported === null) || signal?.aborted) return;
    // A probe is shared by every caller that waits for it, and its answer is kept for all: it runs under no
    // caller's signal, bounded by its own deadline, and a caller that goes away only stops waiting.
    const probes = this.probe();
    let timer: NodeJS.Timeout | undefined;
    let stop: (() => void) | undefined;
    const bound = new Promise<void>((r) => {
      timer = setTimeout(r, this.opts.waitForProbesMs);
      stop = () => r();
      signal?.addEventListener('abort', stop, { once: true });
    });
    try {
      await Promise.race([probes, bound]);
    } finally {
      clearTimeout(timer);
      if (stop) signal?.removeEventListener('abort', stop);
    }
  }

  private async probeOne(upstream: string, p: Probe, signal?: AbortSignal): Promise<void> {
    try {
      const r = await this.opts.endpoints
        .get(upstream)
        .get(`/sumdb/${this.opts.name}/supported`, 'sumdb-supported', 'sumdb', readLimited(4096), signal);
      p.supported = r.found;
      p.detail = r.found ? undefined : `${r.notFound.status}: does not serve ${this.opts.name}`;
    } catch (err) {
      p.supported = null;
      p.detail = err instanceof UpstreamError ? err.describe(this.opts.clock.now()) : (err as Error).message;
    } finally {
      p.at = this.opts.clock.now();
    }
  }

  /**
   * At start: finds which upstreams serve the database and asks every source
   * (those found and the fixed ones) for its tree head, so that /readyz and
   * the log know from the first seconds which of them answer — an upstream
   * that serves the database is a source like the others, not "unknown"
   * until the first build needs it.
   */
  async checkSources(signal?: AbortSignal): Promise<void> {
    const latest = (url: string): Promise<unknown> =>
      this.opts.endpoints
        .get(url)
        .get('/latest', 'sumdb-probe', 'sumdb', readLimited(64 << 10), signal)
        .catch(() => undefined);
    const fixed = new Set(this.opts.fixed);
    await Promise.all([
      ...this.opts.fixed.map(latest),
      this.probe(signal).then(() =>
        Promise.all(
          this.current()
            .filter((u) => !fixed.has(u))
            .map(latest),
        ),
      ),
    ]);
  }

  /** Every source and what is known of it, the upstreams first. */
  status(): SourceStatus[] {
    const out: SourceStatus[] = [];
    const iso = (t: number | undefined): { at?: string } => (t === undefined ? {} : { at: new Date(t).toISOString() });
    for (const [upstream, p] of this.probes) {
      const url = this.viaUpstream(upstream);
      if (p.supported === false)
        out.push({ url, via: 'upstream', state: 'unsupported', ...detail(p.detail), ...iso(p.at) });
      else if (p.supported === null)
        out.push({
          url,
          via: 'upstream',
          state: p.at === undefined ? 'unknown' : 'failing',
          ...detail(p.detail),
          ...iso(p.at),
        });
      else out.push(this.sourceStatus(url, 'upstream'));
    }
    for (const url of this.opts.fixed) out.push(this.sourceStatus(url, this.fixedVia));
    return out;
  }

  private sourceStatus(url: string, via: SourceVia): SourceStatus {
    const r = this.opts.reach.of(url);
    if (r === undefined) return { url, via, state: 'unknown' };
    const at = new Date(r.at).toISOString();
    // This process's last call failed, but the source has answered since — here or in another process of the
    // group, whose news ended the failure streak: with --workers N every worker then says the same.
    if (!r.reachable) {
      if (isHealthy(this.opts.endpoints.get(url).status())) return { url, via, state: 'ok', at };
    }
    return { url, via, state: r.reachable ? 'ok' : 'failing', ...detail(r.detail), at };
  }
}

function detail(d: string | undefined): { detail?: string } {
  return d === undefined ? {} : { detail: d };
}

/** Shared by a set and the subsets made from it: which source answered last. */
interface Preference {
  last: string | undefined;
}

export class MirrorSet {
  private readonly sources: SourceList;

  constructor(
    sources: SourceList | readonly string[],
    private readonly endpoints: EndpointRegistry,
    private readonly hedgeDelayMs: number,
    private readonly cls: CallClass = 'sumdb',
    private readonly preference: Preference = { last: undefined },
    private readonly excluded: ReadonlySet<string> = new Set(),
  ) {
    this.sources = Array.isArray(sources) ? fixedSources(sources as readonly string[]) : (sources as SourceList);
  }

  get urls(): readonly string[] {
    return this.sources.current().filter((u) => !this.excluded.has(u));
  }

  /**
   * The sources in the order to ask them: the one that answered last goes
   * first, so a hanging source costs the hedge delay once, not on every call
   * (its breaker never opens, since the hedge cancels its calls).
   */
  private order(): readonly string[] {
    const urls = this.urls;
    const last = this.preference.last;
    if (last === undefined || last === urls[0] || !urls.includes(last)) return urls;
    return [last, ...urls.filter((u) => u !== last)];
  }

  /**
   * GETs path from the sources. Resolves with the first accepted body (the
   * reader may refuse a body by throwing BadBodyError; the next source is
   * then asked); rejects with NotFoundError when a source answered 404/410
   * and none had it, else with SourcesFailedError naming what each did.
   */
  async get<T>(path: string, kind: string, read: BodyReader<T>, signal?: AbortSignal): Promise<Fetched<T>> {
    await this.sources.ready(signal);
    const urls = this.order();
    if (urls.length === 0) throw new SourcesFailedError([new Error('no source of this database is configured')]);
    const f = await hedged(
      urls,
      this.hedgeDelayMs,
      (url, s) => this.endpoints.get(url).get(path, kind, this.cls, read, s),
      signal,
    );
    this.preference.last = f.meta.upstream;
    return f;
  }

  /** The same set minus `urls` (to ask the others after some served data that failed verification). */
  without(urls: ReadonlySet<string>): MirrorSet {
    return new MirrorSet(
      this.sources,
      this.endpoints,
      this.hedgeDelayMs,
      this.cls,
      this.preference,
      new Set([...this.excluded, ...urls]),
    );
  }
}
