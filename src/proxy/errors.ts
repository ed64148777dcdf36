// The error catalogue: every failure a client can see, with its code and
// HTTP status (DESIGN invariant 7). server/ maps these to responses in one
// place; the message is the short text/plain body the go command shows its
// user verbatim, so it says what failed and what to do.
import { UpstreamError, NotFoundError, isHealthFailure, isRefusalStatus } from '../upstream/errors.js';
import { SumdbError } from '../sumdb/errors.js';
import { StorageUnavailableError } from '../storage/storage.js';
import { originOutOfReach } from '../vcs/errors.js';

export type ErrorCode =
  | 'bad_request'
  | 'method_not_allowed'
  | 'uri_too_long'
  | 'not_found'
  | 'gone'
  | 'offline_miss'
  | 'upstream_failed'
  | 'upstream_timeout'
  | 'bad_upstream_content'
  | 'checksum_mismatch'
  | 'verification_unavailable'
  | 'quorum_failed'
  | 'not_in_checksum_db'
  | 'sumdb_inconsistent'
  | 'storage_failed'
  | 'shutting_down'
  | 'busy'
  | 'overloaded'
  | 'forbidden'
  | 'upstream_refused'
  | 'unauthorized'
  | 'loop_detected'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  method_not_allowed: 405,
  uri_too_long: 414,
  not_found: 404,
  gone: 410,
  offline_miss: 404,
  upstream_failed: 502,
  upstream_timeout: 504,
  bad_upstream_content: 502,
  checksum_mismatch: 502,
  verification_unavailable: 502,
  quorum_failed: 502,
  // As the go command refuses it: the client may move on to the next proxy or direct (with its own GONOSUMDB).
  not_in_checksum_db: 404,
  sumdb_inconsistent: 502,
  storage_failed: 503,
  shutting_down: 503,
  busy: 503,
  overloaded: 503,
  forbidden: 403,
  upstream_refused: 403,
  unauthorized: 401,
  loop_detected: 508,
  internal: 500,
};

export class GodepotError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    /** Overrides the code's status (an upstream's own 4xx, passed on); anything but a 4xx keeps the code's. */
    status?: number,
  ) {
    super(message);
    this.name = 'GodepotError';
    this.status = status !== undefined && isRefusalStatus(status) ? status : STATUS[code];
  }
}

export function badRequest(message: string): GodepotError {
  return new GodepotError('bad_request', message);
}

/**
 * What to do when an upstream fails something godepot does not hold: said alike to the go command and by
 * `godepot warm`, which gets the same error (so nothing here points at a server's pages).
 */
const UPSTREAM_DOWN_NEXT = '; what godepot holds is still served: try this again once the upstream answers';

/**
 * Maps an upstream failure to the client-facing error: 504 for time-outs, 502 otherwise. Only the upstream's being
 * unwell (unreachable, slow, answering 5xx: what may pass) says to try again: a body over a limit, or one that is
 * no answer at all, is the same next time.
 */
function fromUpstream(err: UpstreamError, what: string): GodepotError {
  const code = err.failure === 'timeout' ? 'upstream_timeout' : 'upstream_failed';
  const next = isHealthFailure(err) || err.breakerOpen ? UPSTREAM_DOWN_NEXT : '';
  return new GodepotError(code, `godepot: ${what}: ${err.describe()}${next}`, {
    upstream: err.upstream,
    failure: err.failure,
    breakerOpen: err.breakerOpen,
    ...(err.since === undefined ? {} : { since: new Date(err.since).toISOString() }),
  });
}

/** Hosts whose module paths are host/OWNER/…: only an owner there can be private, never the whole host. */
const PUBLIC_CODE_HOSTS = new Set(['github.com', 'gitlab.com', 'bitbucket.org']);

/**
 * The hint for a module an upstream proxy could not fetch from its origin as
 * an anonymous client (it passes on the go command's words, which an origin
 * fetch of godepot's own classifies the same way, or says the host is not
 * permitted): the signs of a private module, which godepot can fetch itself.
 */
function privateHint(err: NotFoundError, path: string | undefined): string {
  const detail = err.detail ?? '';
  const signs = originOutOfReach(detail) || /module host not permitted/i.test(detail);
  if (path === undefined || !/^https?:/.test(err.upstream) || !signs) return '';
  // The bare name covers the host itself too (the go command asks for it when it
  // probes a package path's prefixes); 'host/*' would not. On a public code host
  // the owner is what can be private.
  const [host = path, owner] = path.split('/');
  const privatePart = PUBLIC_CODE_HOSTS.has(host) ? (owner === undefined ? '' : `${host}/${owner}`) : host;
  if (privatePart === '') return '';
  return ` (if ${privatePart} is private, godepot fetches from it itself with --private '${privatePart}': README, Private modules)`;
}

/**
 * A 404/410 upstream answer, or another definite 4xx, passed on with the
 * upstream's own status and words; with a hint when they are a private
 * module's signs (path: the module's).
 */
export function fromNotFound(err: NotFoundError, what: string, path?: string): GodepotError {
  const detail = (err.detail ? `: ${err.detail}` : '') + privateHint(err, path);
  // Only a 4xx is a refusal; anything else (a corrupted shared entry) is no answer to pass on.
  if (!isRefusalStatus(err.status))
    return new GodepotError('upstream_failed', `godepot: ${what}: ${err.upstream} answered ${err.status}${detail}`, {
      upstream: err.upstream,
    });
  if (err.status !== 404 && err.status !== 410)
    return new GodepotError(
      'upstream_refused',
      `${what}: ${err.upstream} answered ${err.status}${detail}`,
      { upstream: err.upstream },
      err.status,
    );
  // Whose answer it is, in its own words.
  const said = `${err.upstream} answered ${err.status}${err.detail ? `: ${err.detail}` : ''}`;
  return new GodepotError(
    err.status === 410 ? 'gone' : 'not_found',
    `not found: ${what} (${said})${privateHint(err, path)}`,
    { upstream: err.upstream },
  );
}

/** The reason godepot's shutdown aborts what is still under way with (compose.ts). */
export class ShuttingDownError extends Error {
  constructor() {
    super('godepot is shutting down');
    this.name = 'ShuttingDownError';
  }
}

export function toGodepotError(err: unknown, what: string, path?: string): GodepotError {
  if (err instanceof GodepotError) return err;
  if (err instanceof ShuttingDownError)
    return new GodepotError(
      'shutting_down',
      `godepot: ${what} was not finished: godepot is shutting down; try again (it is fetched afresh)`,
    );
  if (err instanceof UpstreamError) return fromUpstream(err, what);
  if (err instanceof NotFoundError) return fromNotFound(err, what, path);
  if (err instanceof SumdbError) return fromSumdb(err);
  if (err instanceof StorageUnavailableError) {
    return new GodepotError(
      'storage_failed',
      `godepot: cannot serve ${what}: ${err.message}; try again shortly (operators: check the ${err.store.startsWith('s3://') ? 'object store' : 'disk under the data folder'})`,
      { store: err.store },
    );
  }
  if (isDiskFull(err)) {
    return new GodepotError(
      'storage_failed',
      `godepot: cannot store ${what}: the data folder is full; free space or grow the volume`,
    );
  }
  const { code, syscall, path: file } = (err ?? {}) as { code?: unknown; syscall?: unknown; path?: unknown };
  if (code === 'EMFILE' || code === 'ENFILE') {
    // Descriptors run out under load (downloads held open by slow clients): it passes as they close. Not
    // 'overloaded' (a refused connection, not logged): the operator is told, spaced, as for any 5xx.
    return new GodepotError(
      'busy',
      `godepot: cannot serve ${what} now: too many files open; retry in a few seconds (operators: raise the descriptor limit, ulimit -n)`,
      typeof file === 'string' ? { file } : {},
    );
  }
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    // Which file, in the details (the server log), not in the client's answer.
    const reading = syscall === 'open' && code !== 'EROFS' ? !/\.staging/.test(String(file)) : false;
    return new GodepotError(
      'storage_failed',
      reading
        ? `godepot: cannot read ${what} from the data folder (permission denied); make the data folder readable and writable for the user godepot runs as (the server log names the file)`
        : `godepot: cannot store ${what}: the data folder is not writable (${code === 'EROFS' ? 'read-only file system' : 'permission denied'}); make it writable for the user godepot runs as (the server log names the file)`,
      { ...(typeof file === 'string' ? { file } : {}), ...(typeof syscall === 'string' ? { syscall } : {}) },
    );
  }
  return new GodepotError('internal', `godepot: internal error while serving ${what}; see the server log`, {
    cause: String(err),
  });
}

/** A write failed for want of space: the disk, or the quota of the user godepot runs as, is full. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** What a client does when no source of a checksum database answers. */
const SUMDB_DOWN_NEXT =
  "; modules whose go.sum lines you have keep building through godepot; for a new one try again later, and keep GOSUMDB on (godepot's /readyz and /ui/ show the outage)";

function fromSumdb(err: SumdbError): GodepotError {
  switch (err.kind) {
    case 'bad_request':
      return new GodepotError('bad_request', err.message);
    case 'not_found':
      return new GodepotError('not_found', err.message);
    case 'forbidden':
      return new GodepotError('forbidden', err.message);
    case 'inconsistent':
      return new GodepotError('sumdb_inconsistent', err.message);
    case 'unavailable':
      return new GodepotError(
        err.timeout ? 'upstream_timeout' : 'upstream_failed',
        `${err.message.startsWith('godepot') ? err.message : `godepot: ${err.message}`}${err.fromSources ? SUMDB_DOWN_NEXT : ''}`,
      );
  }
}
