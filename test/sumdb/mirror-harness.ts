// A SumdbMirror over MemoryStorage, reaching FakeSumDb servers through the
// real upstream stack (MirrorRemote → MirrorSet → hedged Endpoints), so the
// mirror tests exercise the same I/O path godepot serves with.
import { createHash } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { MirrorRemote } from '../../src/runtime/mirror-remote.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { SumdbMirror, type ForkEvidence, type SumdbMirrorOptions, type SumdbRemote } from '../../src/sumdb/index.js';
import type { RemoteResult } from '../../src/sumdb/remote.js';
import { EndpointRegistry, HttpPools, MirrorSet } from '../../src/upstream/index.js';
import type { WaitingClock } from '../../src/util/clock.js';
import { settingsFrom, type RawSettings } from '../support/godepot.js';
import { FakeSumDb, TEST_KEY, type SumRecordInput } from '../world/index.js';

/** Fast deadlines so failure paths finish in well under a second per call. */
export const FAST: RawSettings = {
  'hedge-delay': '150ms',
  'sumdb-connect-timeout': '500ms',
  'sumdb-first-byte-timeout': '700ms',
  'sumdb-idle-timeout': '700ms',
  'sumdb-total-timeout': '1500ms',
  'retry-base-delay': '10ms',
  'retry-max-delay': '50ms',
  'breaker-failures': '1000',
};

export interface RigOptions {
  readonly storage?: MemoryStorage;
  readonly settings?: RawSettings;
  readonly mirror?: Partial<Omit<SumdbMirrorOptions, 'remote' | 'storage' | 'log'>>;
  /** Wrap the remote (to count or alter calls). */
  readonly wrap?: (r: SumdbRemote) => SumdbRemote;
  /** The mirrors' deadlines and the mirror's stale grace and ages run on it (default: the system clock). */
  readonly clock?: WaitingClock;
}

export interface Rig {
  readonly mirror: SumdbMirror;
  readonly storage: MemoryStorage;
  readonly logs: Array<Record<string, unknown>>;
  readonly forks: ForkEvidence[];
  readonly advanced: number[];
  /** A second SumdbMirror on the same storage (a restart). */
  reopen(): Promise<SumdbMirror>;
  close(): Promise<void>;
}

export function captureLog(): { log: Logger; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { log, logs };
}

/** A mirror of the test-key database served by `urls` (in order: the first is primary). */
export async function rig(urls: readonly string[], opts: RigOptions = {}): Promise<Rig> {
  const settings = settingsFrom({ data: '/nonexistent', ...FAST, ...opts.settings });
  const pools = new HttpPools(settings.deadlines);
  const endpoints = new EndpointRegistry(pools, settings, {}, opts.clock);
  const storage = opts.storage ?? new MemoryStorage();
  const { log, logs } = captureLog();
  const forks: ForkEvidence[] = [];
  const advanced: number[] = [];
  const base = new MirrorRemote(new MirrorSet(urls, endpoints, settings.hedgeDelay));
  const remote = opts.wrap ? opts.wrap(base) : base;
  const opened: SumdbMirror[] = [];
  const open = async (): Promise<SumdbMirror> => {
    const m = await SumdbMirror.open({
      key: TEST_KEY.vkey,
      remote,
      storage,
      log,
      offline: false,
      latestTtl: 60_000,
      staleGrace: 300,
      nosumdb: '',
      events: { fork: (_db, e) => forks.push(e), advanced: (_db, n) => advanced.push(n) },
      ...(opts.clock ? { clock: opts.clock, waits: opts.clock } : {}),
      ...opts.mirror,
    });
    opened.push(m);
    return m;
  };
  const mirror = await open();
  const close = async (): Promise<void> => {
    // Each mirror's background work (data tiles waiting for a pause in lookups) stops with it.
    await Promise.all(opened.map((m) => m.close()));
    await pools.close();
  };
  return { mirror, storage, logs, forks, advanced, reopen: open, close };
}

/** Record i of the vectors' biglog_h8 (record_text_format). */
export function biglogRecord(i: number): { key: string; text: string; path: string; version: string } {
  const sha = (s: string): string => createHash('sha256').update(s).digest('base64');
  const path = `example.com/mod${i}`;
  const version = `v1.0.${i}`;
  return {
    key: `${path}@${version}`,
    path,
    version,
    text: `${path} ${version} h1:${sha(`zip${i}`)}\n${path} ${version}/go.mod h1:${sha(`mod${i}`)}\n`,
  };
}

/** Grows db to n biglog records. */
export async function growBiglog(db: FakeSumDb, n: number): Promise<void> {
  for (let i = db.size; i < n; i++) {
    const r = biglogRecord(i);
    await db.addRecord(r.text, r.key);
  }
}

/** Module versions with made-up hashes (example.com/m<i> v1.0.0). */
export function fakeModules(count: number, from = 0, prefix = 'example.com/m'): SumRecordInput[] {
  const h = (s: string): string => `h1:${createHash('sha256').update(s).digest('base64')}`;
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { path: `${prefix}${i}`, version: 'v1.0.0', h1: h(`zip${prefix}${i}`), goModH1: h(`mod${prefix}${i}`) };
  });
}

/** A SumdbRemote wrapper that records every call (path and the mirror that answered). */
export class RecordingRemote implements SumdbRemote {
  /** Shared with the narrowed remotes made by without(). */
  constructor(
    private readonly inner: SumdbRemote,
    readonly calls: Array<{ path: string; kind: string; from?: string; error?: string }> = [],
  ) {}
  get urls(): readonly string[] {
    return this.inner.urls;
  }
  without(urls: ReadonlySet<string>): SumdbRemote | null {
    const rest = this.inner.without(urls);
    return rest ? new RecordingRemote(rest, this.calls) : null;
  }
  async get(...args: Parameters<SumdbRemote['get']>): ReturnType<SumdbRemote['get']> {
    const entry: { path: string; kind: string; from?: string; error?: string } = { path: args[0], kind: args[1] };
    this.calls.push(entry);
    try {
      const r = await this.inner.get(...args);
      entry.from = r.from;
      return r;
    } catch (err) {
      entry.error = (err as Error).message;
      throw err;
    }
  }
  count(match: string | RegExp): number {
    return this.calls.filter((c) => (typeof match === 'string' ? c.path.includes(match) : match.test(c.path))).length;
  }
}

export const text = (b: Buffer): string => b.toString('utf8');

/**
 * Wraps a remote (RigOptions.wrap) so that every get goes through get(inner, …),
 * also after some of its mirrors are left out (without).
 */
export function wrapRemote(
  get: (inner: SumdbRemote, ...args: Parameters<SumdbRemote['get']>) => Promise<RemoteResult>,
): (inner: SumdbRemote) => SumdbRemote {
  const wrap = (inner: SumdbRemote): SumdbRemote => ({
    urls: inner.urls,
    without: (u) => {
      const rest = inner.without(u);
      return rest ? wrap(rest) : null;
    },
    get: (...args) => get(inner, ...args),
  });
  return wrap;
}
