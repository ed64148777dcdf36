// A circuit breaker per origin host: after `failures` consecutive fetches
// that found the host unreachable (network, TLS, time-out), further fetches
// fail at once for `halfOpenAfter` ms instead of each waiting out its
// deadline; then one fetch probes. Definite answers (not found, bad
// credentials) are not outages and close it. State changes are reported so
// that the incident log covers origin hosts as it covers upstream proxies.

export type OriginBreakerState = 'open' | 'closed';

export interface OriginBreakerOptions {
  readonly failures: number;
  readonly halfOpenAfter: number;
  readonly now?: () => number;
  readonly onState?: (host: string, state: OriginBreakerState, detail: string) => void;
}

interface HostState {
  failures: number;
  openedAt: number | null;
  since: number;
  detail: string;
  /** An 'open' was reported and no 'closed' yet. */
  reported: boolean;
}

export class OriginBreaker {
  private readonly hosts = new Map<string, HostState>();

  constructor(private readonly opts: OriginBreakerOptions) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** null when a fetch from host may go ahead; else why not (the host is known to be down). */
  refusal(host: string): string | null {
    const s = this.hosts.get(host);
    if (!s || s.openedAt === null) return null;
    if (this.now() - s.openedAt >= this.opts.halfOpenAfter) {
      // Half-open: this fetch probes; a failure re-opens at once.
      s.openedAt = null;
      s.failures = this.opts.failures - 1;
      return null;
    }
    return `the origin host ${host} is unavailable since ${new Date(s.since).toISOString()} (${s.detail}); not retried for now`;
  }

  failed(host: string, detail: string): void {
    const s = this.hosts.get(host) ?? { failures: 0, openedAt: null, since: this.now(), detail, reported: false };
    if (s.failures === 0) s.since = this.now();
    s.failures++;
    s.detail = detail;
    this.hosts.set(host, s);
    if (s.openedAt === null && s.failures >= this.opts.failures) {
      s.openedAt = this.now();
      if (!s.reported) this.opts.onState?.(host, 'open', detail);
      s.reported = true;
    }
  }

  succeeded(host: string): void {
    const s = this.hosts.get(host);
    if (!s) return;
    this.hosts.delete(host);
    if (s.reported) this.opts.onState?.(host, 'closed', '');
  }
}
