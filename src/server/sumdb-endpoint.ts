// What the HTTP layer needs from a checksum-database mirror.
import type { CacheOutcome } from '../proxy/artifact.js';

export interface SumdbAnswer {
  readonly body: Buffer;
  readonly contentType: string;
  /** Lookup records and full tiles never change; tree heads and partial tiles do. */
  readonly immutable: boolean;
  readonly cache: CacheOutcome;
}

export interface SumdbStatus {
  readonly name: string;
  readonly treeSize: number;
  /** ISO time the tree head was last confirmed by a mirror. */
  readonly checkedAt?: string;
  readonly status: 'ok' | 'stale' | 'inconsistent' | 'empty';
  readonly detail?: string;
}

export interface SumdbEndpoint {
  readonly name: string;
  /** Answers GET /sumdb/<name>/<sub>: supported, latest, lookup/…, tile/…; throws GodepotError. */
  serve(sub: string, signal: AbortSignal): Promise<SumdbAnswer>;
  status(): SumdbStatus;
}
