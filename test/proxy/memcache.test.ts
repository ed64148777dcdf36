// The memory cache of small artifacts: bounded by the memory its entries
// take (body and bookkeeping), evicting the least recently used first, and
// never evicting an entry that keeps being used.
import { describe, expect, it } from 'vitest';
import { ENTRY_BYTES, MemoryCache } from '../../src/proxy/memcache.js';

const item = (n: number, tag = 'x') => ({ body: Buffer.alloc(n, tag), etag: `"${tag}"` });
/** What an entry with a body of n bytes counts for. */
const E = (n: number) => n + ENTRY_BYTES;

describe('MemoryCache', () => {
  it('evicts the least recently used first', () => {
    const c = new MemoryCache(3 * E(10), 30);
    c.set('a', item(10));
    c.set('b', item(10));
    c.set('c', item(10));
    expect(c.get('a')?.etag).toBe('"x"'); // a is used: b is now the least recent
    c.set('d', item(10));
    expect([c.has('a'), c.has('b'), c.has('c'), c.has('d')]).toEqual([true, false, true, true]);
    c.get('c');
    c.set('e', item(10)); // a was used before c: a goes
    expect([c.has('a'), c.has('c'), c.has('d'), c.has('e')]).toEqual([false, true, true, true]);
    expect(c.usedBytes).toBe(3 * E(10));
  });

  it('never evicts an entry used between every insertion, however many pass through', () => {
    const c = new MemoryCache(10 * E(10), 100);
    c.set('hot', item(10, 'h'));
    for (let i = 0; i < 1000; i++) {
      c.set(`k${i}`, item(10));
      expect(c.get('hot')?.etag, `after ${i} insertions`).toBe('"h"');
    }
    expect(c.size).toBe(10);
    expect(c.usedBytes).toBe(10 * E(10));
  });

  it('evicts in insertion order when nothing is used, and counts bytes exactly', () => {
    const c = new MemoryCache(5 * E(10), 20);
    for (const k of ['a', 'b', 'c', 'd', 'e']) c.set(k, item(10));
    c.set('big', item(25)); // larger than an item may be: not kept
    expect(c.has('big')).toBe(false);
    c.set('f', item(20)); // 10 bytes more than the one it replaces: a and b go
    expect(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => c.has(k))).toEqual([false, false, true, true, true, true]);
    c.set('c', item(5)); // replaced: its bytes counted once
    c.delete('d');
    expect(c.usedBytes).toBe(E(5) + E(10) + E(20));
    expect(c.get('d')).toBeUndefined();
  });

  it('counts what holds an entry, not its body alone: tiny artifacts do not take many times the bound', () => {
    // 1 MiB of cache; a .info is ~70 bytes. Counted by body, ~15,000 of them were kept, ~16 MB of RSS.
    const bound = 1 << 20;
    const c = new MemoryCache(bound, 512 << 10);
    for (let i = 0; i < 20_000; i++) c.set(`mod/example.com/m${i}/@v/v1.0.0.info`, item(70));
    expect(c.size).toBeLessThanOrEqual(Math.floor(bound / E(70)));
    expect(c.usedBytes).toBeLessThanOrEqual(bound);
  });
});
