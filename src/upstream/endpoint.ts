// An upstream URL with its own circuit breaker, retry policy and overall
// deadline. Proxies and checksum-database mirrors are both endpoints.
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  type CircuitBreakerPolicy,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  type RetryPolicy,
} from 'cockatiel';
import type { CallClass, Deadlines } from './types.js';
import { isAbortError, isHealthFailure, UpstreamError, type FailureClass } from './errors.js';
import { getOnce, type AttemptResult, type BodyReader, type HttpPools } from './http.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface EndpointEvent {
  readonly upstream: string;
  readonly kind: string;
  /** ok, not_found (404/410) and refused (another definite 4xx) are answers; the rest are failures. */
  readonly outcome: 'ok' | 'not_found' | 'refused' | FailureClass | 'breaker_open';
  readonly seconds: number;
}

export interface EndpointObserver {
  onCall?(e: EndpointEvent): void;
  onBreaker?(upstream: string, state: BreakerState, failure: UpstreamError | undefined): void;
}

export interface ResilienceSettings {
  readonly deadlines: Readonly<Record<CallClass, Deadlines>>;
  readonly retry: { readonly attempts: number; readonly baseDelay: number; readonly maxDelay: number };
  readonly breaker: { readonly failures: number; readonly halfOpenAfter: number };
}

export interface EndpointStatus {
  readonly url: string;
  readonly state: BreakerState;
  /** Start of the current failure streak, if failing. */
  readonly failingSince?: string;
  readonly lastFailure?: { readonly class: FailureClass; readonly detail: string; readonly at: string };
}

/** Exponential backoff with full jitter that waits at least as long as a Retry-After header asks. */
class RetryAfterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  private readonly exp: ExponentialBackoff<unknown>;
  constructor(initialDelay: number, maxDelay: number) {
    this.exp = new ExponentialBackoff({ initialDelay, maxDelay });
  }
  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    return wrapBackoff(this.exp.next(), context);
  }
}

function wrapBackoff(
  inner: IBackoff<unknown>,
  context: IRetryBackoffContext<unknown>,
): IBackoff<IRetryBackoffContext<unknown>> {
  const err = 'error' in context.result ? context.result.error : undefined;
  const after = err instanceof UpstreamError ? err.retryAfterMs : undefined;
  return {
    duration: after === undefined ? inner.duration : Math.max(after, inner.duration),
    next: (ctx) => wrapBackoff(inner.next(ctx), ctx),
  };
}

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

export class Endpoint {
  private readonly breaker: CircuitBreakerPolicy;
  private readonly retry: RetryPolicy;
  private failingSince: number | undefined;
  private lastFailure: { error: UpstreamError; at: number } | undefined;

  constructor(
    readonly url: string,
    private readonly pools: HttpPools,
    private readonly settings: ResilienceSettings,
    private readonly observer: EndpointObserver = {},
  ) {
    const countsForBreaker = (err: Error): boolean => err instanceof UpstreamError && isHealthFailure(err);
    this.breaker = circuitBreaker(handleWhen(countsForBreaker), {
      halfOpenAfter: settings.breaker.halfOpenAfter,
      breaker: new ConsecutiveBreaker(settings.breaker.failures),
    });
    this.breaker.onStateChange((s) => observer.onBreaker?.(url, STATE_NAMES[s], this.lastFailure?.error));
    this.retry = retry(
      handleWhen((err) => err instanceof UpstreamError && err.transient && !err.breakerOpen),
      {
        maxAttempts: Math.max(0, settings.retry.attempts - 1),
        backoff: new RetryAfterBackoff(settings.retry.baseDelay, settings.retry.maxDelay),
      },
    );
  }

  get state(): BreakerState {
    return STATE_NAMES[this.breaker.state];
  }

  status(): EndpointStatus {
    const last = this.lastFailure;
    return {
      url: this.url,
      state: this.state,
      ...(this.failingSince === undefined ? {} : { failingSince: new Date(this.failingSince).toISOString() }),
      ...(last
        ? { lastFailure: { class: last.error.failure, detail: last.error.detail, at: new Date(last.at).toISOString() } }
        : {}),
    };
  }

  /**
   * GETs url + path with retries inside the class's total deadline. Throws
   * UpstreamError (named failure, with `since`), or the caller's abort error.
   * A 404/410 is returned, not thrown, and counts as the upstream working.
   */
  async get<T>(
    path: string,
    kind: string,
    cls: CallClass,
    read: BodyReader<T>,
    signal?: AbortSignal,
  ): Promise<AttemptResult<T>> {
    const deadlines = this.settings.deadlines[cls];
    const total = AbortSignal.timeout(deadlines.total);
    const combined = signal ? AbortSignal.any([signal, total]) : total;
    let lastError: UpstreamError | undefined;
    try {
      return await this.retry.execute(async () => {
        const started = performance.now();
        try {
          if (this.breaker.state === CircuitState.HalfOpen) throw new BrokenCircuitError();
          const result = await this.breaker.execute(
            () =>
              getOnce(this.url, path, { dispatcher: this.pools.dispatcher(cls), deadlines, signal: combined }, read),
            combined,
          );
          this.failingSince = undefined;
          this.emit(kind, result.found ? 'ok' : 'not_found', started);
          return result;
        } catch (err) {
          if (err instanceof BrokenCircuitError) {
            this.emit(kind, 'breaker_open', started);
            throw this.openError();
          }
          if (err instanceof UpstreamError) {
            if (isHealthFailure(err)) this.noteFailure(err);
            this.emit(kind, isHealthFailure(err) ? err.failure : 'refused', started);
            lastError = err;
          }
          throw err;
        }
      }, combined);
    } catch (err) {
      if (signal?.aborted) throw err;
      if (total.aborted && !(err instanceof UpstreamError && err.breakerOpen)) {
        // The overall deadline ran out during an attempt or a backoff pause.
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
    }
  }

  private noteFailure(err: UpstreamError): void {
    const now = Date.now();
    this.failingSince ??= now;
    this.lastFailure = { error: err, at: now };
    err.since = this.failingSince;
  }

  private openError(): UpstreamError {
    const last = this.lastFailure?.error;
    const e = new UpstreamError({
      upstream: this.url,
      failure: last?.failure ?? 'connect',
      detail: last ? last.detail : 'recent calls failed',
      transient: false,
    });
    e.breakerOpen = true;
    e.since = this.failingSince;
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
  ) {}

  get(url: string): Endpoint {
    let e = this.endpoints.get(url);
    if (!e) {
      e = new Endpoint(url, this.pools, this.settings, this.observer);
      this.endpoints.set(url, e);
    }
    return e;
  }

  all(): Endpoint[] {
    return [...this.endpoints.values()];
  }
}
