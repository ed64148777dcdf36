// A set of mirrors of one service (the checksum database's URLs), each an
// Endpoint with its own breaker, asked with hedging: the first gets a head
// start, the next is asked too if it is slow or fails.
import type { CallClass } from './types.js';
import type { EndpointRegistry } from './endpoint.js';
import { hedged } from './hedge.js';
import type { BodyReader } from './http.js';
import type { Fetched } from './proxylist.js';

/** Shared by a set and the subsets made from it: which mirror answered last. */
interface Preference {
  last: string | undefined;
}

export class MirrorSet {
  constructor(
    readonly urls: readonly string[],
    private readonly endpoints: EndpointRegistry,
    private readonly hedgeDelayMs: number,
    private readonly cls: CallClass = 'sumdb',
    private readonly preference: Preference = { last: undefined },
  ) {}

  /**
   * The mirrors in the order to ask them: the one that answered last goes
   * first, so a hanging primary costs the hedge delay once, not on every call
   * (its breaker never opens, since the hedge cancels its calls).
   */
  private order(): readonly string[] {
    const last = this.preference.last;
    if (last === undefined || last === this.urls[0] || !this.urls.includes(last)) return this.urls;
    return [last, ...this.urls.filter((u) => u !== last)];
  }

  /**
   * GETs path from the mirrors. Resolves with the first accepted body (the
   * reader may refuse a body by throwing BadBodyError; the next mirror is
   * then asked); rejects with NotFoundError when a mirror answered 404/410
   * and none had it, else with the last failure.
   */
  get<T>(path: string, kind: string, read: BodyReader<T>, signal?: AbortSignal): Promise<Fetched<T>> {
    return hedged(
      this.order(),
      this.hedgeDelayMs,
      (url, s) => this.endpoints.get(url).get(path, kind, this.cls, read, s),
      signal,
    ).then((f) => {
      this.preference.last = f.meta.upstream;
      return f;
    });
  }

  /** The same set minus `urls` (to ask the others after some served data that failed verification). */
  without(urls: ReadonlySet<string>): MirrorSet {
    return new MirrorSet(
      this.urls.filter((u) => !urls.has(u)),
      this.endpoints,
      this.hedgeDelayMs,
      this.cls,
      this.preference,
    );
  }
}
