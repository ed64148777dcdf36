// /readyz: can godepot do its job? Storage must be writable (else 503);
// open breakers, a stale or forked checksum database make it "degraded" —
// still serving what it has verified, so still ready (200).
import type { CoordStatus } from '../coord/index.js';
import type { Storage } from '../storage/index.js';
import type { EndpointRegistry, EndpointStatus, Reachability } from '../upstream/index.js';
import type { SumdbEndpoint, SumdbStatus } from './sumdb-endpoint.js';

export interface Readiness {
  readonly ready: boolean;
  readonly status: 'ok' | 'degraded' | 'not-ready';
  readonly storage: { readonly kind: string; readonly writable: boolean; readonly error?: string };
  readonly config: 'loaded';
  readonly offline: boolean;
  readonly upstreams: ReadonlyArray<EndpointStatus & { readonly reachable?: boolean; readonly detail?: string }>;
  /** off only by the explicit --sumdb off. */
  readonly verification: 'on' | 'off';
  readonly sumdb: readonly SumdbStatus[];
  readonly unverifiedArtifacts?: number;
  /** How this node coordinates with the others (with --redis: whether Redis answers). */
  readonly coordination?: CoordStatus;
}

export class Health {
  constructor(
    private readonly storage: Storage,
    private readonly endpoints: EndpointRegistry,
    private readonly sumdbs: readonly SumdbEndpoint[],
    private readonly offline: boolean,
    private readonly unverifiedCount?: () => Promise<number>,
    private readonly reach?: Reachability,
    private readonly coordination?: () => CoordStatus,
  ) {}

  async readiness(): Promise<Readiness> {
    let writable = true;
    let error: string | undefined;
    try {
      await this.storage.checkWritable();
    } catch (err) {
      writable = false;
      error = (err as Error).message;
    }
    const upstreams = this.endpoints.all().map((e) => {
      const r = this.reach?.of(e.url);
      return {
        ...e.status(),
        ...(r ? { reachable: r.reachable } : {}),
        ...(r?.detail === undefined ? {} : { detail: r.detail }),
      };
    });
    const sumdb = this.sumdbs.map((s) => s.status());
    const coordination = this.coordination?.();
    const unverified = this.unverifiedCount ? await this.unverifiedCount().catch(() => undefined) : undefined;
    const degraded =
      upstreams.some((u) => u.state !== 'closed') ||
      sumdb.some((s) => s.status === 'inconsistent' || s.status === 'stale' || s.status === 'unreachable') ||
      (unverified ?? 0) > 0 ||
      coordination?.redis?.state === 'down';
    return {
      ready: writable,
      status: !writable ? 'not-ready' : degraded ? 'degraded' : 'ok',
      storage: { kind: this.storage.kind, writable, ...(error ? { error } : {}) },
      config: 'loaded',
      offline: this.offline,
      upstreams,
      verification: this.sumdbs.length > 0 ? 'on' : 'off',
      sumdb,
      ...(unverified === undefined ? {} : { unverifiedArtifacts: unverified }),
      ...(coordination ? { coordination } : {}),
    };
  }
}
