// What the processes sharing one store tell each other about a fetch: how a
// lease holder's failure reaches its waiters (fetchOnceAcross in
// util/leases.ts), and the upstreams' recent 404/410 answers (one memory for
// the machine's workers, or for the nodes through Redis).
import { NotFoundError } from '../upstream/index.js';
import type { FetchOutcome, NotFoundCache } from './context.js';
import { GodepotError, toGodepotError, type ErrorCode } from './errors.js';

/** Failures that are the upstream's or the checksum database's answer: a lease holder's is every waiter's. */
const SHARED_FAILURES: ReadonlySet<string> = new Set<ErrorCode>([
  'upstream_failed',
  'upstream_timeout',
  'bad_upstream_content',
  'upstream_refused',
  'checksum_mismatch',
  'verification_unavailable',
  'quorum_failed',
  'not_in_checksum_db',
  'sumdb_inconsistent',
]);

/** How a lease holder's failed fetch of `what` is reported to the waiters. */
export function failureOutcome(err: unknown, what: string, signal: AbortSignal): FetchOutcome {
  if (err instanceof NotFoundError)
    return { kind: 'not_found', upstream: err.upstream, status: err.status, detail: err.detail };
  if (signal.aborted) return { kind: 'failed' };
  const e = toGodepotError(err, what);
  return SHARED_FAILURES.has(e.code)
    ? { kind: 'failed', error: { code: e.code, message: e.message } }
    : { kind: 'failed' };
}

/** The error a waiter gives for the holder's outcome when it is the source's own answer; null: fetch or read instead. */
export function sharedError(o: FetchOutcome): Error | null {
  if (o.kind === 'not_found') return new NotFoundError(o.upstream, o.status, o.detail);
  if (o.kind === 'failed' && o.error && SHARED_FAILURES.has(o.error.code))
    return new GodepotError(o.error.code as ErrorCode, o.error.message);
  return null;
}

/**
 * Recent 404/410 answers of the upstreams, so a missing module does not cost
 * an upstream call per request: kept by the coordination (coord/: this
 * process's, the machine's workers', or the nodes' through Redis; bounded
 * there), as NotFoundErrors here.
 */
export class NotFoundMemory {
  constructor(
    private readonly shared: NotFoundCache,
    private readonly ttl: number,
  ) {}

  async known(key: string): Promise<NotFoundError | null> {
    const e = await this.shared.notFound(key);
    return e ? new NotFoundError(e.upstream, e.status, e.detail) : null;
  }

  async remember(key: string, err: NotFoundError): Promise<void> {
    await this.shared
      .rememberNotFound(key, { upstream: err.upstream, status: err.status, detail: err.detail }, this.ttl)
      .catch(() => undefined);
  }

  /**
   * A list refreshed past a remembered 404: it goes, for the others too (an
   * artifact is never fetched while a 404 of it is remembered).
   */
  forget(key: string): void {
    this.shared.forgetNotFound(key).catch(() => undefined);
  }
}
