// Hedged requests across mirrors of one service (the checksum database's
// mirrors): the first mirror gets a head start of `delayMs`; if it has not
// answered by then, or fails, the next one is asked too. The first success
// wins and the others are aborted, so a hanging mirror costs `delayMs`, not a
// time-out.
import { NotFoundError, SourcesFailedError } from './errors.js';
import type { AttemptResult } from './http.js';
import type { Fetched } from './proxylist.js';

export type MirrorCall<T> = (url: string, signal: AbortSignal) => Promise<AttemptResult<T>>;

export async function hedged<T>(
  urls: readonly string[],
  delayMs: number,
  call: MirrorCall<T>,
  signal?: AbortSignal,
): Promise<Fetched<T>> {
  if (urls.length === 0) throw new Error('no mirrors');
  const controllers: AbortController[] = [];
  const onAbort = (): void => controllers.forEach((c) => c.abort(signal?.reason));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await new Promise<Fetched<T>>((resolve, reject) => {
      let next = 0;
      let pending = 0;
      let settled = false;
      let notFound: NotFoundError | undefined;
      const failures: Error[] = [];
      let timer: NodeJS.Timeout | undefined;

      const finishIfDone = (): void => {
        if (settled || pending > 0 || next < urls.length) return;
        settled = true;
        // A mirror that says "no such record" answers the question; failures only matter when none did
        // (and the answer says whether others failed: then it is one source's word alone).
        if (notFound) notFound.othersFailed = failures.length > 0;
        reject(notFound ?? new SourcesFailedError(failures));
      };

      const launch = (): void => {
        if (settled || next >= urls.length) return;
        const url = urls[next++] as string;
        const ctl = new AbortController();
        controllers.push(ctl);
        pending++;
        if (timer) clearTimeout(timer);
        if (next < urls.length) timer = setTimeout(launch, delayMs);
        // The caller's signal reaches each call through onAbort (not AbortSignal.any: see util/signals.ts).
        if (signal?.aborted) ctl.abort(signal.reason);
        call(url, ctl.signal).then(
          (r) => {
            pending--;
            if (settled) return;
            if (r.found) {
              settled = true;
              if (timer) clearTimeout(timer);
              for (const c of controllers) if (c !== ctl) c.abort();
              resolve({ value: r.value, meta: r.meta });
              return;
            }
            // 404/410 answers the question; another 4xx (403 "not available") is this mirror failing.
            if (r.notFound.status === 404 || r.notFound.status === 410) notFound = r.notFound;
            else failures.push(r.notFound);
            launch();
            finishIfDone();
          },
          (err: unknown) => {
            pending--;
            if (settled) return;
            if (signal?.aborted) {
              settled = true;
              if (timer) clearTimeout(timer);
              reject(err);
              return;
            }
            failures.push(err instanceof Error ? err : new Error(String(err)));
            launch();
            finishIfDone();
          },
        );
      };
      launch();
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
