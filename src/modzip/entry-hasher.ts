// SHA-256 (and, where zlib does not check it, the CRC-32) of one entry's
// content as it streams by, refusing content beyond the declared size.
//
// Off-thread hashing (an OffThreadSha the caller hands in; the server's is
// proxy/sha-worker.ts) is for content that lies in the source (stored data,
// stored deflate blocks): the CRC-32 is computed here, the SHA-256 there, in
// parallel. Where the hash is computed is fixed by the first byte; content
// inflated by zlib starts it here, as zlib is the slow part then and its
// output is already off the critical path.
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { OversizeError, ZipError } from './errors.js';

/** Deflate data is taken, and content staged, in runs of at most this many bytes. */
export const STAGE_MAX = 2 << 20;

/** One SHA-256 computed elsewhere (on another thread). */
export interface OffThreadHash {
  /** Undefined when n more bytes can be taken now; else a promise of room for them. */
  room(n: number): Promise<void> | undefined;
  update(b: Buffer): void;
  /** Copies data (at most STAGE_MAX bytes) over once, so update() with views of it copies nothing more. */
  stage(data: Buffer): void;
  unstage(): void;
  digest(): Promise<Buffer>;
  /** Releases the hash if it was never digested. */
  dispose(): void;
}

/** Where off-thread hashes come from (ZipReadOptions.offThread). */
export interface OffThreadSha {
  /** A new hash; undefined when the caller should hash on its own thread (none can run, or it is busy). */
  open(): OffThreadHash | undefined;
  /** Undefined when n bytes can be taken now; else a promise of room. */
  room(n: number): Promise<void> | undefined;
}

export class EntryHasher {
  /** Where the SHA-256 is computed; chosen at the first byte. */
  private local: Hash | undefined;
  private remote: OffThreadHash | undefined;
  crc = 0;
  size = 0;

  /**
   * @param crcHere whether to compute the CRC-32 here; switched off when a
   *   gzip frame lets zlib check it
   * @param offThread where the SHA-256 may go instead; dropped before the
   *   first byte when the content will come from zlib
   */
  constructor(
    readonly declared: number,
    readonly name: string,
    public crcHere: boolean,
    private offThread: OffThreadSha | undefined,
  ) {}

  private get started(): boolean {
    return this.local !== undefined || this.remote !== undefined;
  }

  /**
   * Undefined when n more bytes can be taken now without blocking; else a
   * promise of room for them (the other thread is behind).
   */
  room(n: number): Promise<void> | undefined {
    if (this.remote) return this.remote.room(n);
    if (this.offThread === undefined || this.started) return undefined;
    return this.offThread.room(n);
  }

  /** Throws ZipError once the content passes the declared size (Unzip's check, which stops zip bombs). */
  update(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.declared) throw this.tooLarge();
    if (!this.started) this.start();
    if (this.remote) this.remote.update(chunk);
    else this.local?.update(chunk);
    if (this.crcHere) this.crc = crc32(chunk, this.crc);
  }

  /**
   * Copies data over in one piece when the hash goes (or may go) off
   * thread, so update() with views of it copies nothing more. Call
   * unstage() after the last such update().
   */
  stage(data: Buffer): void {
    if (this.offThread === undefined || data.length > STAGE_MAX) return;
    if (!this.started) this.start();
    this.remote?.stage(data);
  }

  unstage(): void {
    this.remote?.unstage();
  }

  /** Before the first byte: hash here after all (the content will come from zlib). */
  preferLocal(): void {
    if (this.size !== 0) return;
    this.offThread = undefined;
    if (this.remote) {
      this.remote.dispose();
      this.remote = undefined;
    }
  }

  /** The error for content past the declared size. */
  tooLarge(): ZipError {
    return new OversizeError(this.name, this.declared);
  }

  private start(): void {
    this.remote = this.offThread?.open();
    if (!this.remote) this.local = createHash('sha256');
  }

  /** The SHA-256 of the content; a promise when the worker computes it. */
  digest(): Buffer | Promise<Buffer> {
    return this.remote ? this.remote.digest() : (this.local ?? createHash('sha256')).digest();
  }

  /** Releases the worker's hash when the entry failed before digest(). */
  dispose(): void {
    this.remote?.dispose();
  }
}
