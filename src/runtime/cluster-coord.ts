// Coordination across the workers of `serve --workers N` (coord/): one
// machine is a small cluster whose coordinator is the primary process. The
// primary keeps a LocalCoord (tree head, refused heads, not-found answers)
// and answers the workers' calls over the cluster's IPC channel; a worker's
// breaker news is passed on to every other worker; fetch leases come from
// the primary's broker (cluster-leases.ts). A worker whose primary is gone
// coordinates alone (its own LocalCoord): degraded, never down.
import cluster, { type Worker } from 'node:cluster';
import {
  LocalCoord,
  parseHealthNews,
  parseNotFoundEntry,
  type Coordination,
  type CoordStatus,
  type HealthNews,
  type NotFoundEntry,
} from '../coord/index.js';
import type { FetchLeases } from '../proxy/context.js';
import { is, PrimaryQuestions, type Asked } from './cluster-ipc.js';
import { clusterFetchLeases } from './cluster-leases.js';
import { groupWorkers } from './cluster-watchdog.js';

const CALL = 'godepot:coord?';
const ANSWER = 'godepot:coord!';
const NEWS = 'godepot:health';
/** How long a worker waits for the primary's answer before answering alone (every wait is bounded). */
const ANSWER_MS = 2_000;

/** The calls a worker makes; heads travel as base64. */
type Op =
  | { readonly op: 'head'; readonly db: string }
  | { readonly op: 'cas'; readonly db: string; readonly expected: string | null; readonly next: string }
  | { readonly op: 'recordFork'; readonly db: string; readonly head: string; readonly evidence: string }
  | { readonly op: 'isRefused'; readonly db: string; readonly head: string }
  | { readonly op: 'fork'; readonly db: string }
  | { readonly op: 'notFound'; readonly key: string }
  | { readonly op: 'rememberNotFound'; readonly key: string; readonly entry: NotFoundEntry; readonly ttlMs: number }
  | { readonly op: 'forgetNotFound'; readonly key: string };

type Call = Asked<typeof CALL> & Op;
type Question = { readonly type: typeof CALL } & Op;
type Answer = Asked<typeof ANSWER, { value?: unknown; error?: string }>;

interface News {
  readonly type: typeof NEWS;
  readonly news: unknown;
}

/** Runs one call against the primary's coordination. */
async function run(coord: Coordination, c: Op): Promise<unknown> {
  switch (c.op) {
    case 'head':
      return (await coord.head(c.db))?.toString('base64') ?? null;
    case 'cas':
      return coord.compareAndSetHead(
        c.db,
        c.expected === null ? null : Buffer.from(c.expected, 'base64'),
        Buffer.from(c.next, 'base64'),
      );
    case 'recordFork':
      return coord.recordFork(c.db, c.head, c.evidence);
    case 'isRefused':
      return coord.isRefused(c.db, c.head);
    case 'fork':
      return coord.fork(c.db);
    case 'notFound':
      return coord.notFound(c.key);
    case 'rememberNotFound':
      return coord.rememberNotFound(c.key, c.entry, c.ttlMs);
    case 'forgetNotFound':
      return coord.forgetNotFound(c.key);
  }
}

/** In the primary: answers the workers' coordination calls and passes each worker's news to the others. */
export function serveCoordination(coord: Coordination = new LocalCoord()): void {
  cluster.on('message', (worker: Worker, m: unknown) => {
    if (is<Call>(m, CALL)) {
      const reply = (a: Omit<Answer, 'type' | 'id'>): void => {
        if (worker.isConnected()) worker.send({ type: ANSWER, id: m.id, ...a } satisfies Answer);
      };
      run(coord, m).then(
        (value) => reply({ value: value ?? null }),
        (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
      );
    } else if (is<News>(m, NEWS)) {
      for (const w of Object.values(cluster.workers ?? {}))
        if (w && w !== worker && w.isConnected()) w.send({ type: NEWS, news: m.news } satisfies News);
    }
  });
}

/** In a worker: coordination through the primary. */
export class WorkerCoord implements Coordination {
  readonly kind = 'workers';
  readonly leases: FetchLeases & { close(): void } = clusterFetchLeases();
  /** While the primary is gone: this worker alone. */
  private readonly alone = new LocalCoord();
  private readonly primary = new PrimaryQuestions<Answer>(ANSWER, ANSWER_MS);
  private readonly listeners: Array<(news: HealthNews) => void> = [];

  private readonly onNews = (m: unknown): void => {
    if (!is<News>(m, NEWS)) return;
    const news = parseHealthNews(m.news);
    if (news) for (const l of this.listeners) l(news);
  };

  constructor() {
    process.on('message', this.onNews);
  }

  /** Asks the primary; null when it cannot answer (gone, failed, or silent for ANSWER_MS). */
  private async ask(op: Op): Promise<unknown> {
    const a = await this.primary.ask({ type: CALL, ...op } satisfies Question);
    return a && a.error === undefined ? a.value : null;
  }

  private connected(): boolean {
    return this.primary.connected;
  }

  async head(db: string): Promise<Buffer | null> {
    if (!this.connected()) return this.alone.head(db);
    const v = await this.ask({ op: 'head', db });
    return typeof v === 'string' ? Buffer.from(v, 'base64') : null;
  }

  async compareAndSetHead(db: string, expected: Buffer | null, next: Buffer): Promise<boolean> {
    if (!this.connected()) return this.alone.compareAndSetHead(db, expected, next);
    const v = await this.ask({
      op: 'cas',
      db,
      expected: expected?.toString('base64') ?? null,
      next: next.toString('base64'),
    });
    // No answer (the primary was silent): it may or may not have taken it, so next is not published;
    // the caller reads the head again and retries.
    return v === true;
  }

  async recordFork(db: string, head: string, evidence: string): Promise<void> {
    await this.alone.recordFork(db, head, evidence);
    if (this.connected()) await this.ask({ op: 'recordFork', db, head, evidence });
  }

  async isRefused(db: string, head: string): Promise<boolean> {
    if (await this.alone.isRefused(db, head)) return true;
    return this.connected() && (await this.ask({ op: 'isRefused', db, head })) === true;
  }

  async fork(db: string): Promise<string | null> {
    const v = this.connected() ? await this.ask({ op: 'fork', db }) : null;
    return typeof v === 'string' ? v : this.alone.fork(db);
  }

  async notFound(key: string): Promise<NotFoundEntry | null> {
    if (!this.connected()) return this.alone.notFound(key);
    return parseNotFoundEntry(await this.ask({ op: 'notFound', key }));
  }

  async rememberNotFound(key: string, entry: NotFoundEntry, ttlMs: number): Promise<void> {
    if (!this.connected()) return this.alone.rememberNotFound(key, entry, ttlMs);
    await this.ask({ op: 'rememberNotFound', key, entry, ttlMs });
  }

  async forgetNotFound(key: string): Promise<void> {
    await this.alone.forgetNotFound(key);
    if (this.connected()) await this.ask({ op: 'forgetNotFound', key });
  }

  shareHealth(news: HealthNews): void {
    if (this.connected()) process.send?.({ type: NEWS, news } satisfies News);
  }

  onHealth(listener: (news: HealthNews) => void): void {
    this.listeners.push(listener);
  }

  status(): CoordStatus {
    const workers = groupWorkers();
    return workers ? { kind: 'workers', workers } : { kind: 'workers' };
  }

  /** Stops listening to the primary (calls still waiting get no answer, as when it is gone). */
  async close(): Promise<void> {
    process.off('message', this.onNews);
    this.primary.close();
    this.leases.close();
  }
}
