// The go runs of a worker of `serve --workers N` that dies. Each origin fetch
// runs go in a process group of its own (vcs/gorun.ts), so that go and the git
// processes it starts are killed together; no signal to the worker reaches
// it. A worker that ends by process.exit kills its runs itself, but one that
// is SIGKILLed (an operator, the OOM killer, the primary's watch of hung
// workers) runs no hook: its go, adopted by PID 1, would run on with no
// deadline. So a worker tells its primary the group of each run as it starts
// and as go exits, and the primary kills the groups still listed when the
// worker exits, whatever ended it. A worker has at most its --vcs-concurrency
// runs for private modules and as many for public ones: the lists stay small.
// (A single process, --workers 1, has no primary: see the README's Shutdown.)
import cluster, { type Worker } from 'node:cluster';
import { killGroup, watchGoGroups } from '../vcs/gorun.js';
import { is } from './cluster-ipc.js';

const GROUP = 'godepot:go-group';

interface GoGroup {
  readonly type: typeof GROUP;
  /** The process group (go's PID). */
  readonly pgid: number;
  /** true as go starts, false once it has exited. */
  readonly running: boolean;
}

/** In the primary: kills the go runs a worker leaves behind when it exits. */
export function reapGoRuns(): void {
  const groups = new Map<Worker, Set<number>>();
  cluster.on('message', (worker: Worker, m: unknown) => {
    // A group id from the worker, checked as one (killGroup refuses 0 and 1).
    if (!is<GoGroup>(m, GROUP) || !Number.isInteger(m.pgid) || m.pgid <= 1) return;
    if (!m.running) {
      groups.get(worker)?.delete(m.pgid);
      return;
    }
    // Read after the worker's exit (the channel drains after it): nobody else will end this run.
    if (worker.isDead()) {
      killGroup(m.pgid);
      return;
    }
    const listed = groups.get(worker) ?? new Set<number>();
    groups.set(worker, listed.add(m.pgid));
  });
  cluster.on('exit', (worker: Worker) => {
    groups.get(worker)?.forEach(killGroup);
    groups.delete(worker);
  });
}

/** In a worker: tells the primary each go run's process group as it starts and as go exits. */
export function tellGoRuns(): void {
  watchGoGroups((pgid, running) => {
    if (process.connected) process.send?.({ type: GROUP, pgid, running } satisfies GoGroup);
  });
}
