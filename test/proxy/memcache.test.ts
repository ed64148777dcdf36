// The memory cache of small artifacts: bounded by bytes, evicting the least
// recently used first, and never evicting an entry that keeps being used.
import { describe, expect, it } from 'vitest';
import { MemoryCache } from '../../src/proxy/memcache.js';

const item = (n: number, tag = 'x') => ({ body: Buffer.alloc(n, tag), etag: `"${tag}"` });

describe('MemoryCache', () => {
  it('evicts the least recently used first', () => {
    const c = new MemoryCache(30, 30);
    c.set('a', item(10));
    c.set('b', item(10));
    c.set('c', item(10));
    expect(c.get('a')?.etag).toBe('"x"'); // a is used: b is now the least recent
    c.set('d', item(10));
    expect([c.has('a'), c.has('b'), c.has('c'), c.has('d')]).toEqual([true, false, true, true]);
    c.get('c');
    c.set('e', item(10)); // a was used before c: a goes
    expect([c.has('a'), c.has('c'), c.has('d'), c.has('e')]).toEqual([false, true, true, true]);
    expect(c.usedBytes).toBe(30);
  });

  it('never evicts an entry used between every insertion, however many pass through', () => {
    const c = new MemoryCache(100, 100);
    c.set('hot', item(10, 'h'));
    for (let i = 0; i < 1000; i++) {
      c.set(`k${i}`, item(10));
      expect(c.get('hot')?.etag, `after ${i} insertions`).toBe('"h"');
    }
    expect(c.size).toBe(10);
    expect(c.usedBytes).toBe(100);
  });

  it('evicts in insertion order when nothing is used, and counts bytes exactly', () => {
    const c = new MemoryCache(50, 20);
    for (const k of ['a', 'b', 'c', 'd', 'e']) c.set(k, item(10));
    c.set('big', item(25)); // larger than an item may be: not kept
    expect(c.has('big')).toBe(false);
    c.set('f', item(20));
    expect(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => c.has(k))).toEqual([false, false, true, true, true, true]);
    c.set('c', item(5)); // replaced: its bytes counted once
    c.delete('d');
    expect(c.usedBytes).toBe(35);
    expect(c.get('d')).toBeUndefined();
  });
});
