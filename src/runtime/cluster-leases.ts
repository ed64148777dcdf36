// Fetch leases across --workers N (proxy/context.ts FetchLeases): the
// primary process keeps, per storage key, which worker is fetching it and
// who waits, so a burst of requests for one uncached zip spread over the
// workers still makes one upstream fetch. Messages travel over the
// cluster's IPC channel, which keeps each worker's messages in order.
import cluster, { type Worker } from 'node:cluster';
import type { FetchLeases, FetchOutcome, Lease } from '../proxy/context.js';
import { is } from './cluster-ipc.js';

const ASK = 'godepot:lease?';
const GRANT = 'godepot:lease!';
const RELEASE = 'godepot:lease-release';
const CANCEL = 'godepot:lease-cancel';

interface Ask {
  readonly type: typeof ASK;
  readonly key: string;
  readonly id: number;
}
interface Grant {
  readonly type: typeof GRANT;
  readonly id: number;
  /** Absent: fetch it. Present: the holder has finished so. */
  readonly outcome?: FetchOutcome;
}
interface Release {
  readonly type: typeof RELEASE;
  readonly key: string;
  readonly outcome: FetchOutcome;
}
/** The asker gave up (its requests went away): forget its wait, or its lease. */
interface Cancel {
  readonly type: typeof CANCEL;
  readonly key: string;
  readonly id: number;
}

const FAILED: FetchOutcome = { kind: 'failed' };

interface Held<W> {
  readonly worker: W;
  readonly id: number;
  readonly waiters: Array<{ readonly worker: W; readonly id: number }>;
}

/**
 * The primary's book of leases, apart from the IPC that feeds it: per key,
 * the worker fetching it and the askers waiting. tell() answers an ask:
 * with no outcome, fetch it; with one, the holder finished so.
 */
export class LeaseBroker<W> {
  private readonly held = new Map<string, Held<W>>();

  constructor(private readonly tell: (worker: W, id: number, outcome?: FetchOutcome) => void) {}

  /** Keys being fetched right now. */
  get size(): number {
    return this.held.size;
  }

  ask(worker: W, key: string, id: number): void {
    const h = this.held.get(key);
    if (h) {
      h.waiters.push({ worker, id });
      return;
    }
    this.held.set(key, { worker, id, waiters: [] });
    this.tell(worker, id);
  }

  /** The holder is done with key. */
  release(worker: W, key: string, outcome: FetchOutcome): void {
    const h = this.held.get(key);
    if (h?.worker === worker) this.finish(key, h, outcome);
  }

  /** Ask id was abandoned: forget the wait, or give up the lease if it had been granted. */
  cancel(worker: W, key: string, id: number): void {
    const h = this.held.get(key);
    if (!h) return;
    if (h.worker === worker && h.id === id) {
      this.finish(key, h, FAILED);
      return;
    }
    const i = h.waiters.findIndex((w) => w.worker === worker && w.id === id);
    if (i >= 0) h.waiters.splice(i, 1);
  }

  /** The worker exited: its leases end, its waits are forgotten. */
  gone(worker: W): void {
    for (const h of this.held.values()) {
      const left = h.waiters.filter((w) => w.worker !== worker);
      h.waiters.splice(0, h.waiters.length, ...left);
    }
    for (const [key, h] of [...this.held]) if (h.worker === worker) this.finish(key, h, FAILED);
  }

  private finish(key: string, h: Held<W>, outcome: FetchOutcome): void {
    this.held.delete(key);
    for (const w of h.waiters) this.tell(w.worker, w.id, outcome);
  }
}

/** In the primary: hands out leases; a worker that exits gives up everything it held. */
export function serveFetchLeases(): void {
  const broker = new LeaseBroker<Worker>((worker, id, outcome) => {
    if (worker.isConnected()) worker.send({ type: GRANT, id, ...(outcome ? { outcome } : {}) } satisfies Grant);
  });
  cluster.on('message', (worker: Worker, m: unknown) => deliverToBroker(broker, worker, m));
  cluster.on('exit', (worker: Worker) => broker.gone(worker));
}

/** Hands a worker's lease message to the broker (anything else is ignored). */
export function deliverToBroker<W>(broker: LeaseBroker<W>, worker: W, m: unknown): void {
  if (is<Ask>(m, ASK)) broker.ask(worker, m.key, m.id);
  else if (is<Release>(m, RELEASE)) broker.release(worker, m.key, m.outcome);
  else if (is<Cancel>(m, CANCEL)) broker.cancel(worker, m.key, m.id);
}

/** The worker's side of the leases, apart from how its messages travel (clusterFetchLeases: the cluster's IPC). */
export interface LeaseAsker extends FetchLeases {
  /** A grant arrived for ask id: no outcome, lead; an outcome, the holder finished so. */
  answer(id: number, outcome?: FetchOutcome): void;
  /** Nobody will answer any more (the primary is gone): every waiter fetches alone. */
  abandon(): void;
}

/** Asks through send(), which returns false when the message cannot go (then this process fetches alone). */
export function leaseAsker(send: (m: Ask | Release | Cancel) => boolean): LeaseAsker {
  let next = 0;
  /** Answers awaited, by ask id: called with no outcome to lead. */
  const waiting = new Map<number, (outcome?: FetchOutcome) => void>();
  return {
    answer: (id, outcome) => waiting.get(id)?.(outcome),
    abandon: () => [...waiting.values()].forEach((answer) => answer()),
    acquire(key: string, signal: AbortSignal): Promise<Lease> {
      return new Promise<Lease>((resolve, reject) => {
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        const id = next++;
        const onAbort = (): void => {
          waiting.delete(id);
          send({ type: CANCEL, key, id });
          reject(signal.reason);
        };
        waiting.set(id, (outcome) => {
          waiting.delete(id);
          signal.removeEventListener('abort', onAbort);
          resolve(
            outcome
              ? { lead: false, outcome }
              : { lead: true, release: (o) => void send({ type: RELEASE, key, outcome: o }) },
          );
        });
        signal.addEventListener('abort', onAbort, { once: true });
        // Without a primary (it died), this worker fetches on its own.
        if (!send({ type: ASK, key, id })) waiting.get(id)?.();
      });
    },
  };
}

/** In a worker: leases from the primary; close() stops listening to it (whoever still waits fetches alone). */
export function clusterFetchLeases(): FetchLeases & { close(): void } {
  const asker = leaseAsker((m) => {
    if (!process.send || !process.connected) return false;
    process.send(m);
    return true;
  });
  const onMessage = (m: unknown): void => {
    if (is<Grant>(m, GRANT)) asker.answer(m.id, m.outcome);
  };
  // The primary is gone: nobody will answer, so every waiter fetches for itself.
  const onDisconnect = (): void => asker.abandon();
  process.on('message', onMessage);
  process.once('disconnect', onDisconnect);
  return {
    close(): void {
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
      onDisconnect();
    },
    acquire: (key, signal) => asker.acquire(key, signal),
  };
}
