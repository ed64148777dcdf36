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
  /**
   * The jobs waiting, in arrival order, from `head` on: taken by moving `head` (an array's shift() moves every
   * element, quadratic over a long queue), an aborted one left as a hole; the taken part is dropped now and then.
   */
  private queue: Array<(() => void) | undefined> = [];
  private head = 0;
  private waitingNow = 0;

  constructor(
    readonly running: number,
    readonly waiting: number,
  ) {
    if (!Number.isInteger(running) || running < 1) throw new RangeError(`running must be at least 1, not ${running}`);
    if (!Number.isInteger(waiting) || waiting < 0) throw new RangeError(`waiting must be at least 0, not ${waiting}`);
  }

  /** Jobs running and queued now. */
  get load(): { running: number; waiting: number } {
    return { running: this.active, waiting: this.waitingNow };
  }

  async run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.active >= this.running) await this.turn(signal);
    else this.active++;
    try {
      return await job();
    } finally {
      const next = this.take();
      // The slot passes straight to the next job in line.
      if (next !== undefined) next();
      else this.active--;
    }
  }

  /** The first job waiting, out of the queue; undefined when none waits. */
  private take(): (() => void) | undefined {
    let next: (() => void) | undefined;
    while (next === undefined && this.head < this.queue.length) {
      next = this.queue[this.head];
      this.queue[this.head++] = undefined;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (next !== undefined) this.waitingNow--;
    return next;
  }

  private turn(signal: AbortSignal | undefined): Promise<void> {
    if (this.waitingNow >= this.waiting)
      throw new QueueFullError(`${this.active} running and ${this.waitingNow} waiting: the queue is full`);
    return new Promise<void>((resolve, reject) => {
      const go = (): void => {
        signal?.removeEventListener('abort', leave);
        resolve();
      };
      const leave = (): void => {
        const i = this.queue.indexOf(go, this.head);
        if (i >= 0) {
          this.queue[i] = undefined;
          this.waitingNow--;
        }
        reject(signal?.reason);
      };
      this.queue.push(go);
      this.waitingNow++;
      signal?.addEventListener('abort', leave, { once: true });
    });
  }
}
