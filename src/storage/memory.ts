// MemoryStorage: the in-process backend for tests. Same contract as FsStorage
// (atomic puts, staging invisible until commit), no durability.
import { Readable } from 'node:stream';
import {
  checkKey,
  sameBlob,
  type BlobInfo,
  type ListedBlob,
  type OpenBlob,
  type PutOptions,
  type StagedBlob,
  type Storage,
} from './storage.js';

interface Entry {
  data: Buffer;
  mtimeMs: number;
}

export class MemoryStorage implements Storage {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry>();
  /** When set, writes fail with this error (simulates a full or read-only disk). */
  writeError: Error | null = null;

  async get(key: string): Promise<Buffer | null> {
    checkKey(key);
    const e = this.entries.get(key);
    return e ? Buffer.from(e.data) : null;
  }

  async stat(key: string): Promise<BlobInfo | null> {
    checkKey(key);
    const e = this.entries.get(key);
    return e ? { size: e.data.length, mtimeMs: e.mtimeMs } : null;
  }

  async open(key: string): Promise<OpenBlob | null> {
    checkKey(key);
    const e = this.entries.get(key);
    return e ? bufferBlob(e.data, e.mtimeMs) : null;
  }

  async put(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<void> {
    checkKey(key);
    if (this.writeError) throw this.writeError;
    this.entries.set(key, { data: Buffer.from(data), mtimeMs: opts.mtimeMs ?? Date.now() });
  }

  async create(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<boolean> {
    checkKey(key);
    if (this.entries.has(key)) return false;
    await this.put(key, data, opts);
    return true;
  }

  async swap(key: string, expected: Uint8Array | null, data: Uint8Array, opts: PutOptions = {}): Promise<boolean> {
    checkKey(key);
    if (!sameBlob(this.entries.get(key)?.data ?? null, expected)) return false;
    await this.put(key, data, opts);
    return true;
  }

  async stage(): Promise<StagedBlob> {
    const chunks: Buffer[] = [];
    let finished: { data: Buffer; mtimeMs: number } | null = null;
    let done = false;
    const finish = (): { data: Buffer; mtimeMs: number } =>
      (finished ??= { data: Buffer.concat(chunks), mtimeMs: Date.now() });
    return {
      write: async (chunk) => {
        if (finished || done) throw new Error('write after finish');
        if (this.writeError) throw this.writeError;
        chunks.push(Buffer.from(chunk));
      },
      finish: async () => {
        const f = finish();
        return bufferBlob(f.data, f.mtimeMs);
      },
      commit: async (key) => {
        const f = finish();
        await this.put(key, f.data, { mtimeMs: f.mtimeMs });
        done = true;
      },
      discard: async () => {
        done = true;
        chunks.length = 0;
      },
    };
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.entries.delete(key);
  }

  async move(from: string, to: string): Promise<void> {
    checkKey(from);
    checkKey(to);
    const e = this.entries.get(from);
    if (!e) throw Object.assign(new Error(`no such key: ${from}`), { code: 'ENOENT' });
    if (this.writeError) throw this.writeError;
    this.entries.set(to, e);
    this.entries.delete(from);
  }

  async list(prefix: string): Promise<string[]> {
    checkKey(prefix, true);
    const p = prefix.endsWith('/') ? prefix : prefix + '/';
    return [...this.entries.keys()].filter((k) => k.startsWith(p));
  }

  async listSized(prefix: string): Promise<ListedBlob[]> {
    checkKey(prefix, true);
    const p = prefix.endsWith('/') ? prefix : prefix + '/';
    return [...this.entries].filter(([k]) => k.startsWith(p)).map(([key, e]) => ({ key, size: e.data.length }));
  }

  async checkWritable(): Promise<void> {
    if (this.writeError) throw this.writeError;
  }

  async close(): Promise<void> {}
}

export function bufferBlob(data: Buffer, mtimeMs: number): OpenBlob {
  const clamp = (n: number): number => Math.min(Math.max(n, 0), data.length);
  return {
    size: data.length,
    mtimeMs,
    stream: (start = 0, end = data.length) =>
      Readable.from([data.subarray(clamp(start), clamp(end))], { objectMode: false }),
    read: async (start = 0, end = data.length) => Buffer.from(data.subarray(clamp(start), clamp(end))),
    close: async () => {},
  };
}
