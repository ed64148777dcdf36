// The primary's lease book (serve --workers N) without processes: who is
// told to fetch, who is told to look in storage, and what cancels and
// exits undo. test/e2e/workers.test.ts runs it over real IPC.
import { describe, expect, it } from 'vitest';
import { LeaseBroker } from '../../src/cli/cluster-leases.js';
import { prng } from '../support/prng.js';

type Told = [worker: string, id: number, lead: boolean];

function book(): { broker: LeaseBroker<string>; told: Told[] } {
  const told: Told[] = [];
  return { broker: new LeaseBroker<string>((w, id, lead) => told.push([w, id, lead])), told };
}

describe('LeaseBroker', () => {
  it('grants the first asker and tells the waiters when the holder releases', () => {
    const { broker, told } = book();
    broker.ask('a', 'mod/x.zip', 1);
    broker.ask('b', 'mod/x.zip', 7);
    broker.ask('c', 'mod/x.zip', 3);
    broker.ask('b', 'mod/y.zip', 8);
    expect(told).toEqual([
      ['a', 1, true],
      ['b', 8, true],
    ]);
    // Only the holder can release.
    broker.release('b', 'mod/x.zip');
    expect(told).toHaveLength(2);
    broker.release('a', 'mod/x.zip');
    expect(told.slice(2)).toEqual([
      ['b', 7, false],
      ['c', 3, false],
    ]);
    expect(broker.size).toBe(1);
    // Free again: the next asker leads.
    broker.ask('c', 'mod/x.zip', 4);
    expect(told.at(-1)).toEqual(['c', 4, true]);
  });

  it('forgets a cancelled wait, and a cancelled grant ends the lease', () => {
    const { broker, told } = book();
    broker.ask('a', 'k', 1);
    broker.ask('b', 'k', 2);
    broker.ask('c', 'k', 3);
    broker.cancel('b', 'k', 2);
    // A cancel naming another ask of the holder's changes nothing.
    broker.cancel('a', 'k', 99);
    expect(broker.size).toBe(1);
    broker.cancel('a', 'k', 1);
    expect(told.slice(1)).toEqual([['c', 3, false]]);
    expect(broker.size).toBe(0);
  });

  it('ends the leases of a worker that exits and drops its waits', () => {
    const { broker, told } = book();
    broker.ask('a', 'k1', 1);
    broker.ask('b', 'k1', 2);
    broker.ask('b', 'k2', 3);
    broker.ask('a', 'k2', 4);
    broker.gone('a');
    // b's wait on k1 ends (a held it); a's wait on k2 is forgotten.
    expect(told.slice(2)).toEqual([['b', 2, false]]);
    broker.release('b', 'k2');
    expect(told).toHaveLength(3);
    expect(broker.size).toBe(0);
  });

  it('tells every asker exactly once, and at most one leads per key at a time (random schedules)', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const next = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
      const { broker, told } = book();
      const workers = ['a', 'b', 'c'];
      const keys = ['k1', 'k2'];
      const asked = new Map<number, { worker: string; key: string }>();
      const leading = new Map<string, { worker: string; id: number }>();
      let id = 0;
      let seen = 0;
      const settle = (): void => {
        for (const [w, i, lead] of told.slice(seen)) {
          const a = asked.get(i);
          expect(a?.worker).toBe(w);
          asked.delete(i);
          if (lead && a) {
            expect(leading.has(a.key)).toBe(false);
            leading.set(a.key, { worker: w, id: i });
          }
        }
        seen = told.length;
      };
      for (let step = 0; step < 200; step++) {
        const r = next();
        if (r < 0.5) {
          const a = { worker: pick(workers), key: pick(keys) };
          asked.set(++id, a);
          broker.ask(a.worker, a.key, id);
        } else if (r < 0.8) {
          const key = pick(keys);
          const h = leading.get(key);
          if (h) {
            leading.delete(key);
            broker.release(h.worker, key);
          }
        } else if (r < 0.95) {
          const waiting = [...asked.entries()];
          if (waiting.length) {
            const [i, a] = pick(waiting);
            asked.delete(i);
            broker.cancel(a.worker, a.key, i);
          }
        } else {
          const w = pick(workers);
          for (const [key, h] of [...leading]) if (h.worker === w) leading.delete(key);
          for (const [i, a] of [...asked]) if (a.worker === w) asked.delete(i);
          broker.gone(w);
        }
        settle();
      }
      // Release everything: nobody is left waiting.
      for (const [key, h] of [...leading]) {
        leading.delete(key);
        broker.release(h.worker, key);
        settle();
      }
      expect(asked.size).toBe(0);
      expect(broker.size).toBe(leading.size);
    }
  });
});
