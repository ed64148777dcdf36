// A byte-bounded LRU of small immutable artifacts, so that the hottest
// .info/.mod/small-zip hits are answered without touching the disk.
// The bound is on the memory entries take, not on their bodies alone: a
// .info is ~70 bytes, and what holds it (key, ETag, Buffer and ArrayBuffer,
// the entry, the Map's slot) ~520 bytes of V8 heap, ~1.1 KB of RSS
// (measured on Node 20 with 100,000 of them). Counted by body, the default
// 32 MiB let a worker keep ~480,000 such entries, some 500 MB, its heap
// growing with every distinct version served.

/** What one entry costs besides its body (bytes), as measured above. */
export const ENTRY_BYTES = 1024;

export interface CachedBytes {
  readonly body: Buffer;
  readonly etag: string;
}

interface Entry<V> {
  readonly value: V;
  /** The value of `moves` when the entry was last put at the most recent end. */
  at: number;
}

export class MemoryCache<V extends CachedBytes = CachedBytes> {
  /** Least recently used first (a Map keeps insertion order). */
  private readonly map = new Map<string, Entry<V>>();
  private bytes = 0;
  /** Entries put at the most recent end so far: how far an entry has drifted towards eviction. */
  private moves = 0;

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
    const e = this.map.get(key);
    if (!e) return undefined;
    // Moved to the most recent end only once it has drifted into the older half: a hot entry is found
    // without a delete and an insert on every hit, and none that is used is ever the next to go.
    if (this.moves - e.at > this.map.size / 2) {
      this.map.delete(key);
      this.map.set(key, e);
      e.at = ++this.moves;
    }
    return e.value;
  }

  /** Whether key is held, without counting as a use. */
  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Stores value unless it is larger than an item may be; evicts least recently used entries. */
  set(key: string, value: V): void {
    if (value.body.length > this.maxItemBytes || cost(value) > this.maxBytes) return;
    this.delete(key);
    this.map.set(key, { value, at: ++this.moves });
    this.bytes += cost(value);
    for (const [k, e] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= cost(e.value);
    }
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (e) {
      this.map.delete(key);
      this.bytes -= cost(e.value);
    }
  }
}

function cost(value: CachedBytes): number {
  return value.body.length + ENTRY_BYTES;
}
