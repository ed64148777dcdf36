// FsStorage: the default backend. Every key is a file below the data folder;
// writes go to a private staging folder first and are renamed into place after
// an fsync, so a reader (or a restart after SIGKILL) only ever sees whole files.
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { checkKey, type BlobInfo, type OpenBlob, type StagedBlob, type Storage } from './storage.js';

const STAGING = '.staging';

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

export interface FsStorageOptions {
  /** fsync files and their folders on commit (default true). */
  durable?: boolean;
}

export class FsStorage implements Storage {
  readonly kind = 'fs';
  private readonly durable: boolean;

  private constructor(
    readonly root: string,
    opts: FsStorageOptions,
  ) {
    this.durable = opts.durable ?? true;
  }

  /**
   * Opens (creating if needed) the data folder and removes staging leftovers
   * of processes that are gone (interrupted writes). Staging files of live
   * processes are kept, so several workers can share one folder.
   */
  static async open(root: string, opts: FsStorageOptions = {}): Promise<FsStorage> {
    const abs = resolve(root);
    await mkdir(join(abs, STAGING), { recursive: true });
    const s = new FsStorage(abs, opts);
    await s.cleanStaging();
    return s;
  }

  /** Removes staged files whose writer process no longer runs; returns how many. */
  async cleanStaging(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(join(this.root, STAGING))) {
      const pid = Number.parseInt(name.split('-')[0] ?? '', 10);
      if (Number.isFinite(pid) && pid > 0 && pidAlive(pid)) continue;
      await rm(join(this.root, STAGING, name), { force: true, recursive: true });
      removed++;
    }
    return removed;
  }

  private file(key: string): string {
    checkKey(key);
    const p = join(this.root, ...key.split('/'));
    // checkKey already excludes traversal; this is the belt to its braces.
    if (!p.startsWith(this.root + sep)) throw new Error(`storage key escapes the data folder: ${key}`);
    return p;
  }

  private stagingFile(): string {
    return join(this.root, STAGING, `${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.file(key));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    try {
      const st = await stat(this.file(key));
      if (!st.isFile()) return null;
      return { size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async open(key: string): Promise<OpenBlob | null> {
    let fh: FileHandle;
    try {
      fh = await open(this.file(key), constants.O_RDONLY);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        return null;
      }
      return openFileBlob(fh, st.size, st.mtimeMs);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const staged = await this.stage();
    try {
      await staged.write(data);
      await staged.commit(key);
    } finally {
      await staged.discard();
    }
  }

  async stage(): Promise<StagedBlob> {
    const tmp = this.stagingFile();
    const fh = await open(tmp, 'wx+', 0o644);
    return new FsStagedBlob(this, tmp, fh);
  }

  /** Renames a finished staging file into place (used by FsStagedBlob). */
  async install(tmp: string, key: string): Promise<void> {
    const target = this.file(key);
    await mkdir(dirname(target), { recursive: true });
    await rename(tmp, target);
    if (this.durable) await fsyncDir(dirname(target));
  }

  get isDurable(): boolean {
    return this.durable;
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.file(key));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async move(from: string, to: string): Promise<void> {
    const target = this.file(to);
    await mkdir(dirname(target), { recursive: true });
    await rename(this.file(from), target);
    if (this.durable) await fsyncDir(dirname(target));
  }

  async list(prefix: string): Promise<string[]> {
    checkKey(prefix, true);
    const base = join(this.root, ...prefix.split('/').filter((s) => s !== ''));
    const out: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      for (const e of entries) {
        const r = rel + e.name;
        if (e.isDirectory()) await walk(join(dir, e.name), r + '/');
        else if (e.isFile()) out.push(r);
      }
    };
    await walk(base, prefix.endsWith('/') ? prefix : prefix + '/');
    return out;
  }

  async checkWritable(): Promise<void> {
    const tmp = this.stagingFile();
    const fh = await open(tmp, 'wx');
    try {
      await fh.write('ok');
    } finally {
      await fh.close();
      await rm(tmp, { force: true });
    }
  }

  async close(): Promise<void> {}
}

class FsStagedBlob implements StagedBlob {
  private done = false;
  private finished: OpenBlob | null = null;
  private size = 0;

  constructor(
    private readonly storage: FsStorage,
    private readonly tmp: string,
    private readonly fh: FileHandle,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.finished || this.done) throw new Error('write after finish');
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off, this.size);
      off += bytesWritten;
      this.size += bytesWritten;
    }
  }

  async finish(): Promise<OpenBlob> {
    if (this.finished) return this.finished;
    if (this.storage.isDurable) await this.fh.sync();
    const st = await this.fh.stat();
    // The staged blob shares the writer's descriptor; closing it is discard's job.
    this.finished = openFileBlob(this.fh, st.size, st.mtimeMs, false);
    return this.finished;
  }

  async commit(key: string): Promise<void> {
    await this.finish();
    await this.storage.install(this.tmp, key);
    this.done = true;
    await this.fh.close().catch(() => undefined);
  }

  async discard(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    if (!this.done) {
      this.done = true;
      await rm(this.tmp, { force: true });
    }
  }
}

function openFileBlob(fh: FileHandle, size: number, mtimeMs: number, ownsHandle = true): OpenBlob {
  let closed = false;
  const blob: OpenBlob = {
    size,
    mtimeMs,
    stream(start = 0, end = size): Readable {
      return new FileRangeStream(fh, start, Math.min(end, size));
    },
    async read(start = 0, end = size, into?: Buffer): Promise<Buffer> {
      const len = Math.max(0, end - start);
      if (into && into.length < len)
        throw new RangeError(`read buffer of ${into.length} bytes is too small for ${len} bytes`);
      const buf = into ? into.subarray(0, len) : Buffer.allocUnsafe(len);
      let off = 0;
      while (off < len) {
        const { bytesRead } = await fh.read(buf, off, len - off, start + off);
        if (bytesRead === 0) throw new Error('unexpected end of stored file');
        off += bytesRead;
      }
      return buf;
    },
    async close(): Promise<void> {
      if (closed || !ownsHandle) return;
      closed = true;
      await fh.close();
    },
  };
  return blob;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const CHUNK = 64 << 10;

/**
 * Bytes [start, end) of an open file, read positionally through its
 * FileHandle. Unlike fs.ReadStream it never closes the descriptor (destroying
 * a ReadStream does, even with autoClose off), so many streams can share one
 * open blob; and FileHandle.close() waits for reads in flight, so a closed
 * blob can never read from a reused descriptor.
 */
class FileRangeStream extends Readable {
  private pos: number;

  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: CHUNK });
    this.pos = start;
  }

  override _read(): void {
    const n = Math.min(CHUNK, this.end - this.pos);
    if (n <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(n);
    this.fh.read(buf, 0, n, this.pos).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) {
          this.destroy(new Error('unexpected end of stored file'));
          return;
        }
        this.pos += bytesRead;
        this.push(bytesRead === n ? buf : buf.subarray(0, bytesRead));
      },
      (err: unknown) => this.destroy(err as Error),
    );
  }
}
