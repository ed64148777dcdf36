// At start, in the background: is every upstream reachable, which upstreams
// serve each checksum database, and does each source of a database answer?
// /readyz shows the answers from the first second; the log says plainly
// which sources work, so nobody learns it from the first failed build.
import type { Logger } from 'pino';
import type { SaidAt } from '../util/said-once.js';
import type { EndpointRegistry, Reachability, SumdbSources } from '../upstream/index.js';
import { isHealthy, readLimited } from '../upstream/index.js';

export interface ProbeTargets {
  readonly upstreams: readonly string[];
  readonly sources: readonly SumdbSources[];
  readonly endpoints: EndpointRegistry;
  readonly reach: Reachability;
  readonly log: Logger;
  /** The level a finding is said at (compose's startLevel: debug on all but the first worker of `serve --workers N`). */
  readonly level: SaidAt;
}

export async function probeAtStart(t: ProbeTargets, signal: AbortSignal): Promise<void> {
  // Upstreams no database discovery asks: any HTTP answer (a 404 too) shows they are reachable.
  const name = t.sources[0]?.name ?? 'sum.golang.org';
  const asked = new Set(t.sources.flatMap((s) => s.upstreams));
  await Promise.all([
    ...t.upstreams
      .filter((u) => !asked.has(u))
      .map((u) =>
        t.endpoints
          .get(u)
          .get(`/sumdb/${name}/supported`, 'probe', 'metadata', readLimited(4096), signal)
          .catch(() => undefined),
      ),
    ...t.sources.map((s) => s.checkSources(signal)),
  ]);
  if (signal.aborted) return;
  for (const u of t.upstreams) {
    const r = t.reach.of(u);
    if (r && !r.reachable)
      t.log[t.level('warn')]({ upstream: u, detail: r.detail }, `upstream ${u} does not answer: ${r.detail ?? ''}`);
  }
  for (const s of t.sources) {
    const all = s.status();
    const ok = all.filter((x) => x.state === 'ok').map((x) => x.url);
    const not = all.filter((x) => x.state === 'failing').map((x) => `${x.url} (${x.detail ?? 'failing'})`);
    const fields = { db: s.name, ok, failing: not };
    if (ok.length === 0)
      t.log[t.level('error')](
        fields,
        `checksum database ${s.name}: no source answers${not.length ? `: ${not.join('; ')}` : ''}; modules it has not verified are served as --verify says until one does`,
      );
    else
      t.log[t.level('info')](
        fields,
        `checksum database ${s.name}: read through ${ok.join(', ')}${not.length ? `; not reachable: ${not.join('; ')}` : ''}`,
      );
  }
}

/**
 * What a re-probe asks: a module's version list, as a client would (a
 * proxy may answer /sumdb/…/supported with 404 while every module request
 * fails; a module path's answer, 404 included, shows modules are served).
 */
export const REPROBE_PATH = '/golang.org/x/mod/@v/list';

/**
 * One round of asking again the upstreams that are failing (a failure
 * streak, or a breaker not closed), as a client would: an answer ends the
 * streak. Without it, an upstream back after an outage with no request
 * meanwhile stayed "failing since" in /readyz and the next outage's
 * messages took the old start. A breaker that is open lets the probe
 * through only once half-open, as for any call.
 */
export async function reprobeFailing(
  t: Pick<ProbeTargets, 'upstreams' | 'endpoints'> & {
    /** The checksum databases' sources (their own hosts, mirrors, proxies' /sumdb/<name>): asked for /latest. */
    readonly databaseSources?: readonly string[];
  },
  signal: AbortSignal,
): Promise<void> {
  const ask = (url: string, path: string, kind: 'list' | 'sumdb-latest', cls: 'metadata' | 'sumdb') => {
    const e = t.endpoints.get(url);
    if (isHealthy(e.status())) return undefined;
    return e.get(path, kind, cls, readLimited(1 << 20), signal).catch(() => undefined);
  };
  await Promise.all([
    ...t.upstreams.map((u) => ask(u, REPROBE_PATH, 'list', 'metadata')),
    ...(t.databaseSources ?? []).map((u) => ask(u, '/latest', 'sumdb-latest', 'sumdb')),
  ]);
}
