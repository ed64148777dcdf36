// Sequential reading of a stream by byte counts: take, skip, peek, and the
// next n bytes as the pieces they arrived in (views, no copies, except for
// a few bytes that straddle two chunks).
import type { Readable } from 'node:stream';
import { ZipError } from './errors.js';

/** Bytes read ahead of the reader at most, so file reads overlap hashing. */
const READ_AHEAD = 4 << 20;

export class ByteCursor {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  /**
   * @param pos the source offset of the stream's first byte. The stream is
   * read through 'data' events (an async iterator's read() concatenates
   * whatever is buffered: a copy), up to READ_AHEAD bytes ahead.
   */
  constructor(
    private readonly stream: Readable,
    public pos: number,
  ) {
    const wake = (): void => {
      const w = this.wake;
      this.wake = undefined;
      w?.();
    };
    stream.on('data', (chunk: Buffer) => {
      if (chunk.length > 0) {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
      if (this.buffered >= READ_AHEAD) stream.pause();
      wake();
    });
    stream.once('end', () => {
      this.done = true;
      wake();
    });
    stream.once('error', (err: Error) => {
      this.failure = err;
      wake();
    });
  }

  /** Buffers at least n bytes, unless the stream ends first. */
  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.done) {
      if (this.failure !== undefined) throw this.failure;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.stream.resume();
      });
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** The next n buffered bytes, consumed; a view when they lie in one chunk. */
  private consume(n: number): Buffer {
    this.pos += n;
    this.buffered -= n;
    if (this.buffered < READ_AHEAD / 2 && this.stream.isPaused()) this.stream.resume();
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const parts: Buffer[] = [];
    for (let left = n; left > 0;) {
      const c = this.chunks[0];
      if (c === undefined) break;
      const k = Math.min(left, c.length);
      parts.push(c.subarray(0, k));
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
      left -= k;
    }
    return Buffer.concat(parts);
  }

  private eof(what: string): ZipError {
    return new ZipError(`zip: not a valid zip file (unexpected end of data reading ${what} at offset ${this.pos})`);
  }

  /** Exactly the next n bytes. */
  async take(n: number, what: string): Promise<Buffer> {
    await this.fill(n);
    if (this.buffered < n) throw this.eof(what);
    return this.consume(n);
  }

  /** Up to the next n bytes, not consumed. */
  async peek(n: number): Promise<Buffer> {
    await this.fill(n);
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks, Math.min(n, this.buffered));
  }

  /** Moves past the next n bytes. */
  async skip(n: number, what: string): Promise<void> {
    for (let left = n; left > 0;) {
      if (this.buffered === 0) {
        await this.fill(1);
        if (this.buffered === 0) throw this.eof(what);
      }
      const k = Math.min(left, this.chunks[0]?.length ?? 0);
      this.consume(k);
      left -= k;
    }
  }

  /** The next n bytes, consumed, as the pieces they arrived in. */
  async *pieces(n: number, what: string): AsyncGenerator<Buffer> {
    for (let left = n; left > 0;) {
      if (this.buffered === 0) {
        await this.fill(1);
        if (this.buffered === 0) throw this.eof(what);
      }
      const k = Math.min(left, this.chunks[0]?.length ?? 0);
      left -= k;
      yield this.consume(k);
    }
  }
}
