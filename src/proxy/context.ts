// What the module service's parts share: storage, upstreams, the checksum
// source, settings, logging and event hooks (metrics and incidents listen).
import type { Clock, WaitingClock } from '../util/clock.js';
import type { FetchLeases } from '../util/leases.js';
import type { Logger } from 'pino';
import type { Storage } from '../storage/index.js';
import type { ProxyList } from '../upstream/index.js';
import type { CacheOutcome, Verification } from './artifact.js';
import type { MemoryCache, CachedBytes } from './memcache.js';
import type { ArtifactKind } from './request.js';
import type { ChecksumSource, PolicySettings } from './verify.js';

export interface CachedArtifact extends CachedBytes {
  readonly verification: Verification;
}

export interface MismatchEvent {
  readonly module: string;
  readonly version: string;
  readonly kind: string;
  readonly expected: string;
  readonly received: string;
  readonly upstream: string;
}

export interface ServeEvent {
  /** 'sumdb': an answer of the checksum-database endpoint (/sumdb/<name>/…), served from the verified copy or not. */
  readonly kind: ArtifactKind | 'sumdb';
  readonly outcome: CacheOutcome | 'error';
  readonly verification?: Verification;
  readonly status?: number;
}

/** How a read-ahead (read-ahead.ts) ended: fetched from the upstream, already held, failed, or dropped (queue full). */
export interface ReadAheadEvent {
  /** A .mod only for a version from the origin (private, or `direct`: its siblings stored from one go run). */
  readonly kind: 'info' | 'mod' | 'zip';
  readonly outcome: 'fetched' | 'held' | 'failed' | 'dropped';
}

export interface ServiceEvents {
  checksumMismatch?(e: MismatchEvent): void;
  /** A stored copy was found damaged when read (removed; fetched again). */
  storedDamaged?(kind: 'info' | 'mod' | 'zip'): void;
  served?(e: ServeEvent): void;
  readAhead?(e: ReadAheadEvent): void;
  /** A copy was stored quarantined (unverified/, served unverified or by quorum): re-verification lists it. */
  quarantined?(): void;
}

/** The settings the module service reads (a subset of config's Settings). */
export interface ServiceSettings extends PolicySettings {
  readonly offline: boolean;
  readonly ttl: { readonly list: number; readonly query: number; readonly notFound: number };
  /** With a stale copy at hand, a refresh may take this long before the stale copy is served (ms). */
  readonly staleGrace: number;
}

export type { FetchLeases, FetchOutcome, Lease } from '../util/leases.js';

/** Where the service fetches from: the upstream proxy list, or a module origin (origin-source.ts). */
export type ModuleSource = Pick<ProxyList, 'disabled' | 'get' | 'getEach'>;

export interface ServiceContext {
  readonly storage: Storage;
  readonly upstream: ModuleSource;
  readonly checksums: ChecksumSource | null;
  readonly settings: ServiceSettings;
  readonly log: Logger;
  readonly events: ServiceEvents;
  readonly memory: MemoryCache<CachedArtifact>;
  /** Aborted at shutdown: reaches every shared upstream call. */
  readonly shutdown: AbortSignal;
  /** Set when other processes share the storage (--workers N, or nodes through Redis). */
  readonly leases?: FetchLeases;
  /** Ages mutable answers (default: the system clock). */
  readonly clock?: Clock;
  /** What the stale grace is waited on (default: the system clock). */
  readonly waits?: WaitingClock;
  /**
   * Hashes recorded for modules no checksum database is asked about (the
   * private ledger): a stored copy of one is held against them when first
   * read. Absent: such copies are checked by the zip rules only.
   */
  readonly pins?: {
    get(path: string, version: string): Promise<{ readonly zip: string; readonly mod: string } | undefined>;
  };
  /** Where upstream 404/410 answers are remembered: coord/'s (this process's, the workers', or the nodes' through Redis). */
  readonly notFound: NotFoundCache;
}

/** A remembered 404/410 of the upstreams (coord/ implements it, shared or local). */
export interface NotFoundCache {
  notFound(key: string): Promise<{ upstream: string; status: number; detail: string } | null>;
  rememberNotFound(
    key: string,
    entry: { upstream: string; status: number; detail: string },
    ttlMs: number,
  ): Promise<void>;
  forgetNotFound(key: string): Promise<void>;
}
