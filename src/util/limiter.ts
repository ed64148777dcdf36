// A bound on concurrent work of one kind: at most `running` jobs at once and
// at most `waiting` more queued behind them, in arrival order. A job that
// finds the queue full is refused at once (QueueFullError) rather than
// queued without bound; a queued job whose signal aborts leaves the queue.
// A generic primitive with no I/O and no imports of ours.

export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
}

export class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    readonly running: number,
    readonly waiting: number,
  ) {
    if (!Number.isInteger(running) || running < 1) throw new RangeError(`running must be at least 1, not ${running}`);
    if (!Number.isInteger(waiting) || waiting < 0) throw new RangeError(`waiting must be at least 0, not ${waiting}`);
  }

  /** Jobs running and queued now. */
  get load(): { running: number; waiting: number } {
    return { running: this.active, waiting: this.queue.length };
  }

  async run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.active >= this.running) await this.turn(signal);
    else this.active++;
    try {
      return await job();
    } finally {
      const next = this.queue.shift();
      // The slot passes straight to the next job in line.
      if (next !== undefined) next();
      else this.active--;
    }
  }

  private turn(signal: AbortSignal | undefined): Promise<void> {
    if (this.queue.length >= this.waiting)
      throw new QueueFullError(`${this.active} running and ${this.queue.length} waiting: the queue is full`);
    return new Promise<void>((resolve, reject) => {
      const go = (): void => {
        signal?.removeEventListener('abort', leave);
        resolve();
      };
      const leave = (): void => {
        const i = this.queue.indexOf(go);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal?.reason);
      };
      this.queue.push(go);
      signal?.addEventListener('abort', leave, { once: true });
    });
  }
}
