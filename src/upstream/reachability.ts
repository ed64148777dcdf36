// What godepot knows of each upstream URL's reachability: whether its last
// call got an answer (any HTTP answer counts, a 404 too) or failed, and how.
// Fed by the endpoints' observer; read by /readyz, the start-up log and the
// checksum-database source list.
import type { Clock } from '../util/clock.js';
import type { EndpointEvent, EndpointObserver } from './endpoint.js';

export interface Reach {
  readonly reachable: boolean;
  /** ms since the epoch of the last call. */
  readonly at: number;
  /** The failure, when not reachable: its class and the endpoint's last detail. */
  readonly detail?: string;
}

export class Reachability {
  private readonly last = new Map<string, Reach>();

  constructor(
    private readonly clock: Clock,
    /** The endpoint's last failure detail (EndpointStatus.lastFailure.detail). */
    private readonly lastFailure: (url: string) => string | undefined = () => undefined,
  ) {}

  observer(): EndpointObserver {
    return { onCall: (e) => this.note(e) };
  }

  private note(e: EndpointEvent): void {
    // A call this process's own breaker refused learnt nothing of the upstream: what the last call that reached
    // it showed stands. (Said as "circuit breaker open", it stood beside the breaker's state in /readyz, and
    // contradicted it once the breaker was half-open or closed.)
    if (e.outcome === 'breaker_open' && this.last.has(e.upstream)) return;
    const reachable = e.outcome === 'ok' || e.outcome === 'not_found' || e.outcome === 'refused';
    let detail: string | undefined;
    if (!reachable) {
      const f = this.lastFailure(e.upstream);
      // Refused with no call of its own yet: the breaker followed another process's, whose failure it holds.
      const what = e.outcome === 'breaker_open' ? undefined : e.outcome;
      detail = [what, f].filter((x) => x !== undefined).join(': ') || 'failing';
    }
    this.last.set(e.upstream, { reachable, at: this.clock.now(), ...(detail === undefined ? {} : { detail }) });
  }

  /** What the last call to url showed; undefined when it was never called. */
  of(url: string): Reach | undefined {
    return this.last.get(url);
  }
}
