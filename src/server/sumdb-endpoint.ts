// What the HTTP layer needs from a checksum-database mirror.
import type { CacheOutcome } from '../proxy/artifact.js';
import type { SumdbStatus } from '../sumdb/mirror.js';

export type { SumdbStatus };

export interface SumdbAnswer {
  readonly body: Buffer;
  readonly contentType: string;
  /** Lookup records and full tiles never change; tree heads and partial tiles do. */
  readonly immutable: boolean;
  readonly cache: CacheOutcome;
}

export interface SumdbEndpoint {
  readonly name: string;
  /** Answers GET /sumdb/<name>/<sub>: supported, latest, lookup/…, tile/…; throws GodepotError. */
  serve(sub: string, signal: AbortSignal): Promise<SumdbAnswer>;
  status(): SumdbStatus;
}
