// One pass over one zip entry's bytes: its data (stored or deflated) into an
// EntryHasher, and the few bytes after it (a data descriptor) kept aside.
//
// Deflated entries of incompressible files are mostly *stored* deflate
// blocks (a 5-byte header, then raw bytes). The "fast" read parses those in
// JS: no inflate, no trips to the thread pool. It stages each piece of
// input in the off-thread SHA-256's buffer in one copy (entry-hasher.ts), so the
// worker hashes the blocks' bytes while this thread computes their CRC-32.
// At the first compressed block it hands the rest of the stream to zlib:
// with a gzip frame when nothing was output yet (so zlib checks the CRC-32
// and size on its thread), else as raw deflate primed with the last 32 KiB
// of output as its dictionary; a short last stretch (zlib often ends with a
// small coded block) is inflated in one synchronous call. The "exact" read
// gives all deflate data to zlib's raw inflate, as Go's reader sees it.
import { once } from 'node:events';
import { addAbortSignal, type Readable } from 'node:stream';
import { createGunzip, createInflateRaw, inflateRawSync, type Gunzip, type InflateRaw } from 'node:zlib';
import { EntryHasher } from './entry-hasher.js';
import { STAGE_MAX } from './entry-hasher.js';
import { DATA_DESCRIPTOR_LEN, DEFLATE } from './format.js';

/** zlib output chunk; each is one trip to libuv's thread pool. */
const INFLATE_CHUNK = 256 << 10;
/** Largest end of a stream (compressed, and content) inflated in one synchronous call. */
const SYNC_TAIL = 64 << 10;
/** Deflate back-references reach at most 32 KiB back. */
const WINDOW = 32 << 10;
/** gzip member header: magic, deflate, no flags, no mtime, no extra flags, OS unknown. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

/** The first byte of a final block with fixed codes: BFINAL 1, BTYPE 01, then the first code bits. */
export const FINAL_FIXED_HEAD = 0x03;

/**
 * Whether b[i], b[i+1] begin a final fixed-code block holding only the
 * end-of-block code (seven 0 bits): the two bytes zlib often ends with.
 * Bits after it are padding, and bytes after it are ignored, as by Go.
 */
export function isFinalEmptyFixedBlock(b: Buffer, i: number): boolean {
  return b[i] === FINAL_FIXED_HEAD && i + 1 < b.length && ((b[i + 1] ?? 0xff) & 0x03) === 0;
}

/** Deflate data the fast read cannot take (zlib will judge it on the exact read). */
export class CorruptDeflate extends Error {
  override readonly name = 'CorruptDeflate';
}

export interface EntryLayout {
  method: number;
  compressedSize: number;
  /** With a gzip frame: the CRC-32 and size the trailer claims. */
  crc32: number;
  declaredSize: number;
  /** Whether the CRC-32 must be checked at all (Go: data descriptor present or CRC-32 not zero). */
  checkCrc: boolean;
}

/**
 * A zlib stream fed with backpressure; its output goes to `onData`, whose
 * throw fails the stream. Output is handed over in a microtask rather than
 * in zlib's callback, so zlib queues its next chunk on the thread pool
 * first and inflating the next chunk overlaps hashing this one.
 */
class ZlibFeed {
  private failure: unknown;
  private readonly ended: Promise<void>;
  private readonly queue: Buffer[] = [];
  private scheduled = false;

  constructor(
    private readonly z: Gunzip | InflateRaw,
    private readonly onData: (b: Buffer) => void,
  ) {
    this.ended = new Promise<void>((resolve, reject) => {
      z.once('end', resolve);
      z.once('error', reject);
    });
    this.ended.catch(() => undefined);
    z.on('data', (b: Buffer) => {
      this.queue.push(b);
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(this.drain);
      }
    });
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    for (let b = this.queue.shift(); b !== undefined; b = this.queue.shift()) {
      if (this.failure !== undefined) continue;
      try {
        this.onData(b);
      } catch (err) {
        this.failure = err;
        this.z.destroy(err instanceof Error ? err : new Error(String(err)));
      }
    }
  };

  async write(b: Buffer): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (!this.z.write(b)) await once(this.z, 'drain');
  }

  /** Writes a few bytes at the start, ignoring backpressure (a header is tiny). */
  prime(b: Buffer): void {
    this.z.write(b);
  }

  async end(last?: Buffer): Promise<void> {
    if (last !== undefined) this.z.write(last);
    this.z.end();
    try {
      await this.ended;
    } catch (err) {
      throw this.failure ?? err;
    }
    this.drain();
    if (this.failure !== undefined) throw this.failure;
  }

  destroy(): void {
    this.z.destroy();
  }
}

/** Keeps the last 32 KiB of output as references to the slices that held it. */
class Window {
  private slices: Buffer[] = [];
  private total = 0;

  add(b: Buffer): void {
    this.slices.push(b);
    this.total += b.length;
    for (
      let first = this.slices[0];
      first !== undefined && this.total - first.length >= WINDOW;
      first = this.slices[0]
    ) {
      this.slices.shift();
      this.total -= first.length;
    }
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.slices);
    return all.subarray(Math.max(0, all.length - WINDOW));
  }
}

/** Where a deflate reader is in the stream. */
type State =
  | { at: 'header'; hdr: Buffer }
  | { at: 'stored'; left: number; final: boolean }
  | { at: 'done' }
  | { at: 'zlib'; feed: ZlibFeed; trailer?: Buffer };

const HEADER: State = { at: 'header', hdr: Buffer.alloc(0) };

/**
 * Deflate data into the hasher: stored blocks parsed here (fast), the rest
 * (or everything, when exact) by zlib.
 */
export class DeflateReader {
  private state: State;
  private readonly window = new Window();
  /** zlib's output buffer: no bigger than the declared content needs. */
  private readonly chunkSize: number;
  /** Bytes of deflate data taken so far. */
  private fed = 0;

  constructor(
    private readonly layout: EntryLayout,
    private readonly hasher: EntryHasher,
    fast: boolean,
  ) {
    this.chunkSize = Math.max(1024, Math.min(INFLATE_CHUNK, layout.declaredSize + 1));
    this.state = fast ? HEADER : { at: 'zlib', feed: this.zlib(createInflateRaw({ chunkSize: this.chunkSize })) };
  }

  private zlib(z: Gunzip | InflateRaw): ZlibFeed {
    return new ZlibFeed(z, (b) => this.hasher.update(b));
  }

  /** The compressed stream from here on goes to zlib. */
  private switchToZlib(): State {
    // All content will come from zlib: hash it here (the worker would add a copy, not speed).
    this.hasher.preferLocal();
    if (this.hasher.size === 0 && this.layout.checkCrc) {
      // Nothing output yet: let gunzip check the CRC-32 and size on its thread.
      this.hasher.crcHere = false;
      const feed = this.zlib(createGunzip({ chunkSize: this.chunkSize }));
      feed.prime(GZIP_HEADER);
      return { at: 'zlib', feed, trailer: gzipTrailer(this.layout) };
    }
    const dictionary = this.window.bytes();
    const chunkSize = this.chunkSize;
    const options = dictionary.length > 0 ? { chunkSize, dictionary } : { chunkSize };
    return { at: 'zlib', feed: this.zlib(createInflateRaw(options)) };
  }

  /**
   * The stream from a coded block on (rest) is zlib's. When rest is all
   * that is left of the entry and small, and so is the content still to
   * come, one synchronous inflate takes it (no stream, no trip to the
   * thread pool: zlib often ends a stored entry with a short coded block).
   */
  private async handOff(rest: Buffer): Promise<void> {
    // The stored blocks are all queued: let the worker reuse the staged piece.
    this.hasher.unstage();
    const left = this.layout.declaredSize - this.hasher.size;
    if (this.fed === this.layout.compressedSize && rest.length <= SYNC_TAIL && left <= SYNC_TAIL) {
      this.hasher.preferLocal();
      const dictionary = this.window.bytes();
      let out: Buffer;
      try {
        out = inflateRawSync(rest, { maxOutputLength: left + 1, ...(dictionary.length > 0 ? { dictionary } : {}) });
      } catch (err) {
        // Past maxOutputLength, zlib throws a RangeError (ERR_BUFFER_TOO_LARGE).
        throw err instanceof RangeError ? this.hasher.tooLarge() : err;
      }
      this.hasher.update(out);
      this.state = { at: 'done' };
      return;
    }
    this.state = this.switchToZlib();
    await this.parse(rest);
  }

  /** Whether the piece starts inside or with a stored block. */
  private storedNext(piece: Buffer): boolean {
    const s = this.state;
    if (s.at === 'stored') return true;
    if (s.at !== 'header') return false;
    const head = s.hdr.length > 0 ? s.hdr[0] : piece[0];
    return head !== undefined && ((head >> 1) & 3) === 0;
  }

  /** Takes the next bytes of deflate data. */
  async write(data: Buffer): Promise<void> {
    for (let p = 0; p < data.length; p += STAGE_MAX) {
      const piece = p === 0 && data.length <= STAGE_MAX ? data : data.subarray(p, p + STAGE_MAX);
      this.fed += piece.length;
      if (!this.storedNext(piece)) {
        await this.parse(piece);
        continue;
      }
      // Stored blocks give at most piece.length bytes of content: make room for them
      // first, and stage the whole piece so the blocks in it need no copy each.
      const room = this.hasher.room(piece.length);
      if (room !== undefined) await room;
      this.hasher.stage(piece);
      try {
        await this.parse(piece);
      } finally {
        this.hasher.unstage();
      }
    }
  }

  private async parse(data: Buffer): Promise<void> {
    let p = 0;
    while (p < data.length) {
      const s = this.state;
      if (s.at === 'done') return; // Go ignores bytes after the final block.
      if (s.at === 'zlib') {
        await s.feed.write(p === 0 ? data : data.subarray(p));
        return;
      }
      if (s.at === 'stored') {
        const n = Math.min(s.left, data.length - p);
        const out = data.subarray(p, p + n);
        this.hasher.update(out);
        this.window.add(out);
        p += n;
        s.left -= n;
        if (s.left === 0) this.state = s.final ? { at: 'done' } : HEADER;
        continue;
      }
      // A block header, at a byte boundary (the stream's start, or after a stored block).
      const head = (s.hdr.length > 0 ? s.hdr[0] : data[p]) ?? 0;
      const type = (head >> 1) & 3;
      if (head === FINAL_FIXED_HEAD) {
        // zlib often ends with an empty final fixed-code block: no zlib needed for that.
        const take = data.subarray(p, p + 2 - s.hdr.length);
        p += take.length;
        const hdr = s.hdr.length === 0 ? take : Buffer.concat([s.hdr, take]);
        if (hdr.length < 2) {
          this.state = { at: 'header', hdr };
          continue;
        }
        if (isFinalEmptyFixedBlock(hdr, 0)) {
          this.state = { at: 'done' };
          continue;
        }
        await this.handOff(Buffer.concat([hdr, data.subarray(p)]));
        return;
      }
      if (type !== 0) {
        if (type === 3) throw new CorruptDeflate('invalid block type');
        await this.handOff(Buffer.concat([s.hdr, data.subarray(p)]));
        return;
      }
      const take = data.subarray(p, p + 5 - s.hdr.length);
      p += take.length;
      const hdr = s.hdr.length === 0 ? take : Buffer.concat([s.hdr, take]);
      if (hdr.length < 5) {
        this.state = { at: 'header', hdr };
        continue;
      }
      const len = hdr.readUInt16LE(1);
      if (hdr.readUInt16LE(3) !== (~len & 0xffff)) throw new CorruptDeflate('invalid stored block lengths');
      const final = ((hdr[0] ?? 0) & 1) === 1;
      this.state = len > 0 ? { at: 'stored', left: len, final } : final ? { at: 'done' } : HEADER;
    }
  }

  /** The data has ended: the stream must have ended too. */
  async end(): Promise<void> {
    const s = this.state;
    if (s.at === 'zlib') await s.feed.end(s.trailer);
    else if (s.at !== 'done') throw new CorruptDeflate('unexpected end of deflate data');
  }

  destroy(): void {
    if (this.state.at === 'zlib') this.state.feed.destroy();
  }
}

function gzipTrailer(layout: EntryLayout): Buffer {
  const t = Buffer.alloc(8);
  t.writeUInt32LE(layout.crc32 >>> 0, 0);
  t.writeUInt32LE(layout.declaredSize % 0x1_0000_0000, 4);
  return t;
}

/**
 * Reads `input` (the entry's data, then up to 16 more bytes) into `hasher`.
 * Returns the bytes after the data. Rejects with the hasher's error, zlib's,
 * CorruptDeflate (fast read only), or the signal's reason.
 */
export async function readEntryData(
  input: Readable,
  layout: EntryLayout,
  hasher: EntryHasher,
  fast: boolean,
  signal: AbortSignal,
): Promise<Buffer> {
  addAbortSignal(signal, input);
  const deflate = layout.method === DEFLATE ? new DeflateReader(layout, hasher, fast) : undefined;
  let seen = 0;
  let tail = Buffer.alloc(0);
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      const room = layout.compressedSize - seen;
      seen += chunk.length;
      const data = room >= chunk.length ? chunk : chunk.subarray(0, Math.max(room, 0));
      if (room < chunk.length)
        tail = Buffer.concat([tail, chunk.subarray(Math.max(room, 0))]).subarray(0, DATA_DESCRIPTOR_LEN);
      if (data.length === 0) continue;
      if (deflate !== undefined) {
        await deflate.write(data);
        continue;
      }
      const wait = hasher.room(data.length);
      if (wait !== undefined) await wait;
      hasher.update(data);
    }
    await deflate?.end();
  } finally {
    deflate?.destroy();
    input.destroy();
  }
  return tail;
}
