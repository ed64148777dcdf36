// Random access to the bytes of a zip, so that verification reads a file the
// proxy hands in, or a Buffer in tests, without this folder touching the disk.
import { Readable } from 'node:stream';

/** A fixed-size run of bytes that can be read in ranges. */
export interface ByteSource {
  readonly size: number;
  /**
   * A stream of exactly the bytes [start, end). Implementations must fail the
   * stream (not end it early) when the range cannot be read in full.
   */
  createReadStream(start: number, end: number): Readable;
  /**
   * Optional: the bytes [start, end) in one piece, for the many small reads
   * of a central directory (a stream per read is slow for thousands of
   * entries). Throws (or rejects) when the range cannot be read in full.
   */
  read?(start: number, end: number): Buffer | Promise<Buffer>;
}

/** Largest chunk a bufferSource stream hands out; views, never copies. */
const BUFFER_CHUNK = 1 << 20;

class BufferRangeStream extends Readable {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    start: number,
    private readonly end: number,
    private readonly chunk: number,
  ) {
    super();
    this.pos = start;
  }

  override _read(): void {
    if (this.pos >= this.end) {
      this.push(null);
      return;
    }
    const next = Math.min(this.end, this.pos + this.chunk);
    const view = this.buf.subarray(this.pos, next);
    this.pos = next;
    this.push(view);
  }
}

function inRange(start: number, end: number, size: number): boolean {
  return Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= size;
}

/** Checks a requested range; returns an erroring stream when it is out of bounds. */
export function checkRange(start: number, end: number, size: number): Readable | null {
  if (inRange(start, end, size)) return null;
  const stream = new Readable({ read() {} });
  process.nextTick(() => {
    stream.destroy(new RangeError(`byte range [${start}, ${end}) is outside the source of ${size} bytes`));
  });
  return stream;
}

/**
 * A ByteSource over a Buffer. Streams hand out subarrays (no copies) of at
 * most `chunkSize` bytes (default 1 MiB).
 */
export function bufferSource(buf: Buffer, chunkSize: number = BUFFER_CHUNK): ByteSource {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`invalid chunk size ${chunkSize}`);
  return {
    size: buf.length,
    createReadStream(start: number, end: number): Readable {
      return checkRange(start, end, buf.length) ?? new BufferRangeStream(buf, start, end, chunkSize);
    },
    read(start: number, end: number): Buffer {
      if (!inRange(start, end, buf.length)) {
        throw new RangeError(`byte range [${start}, ${end}) is outside the source of ${buf.length} bytes`);
      }
      return buf.subarray(start, end);
    },
  };
}
