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
    const reachable = e.outcome === 'ok' || e.outcome === 'not_found' || e.outcome === 'refused';
    let detail: string | undefined;
    if (!reachable) {
      const f = this.lastFailure(e.upstream);
      detail = e.outcome === 'breaker_open' ? 'circuit breaker open' : e.outcome;
      if (f !== undefined) detail = `${detail}: ${f}`;
    }
    this.last.set(e.upstream, { reachable, at: this.clock.now(), ...(detail === undefined ? {} : { detail }) });
  }

  /** What the last call to url showed; undefined when it was never called. */
  of(url: string): Reach | undefined {
    return this.last.get(url);
  }
}
