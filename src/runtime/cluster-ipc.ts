// What passes between a worker of `serve --workers N` and its primary: the
// slot the worker is started in, and the messages (cluster-leases,
// cluster-coord, cluster-stats, cluster-metrics, cluster-goruns): how a message is
// recognised, and how a worker asks the primary something and waits — at
// most a deadline, and not at all once the primary is gone.

import cluster from 'node:cluster';

/** The environment variable the primary gives a worker its slot (1 to N) in; a replacement takes the dead one's. */
export const WORKER_SLOT = 'GODEPOT_WORKER_SLOT';

/** This worker's slot in the group of `serve --workers N`; null in a process that is not a worker. */
export function workerSlot(): number | null {
  if (!cluster.isWorker) return null;
  const slot = Number(process.env[WORKER_SLOT]);
  return Number.isInteger(slot) && slot > 0 ? slot : (cluster.worker?.id ?? 1);
}

/** A question a worker asks its primary, or the primary's answer to it: matched by id (PrimaryQuestions). */
export type Asked<T extends string, B extends object = object> = {
  readonly type: T;
  readonly id: number;
} & Readonly<B>;

/** Whether an IPC message is one of ours of this type. */
export function is<T extends { type: string }>(m: unknown, type: T['type']): m is T {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
}

/**
 * In a worker: questions to the primary, each answered by a message of type
 * `answerType` carrying the question's id. ask() resolves with the answer,
 * or null when there is no primary, it went away, or it was silent for
 * `timeoutMs`.
 */
export class PrimaryQuestions<A extends Asked<string>> {
  private next = 0;
  private readonly waiting = new Map<number, (a: A | null) => void>();
  private readonly onMessage: (m: unknown) => void;
  private readonly onDisconnect = (): void => [...this.waiting.values()].forEach((answer) => answer(null));

  constructor(
    answerType: A['type'],
    private readonly timeoutMs: number,
  ) {
    this.onMessage = (m) => {
      if (is<A>(m, answerType)) this.waiting.get(m.id)?.(m);
    };
    process.on('message', this.onMessage);
    process.once('disconnect', this.onDisconnect);
  }

  /** Stops listening to the primary; questions still waiting are answered null. */
  close(): void {
    process.off('message', this.onMessage);
    process.off('disconnect', this.onDisconnect);
    this.onDisconnect();
  }

  /** Whether a primary is there to ask. */
  get connected(): boolean {
    return process.send !== undefined && process.connected;
  }

  ask(question: { readonly type: string }): Promise<A | null> {
    return new Promise((resolve) => {
      if (!this.connected) {
        resolve(null);
        return;
      }
      const id = this.next++;
      const timer = setTimeout(() => this.waiting.get(id)?.(null), this.timeoutMs);
      this.waiting.set(id, (a) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(a);
      });
      process.send?.({ ...question, id });
    });
  }
}
