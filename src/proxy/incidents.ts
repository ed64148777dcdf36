// The incident log: each outage of an upstream (its breaker opens, until it
// closes) with start, end, duration, failure class, and how many requests
// were served from cache, served unverified, or failed meanwhile — the
// timeline a post-mortem starts from. Kept under incidents/ in storage.
import type { Logger } from 'pino';
import type { Storage } from '../storage/index.js';
import type { EndpointObserver } from '../upstream/index.js';
import type { ServiceEvents } from './context.js';
import { isProvisional } from './artifact.js';

export interface Incident {
  readonly id: string;
  readonly upstream: string;
  readonly start: string;
  end?: string;
  durationMs?: number;
  failureClass: string;
  detail: string;
  servedFromCache: number;
  servedUnverified: number;
  failed: number;
}

const KEY_PREFIX = 'incidents/';
const FLUSH_EVERY_MS = 5_000;

export class IncidentLog {
  private readonly open = new Map<string, Incident>();
  private closed: Incident[] = [];
  private dirty = new Set<Incident>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly storage: Storage,
    private readonly log: Logger,
  ) {}

  /** Reads past incidents; ones left open by a process that died are shown as ended at their last update. */
  async load(): Promise<void> {
    this.closed = await readIncidents(this.storage);
  }

  endpointObserver(): EndpointObserver {
    return {
      onBreaker: (upstream, state, failure) => {
        if (state === 'open' && !this.open.has(upstream)) {
          const start = new Date();
          const inc: Incident = {
            id: `${start.toISOString().replace(/[:.]/g, '-')}-${slug(upstream)}`,
            upstream,
            start: start.toISOString(),
            failureClass: failure?.failure ?? 'unknown',
            detail: failure?.detail ?? '',
            servedFromCache: 0,
            servedUnverified: 0,
            failed: 0,
          };
          this.open.set(upstream, inc);
          this.log.error(
            { upstream, failure: inc.failureClass, detail: inc.detail, incident: inc.id },
            'upstream outage: circuit breaker opened',
          );
          this.touch(inc);
        } else if (state === 'closed') {
          const inc = this.open.get(upstream);
          if (!inc) return;
          this.open.delete(upstream);
          const end = new Date();
          inc.end = end.toISOString();
          inc.durationMs = end.getTime() - Date.parse(inc.start);
          this.closed.push(inc);
          this.log.warn(
            {
              upstream,
              incident: inc.id,
              durationMs: inc.durationMs,
              servedFromCache: inc.servedFromCache,
              servedUnverified: inc.servedUnverified,
              failed: inc.failed,
            },
            'upstream recovered: circuit breaker closed',
          );
          this.touch(inc);
        }
      },
    };
  }

  serviceEvents(): ServiceEvents {
    return {
      served: (e) => {
        if (this.open.size === 0) return;
        for (const inc of this.open.values()) {
          if (e.outcome === 'error') inc.failed++;
          else if (e.verification && isProvisional(e.verification)) inc.servedUnverified++;
          else if (e.outcome === 'hit' || e.outcome === 'stale') inc.servedFromCache++;
          this.touch(inc);
        }
      },
    };
  }

  /** All incidents, newest first; open ones have no end. */
  async list(): Promise<Incident[]> {
    return [...this.open.values(), ...this.closed].sort((a, b) => b.start.localeCompare(a.start));
  }

  private touch(inc: Incident): void {
    this.dirty.add(inc);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, FLUSH_EVERY_MS);
    this.flushTimer.unref();
    if (inc.end !== undefined || inc.servedFromCache + inc.servedUnverified + inc.failed === 0) void this.flush();
  }

  /** Writes changed incidents; resolves after every earlier flush has finished too. */
  flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushing = this.flushing.then(() => this.writeDirty());
    return this.flushing;
  }

  private async writeDirty(): Promise<void> {
    const batch = [...this.dirty];
    this.dirty.clear();
    for (const inc of batch) {
      try {
        await this.storage.put(KEY_PREFIX + inc.id + '.json', Buffer.from(JSON.stringify(inc, null, 2)));
      } catch (err) {
        this.log.error({ incident: inc.id, err: (err as Error).message }, 'cannot record incident');
      }
    }
  }
}

function slug(url: string): string {
  return url
    .replace(/^https?:\/\//, '')
    .replace(/[^A-Za-z0-9.-]+/g, '_')
    .slice(0, 80);
}

/** Incidents recorded in a data folder (used by `godepot incidents` without a running server). */
export async function readIncidents(storage: Storage): Promise<Incident[]> {
  const out: Incident[] = [];
  for (const key of await storage.list(KEY_PREFIX)) {
    if (!key.endsWith('.json')) continue;
    try {
      const b = await storage.get(key);
      if (b) out.push(JSON.parse(b.toString('utf8')) as Incident);
    } catch {
      // A damaged record is skipped, not fatal.
    }
  }
  return out.sort((a, b) => b.start.localeCompare(a.start));
}
