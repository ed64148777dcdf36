// The primary's lease book (serve --workers N) without processes: who is
// told to fetch, who is told to look in storage, and what cancels and
// exits undo. test/e2e/workers.test.ts runs it over real IPC.
import { describe, expect, it } from 'vitest';
import { LeaseBroker } from '../../src/runtime/cluster-leases.js';
import type { FetchOutcome } from '../../src/proxy/context.js';
import { prng } from '../support/prng.js';

/** What an asker was told: 'lead' (fetch it), or how the holder finished. */
type Told = [worker: string, id: number, answer: 'lead' | FetchOutcome['kind']];

const STORED: FetchOutcome = { kind: 'stored' };
const NOT_FOUND: FetchOutcome = { kind: 'not_found', upstream: 'http://up', status: 404, detail: 'no such module' };

function book(): { broker: LeaseBroker<string>; told: Told[]; outcomes: Array<FetchOutcome | undefined> } {
  const told: Told[] = [];
  const outcomes: Array<FetchOutcome | undefined> = [];
  const broker = new LeaseBroker<string>((w, id, outcome) => {
    told.push([w, id, outcome?.kind ?? 'lead']);
    outcomes.push(outcome);
  });
  return { broker, told, outcomes };
}

describe('LeaseBroker', () => {
  it('grants the first asker and tells the waiters how the holder finished', () => {
    const { broker, told, outcomes } = book();
    broker.ask('a', 'mod/x.zip', 1);
    broker.ask('b', 'mod/x.zip', 7);
    broker.ask('c', 'mod/x.zip', 3);
    broker.ask('b', 'mod/y.zip', 8);
    expect(told).toEqual([
      ['a', 1, 'lead'],
      ['b', 8, 'lead'],
    ]);
    // Only the holder can release.
    broker.release('b', 'mod/x.zip', STORED);
    expect(told).toHaveLength(2);
    broker.release('a', 'mod/x.zip', NOT_FOUND);
    expect(told.slice(2)).toEqual([
      ['b', 7, 'not_found'],
      ['c', 3, 'not_found'],
    ]);
    // The not-found details travel whole (the waiters answer with them).
    expect(outcomes.slice(2)).toEqual([NOT_FOUND, NOT_FOUND]);
    expect(broker.size).toBe(1);
    // Free again: the next asker leads.
    broker.ask('c', 'mod/x.zip', 4);
    expect(told.at(-1)).toEqual(['c', 4, 'lead']);
    broker.ask('a', 'mod/y.zip', 5);
    broker.release('b', 'mod/y.zip', STORED);
    expect(told.at(-1)).toEqual(['a', 5, 'stored']);
  });

  it("passes a holder's failure on whole, with the error its waiters answer with (the default --workers)", () => {
    const { broker, told, outcomes } = book();
    broker.ask('a', 'k', 1);
    broker.ask('b', 'k', 2);
    const failed: FetchOutcome = {
      kind: 'failed',
      error: { code: 'checksum_mismatch', message: 'godepot: checksum mismatch for example.com/m@v1.0.0' },
    };
    broker.release('a', 'k', failed);
    expect(told.at(-1)).toEqual(['b', 2, 'failed']);
    expect(outcomes.at(-1)).toEqual(failed);
  });

  it('forgets a cancelled wait, and a cancelled grant ends the lease as failed', () => {
    const { broker, told } = book();
    broker.ask('a', 'k', 1);
    broker.ask('b', 'k', 2);
    broker.ask('c', 'k', 3);
    broker.cancel('b', 'k', 2);
    // A cancel naming another ask of the holder's changes nothing.
    broker.cancel('a', 'k', 99);
    expect(broker.size).toBe(1);
    broker.cancel('a', 'k', 1);
    expect(told.slice(1)).toEqual([['c', 3, 'failed']]);
    expect(broker.size).toBe(0);
  });

  it('ends the leases of a worker that exits as failed and drops its waits', () => {
    const { broker, told } = book();
    broker.ask('a', 'k1', 1);
    broker.ask('b', 'k1', 2);
    broker.ask('b', 'k2', 3);
    broker.ask('a', 'k2', 4);
    broker.gone('a');
    // b's wait on k1 ends (a held it); a's wait on k2 is forgotten.
    expect(told.slice(2)).toEqual([['b', 2, 'failed']]);
    broker.release('b', 'k2', STORED);
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
      const finishedAs = new Map<string, FetchOutcome['kind']>();
      const outcomes = [STORED, NOT_FOUND, { kind: 'failed' } as const];
      let id = 0;
      let seen = 0;
      const settle = (): void => {
        for (const [w, i, answer] of told.slice(seen)) {
          const a = asked.get(i);
          expect(a?.worker).toBe(w);
          asked.delete(i);
          if (answer === 'lead' && a) {
            expect(leading.has(a.key)).toBe(false);
            leading.set(a.key, { worker: w, id: i });
          } else if (a) {
            // Waiters hear how their key's holder finished.
            expect(answer).toBe(finishedAs.get(a.key));
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
            const o = pick(outcomes);
            finishedAs.set(key, o.kind);
            broker.release(h.worker, key, o);
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
          for (const [key, h] of [...leading]) {
            if (h.worker !== w) continue;
            leading.delete(key);
            finishedAs.set(key, 'failed');
          }
          for (const [i, a] of [...asked]) if (a.worker === w) asked.delete(i);
          broker.gone(w);
        }
        settle();
      }
      // Release everything: nobody is left waiting.
      for (const [key, h] of [...leading]) {
        leading.delete(key);
        finishedAs.set(key, 'stored');
        broker.release(h.worker, key, STORED);
        settle();
      }
      expect(asked.size).toBe(0);
      expect(broker.size).toBe(leading.size);
    }
  });
});
