// The operator page with --workers N: whichever worker a browser reaches
// answers with the whole group's numbers (requests/s, hit ratio, upstream
// latency, refused artifacts). The worker asks the primary, which asks every
// worker for a snapshot of its OperatorStats and returns them all; the
// worker adds them up (OperatorStats.group). A worker that does not answer
// within GATHER_MS is left out; without a primary, a worker shows its own.
import cluster, { type Worker } from 'node:cluster';
import { OperatorStats, type StatsSnapshot } from '../server/stats.js';
import { is, PrimaryQuestions, type Asked } from './cluster-ipc.js';

const ASK = 'godepot:stats?';
const ANSWER = 'godepot:stats!';
const COLLECT = 'godepot:stats-collect?';
const SNAPSHOT = 'godepot:stats-collect!';
/** How long the primary waits for the workers' snapshots. */
const GATHER_MS = 1_000;
/** How long a worker waits for the primary's answer before showing its own numbers. */
const ANSWER_MS = 2_000;

type Ask = Asked<typeof ASK>;
type Answer = Asked<typeof ANSWER, { snapshots: StatsSnapshot[] }>;
interface Collect {
  readonly type: typeof COLLECT;
  readonly gathering: number;
}
interface Snapshot {
  readonly type: typeof SNAPSHOT;
  readonly gathering: number;
  readonly snapshot: StatsSnapshot;
}

/** In the primary: gathers every worker's snapshot for the worker that asks. */
export function serveGroupStats(): void {
  let next = 0;
  const gatherings = new Map<number, { readonly got: StatsSnapshot[]; readonly done: () => void; left: number }>();
  cluster.on('message', (worker: Worker, m: unknown) => {
    if (is<Snapshot>(m, SNAPSHOT)) {
      const g = gatherings.get(m.gathering);
      if (!g) return;
      g.got.push(m.snapshot);
      if (--g.left <= 0) g.done();
      return;
    }
    if (!is<Ask>(m, ASK)) return;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected());
    const gathering = next++;
    const got: StatsSnapshot[] = [];
    const done = (): void => {
      clearTimeout(timer);
      gatherings.delete(gathering);
      if (worker.isConnected()) worker.send({ type: ANSWER, id: m.id, snapshots: got } satisfies Answer);
    };
    const timer = setTimeout(done, GATHER_MS);
    gatherings.set(gathering, { got, done, left: workers.length });
    for (const w of workers) w.send({ type: COLLECT, gathering } satisfies Collect);
  });
}

/** In a worker: offers its snapshot to the primary's gatherings; returns the group's statistics on demand. */
export function groupStats(own: OperatorStats): () => Promise<OperatorStats> {
  const primary = new PrimaryQuestions<Answer>(ANSWER, ANSWER_MS);
  process.on('message', (m: unknown) => {
    if (is<Collect>(m, COLLECT) && process.connected)
      process.send?.({ type: SNAPSHOT, gathering: m.gathering, snapshot: own.snapshot() } satisfies Snapshot);
  });
  return async () => {
    const a = await primary.ask({ type: ASK });
    return a && a.snapshots.length > 0 ? OperatorStats.group(own, a.snapshots) : own;
  };
}
