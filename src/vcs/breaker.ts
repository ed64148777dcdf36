// A circuit breaker per origin host: after `failures` consecutive fetches
// that found the host unreachable (network, TLS, time-out), fetches of the
// modules that failed fail at once for `halfOpenAfter` ms instead of each
// waiting out its deadline; then one fetch probes. A module that has not
// failed is still tried, one at a time (as an upstream proxy's breaker does):
// modules a client chose so that they fail (a repository too big to clone
// within --vcs-timeout, on a shared host) cannot take the host away from the
// others — the first other module asked proves the host well and closes it.
// Definite answers (not found, bad credentials) are not outages and close
// it. State changes are reported so that the incident log covers origin
// hosts as it covers upstream proxies.
import { passed } from '../util/clock.js';

/** 'forgotten': no longer followed (ORIGIN_HOSTS other hosts failed since), whether or not it answers now. */
export type OriginBreakerState = 'open' | 'closed' | 'forgotten';

export interface OriginBreakerOptions {
  readonly failures: number;
  readonly halfOpenAfter: number;
  readonly now?: () => number;
  readonly onState?: (host: string, state: OriginBreakerState, detail: string) => void;
  /** Hosts followed at most (default ORIGIN_HOSTS; a test of what the bound does elsewhere sets fewer). */
  readonly hosts?: number;
}

interface HostState {
  failures: number;
  /** Modules that failed in this streak. */
  readonly modules: Set<string>;
  /** A module that had not failed is being tried while open. */
  probing: boolean;
  openedAt: number | null;
  since: number;
  detail: string;
  /** An 'open' was reported and no 'closed' yet. */
  reported: boolean;
}

/**
 * Hosts remembered at most, the least recently failed forgotten first: the
 * hosts are named by clients (any module path, with `direct` or a private
 * pattern like `*.corp.example`), and each that fails would otherwise stay.
 */
export const ORIGIN_HOSTS = 1_000;
/** Modules remembered at most in one host's failure streak. */
const MODULES_PER_HOST = 1_000;
/**
 * Modules remembered at most over all hosts, the least recently failed hosts
 * forgotten first: a module path is up to 512 characters (~0.7 KB held), and
 * ORIGIN_HOSTS × MODULES_PER_HOST of them, all named by clients, held ~700 MB.
 */
export const ORIGIN_MODULES = 10_000;

export class OriginBreaker {
  /** Least recently failed first (a Map keeps insertion order). */
  private readonly hosts = new Map<string, HostState>();
  /** The modules of every host's state, added up. */
  private modules = 0;

  constructor(private readonly opts: OriginBreakerOptions) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** null when a fetch of module from host may go ahead; else why not (the host is known to be down). */
  refusal(host: string, module: string): string | null {
    const s = this.hosts.get(host);
    if (!s || s.openedAt === null) return null;
    if (passed(s.openedAt, this.opts.halfOpenAfter, this.now())) {
      // Half-open: this fetch probes; a failure re-opens at once.
      s.openedAt = null;
      s.failures = this.opts.failures - 1;
      s.probing = false;
      return null;
    }
    if (!s.modules.has(module) && !s.probing) {
      s.probing = true;
      return null;
    }
    return `the origin host ${host} is unavailable since ${new Date(s.since).toISOString()} (${s.detail}); not retried for now`;
  }

  failed(host: string, detail: string, module: string): void {
    const s = this.hosts.get(host) ?? {
      failures: 0,
      modules: new Set<string>(),
      probing: false,
      openedAt: null,
      since: this.now(),
      detail,
      reported: false,
    };
    if (s.failures === 0) s.since = this.now();
    s.failures++;
    s.detail = detail;
    s.probing = false;
    // Bounded: an outage that outlasts this many modules is refused for all of them anyway (it stays open).
    if (s.modules.size < MODULES_PER_HOST && !s.modules.has(module)) {
      s.modules.add(module);
      this.modules++;
    }
    this.hosts.delete(host);
    this.hosts.set(host, s);
    while (this.hosts.size > (this.opts.hosts ?? ORIGIN_HOSTS) || this.modules > ORIGIN_MODULES) this.forgetOldest();
    if (s.openedAt === null && s.failures >= this.opts.failures) {
      s.openedAt = this.now();
      if (!s.reported) this.opts.onState?.(host, 'open', detail);
      s.reported = true;
    }
  }

  /**
   * Forgets the least recently failed host. Reported open, it is reported
   * forgotten: its incident would otherwise stay open for ever, as no success
   * of it would be told any more; if it still fails, it opens again.
   */
  private forgetOldest(): void {
    const oldest = this.hosts.entries().next();
    if (oldest.done) return;
    const [host, s] = oldest.value;
    this.hosts.delete(host);
    this.modules -= s.modules.size;
    if (s.reported) this.opts.onState?.(host, 'forgotten', '');
  }

  /** A fetch from host ended, however: a probe that ended without a verdict lets the next module probe. */
  ended(host: string): void {
    const s = this.hosts.get(host);
    if (s) s.probing = false;
  }

  succeeded(host: string): void {
    const s = this.hosts.get(host);
    if (!s) return;
    this.hosts.delete(host);
    this.modules -= s.modules.size;
    if (s.reported) this.opts.onState?.(host, 'closed', '');
  }
}
