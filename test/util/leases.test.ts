// fetchOnceAcross, the one protocol of every fetch shared between processes
// (artifacts, checksum records, data tiles), over the real lease book of
// --workers N without the IPC: one fetch, waiters read what was stored, the
// source's own answer is shared, a holder that gives up hands over to one
// waiter, and no path leaves a lease held.
import { describe, expect, it } from 'vitest';
import { fetchOnceAcross, type FetchOutcome, type SharedFetch } from '../../src/util/leases.js';
import { processLeases } from '../support/leases.js';

const never = new AbortController().signal;

/** A store shared by the processes and a source that counts fetches; gate holds each fetch until released. */
function world() {
  const store = new Map<string, string>();
  let fetches = 0;
  const gates: Array<() => void> = [];
  const fetcher = (
    key: string,
    opts: { store?: boolean; fail?: Error; held?: () => never } = {},
  ): SharedFetch<string> => ({
    held: async () => {
      if (opts.held) opts.held();
      const v = store.get(key);
      return v === undefined ? null : { value: v };
    },
    fetch: async () => {
      fetches++;
      await new Promise<void>((r) => gates.push(r));
      if (opts.fail) throw opts.fail;
      let land: (ok: boolean) => void = () => undefined;
      const stored = new Promise<boolean>((r) => (land = r));
      // The write lands when the test says so (writes: land them in order).
      writes.push(() => {
        if (opts.store !== false) store.set(key, 'bytes');
        land(opts.store !== false);
      });
      return { value: 'bytes', stored };
    },
    failure: (err): FetchOutcome =>
      (err as Error).message === 'gone'
        ? { kind: 'not_found', upstream: 'src', status: 404, detail: 'gone' }
        : { kind: 'failed' },
    sharedError: (o) => (o.kind === 'not_found' ? new Error(`not found: ${o.detail}`) : null),
  });
  const writes: Array<() => void> = [];
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
  return { store, fetcher, gates, writes, tick, fetches: () => fetches };
}

describe('fetchOnceAcross', () => {
  it('fetches once; a waiter is answered only after the write has landed, from storage', async () => {
    const w = world();
    const [a, b] = processLeases(2);
    const first = fetchOnceAcross(a, 'k', never, w.fetcher('k'));
    const second = fetchOnceAcross(b, 'k', never, w.fetcher('k'));
    while (w.gates.length === 0) await w.tick();
    w.gates.shift()?.();
    expect(await first).toEqual({ value: 'bytes', fetched: true });
    let answered = false;
    void second.then(() => (answered = true));
    await w.tick();
    expect(answered).toBe(false); // the holder's write has not landed yet
    w.writes.shift()?.();
    expect(await second).toEqual({ value: 'bytes', fetched: false });
    expect(w.fetches()).toBe(1);
  });

  it('a holder holding the value in memory while its write lands tells "stored" only once it has', async () => {
    const w = world();
    const [a, b] = processLeases(2);
    let land: (ok: boolean) => void = () => undefined;
    const landing = new Promise<boolean>((r) => (land = r));
    const inMemory: SharedFetch<string> = {
      ...w.fetcher('k'),
      held: async () => ({ value: 'bytes', stored: landing }),
    };
    expect(await fetchOnceAcross(a, 'k', never, inMemory)).toEqual({ value: 'bytes', fetched: false });
    const second = fetchOnceAcross(b, 'k', never, w.fetcher('k'));
    let answered = false;
    void second.then(() => (answered = true));
    for (let i = 0; i < 10; i++) await w.tick();
    // Told "stored" now, it would find storage empty and fetch itself.
    expect([answered, w.fetches()]).toEqual([false, 0]);
    w.store.set('k', 'bytes');
    land(true);
    expect(await second).toEqual({ value: 'bytes', fetched: false });
    expect(w.fetches()).toBe(0);
  });

  it("gives the holder's not-found to the waiter without fetching again", async () => {
    const w = world();
    const [a, b] = processLeases(2);
    const first = fetchOnceAcross(a, 'k', never, w.fetcher('k', { fail: new Error('gone') }));
    const second = fetchOnceAcross(b, 'k', never, w.fetcher('k'));
    while (w.gates.length === 0) await w.tick();
    w.gates.shift()?.();
    await expect(first).rejects.toThrow('gone');
    await expect(second).rejects.toThrow('not found: gone');
    expect(w.fetches()).toBe(1);
  });

  it('a write that failed is told as failed: the waiter fetches itself', async () => {
    const w = world();
    const [a, b] = processLeases(2);
    const first = fetchOnceAcross(a, 'k', never, w.fetcher('k', { store: false }));
    const second = fetchOnceAcross(b, 'k', never, w.fetcher('k'));
    while (w.gates.length === 0) await w.tick();
    w.gates.shift()?.();
    await first;
    w.writes.shift()?.();
    while (w.gates.length === 0) await w.tick();
    w.gates.shift()?.();
    expect((await second).fetched).toBe(true);
    expect(w.fetches()).toBe(2);
  });

  it('a holder whose storage check throws still releases its lease', async () => {
    const w = world();
    const [a, b] = processLeases(2);
    const broken = w.fetcher('k', {
      held: () => {
        throw new Error('storage down');
      },
    });
    await expect(fetchOnceAcross(a, 'k', never, broken)).rejects.toThrow('storage down');
    // Had a kept the lease, b would wait for ever.
    const second = fetchOnceAcross(b, 'k', never, w.fetcher('k'));
    while (w.gates.length === 0) await w.tick();
    w.gates.shift()?.();
    expect((await second).fetched).toBe(true);
  });
});
