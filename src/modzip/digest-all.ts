// Digests of many entries: one sequential scan of the zip (scan.ts), then
// random access, a few entries at a time, for any entry the scan could not
// reach in order (its data overlaps an earlier entry's: never in a zip Go writes).
import { digestEntry, type EntryDigest } from './digest.js';
import type { OpenZip, ZipEntry } from './reader.js';
import { scanDigest } from './scan.js';
import type { ByteSource } from './source.js';
import type { OffThreadSha } from './entry-hasher.js';

export interface ZipReadOptions {
  signal?: AbortSignal;
  /**
   * Entries read at once by random access, which is only used for entries
   * whose data overlaps another's; everything else is one sequential pass. Default 4.
   */
  concurrency?: number;
  /** Where SHA-256 of content lying in the source may be computed besides this thread (default: nowhere else). */
  offThread?: OffThreadSha;
}

const DEFAULT_CONCURRENCY = 4;

/**
 * Digests the given entries by random access, a few at a time (entries the
 * sequential scan could not reach). On failure, rejects with the
 * failure of the lowest-indexed entry (entries are started in order and an
 * entry is never cancelled for a later one's failure, so this is
 * deterministic); on abort, with the signal's reason.
 */
async function randomAccessDigest(
  zip: OpenZip,
  source: ByteSource,
  jobs: readonly ZipEntry[],
  opts: ZipReadOptions,
): Promise<EntryDigest[]> {
  const { signal } = opts;
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? DEFAULT_CONCURRENCY));
  const results = new Map<number, EntryDigest>();
  const running = new Map<number, AbortController>();
  let next = 0;
  let failure: { at: number; error: unknown } | undefined;
  const onAbort = (): void => {
    for (const ctl of running.values()) ctl.abort(signal?.reason);
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  const worker = async (): Promise<void> => {
    for (;;) {
      const at = next++;
      const job = jobs[at];
      if (job === undefined || signal?.aborted === true || (failure !== undefined && at > failure.at)) return;
      const ctl = new AbortController();
      running.set(at, ctl);
      try {
        results.set(at, await digestEntry(zip.zipfile, source, job, ctl.signal, true, opts.offThread));
      } catch (error) {
        // A cancelled entry's error is only the echo of a cancellation.
        if (ctl.signal.aborted) continue;
        if (failure === undefined || at < failure.at) {
          failure = { at, error };
          for (const [other, c] of running) if (other > at) c.abort();
        }
      } finally {
        running.delete(at);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  signal?.throwIfAborted();
  if (failure !== undefined) throw failure.error;
  return jobs.map((_, i) => {
    const d = results.get(i);
    if (d === undefined) throw new Error(`internal error: entry ${i} was not digested`);
    return d;
  });
}

/**
 * Digests of the given entries, aligned with them: one sequential scan,
 * then random access for any entry the scan could not reach in order.
 */
export async function digestAll(
  zip: OpenZip,
  source: ByteSource,
  jobs: readonly ZipEntry[],
  opts: ZipReadOptions,
): Promise<EntryDigest[]> {
  const signal = opts.signal ?? new AbortController().signal;
  let scanned;
  try {
    scanned = await scanDigest(zip.zipfile, source, jobs, signal, opts.offThread);
  } catch (err) {
    // Streams end an aborted read with their own AbortError; report the signal's reason.
    signal.throwIfAborted();
    throw err;
  }
  const { digests, leftover } = scanned;
  const rest = await randomAccessDigest(zip, source, leftover, opts);
  leftover.forEach((e, i) => {
    const d = rest[i];
    if (d !== undefined) digests.set(e, d);
  });
  return jobs.map((e) => {
    const d = digests.get(e);
    if (d === undefined) throw new Error(`internal error: entry ${e.index} was not digested`);
    return d;
  });
}
