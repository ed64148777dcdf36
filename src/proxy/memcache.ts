// A byte-bounded LRU of small immutable artifacts, so that the hottest
// .info/.mod/small-zip hits are answered without touching the disk.

export interface CachedBytes {
  readonly body: Buffer;
  readonly etag: string;
}

export class MemoryCache<V extends CachedBytes = CachedBytes> {
  private readonly map = new Map<string, V>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxItemBytes: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get usedBytes(): number {
    return this.bytes;
  }

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** Whether key is held, without counting as a use. */
  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Stores value unless it is larger than an item may be; evicts least recently used entries. */
  set(key: string, value: V): void {
    const n = value.body.length;
    if (n > this.maxItemBytes || n > this.maxBytes) return;
    this.delete(key);
    this.map.set(key, value);
    this.bytes += n;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.body.length;
    }
  }

  delete(key: string): void {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.bytes -= v.body.length;
    }
  }
}
