// The circuit breaker of one upstream. It measures the upstream's health, not
// one module's: a module whose upstream answers slowly (or with an oversized
// header) fails the same way every time it is asked, and any client can ask
// again at will, so failures of one subject alone must never take the whole
// upstream away from everyone else.
//
// Rules (all over the calls of the last WINDOW_MS, by the injected clock):
//   - the breaker opens when at least `failures` calls failed, those failures
//     name at least min(failures, MIN_DISTINCT) distinct subjects (module
//     paths), and they are at least half of the calls in the window;
//   - while open, calls about a subject that failed are refused at once; a
//     call about any other subject is let through as a probe, one at a time,
//     until a probe fails (so modules an attacker made fail cannot take the
//     others away: the first other module asked proves the upstream well and
//     closes the breaker; in a real outage one more call fails, then all
//     fail fast); after `halfOpenAfter` any subject may probe;
//   - a probe's success closes the breaker and forgets the window; its
//     failure opens it again for another `halfOpenAfter`, with no more
//     probes before then.
// Its state is what is happening: half-open only while a probe is out. An
// open breaker whose `halfOpenAfter` has passed stays open until a call
// comes to probe (nextProbeAt says when one may): read as "half-open" it
// read as probing beside the open breaker's refusals of the same moment.
import type { WaitingClock as Clock } from '../util/clock.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** How far back calls are counted. */
export const WINDOW_MS = 30_000;
/** Distinct failing subjects needed to open (fewer when `failures` is smaller). */
const MIN_DISTINCT = 3;
/** Calls remembered at most (the oldest are forgotten first). */
const MAX_REMEMBERED = 1_000;

interface Outcome {
  readonly at: number;
  readonly subject: string;
  readonly ok: boolean;
}

export class HealthBreaker {
  private outcomes: Outcome[] = [];
  private openedAt: number | undefined;
  /** When the breaker last changed to open or closed (here or by news followed). */
  private changedAt = -Infinity;
  /** News dated ahead of this clock already followed (follow). */
  private readonly futureNews = new Set<string>();
  private probing = false;
  private current: BreakerState = 'closed';
  /** Subjects whose failures opened the breaker (or failed a probe since). */
  private failing = new Set<string>();
  /** A probe failed since the breaker opened: no more probes until halfOpenAfter. */
  private probeFailed = false;

  constructor(
    private readonly failures: number,
    private readonly halfOpenAfter: number,
    private readonly clock: Clock,
    private readonly onChange: (s: BreakerState) => void = () => undefined,
  ) {}

  /** When the breaker opened (epoch ms by its clock), while open or half-open. */
  get openedSince(): number | undefined {
    return this.current === 'closed' ? undefined : this.openedAt;
  }

  /**
   * The clock's time. A time of ours ahead of it means the wall clock stepped
   * back (NTP, a VM resumed), or the breaker stayed open with no probe, and
   * every other process's news looked old, until the clock had caught up
   * again (an hour's step, an hour of refusals): the opening is taken as
   * now, and the last change as of unknown date (any news is newer).
   */
  private now(): number {
    const now = this.clock.now();
    if (this.openedAt !== undefined && this.openedAt > now) this.openedAt = now;
    if (this.changedAt > now) this.changedAt = -Infinity;
    return now;
  }

  get state(): BreakerState {
    return this.current;
  }

  /**
   * While open: when any call may probe (epoch ms by its clock; it may have
   * passed, with no call since). A call about a module that has not failed
   * may probe sooner, until a probe fails.
   */
  get nextProbeAt(): number | undefined {
    this.now();
    return this.current === 'open' ? (this.openedAt ?? 0) + this.halfOpenAfter : undefined;
  }

  /**
   * Asks to make a call. Returns a ticket to report its outcome with, or null
   * when the breaker refuses the call (open, or a probe is already out).
   */
  admit(subject: string): { readonly probe: boolean } | null {
    const now = this.now();
    if (this.current === 'closed') return { probe: false };
    if (this.probing) return null;
    const due = now - (this.openedAt ?? 0) >= this.halfOpenAfter;
    if (!due && (this.probeFailed || this.failing.has(subject))) return null;
    this.probing = true;
    this.set('half-open');
    return { probe: true };
  }

  /**
   * Follows another process's breaker that opened or closed at `at`. False
   * (nothing changes) when the news is not newer than this breaker's own
   * last change, or says what it already knows.
   */
  follow(state: 'open' | 'closed', at: number): boolean {
    // News is input: dated ahead of this clock (a node's skewed clock, a bad value in Redis), it would hold the
    // breaker open, with no probe, until that date, and make every newer news look old. It happened now at the
    // latest.
    const now = this.now();
    if (at > now) {
      // Taken as of now, it would be newer again at each replay (Redis gives the latest news at each
      // reconnect): such news is followed once.
      const heard = `${state} ${at}`;
      if (this.futureNews.has(heard)) return false;
      if (this.futureNews.size >= 64) this.futureNews.clear();
      this.futureNews.add(heard);
      at = now;
    }
    if (at <= this.changedAt) return false;
    if (state === 'closed') {
      if (this.current === 'closed') return false;
      this.outcomes = [];
      this.failing.clear();
      this.openedAt = undefined;
      this.changedAt = at;
      this.set('closed');
      return true;
    }
    this.openedAt = at;
    this.probeFailed = true;
    this.changedAt = at;
    this.set('open');
    return true;
  }

  /** Reports a call's outcome: ok, a health failure, or neutral (a definite answer that says nothing of health). */
  record(ticket: { readonly probe: boolean }, subject: string, outcome: 'ok' | 'failure' | 'neutral'): void {
    const now = this.now();
    if (ticket.probe) {
      this.probing = false;
      this.changedAt = now;
      if (outcome === 'failure') {
        this.openedAt = now;
        this.probeFailed = true;
        this.failing.add(subject);
        this.set('open');
      } else {
        this.outcomes = [];
        this.failing.clear();
        this.openedAt = undefined;
        this.set('closed');
      }
      return;
    }
    if (outcome === 'neutral') return;
    this.outcomes.push({ at: now, subject, ok: outcome === 'ok' });
    if (this.outcomes.length > MAX_REMEMBERED) this.outcomes.splice(0, this.outcomes.length - MAX_REMEMBERED);
    if (outcome === 'failure' && this.current === 'closed' && this.shouldOpen(now)) {
      this.openedAt = now;
      this.changedAt = now;
      this.probeFailed = false;
      this.failing = new Set(this.outcomes.filter((o) => !o.ok).map((o) => o.subject));
      this.set('open');
    }
  }

  private shouldOpen(now: number): boolean {
    const since = now - WINDOW_MS;
    let start = 0;
    while (start < this.outcomes.length && (this.outcomes[start] as Outcome).at < since) start++;
    if (start > 0) this.outcomes.splice(0, start);
    let failed = 0;
    const subjects = new Set<string>();
    for (const o of this.outcomes) {
      if (o.ok) continue;
      failed++;
      subjects.add(o.subject);
    }
    return (
      failed >= this.failures &&
      subjects.size >= Math.min(this.failures, MIN_DISTINCT) &&
      failed * 2 >= this.outcomes.length
    );
  }

  private set(s: BreakerState): void {
    if (s === this.current) return;
    this.current = s;
    this.onChange(s);
  }
}

/**
 * What a call is about, for counting distinct failures: the module of a
 * GOPROXY path (`/<module>/@v/…`, `/<module>/@latest`), else the path itself.
 */
export function subjectOf(path: string): string {
  const v = path.indexOf('/@v/');
  if (v >= 0) return path.slice(0, v);
  if (path.endsWith('/@latest')) return path.slice(0, -'/@latest'.length);
  return path;
}
