// The background re-verifier: artifacts served while the checksum database
// was unreachable (or stored unchecked under an earlier configuration that
// asked no database about them) are checked again, every interval, until the
// database vouches for them (promoted to verified storage) or contradicts
// them (purged, and the mismatch alert raised).
import type { Storage } from '../storage/index.js';
import type { Logger } from 'pino';
import { parseProxyPath } from './request.js';
import type { ImmutableRequest } from './immutable.js';
import { passed, systemClock, type Clock } from '../util/clock.js';

/**
 * How long a listing of the unverified area answers pending() again: /readyz (a load balancer's check every few
 * seconds, in every worker) and the operator page ask for the count, and the area also holds every copy of a
 * module no database is asked about (private ones: tens of thousands of keys, tens of LIST requests on S3). A
 * copy this process quarantines is counted at once (quarantined()); another process's within this time.
 */
const PENDING_REUSE_MS = 60_000;

/**
 * While the last listing found nothing to re-verify and this process has quarantined nothing since, a pass lists
 * the area only this often (not every interval): what other processes quarantine they re-verify themselves, and
 * this catches what a process that stopped left behind, and a configuration that now checks stored copies.
 */
export const IDLE_LISTING_MS = 5 * 60_000;

/**
 * verified: promoted; purged: contradicted by the database; unavailable: the
 * database did not answer; unknown: a source said it has no record (kept:
 * that proves nothing, and says nothing of the other copies); contradicted:
 * the database's sources answered with a history that contradicts the
 * verified tree (kept, and not served: evidence of tampering, not an outage);
 * unreadable: the copy could not be read or hashed now (a storage error, a
 * full verification queue): kept for the next pass, and the pass goes on.
 */
export type ReverifyResult = 'verified' | 'purged' | 'unavailable' | 'unknown' | 'contradicted' | 'unreadable';

export interface Reverifier {
  reverify(req: ImmutableRequest): Promise<ReverifyResult>;
  /** Whether a database is asked about req's module now: copies of the others wait in the area unchecked. */
  checks(req: ImmutableRequest): boolean;
}

export class ReverifyLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** The last listing of the unverified area (or the one under way), shared by the callers of pending(). */
  private listed: { readonly at: number; readonly reqs: Promise<ImmutableRequest[]> } | undefined;
  /** When a pass last listed the area, whether it found copies to re-verify, and whether one came since. */
  private passListed = { at: 0, found: true, since: true };

  constructor(
    private readonly storage: Storage,
    private readonly target: Reverifier,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** This process stored or served a quarantined copy: counted at once, and the next pass lists the area. */
  quarantined(): void {
    this.listed = undefined;
    this.passListed.since = true;
  }

  /** Quarantined artifacts right now (those a database is asked about: the others are kept unchecked by choice). */
  async pending(): Promise<ImmutableRequest[]> {
    const now = this.clock.now();
    if (!this.listed || passed(this.listed.at, PENDING_REUSE_MS, now)) {
      const listed = { at: now, reqs: this.list() };
      this.listed = listed;
      // A listing that failed is not reused: the next caller lists again.
      listed.reqs.catch(() => {
        if (this.listed === listed) this.listed = undefined;
      });
    }
    return [...(await this.listed.reqs)];
  }

  private async list(): Promise<ImmutableRequest[]> {
    const out: ImmutableRequest[] = [];
    for (const key of await this.storage.list('unverified/')) {
      try {
        const req = parseProxyPath(key.slice('unverified'.length));
        if (req && (req.kind === 'mod' || req.kind === 'zip') && this.target.checks(req)) out.push(req);
      } catch {
        this.log.warn({ key }, 'unexpected file in the unverified area');
      }
    }
    return out;
  }

  /** One pass; returns counts. Passes never overlap. */
  async runOnce(): Promise<Record<ReverifyResult, number>> {
    const counts = { verified: 0, purged: 0, unavailable: 0, unknown: 0, contradicted: 0, unreadable: 0 };
    if (this.running) return counts;
    const now = this.clock.now();
    const last = this.passListed;
    if (!last.found && !last.since && !passed(last.at, IDLE_LISTING_MS, now)) return counts;
    this.running = true;
    // A pass starts from the area as it is now, not from a listing made before the last pass moved copies out.
    this.listed = undefined;
    try {
      // Marked before the listing: a copy quarantined while it runs keeps `since`; a failed listing keeps `found`.
      this.passListed = { at: now, found: true, since: false };
      const pending = await this.pending();
      this.passListed.found = pending.length > 0;
      for (const req of pending) {
        const r = await this.target.reverify(req);
        counts[r]++;
        // While the database is still unreachable, the rest of the pass would fail the same way.
        if (r === 'unavailable' || r === 'contradicted') break;
      }
      if (counts.verified + counts.purged > 0) {
        // Copies left the area: the count /readyz shows is listed afresh.
        this.listed = undefined;
        this.log.info(counts, 're-verification pass');
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 're-verification pass failed');
    } finally {
      this.running = false;
    }
    return counts;
  }
}
