// The shapes the upstream client is configured with. config/ builds them from
// settings; they live here so that upstream/ depends on nothing of ours but module/.

/** Deadlines of one kind of upstream call (milliseconds). */
export interface Deadlines {
  /** TCP (and TLS) connection establishment. */
  readonly connect: number;
  /** From sending the request to the response headers. */
  readonly firstByte: number;
  /** Longest pause between two body chunks. */
  readonly idle: number;
  /** The whole call, all retries included. */
  readonly total: number;
}

export type CallClass = 'metadata' | 'zip' | 'sumdb';

/** HTTP Basic credentials given in an upstream URL's user:password (credentials.ts). */
export interface UrlCredential {
  /** The URL they were given in, redacted as it is shown: calls to it and below it carry them. */
  readonly url: string;
  /** The Authorization header value ("Basic …"): a secret, never logged or shown. */
  readonly authorization: string;
}

export interface UpstreamEntry {
  /** Base URL without a trailing slash, its password redacted: the upstream's name everywhere. */
  readonly url: string;
  /** The credentials of the URL's user:password, if it had any. */
  readonly credential?: UrlCredential;
  /** True when the separator after this entry is '|': fall through on any error, not only 404/410. */
  readonly fallBackOnError: boolean;
}

export interface UpstreamList {
  readonly entries: readonly UpstreamEntry[];
  /** True for "off" (or a list ending in off): godepot never fetches modules. */
  readonly off: boolean;
  /** True when the list ends in "direct": modules no proxy has come from their origin (version control). */
  readonly direct?: boolean;
}
