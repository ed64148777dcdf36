// What the processes sharing one store tell each other about a fetch: how a
// lease holder's failure reaches its waiters (fetchOnceAcross in
// util/leases.ts), and the upstreams' recent 404/410 answers (one memory for
// the machine's workers, or for the nodes through Redis).
import { createHash } from 'node:crypto';
import { NotFoundError } from '../upstream/index.js';
import type { Storage } from '../storage/index.js';
import type { FetchOutcome, NotFoundCache } from './context.js';
import { fromNotFound, GodepotError, toGodepotError, type ErrorCode } from './errors.js';

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
 * How many 404/410 answers the store keeps per scope. Clients name as many
 * missing modules as they like: each answer goes to one of this many slots
 * (by a hash of its key) and replaces the one there, so that the folder holds
 * at most this many small files, however many names were asked for.
 */
export const NOT_FOUND_SLOTS = 16_384;

/**
 * The store key of key's slot under prefix, one of `slots` (fewer than
 * 65,536): every key of the same hash shares it, so that answers kept for
 * names a client chose take a bounded room. What is stored there must say
 * whose it is.
 */
export function slotKey(prefix: string, key: string, slots: number): string {
  const n = createHash('sha256').update(key).digest().readUInt32BE(0) % slots;
  return prefix + n.toString(16).padStart(4, '0');
}

/** What is stored in key's slot: fields, with the key they are key's by. */
export function slotBody(key: string, fields: object): Buffer {
  return Buffer.from(JSON.stringify({ ...fields, key }));
}

/** The fields a slot holds for key (slotBody); null when it holds another key's (the same hash), or no record. */
export function slotRecord(body: Buffer, key: string): Record<string, unknown> | null {
  const e = jsonRecord(body);
  return e !== null && e.key === key ? e : null;
}

function jsonRecord(body: Buffer): Record<string, unknown> | null {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Recent 404/410 answers of the upstreams, so a missing module does not cost
 * an upstream call per request: kept by the coordination (coord/: this
 * process's, the machine's workers', or the nodes' through Redis; bounded
 * there), as NotFoundErrors here. Each is also kept in the store (under
 * `notfound/`, in one of NOT_FOUND_SLOTS slots, with its key), however old,
 * as the answer in an upstream outage for what godepot never held: the go
 * command probes every prefix of a package path (`go install
 * M/cmd/tool@v1`, `go run M/cmd/tool@latest`), and a 502 for a prefix that
 * is no module ends its search, where the 404 lets it go on.
 */
export class NotFoundMemory {
  constructor(
    private readonly shared: NotFoundCache,
    private readonly ttl: number,
    private readonly storage?: Storage,
    /**
     * Whose answers these are, prefixed to every key: the private modules' service asks their origin, and a
     * proxy's 404 for a path from before it was made private (a proxy cannot see a private repository) is
     * not the origin's answer.
     */
    private readonly scope = '',
  ) {}

  async known(key: string): Promise<NotFoundError | null> {
    const e = await this.shared.notFound(this.scope + key);
    return e ? new NotFoundError(e.upstream, e.status, e.detail) : null;
  }

  async remember(key: string, err: NotFoundError): Promise<void> {
    const entry = { upstream: err.upstream, status: err.status, detail: err.detail };
    await Promise.all([
      this.shared.rememberNotFound(this.scope + key, entry, this.ttl).catch(() => undefined),
      this.storage?.put(this.slot(key), slotBody(key, entry)).catch(() => undefined),
    ]);
  }

  /** Where key's last answer is stored: a slot of its scope, shared by every key of the same hash. */
  private slot(key: string): string {
    return slotKey(`notfound/${this.scope}slot/`, key, NOT_FOUND_SLOTS);
  }

  /**
   * The upstream's last 404/410 for key, however old; null when there is none.
   * Only for an upstream that fails now: once the upstream answered key, what
   * it answered is stored and served instead.
   */
  async lastSaid(key: string): Promise<NotFoundError | null> {
    const read = async (at: string): Promise<Buffer | null> => (await this.storage?.get(at).catch(() => null)) ?? null;
    const slot = await read(this.slot(key));
    // Before the slots, each answer was kept under its own key (without limit): those stored then are read still.
    const legacy = async (): Promise<Record<string, unknown> | null> => {
      const body = await read(`notfound/${this.scope}${key}`);
      return body && jsonRecord(body);
    };
    const e = (slot && slotRecord(slot, key)) ?? (await legacy());
    if (e === null) return null;
    const { upstream, status, detail } = e;
    if (typeof upstream !== 'string' || typeof status !== 'number' || typeof detail !== 'string') return null;
    return new NotFoundError(upstream, status, detail);
  }

  /** err, unless the upstream failed (502/504) and once said key is not there: then what it said. */
  async inOutage(key: string, err: GodepotError, what: string, path: string): Promise<GodepotError> {
    if (err.code !== 'upstream_failed' && err.code !== 'upstream_timeout') return err;
    const said = await this.lastSaid(key);
    if (!said) return err;
    const last = fromNotFound(said, what, path);
    // Whose answer it was, and that it is not today's: the one asked now did not answer.
    return new GodepotError(
      last.code,
      `${last.message} (its last answer: it does not answer now)`,
      last.details,
      last.status,
    );
  }

  /**
   * A list refreshed past a remembered 404: it goes, for the others too (an
   * artifact is never fetched while a 404 of it is remembered).
   */
  forget(key: string): void {
    this.shared.forgetNotFound(this.scope + key).catch(() => undefined);
  }
}
