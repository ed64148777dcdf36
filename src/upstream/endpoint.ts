// An upstream URL with its own circuit breaker (breaker.ts), retry policy and
// overall deadline. Proxies and checksum-database mirrors are both endpoints.
//
// Every wait is bounded by the call's deadline and abortable by its signal
// (DESIGN invariant 9): a retry pause, however long an upstream's
// Retry-After asks for, never outlasts the deadline — a Retry-After beyond
// the remaining time fails the call at once, saying when the upstream asked
// to be retried. Time comes from an injected Clock.
import type { CallClass, Deadlines, UrlCredential } from './types.js';
import { authorizationFor } from './credentials.js';
import { isAbortError, isHealthFailure, UpstreamError, type FailureClass } from './errors.js';
import { getOnce, type AttemptResult, type BodyReader, type HttpPools } from './http.js';
import { HealthBreaker, subjectOf, type BreakerState } from './breaker.js';
import { healthWords } from './health-words.js';
import { systemClock, type WaitingClock as Clock } from '../util/clock.js';
import { eitherSignal } from '../util/signals.js';

export type { BreakerState } from './breaker.js';

export interface EndpointEvent {
  readonly upstream: string;
  readonly kind: string;
  /** ok, not_found (404/410) and refused (another definite 4xx) are answers; the rest are failures. */
  readonly outcome: 'ok' | 'not_found' | 'refused' | FailureClass | 'breaker_open';
  readonly seconds: number;
}

/** An upstream breaker that opened or closed in one process, for the other processes to follow (coord/). */
export interface HealthNews {
  /** The endpoint URL. */
  readonly upstream: string;
  /**
   * open/closed: the breaker changed (closed also ends a failure streak the
   * breaker never opened for); failing: a failure streak began, the
   * breaker still closed (the others show it in /readyz alike).
   */
  readonly state: 'open' | 'closed' | 'failing';
  /** When the breaker changed (epoch ms); an open breaker lets probes through halfOpenAfter after it. */
  readonly at: number;
  /** With open and failing: when the failures began (epoch ms), their class and detail. */
  readonly since?: number;
  readonly failure?: FailureClass;
  readonly detail?: string;
}

export interface EndpointObserver {
  onCall?(e: EndpointEvent): void;
  onBreaker?(upstream: string, state: BreakerState, failure: UpstreamError | undefined): void;
  /** This process's own breaker opened or closed (not one followed from news): tell the others. */
  onHealthNews?(news: HealthNews): void;
}

export interface ResilienceSettings {
  readonly deadlines: Readonly<Record<CallClass, Deadlines>>;
  readonly retry: { readonly attempts: number; readonly baseDelay: number; readonly maxDelay: number };
  readonly breaker: { readonly failures: number; readonly halfOpenAfter: number };
  /** The user:password credentials of upstream and database URLs, sent to the endpoints at and below them. */
  readonly credentials?: readonly UrlCredential[];
  /** Credentials from elsewhere for a URL without its own (.netrc, as the go command reads it: netrc.ts). */
  readonly ambientAuth?: (url: string) => string | undefined;
  /** This godepot's name (selfTag), sent in the Via header of every call: a godepot that is its own upstream sees it come back. */
  readonly via?: string;
}

export interface EndpointStatus {
  readonly url: string;
  /** closed, open (calls refused), half-open (a probe is out). */
  readonly state: BreakerState;
  /** The state in words (health-words.ts): healthy, failing since …, circuit open, next probe in …, half-open: probing. */
  readonly health: string;
  /** Start of the current failure streak, if failing. */
  readonly failingSince?: string;
  /** While open: when a probe may go (it may have passed, with no call since). */
  readonly nextProbeAt?: string;
  readonly lastFailure?: { readonly class: FailureClass; readonly detail: string; readonly at: string };
}

/** The upstream answers: its breaker closed and no failure streak (another process's news may have ended one). */
export function isHealthy(s: Pick<EndpointStatus, 'state' | 'failingSince'>): boolean {
  return s.state === 'closed' && s.failingSince === undefined;
}

/** Exponential backoff with full jitter: a random pause in [0, min(max, base·2^(n-1))]. */
function backoff(attempt: number, retry: ResilienceSettings['retry'], random: () => number): number {
  return Math.round(random() * Math.min(retry.maxDelay, retry.baseDelay * 2 ** (attempt - 1)));
}

export class Endpoint {
  private readonly breaker: HealthBreaker;
  private failingSince: number | undefined;
  private lastFailure: { error: UpstreamError; at: number } | undefined;
  /** True while following news: the breaker's changes are not news to share again. */
  private following = false;
  /** The Authorization header of every call (the credentials of this URL, or one it is below), and Via. */
  private readonly headers: Record<string, string> | undefined;
  /** The HTTP proxy this upstream is reached through, if any (named in connection failures). */
  private readonly via: string | undefined;

  constructor(
    readonly url: string,
    private readonly pools: HttpPools,
    private readonly settings: ResilienceSettings,
    private readonly observer: EndpointObserver = {},
    private readonly clock: Clock = systemClock,
    private readonly random: () => number = Math.random,
  ) {
    const authorization = authorizationFor(settings.credentials ?? [], url) ?? settings.ambientAuth?.(url);
    const headers = {
      ...(authorization === undefined ? {} : { authorization }),
      ...(settings.via === undefined ? {} : { via: `1.1 ${settings.via}` }),
    };
    this.headers = Object.keys(headers).length > 0 ? headers : undefined;
    this.via = pools.via(new URL(url));
    this.breaker = new HealthBreaker(settings.breaker.failures, settings.breaker.halfOpenAfter, clock, (s) => {
      observer.onBreaker?.(url, s, this.lastFailure?.error);
      if (this.following || s === 'half-open') return;
      const last = this.lastFailure?.error;
      observer.onHealthNews?.({
        upstream: url,
        state: s,
        at: this.clock.now(),
        ...(s === 'open' && this.failingSince !== undefined ? { since: this.failingSince } : {}),
        ...(s === 'open' && last ? { failure: last.failure, detail: last.detail } : {}),
      });
    });
  }

  /**
   * Follows another process's news about this upstream: its breaker opened
   * (this one refuses calls as if its own had, reporting the other's failure
   * and "failing since") or closed (this one closes too).
   */
  follow(news: HealthNews): void {
    if (news.state === 'failing') {
      // Another process's streak began: this one shows it too, its breaker left as it is.
      if (this.state === 'closed' && this.failingSince === undefined) {
        this.failingSince = news.since ?? news.at;
        this.lastFailure = { error: this.followedError(news), at: news.at };
      }
      return;
    }
    if (news.state === 'closed' && this.state === 'closed') {
      // Another process's failure streak ended without the breaker opening: one of this process's ends too.
      if (this.failingSince !== undefined && news.at >= this.failingSince) this.failingSince = undefined;
      return;
    }
    const before = { failingSince: this.failingSince, lastFailure: this.lastFailure };
    if (news.state === 'open') {
      this.failingSince = news.since ?? news.at;
      this.lastFailure = { error: this.followedError(news), at: news.at };
    } else {
      this.failingSince = undefined;
    }
    this.following = true;
    try {
      if (!this.breaker.follow(news.state, news.at)) {
        this.failingSince = before.failingSince;
        this.lastFailure = before.lastFailure;
      }
    } finally {
      this.following = false;
    }
  }

  /** The failure another process reported, as this one's. */
  private followedError(news: HealthNews): UpstreamError {
    const error = new UpstreamError({
      upstream: this.url,
      failure: news.failure ?? 'connect',
      detail: news.detail ?? 'failing (seen by another godepot process)',
      transient: true,
    });
    error.since = news.since ?? news.at;
    return error;
  }

  get state(): BreakerState {
    return this.breaker.state;
  }

  /**
   * The start of the failure streak, if failing. One ahead of the clock means the wall clock stepped back (NTP, a
   * VM resumed) during the streak, or another process's clock is ahead: taken as now, else /readyz, the operator
   * page and every client's error said "failing since" a time to come, for as long as the step (as the breaker
   * takes its opening: breaker.ts).
   */
  private streakStart(now: number): number | undefined {
    if (this.failingSince !== undefined && this.failingSince > now) this.failingSince = now;
    return this.failingSince;
  }

  status(): EndpointStatus {
    const last = this.lastFailure;
    const state = this.state;
    const nextProbeAt = this.breaker.nextProbeAt;
    const now = this.clock.now();
    this.streakStart(now);
    return {
      url: this.url,
      state,
      health: healthWords({ state, failingSince: this.failingSince, nextProbeAt }, now),
      ...(this.failingSince === undefined ? {} : { failingSince: new Date(this.failingSince).toISOString() }),
      ...(nextProbeAt === undefined ? {} : { nextProbeAt: new Date(nextProbeAt).toISOString() }),
      ...(last
        ? { lastFailure: { class: last.error.failure, detail: last.error.detail, at: new Date(last.at).toISOString() } }
        : {}),
    };
  }

  /**
   * GETs url + path with retries inside the class's total deadline. Throws
   * UpstreamError (named failure, with `since`), or the caller's abort error.
   * A 404/410 is returned, not thrown, and counts as the upstream working.
   * A time-out is not retried when the upstream was failing already as the
   * call began: a hung upstream then costs each request one deadline, not
   * one per attempt, until its breaker opens.
   */
  async get<T>(
    path: string,
    kind: string,
    cls: CallClass,
    read: BodyReader<T>,
    signal?: AbortSignal,
  ): Promise<AttemptResult<T>> {
    const deadlines = this.settings.deadlines[cls];
    const deadlineAt = this.clock.now() + deadlines.total;
    const total = this.clock.timeout(deadlines.total);
    const link = signal ? eitherSignal(signal, total) : undefined;
    const combined = link?.signal ?? total;
    const attempts = Math.max(1, this.settings.retry.attempts);
    const failingAlready = this.failingSince !== undefined;
    let lastError: UpstreamError | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        const err = await this.attempt(path, kind, cls, read, combined).then(
          (result) => ({ result }),
          (e: unknown) => ({ error: e }),
        );
        if ('result' in err) return err.result;
        const e = err.error;
        if (!(e instanceof UpstreamError) || !e.transient || e.breakerOpen || attempt >= attempts) throw e;
        if (failingAlready && e.failure === 'timeout') throw e;
        lastError = e;
        let pause = backoff(attempt, this.settings.retry, this.random);
        if (e.retryAfterMs !== undefined) pause = Math.max(pause, e.retryAfterMs);
        if (e.retryAfterMs !== undefined && this.clock.now() + pause >= deadlineAt) throw this.retryTooLate(e, pause);
        await this.clock.sleep(pause, combined);
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      if (total.aborted && !(err instanceof UpstreamError && err.breakerOpen)) {
        // The overall deadline ran out during an attempt or a retry pause.
        const e = new UpstreamError({
          upstream: this.url,
          failure: 'timeout',
          detail: `no complete answer within ${deadlines.total / 1000}s${lastError ? ` (last attempt: ${lastError.detail})` : ''}`,
          transient: true,
        });
        this.noteFailure(e);
        throw e;
      }
      if (isAbortError(err) && lastError) throw lastError;
      throw err;
    } finally {
      link?.release();
    }
  }

  /** One attempt through the breaker. */
  private async attempt<T>(
    path: string,
    kind: string,
    cls: CallClass,
    read: BodyReader<T>,
    signal: AbortSignal,
  ): Promise<AttemptResult<T>> {
    const started = performance.now();
    const subject = subjectOf(path);
    const ticket = this.breaker.admit(subject);
    if (!ticket) {
      this.emit(kind, 'breaker_open', started);
      throw this.openError();
    }
    let result: AttemptResult<T>;
    try {
      result = await getOnce(
        this.url,
        path,
        {
          dispatcher: this.pools.dispatcher(cls),
          ...(this.via ? { via: this.via } : {}),
          deadlines: this.settings.deadlines[cls],
          signal,
          now: this.clock.now,
          ...(this.headers ? { headers: this.headers } : {}),
        },
        read,
      );
    } catch (err) {
      if (err instanceof UpstreamError) {
        const health = isHealthFailure(err);
        if (health) this.noteFailure(err);
        this.breaker.record(ticket, subject, health ? 'failure' : 'neutral');
        this.emit(kind, health ? err.failure : 'refused', started);
      } else {
        // Aborted by the caller, or a local failure: nothing learnt about the upstream.
        this.breaker.record(ticket, subject, 'neutral');
      }
      throw err;
    }
    const streakEnded = this.failingSince !== undefined && this.state === 'closed';
    this.failingSince = undefined;
    this.breaker.record(ticket, subject, 'ok');
    // A failure streak ended with the breaker closed all along (a breaker that closes says so itself): the
    // other processes end theirs too, so /readyz answers alike whichever of them is asked.
    if (streakEnded && !this.following)
      this.observer.onHealthNews?.({ upstream: this.url, state: 'closed', at: this.clock.now() });
    this.emit(kind, result.found ? 'ok' : 'not_found', started);
    return result;
  }

  /** The failure for a Retry-After that asks for a pause longer than the call has left. */
  private retryTooLate(err: UpstreamError, pauseMs: number): UpstreamError {
    const at = new Date(this.clock.now() + pauseMs).toISOString();
    const e = new UpstreamError({
      upstream: this.url,
      failure: err.failure,
      ...(err.status === undefined ? {} : { status: err.status }),
      detail: `${err.detail}; it asks to be retried after ${Math.ceil(pauseMs / 1000)}s (at ${at}), beyond this call's deadline`,
      transient: true,
      retryAfterMs: pauseMs,
    });
    e.since = err.since;
    return e;
  }

  private noteFailure(err: UpstreamError): void {
    const now = this.clock.now();
    const began = this.streakStart(now) === undefined;
    this.failingSince ??= now;
    this.lastFailure = { error: err, at: now };
    err.since = this.failingSince;
    // The others learn that a streak began (and its end, 'closed'), so /readyz answers alike in every process.
    if (began && !this.following && this.state === 'closed')
      this.observer.onHealthNews?.({
        upstream: this.url,
        state: 'failing',
        at: now,
        since: now,
        failure: err.failure,
        detail: err.detail,
      });
  }

  private openError(): UpstreamError {
    const last = this.lastFailure?.error;
    const e = new UpstreamError({
      upstream: this.url,
      failure: last?.failure ?? 'connect',
      detail: last === undefined ? 'recent calls failed' : earlierFailure(last),
      transient: false,
    });
    e.breakerOpen = true;
    e.since = this.streakStart(this.clock.now());
    e.nextProbeAt = this.breaker.nextProbeAt;
    return e;
  }

  private emit(kind: string, outcome: EndpointEvent['outcome'], started: number): void {
    this.observer.onCall?.({ upstream: this.url, kind, outcome, seconds: (performance.now() - started) / 1000 });
  }
}

/** One Endpoint per upstream URL, shared by everything that talks to it. */
export class EndpointRegistry {
  private readonly endpoints = new Map<string, Endpoint>();

  constructor(
    readonly pools: HttpPools,
    private readonly settings: ResilienceSettings,
    private readonly observer: EndpointObserver = {},
    private readonly clock: Clock = systemClock,
    /** The retry pauses' jitter (tests fix it). */
    private readonly random: () => number = Math.random,
  ) {}

  get(url: string): Endpoint {
    let e = this.endpoints.get(url);
    if (!e) {
      e = new Endpoint(url, this.pools, this.settings, this.observer, this.clock, this.random);
      this.endpoints.set(url, e);
    }
    return e;
  }

  all(): Endpoint[] {
    return [...this.endpoints.values()];
  }

  /** Applies another process's news to the endpoint it names, if this process talks to it. */
  follow(news: HealthNews): void {
    this.endpoints.get(news.upstream)?.follow(news);
  }
}

/**
 * What an earlier call's failure tells another client: its class and status,
 * never the upstream's words — those were about that call (the module they
 * named may be one this client may not read, under --auth; a time-out quotes
 * its last attempt's answer). A name, connection or TLS failure is the
 * host's and says only that. The operator reads the words in /api/upstreams
 * and the log.
 */
function earlierFailure(e: UpstreamError): string {
  switch (e.failure) {
    case 'status':
      return `${e.status ?? 'an error status'} to an earlier request`;
    case 'timeout':
      return 'an earlier request got no complete answer in time';
    case 'body':
      return 'an earlier request got a broken answer';
    default:
      return e.detail;
  }
}
