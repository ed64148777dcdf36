// The resolved, validated settings of a godepot server, and their defaults.
// Every default is written out here; `godepot serve --help` is generated from
// OPTIONS (options.ts), and the README's configuration table, written by hand,
// is checked to name every flag and variable (test/config/config.test.ts).
import type { VerifyMode } from '../proxy/verify.js';
import type { CallClass, Deadlines, UpstreamList, UrlCredential } from '../upstream/types.js';
import { DEFAULT_SUMDB, type SumdbSpec } from './values.js';

export type { CallClass, Deadlines, VerifyMode };

export interface Settings {
  readonly listen: { readonly host: string; readonly port: number };
  readonly data: string;
  readonly upstream: UpstreamList;
  readonly sumdb: readonly SumdbSpec[];
  /**
   * The user:password of --upstream and --sumdb URLs, sent as HTTP Basic
   * authorization to those URLs and below (an upstream's /sumdb/ too); the
   * URLs themselves are held redacted (upstream/credentials.ts).
   */
  readonly credentials: readonly UrlCredential[];
  /** GONOSUMDB-syntax patterns: module paths never sent to a checksum database. */
  readonly nosumdb: string;
  readonly offline: boolean;
  readonly verify: {
    readonly mode: VerifyMode;
    readonly rules: ReadonlyArray<{ readonly pattern: string; readonly mode: VerifyMode }>;
  };
  readonly ttl: {
    /** @v/list and @latest are refreshed after this age. */
    readonly list: number;
    /** Non-canonical .info queries (branches, commits) are refreshed after this age. */
    readonly query: number;
    /** The checksum database's signed tree head is refreshed after this age. */
    readonly sumdbLatest: number;
    /** A 404/410 from the upstream is remembered (in memory) this long. */
    readonly notFound: number;
  };
  /** With a stale copy at hand, a refresh gets at most this long before the stale copy is served. */
  readonly staleGrace: number;
  readonly deadlines: Readonly<Record<CallClass, Deadlines>>;
  readonly retry: { readonly attempts: number; readonly baseDelay: number; readonly maxDelay: number };
  readonly breaker: { readonly failures: number; readonly halfOpenAfter: number };
  /** A second checksum-database mirror is asked when the first has not answered after this long. */
  readonly hedgeDelay: number;
  /** Unverified artifacts are re-checked against the checksum database this often. */
  readonly reverifyInterval: number;
  /** Bytes of small immutable artifacts kept in memory. */
  readonly memoryCache: number;
  /** Largest artifact kept in the memory cache. */
  readonly memoryCacheItem: number;
  /** Fetch a version's .info when its .mod is fetched, and its .zip when its .info is asked for (proxy/read-ahead.ts). */
  readonly readAhead: boolean;
  readonly workers: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** auto: JSON lines for serve, plain text for the other commands. */
  readonly logFormat: 'auto' | 'json' | 'text';
  /** One JSON log line per request. */
  readonly accessLog: boolean;
  /** GOPRIVATE-syntax patterns of private modules, comma-joined ('' for none). */
  readonly private: string;
  readonly vcs: { readonly concurrency: number; readonly timeout: number };
  /** The users file of --auth ('' for none). */
  readonly auth: string;
  /** PEM files of --tls-cert/--tls-key (null: plain HTTP). */
  readonly tls: { readonly cert: string; readonly key: string } | null;
  readonly insecureAuth: boolean;
  /** Where artifacts are kept: the data folder, or an S3-compatible bucket shared by several nodes. */
  readonly storage: StorageSpec;
  /** redis:// URL several nodes coordinate through; '' when this node is alone. */
  readonly redis: string;
  /** This node's name (logs, /readyz, the "node" metric label); '' for none. */
  readonly nodeName: string;
}

export type StorageSpec =
  | {
      readonly kind: 'fs';
      /** Deadline (ms) of each read, staging write and writability check (a hung disk: FsStorageOptions.timeout). */
      readonly timeout: number;
    }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      readonly prefix: string;
      /** '' for AWS S3; otherwise path-style addressing at this URL. */
      readonly endpoint: string;
      /** Deadline of every call (ms). */
      readonly timeout: number;
    };

export const DEFAULT_LISTEN = '127.0.0.1:8080';
export const DEFAULT_DATA = './data';
export const DEFAULT_UPSTREAM = 'https://proxy.golang.org';
export { DEFAULT_SUMDB };

export const DEFAULT_DEADLINES: Record<CallClass, Deadlines> = {
  // .info/.mod/list/@latest: small bodies; a hang should cost one request ~13s, not minutes.
  metadata: { connect: 5_000, firstByte: 4_000, idle: 10_000, total: 13_000 },
  // zips: up to 500 MiB; generous total, but a stalled body is cut after 30s.
  zip: { connect: 5_000, firstByte: 15_000, idle: 30_000, total: 15 * 60_000 },
  // checksum-database lookups, tiles and tree heads: small, and a second mirror is hedged in.
  sumdb: { connect: 5_000, firstByte: 3_000, idle: 10_000, total: 10_000 },
};
