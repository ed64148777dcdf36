// The count of quarantined copies is asked by /readyz (a load balancer's check
// every few seconds, in every worker) and the operator page; the unverified
// area also keeps every copy of a module no database is asked about (private
// modules: tens of thousands of keys, tens of LIST requests on an object
// store). So one listing answers them all for a while, and a pass starts from
// a fresh one.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { IDLE_LISTING_MS, ReverifyLoop, type Reverifier } from '../../src/proxy/reverify.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { ManualClock } from '../../src/util/clock.js';

class CountingStorage extends MemoryStorage {
  lists = 0;
  override async list(prefix: string): Promise<string[]> {
    this.lists++;
    return super.list(prefix);
  }
}

const checksAll: Reverifier = { reverify: async () => 'unavailable', checks: () => true };

describe('re-verification listing', () => {
  it('answers pending() from one listing for a while, then lists again', async () => {
    const storage = new CountingStorage();
    await storage.put('unverified/example.com/a/@v/v1.0.0.zip', Buffer.from('x'));
    const clock = new ManualClock();
    const loop = new ReverifyLoop(storage, checksAll, 0, pino({ level: 'silent' }), clock);
    const [a, b] = await Promise.all([loop.pending(), loop.pending()]);
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(1);
    clock.advance(5_000);
    expect(await loop.pending()).toHaveLength(1);
    expect(storage.lists).toBe(1);
    // Another process's quarantine shows within a minute.
    clock.advance(55_000);
    await storage.put('unverified/example.com/b/@v/v1.0.0.zip', Buffer.from('x'));
    expect(await loop.pending()).toHaveLength(2);
    expect(storage.lists).toBe(2);
  });

  it('while nothing waits, a pass lists the area only every IDLE_LISTING_MS, or at once after a quarantine here', async () => {
    const storage = new CountingStorage();
    // A private module's copy: kept in the area unchecked, never re-verified.
    await storage.put('unverified/corp.example/x/@v/v1.0.0.zip', Buffer.from('x'));
    const clock = new ManualClock();
    const loop = new ReverifyLoop(
      storage,
      { reverify: async () => 'verified', checks: (req) => !req.path.startsWith('corp.example/') },
      0,
      pino({ level: 'silent' }),
      clock,
    );
    await loop.runOnce();
    expect(storage.lists).toBe(1);
    // Passes every 30 s find nothing to do: no listing until the idle interval has passed.
    for (let t = 30_000; t < IDLE_LISTING_MS; t += 30_000) {
      clock.advance(30_000);
      await loop.runOnce();
    }
    expect(storage.lists).toBe(1);
    clock.advance(30_000);
    await loop.runOnce();
    expect(storage.lists).toBe(2);
    // This process served a copy unverified: the next pass lists (and re-verifies it).
    await storage.put('unverified/example.com/a/@v/v1.0.0.zip', Buffer.from('x'));
    loop.quarantined();
    clock.advance(30_000);
    expect((await loop.runOnce()).verified).toBe(1);
    expect(storage.lists).toBe(3);
  });

  it('starts each pass from a fresh listing', async () => {
    const storage = new CountingStorage();
    const clock = new ManualClock();
    const seen: string[] = [];
    const loop = new ReverifyLoop(
      storage,
      { reverify: async (req) => (seen.push(req.path), 'unknown'), checks: () => true },
      0,
      pino({ level: 'silent' }),
      clock,
    );
    expect(await loop.pending()).toHaveLength(0);
    await storage.put('unverified/example.com/a/@v/v1.0.0.zip', Buffer.from('x'));
    await loop.runOnce();
    expect(seen).toEqual(['example.com/a']);
  });

  it('lists afresh after a pass moved copies out of the area', async () => {
    const storage = new CountingStorage();
    const key = 'unverified/example.com/a/@v/v1.0.0.zip';
    await storage.put(key, Buffer.from('x'));
    const loop = new ReverifyLoop(
      storage,
      // Verified: the copy leaves the area (promoted).
      { reverify: async () => (await storage.delete(key), 'verified'), checks: () => true },
      0,
      pino({ level: 'silent' }),
      new ManualClock(),
    );
    expect(await loop.pending()).toHaveLength(1);
    await loop.runOnce();
    // At once, not 10 s later: /readyz no longer counts the copy the pass promoted.
    expect(await loop.pending()).toHaveLength(0);
  });

  it('lists again after a listing failed', async () => {
    const storage = new CountingStorage();
    let fail = true;
    const list = storage.list.bind(storage);
    storage.list = async (prefix) => {
      if (fail) {
        storage.lists++;
        throw new Error('store unreachable');
      }
      return list(prefix);
    };
    const loop = new ReverifyLoop(storage, checksAll, 0, pino({ level: 'silent' }), new ManualClock());
    await expect(loop.pending()).rejects.toThrow('store unreachable');
    fail = false;
    expect(await loop.pending()).toHaveLength(0);
  });
});
