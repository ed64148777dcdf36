// The GOPROXY-list walk (PROTOCOL.md §1.3): entries are tried in order; after
// ',' only a 404/410 moves on to the next entry, after '|' any failure does.
// The error reported ranks a real failure above "not found", the last one
// winning within a rank, as the go command does.
import type { CallClass, UpstreamList } from './types.js';
import type { EndpointRegistry } from './endpoint.js';
import { NotFoundError, refusalOf, UpstreamError } from './errors.js';
import type { BodyReader, ResponseMeta } from './http.js';

export interface Fetched<T> {
  readonly value: T;
  readonly meta: ResponseMeta;
}

export class ProxyList {
  constructor(
    readonly list: UpstreamList,
    private readonly endpoints: EndpointRegistry,
  ) {}

  get urls(): string[] {
    return this.list.entries.map((e) => e.url);
  }

  get disabled(): boolean {
    return this.list.entries.length === 0;
  }

  /**
   * Fetches path (relative to each proxy's base, starting with '/') from the
   * first entry that has it. Throws NotFoundError when the entries tried gave
   * definite answers (404/410, or another 4xx, which wins), UpstreamError
   * when the walk stopped on a failure.
   */
  async get<T>(
    path: string,
    kind: string,
    cls: CallClass,
    read: BodyReader<T>,
    signal?: AbortSignal,
  ): Promise<Fetched<T>> {
    const r = await this.walk(path, kind, cls, read, signal);
    if ('error' in r) throw r.error;
    return r;
  }

  /**
   * As get, for a list that goes on after its last entry (`direct`): null
   * when the walk went past the last entry — where the go command asks
   * `direct` — because each entry said 404/410, or failed with '|' after it.
   */
  async getOrPass<T>(
    path: string,
    kind: string,
    cls: CallClass,
    read: BodyReader<T>,
    signal?: AbortSignal,
  ): Promise<Fetched<T> | null> {
    const r = await this.walk(path, kind, cls, read, signal);
    if (!('error' in r)) return r;
    if (r.passed) return null;
    throw r.error;
  }

  /** The walk: the first answer, or the error to report and whether the walk went past the last entry. */
  private async walk<T>(
    path: string,
    kind: string,
    cls: CallClass,
    read: BodyReader<T>,
    signal?: AbortSignal,
  ): Promise<Fetched<T> | { error: Error; passed: boolean }> {
    let notFound: NotFoundError | undefined;
    let refused: NotFoundError | undefined;
    let failure: UpstreamError | undefined;
    let passed = true;
    for (const entry of this.list.entries) {
      try {
        const r = await this.endpoints.get(entry.url).get(path, kind, cls, read, signal);
        if (r.found) return { value: r.value, meta: r.meta };
        notFound = r.notFound;
        continue;
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        // A definite 4xx (403 "not available") is an answer, passed on as it is; after ',' it ends the walk.
        const refusal = refusalOf(err);
        if (refusal) refused = refusal;
        else failure = err;
        if (!entry.fallBackOnError) {
          passed = false;
          break;
        }
      }
    }
    return {
      error: failure ?? refused ?? notFound ?? new NotFoundError('(none)', 404, 'no upstream configured'),
      passed,
    };
  }

  /**
   * Fetches path from every entry independently (for quorum checks); returns
   * the successful answers, in list order, and the failures.
   */
  async getEach<T>(
    path: string,
    kind: string,
    cls: CallClass,
    read: BodyReader<T>,
    signal?: AbortSignal,
  ): Promise<{ found: Fetched<T>[]; errors: Error[] }> {
    const settled = await Promise.allSettled(
      this.list.entries.map((e) => this.endpoints.get(e.url).get(path, kind, cls, read, signal)),
    );
    const found: Fetched<T>[] = [];
    const errors: Error[] = [];
    for (const s of settled) {
      if (s.status === 'rejected') errors.push(s.reason instanceof Error ? s.reason : new Error(String(s.reason)));
      else if (s.value.found) found.push({ value: s.value.value, meta: s.value.meta });
      else errors.push(s.value.notFound);
    }
    return { found, errors };
  }
}
