// Workers of `serve --workers N` that stop answering: an event loop blocked
// (a runaway computation, a synchronous call that never returns) or a process
// stopped (SIGSTOP, a frozen cgroup). Such a worker does not exit, so nothing
// else ends it: its clients (the go command keeps its connections alive) wait
// on it for ever, and every other worker's request for an artifact it leads
// the fetch of waits on its lease (cluster-leases.ts). So the primary pings
// every listening worker over the IPC channel, which a live event loop answers
// at once; one silent for HANG_MS is killed, which ends its connections
// cleanly, gives up its leases, and starts another in its slot. The pings
// carry the primary's view of the group (how many workers serve) to /readyz.
import cluster, { type Worker } from 'node:cluster';
import type { WorkersStatus } from '../coord/index.js';
import { is } from './cluster-ipc.js';

const PING = 'godepot:ping';
const PONG = 'godepot:pong';

/** How often the primary pings each worker (ms). */
export const PING_MS = 2_000;
/**
 * A worker silent this long (ms) is hung: far past a garbage collection's pause or any synchronous work godepot
 * does, short enough that its clients get an error rather than a hang.
 */
export const HANG_MS = 15_000;

/** The primary's book of when each watched worker last answered. */
export class HangWatch<W> {
  private readonly last = new Map<W, number>();

  constructor(
    private readonly now: () => number,
    private readonly hangMs = HANG_MS,
  ) {}

  /** Watches w from now on (it listens, so it serves). */
  watch(w: W): void {
    this.last.set(w, this.now());
  }

  /** w answered a ping. */
  answered(w: W): void {
    if (this.last.has(w)) this.last.set(w, this.now());
  }

  /** w exited. */
  gone(w: W): void {
    this.last.delete(w);
  }

  /** The workers silent for hangMs or longer, with how long; each is told once (it is no longer watched). */
  hung(): Array<{ worker: W; silentMs: number }> {
    const out: Array<{ worker: W; silentMs: number }> = [];
    const now = this.now();
    for (const [worker, at] of this.last) {
      // A clock stepped back reads as no silence: the safe side (no kill).
      const silentMs = Math.max(0, now - at);
      if (silentMs < this.hangMs) continue;
      this.last.delete(worker);
      out.push({ worker, silentMs });
    }
    return out;
  }
}

interface Ping {
  readonly type: typeof PING;
  readonly workers: WorkersStatus;
}

/**
 * In the primary: pings the workers every PING_MS, with workers() (and at once by the returned tell(), when it
 * changed); onHung is called once for each listening one silent for HANG_MS (it is to end it). Durations: a
 * monotonic clock, which a stepped wall clock does not move.
 */
export function watchWorkers(
  onHung: (worker: Worker, silentMs: number) => void,
  workers: () => WorkersStatus,
): { tell(): void } {
  const watch = new HangWatch<Worker>(() => performance.now());
  cluster.on('listening', (w: Worker) => watch.watch(w));
  cluster.on('exit', (w: Worker) => watch.gone(w));
  cluster.on('message', (w: Worker, m: unknown) => {
    if (is<{ type: typeof PONG }>(m, PONG)) watch.answered(w);
  });
  const tell = (): void => {
    const ping: Ping = { type: PING, workers: workers() };
    for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected()) w.send(ping);
  };
  // Not keeping the primary alive: its workers do.
  setInterval(() => {
    for (const { worker, silentMs } of watch.hung()) onHung(worker, silentMs);
    tell();
  }, PING_MS).unref();
  return { tell };
}

/** What the primary's last ping said of the group; undefined before the first. */
let group: WorkersStatus | undefined;

/** In a worker: the group as its primary saw it at its last ping (at most PING_MS old). */
export function groupWorkers(): WorkersStatus | undefined {
  return group;
}

/** In a worker: answers the primary's pings (from the event loop, which is what they test). */
export function answerPings(): void {
  process.on('message', (m: unknown) => {
    if (!is<Ping>(m, PING)) return;
    if (typeof m.workers === 'object' && m.workers !== null) group = m.workers;
    if (process.connected) process.send?.({ type: PONG });
  });
}
