// SHA-256 (and, where zlib does not check it, the CRC-32) of one entry's
// content as it streams by, refusing content beyond the declared size.
//
// Off-thread hashing (sha-worker.ts) is for content that lies in the source
// (stored data, stored deflate blocks): the CRC-32 is computed here, the
// SHA-256 on the worker, in parallel. Where the hash is computed is fixed
// by the first byte; content inflated by zlib starts it here, as zlib is
// the slow part then and its output is already off the critical path.
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { OversizeError, ZipError } from './errors.js';
import { RemoteSha, STAGE_MAX } from './sha-worker.js';

export class EntryHasher {
  /** Where the SHA-256 is computed; chosen at the first byte. */
  private sink: Hash | RemoteSha | undefined;
  crc = 0;
  size = 0;

  /**
   * @param crcHere whether to compute the CRC-32 here; switched off when a
   *   gzip frame lets zlib check it
   * @param offThread whether the SHA-256 may go to the worker; switched off
   *   before the first byte when the content will come from zlib
   */
  constructor(
    readonly declared: number,
    readonly name: string,
    public crcHere: boolean,
    public offThread = false,
  ) {}

  /**
   * Undefined when n more bytes can be taken now without blocking; else a
   * promise of room for them (the worker's ring is full).
   */
  room(n: number): Promise<void> | undefined {
    if (this.sink instanceof RemoteSha) return this.sink.room(n);
    if (!this.offThread || this.sink !== undefined) return undefined;
    return RemoteSha.room(n);
  }

  /** Throws ZipError once the content passes the declared size (Unzip's check, which stops zip bombs). */
  update(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.declared) throw this.tooLarge();
    (this.sink ??= this.start()).update(chunk);
    if (this.crcHere) this.crc = crc32(chunk, this.crc);
  }

  /**
   * Copies data into the worker's ring in one piece when the hash goes (or
   * may go) there, so update() with views of it copies nothing more. Call
   * unstage() after the last such update().
   */
  stage(data: Buffer): void {
    if (!this.offThread || data.length > STAGE_MAX) return;
    const sink = (this.sink ??= this.start());
    if (sink instanceof RemoteSha) sink.stage(data);
  }

  unstage(): void {
    if (this.sink instanceof RemoteSha) this.sink.unstage();
  }

  /** Before the first byte: hash here after all (the content will come from zlib). */
  preferLocal(): void {
    if (this.size !== 0) return;
    this.offThread = false;
    if (this.sink instanceof RemoteSha) {
      this.sink.dispose();
      this.sink = undefined;
    }
  }

  /** The error for content past the declared size. */
  tooLarge(): ZipError {
    return new OversizeError(this.name, this.declared);
  }

  private start(): Hash | RemoteSha {
    return (this.offThread ? RemoteSha.open() : undefined) ?? createHash('sha256');
  }

  /** The SHA-256 of the content; a promise when the worker computes it. */
  digest(): Buffer | Promise<Buffer> {
    return (this.sink ?? createHash('sha256')).digest();
  }

  /** Releases the worker's hash when the entry failed before digest(). */
  dispose(): void {
    if (this.sink instanceof RemoteSha) this.sink.dispose();
  }
}
