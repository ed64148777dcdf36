// SHA-256 on a second core, for modzip's verification (handed to it as
// ZipReadOptions.offThread, so modzip itself stays free of threads and timers). Verification costs a SHA-256 and a CRC-32 of
// every byte; on one thread they run in series (about 58 + 21 ms per
// 100 MB here). For content that lies in the source (stored data, stored
// deflate blocks) the main thread computes the CRC-32 over the bytes where
// they lie and copies them into a shared ring, and one worker thread hashes
// them from there: the two overlap.
//
// One worker per process, started on first use and unref'd whenever no
// answer is awaited. Memory is bounded by the ring: a writer waits for room
// (asynchronously where it can, else blocking briefly) while the worker
// catches up. Operations reach the worker in the order they were queued, so
// the ring is plain FIFO. If the worker dies, every pending operation
// rejects (callers then hash on this thread) and the next hash gets a new
// worker; after MAX_FAILURES deaths, none is started again.
import { Worker } from 'node:worker_threads';
import { STAGE_MAX, type OffThreadHash, type OffThreadSha } from '../modzip/index.js';

/**
 * Bytes of the shared ring (per process): four of the largest runs modzip
 * stages at once, so that a staged piece not yet released and a copied one
 * fit together.
 */
const RING = 4 * STAGE_MAX;
/** Staged bytes start at the same offset modulo this as in their source: memcpy between mutually misaligned addresses is several times slower. */
const ALIGN = 64;
/**
 * A new hash stays on the main thread when the worker is already this many
 * bytes behind: the main thread's share of a byte sent over (CRC-32, copy)
 * is smaller than the worker's, so with many entries some are better hashed
 * here than queued; and it saves the copy when the worker is starved of CPU.
 */
const BUSY = 4 << 20;
/** Queued bytes that make a post to the worker without waiting for the microtask. */
const POST_AT = 1 << 20;
/** A blocked writer waits in slices of this many ms, at most BLOCK_SLICES of them, then gives up. */
const BLOCK_SLICE_MS = 100;
const BLOCK_SLICES = 100;
/** Worker deaths after which hashing stays on the main thread. */
const MAX_FAILURES = 3;

const OP_UPDATE = 0;
const OP_DIGEST = 1;
const OP_DROP = 2;
const OP_RELEASE = 3;

// The worker. Ops arrive as flat arrays [op, id, start, length, ...] (start:
// a position in the ring's byte stream, which wraps). After each message it
// publishes how far the ring may be reused, wakes writers blocked on that,
// and posts null if a waiting writer raised the flag.
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const ring = Buffer.from(workerData.ring);
const freed = new BigInt64Array(workerData.control, 0, 1);
const wanted = new Int32Array(workerData.control, 8, 1);
const hashes = new Map();
function hashOf(id) {
  let h = hashes.get(id);
  if (h === undefined) { h = createHash('sha256'); hashes.set(id, h); }
  return h;
}
parentPort.on('message', (ops) => {
  let upTo = -1;
  for (let i = 0; i < ops.length; i += 4) {
    const op = ops[i], id = ops[i + 1];
    if (op === ${OP_UPDATE}) {
      const start = ops[i + 2], len = ops[i + 3];
      const off = start % ring.length;
      const first = Math.min(len, ring.length - off);
      const h = hashOf(id);
      h.update(ring.subarray(off, off + first));
      if (first < len) h.update(ring.subarray(0, len - first));
      upTo = Math.max(upTo, start + len);
    } else if (op === ${OP_RELEASE}) {
      upTo = Math.max(upTo, ops[i + 2]);
    } else if (op === ${OP_DIGEST}) {
      const digest = hashOf(id).digest();
      hashes.delete(id);
      parentPort.postMessage([id, digest]);
    } else {
      hashes.delete(id);
    }
  }
  if (upTo > Number(freed[0])) {
    Atomics.store(freed, 0, BigInt(upTo));
    Atomics.notify(freed, 0);
  }
  if (Atomics.exchange(wanted, 0, 0) === 1) parentPort.postMessage(null);
});
`;

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (err: unknown) => void;
}

class ShaWorker {
  private static current: ShaWorker | undefined;
  private static failures = 0;

  private readonly worker: Worker;
  private readonly ring = Buffer.from(new SharedArrayBuffer(RING));
  private readonly control = new SharedArrayBuffer(16);
  /** How far (in bytes ever written) the worker is done with the ring. */
  private readonly freed = new BigInt64Array(this.control, 0, 1);
  /** Raised by a writer waiting asynchronously for room. */
  private readonly wanted = new Int32Array(this.control, 8, 1);
  /** Bytes ever written into the ring (padding included). */
  private written = 0;
  private queue: number[] = [];
  private queuedBytes = 0;
  private postScheduled = false;
  private nextId = 1;
  private readonly digests = new Map<number, Waiter<Buffer>>();
  private roomWaiters: Array<Waiter<void>> = [];
  private failure: Error | undefined;

  /** The process's worker, started on first use; undefined if none can run. */
  static get(): ShaWorker | undefined {
    if (ShaWorker.current === undefined && ShaWorker.failures < MAX_FAILURES) {
      try {
        ShaWorker.current = new ShaWorker();
      } catch {
        ShaWorker.failures = MAX_FAILURES;
      }
    }
    return ShaWorker.current;
  }

  /** Ends the current worker as if it had died (tests of the fallback). */
  static async terminate(): Promise<void> {
    await ShaWorker.current?.worker.terminate();
  }

  private constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ring: this.ring.buffer, control: this.control },
    });
    this.worker.on('message', (m: unknown) => this.onMessage(m));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`SHA-256 worker exited (code ${code})`)));
    // After the listeners: adding a 'message' listener refs the worker again.
    this.worker.unref();
  }

  private onMessage(m: unknown): void {
    if (m === null) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of waiters) w.resolve();
    } else if (Array.isArray(m) && typeof m[0] === 'number' && m[1] instanceof Uint8Array) {
      const waiter = this.digests.get(m[0]);
      this.digests.delete(m[0]);
      waiter?.resolve(Buffer.from(m[1].buffer, m[1].byteOffset, m[1].byteLength));
    }
    this.updateRef();
  }

  private fail(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    if (ShaWorker.current === this) ShaWorker.current = undefined;
    ShaWorker.failures++;
    for (const w of this.digests.values()) w.reject(err);
    this.digests.clear();
    for (const w of this.roomWaiters) w.reject(err);
    this.roomWaiters = [];
    void this.worker.terminate();
  }

  /** Keeps the process alive only while an answer is awaited. */
  private updateRef(): void {
    if (this.digests.size > 0 || this.roomWaiters.length > 0) this.worker.ref();
    else this.worker.unref();
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  newId(): number {
    return this.nextId++;
  }

  /** Bytes of the ring the worker is not done with. */
  backlog(): number {
    return this.written - Number(Atomics.load(this.freed, 0));
  }

  /** Undefined when the ring has room for n bytes now; else a promise of it. */
  room(n: number): Promise<void> | undefined {
    this.check();
    const want = Math.min(n + ALIGN, RING);
    return RING - this.backlog() >= want ? undefined : this.waitRoom(want);
  }

  private async waitRoom(n: number): Promise<void> {
    for (;;) {
      this.check();
      if (RING - this.backlog() >= n) return;
      this.post();
      Atomics.store(this.wanted, 0, 1);
      // Looked at again after raising the flag: the worker may have freed room in between.
      if (RING - this.backlog() >= n) return;
      await new Promise<void>((resolve, reject) => {
        this.roomWaiters.push({ resolve, reject });
        this.updateRef();
      });
    }
  }

  /** Blocks this thread until the ring has room for n bytes (n <= RING), or throws after a long time. */
  private blockForRoom(n: number): void {
    this.post();
    for (let slices = 0; ;) {
      const freed = Atomics.load(this.freed, 0);
      if (RING - (this.written - Number(freed)) >= n) return;
      if (Atomics.wait(this.freed, 0, freed, BLOCK_SLICE_MS) === 'timed-out' && ++slices >= BLOCK_SLICES) {
        throw new Error('SHA-256 worker made no progress');
      }
    }
  }

  /** Copies b (at most STAGE_MAX bytes) into the ring; returns its position there. */
  stage(b: Buffer): number {
    this.check();
    if (b.length > STAGE_MAX) throw new RangeError(`cannot stage ${b.length} bytes`);
    if (RING - this.backlog() < b.length + ALIGN) this.blockForRoom(b.length + ALIGN);
    this.written += (b.byteOffset - this.written) & (ALIGN - 1);
    const start = this.written;
    const off = start % RING;
    const first = Math.min(b.length, RING - off);
    b.copy(this.ring, off, 0, first);
    if (first < b.length) b.copy(this.ring, 0, first);
    this.written += b.length;
    return start;
  }

  /** Lets the worker reuse the ring up to upTo once it has taken every range queued before. */
  release(upTo: number): void {
    if (this.failure !== undefined) return;
    this.queue.push(OP_RELEASE, 0, upTo, 0);
    this.schedulePost();
  }

  /** Queues len bytes at ring position start (staged, not yet released) to hash under id. */
  updateStaged(id: number, start: number, len: number): void {
    this.check();
    const q = this.queue;
    const n = q.length;
    // Extends the previous range when it is the same hash's and ends here.
    if (n >= 4 && q[n - 4] === OP_UPDATE && q[n - 3] === id && (q[n - 2] ?? 0) + (q[n - 1] ?? 0) === start) {
      q[n - 1] = (q[n - 1] ?? 0) + len;
    } else {
      q.push(OP_UPDATE, id, start, len);
    }
    this.queuedBytes += len;
    if (this.queuedBytes >= POST_AT) this.post();
    else this.schedulePost();
  }

  /** Queues bytes to hash under id, copied into the ring. */
  update(id: number, b: Buffer): void {
    for (let p = 0; p < b.length;) {
      const part = b.subarray(p, p + STAGE_MAX);
      p += part.length;
      this.updateStaged(id, this.stage(part), part.length);
    }
  }

  /** The hash of everything queued under id. */
  digest(id: number): Promise<Buffer> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const done = new Promise<Buffer>((resolve, reject) => this.digests.set(id, { resolve, reject }));
    this.queue.push(OP_DIGEST, id, 0, 0);
    this.post();
    this.updateRef();
    return done;
  }

  /** Forgets id's hash. */
  drop(id: number): void {
    if (this.failure !== undefined) return;
    this.queue.push(OP_DROP, id, 0, 0);
    this.schedulePost();
  }

  private schedulePost(): void {
    if (this.postScheduled) return;
    this.postScheduled = true;
    queueMicrotask(() => this.post());
  }

  private post(): void {
    this.postScheduled = false;
    if (this.queue.length === 0 || this.failure !== undefined) return;
    this.worker.postMessage(this.queue);
    this.queue = [];
    this.queuedBytes = 0;
  }
}

/** One SHA-256 computed by the worker. Throws (or rejects) once the worker has died. */
export class RemoteSha implements OffThreadHash {
  private readonly id: number;
  private finished = false;
  private staged: { data: Buffer; start: number } | undefined;

  private constructor(private readonly worker: ShaWorker) {
    this.id = worker.newId();
  }

  /**
   * A hash on the worker; undefined when no worker can run, or when it is
   * already BUSY (then the caller hashes on its own thread).
   */
  static open(): RemoteSha | undefined {
    const w = ShaWorker.get();
    return w === undefined || w.backlog() > BUSY ? undefined : new RemoteSha(w);
  }

  /** Undefined when the process's worker can take n bytes now; else a promise of room. */
  static room(n: number): Promise<void> | undefined {
    return ShaWorker.get()?.room(n);
  }

  /** Ends the process's worker as if it had died (for tests). */
  static terminateWorker(): Promise<void> {
    return ShaWorker.terminate();
  }

  /** As RemoteSha.room, on this hash's worker. */
  room(n: number): Promise<void> | undefined {
    return this.worker.room(n);
  }

  /** Hashes b: with no copy when it lies inside the staged data, else copied into the ring. */
  update(b: Buffer): void {
    const at = this.staged;
    if (
      at !== undefined &&
      b.buffer === at.data.buffer &&
      b.byteOffset >= at.data.byteOffset &&
      b.byteOffset + b.length <= at.data.byteOffset + at.data.length
    ) {
      this.worker.updateStaged(this.id, at.start + (b.byteOffset - at.data.byteOffset), b.length);
    } else {
      this.worker.update(this.id, b);
    }
  }

  /**
   * Copies data (at most STAGE_MAX bytes) into the ring once, so that
   * update() with views of it (the stored blocks inside a piece of deflate
   * data) copies nothing more. Call unstage() after the last such update().
   */
  stage(data: Buffer): void {
    this.unstage();
    this.staged = { data, start: this.worker.stage(data) };
  }

  unstage(): void {
    const at = this.staged;
    if (at === undefined) return;
    this.staged = undefined;
    this.worker.release(at.start + at.data.length);
  }

  digest(): Promise<Buffer> {
    this.unstage();
    this.finished = true;
    return this.worker.digest(this.id);
  }

  /** Releases the hash if it was never digested (the entry failed, or is hashed elsewhere). */
  dispose(): void {
    this.unstage();
    if (this.finished) return;
    this.finished = true;
    this.worker.drop(this.id);
  }
}

/** The process's SHA-256 worker, as modzip takes it (ZipReadOptions.offThread). */
export const SHA_WORKER: OffThreadSha = {
  open: () => RemoteSha.open(),
  room: (n) => RemoteSha.room(n),
};
