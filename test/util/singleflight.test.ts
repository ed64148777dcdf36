// SingleFlight and the shutdown signal: shutdown aborts every execution still
// running (held work included) and any started after it, and the flights leave
// nothing behind on the shutdown signal, which lives as long as the process.
import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../src/util/singleflight.js';
import { dependantSignals } from '../support/signals.js';

describe('SingleFlight with a shutdown signal', () => {
  it('the probe sees what AbortSignal.any leaves on a source (so the check below is not vacuous)', () => {
    const source = new AbortController().signal;
    for (let i = 0; i < 3; i++) AbortSignal.any([source, new AbortController().signal]);
    expect(dependantSignals(source)).toBe(3);
  });

  it('leaves nothing on the shutdown signal however many flights ran', async () => {
    const shutdown = new AbortController();
    const flights = new SingleFlight<number>(shutdown.signal);
    const client = new AbortController();
    for (let i = 0; i < 500; i++) {
      const { value } = await flights.do(`k${i}`, async () => i, i % 2 ? client.signal : undefined);
      expect(value).toBe(i);
    }
    await flights.settled();
    // Node 20 kept one entry per flight here, until the process ended: memory grew with every miss.
    expect(dependantSignals(shutdown.signal)).toBe(0);
  });

  it('shutdown aborts running executions and their held work, and every one started after it', async () => {
    const shutdown = new AbortController();
    const releases: Array<() => void> = [];
    const heldSignals: AbortSignal[] = [];
    const flights = new SingleFlight<AbortSignal>(shutdown.signal, (s) => {
      heldSignals.push(s);
      return new Promise<void>((r) => releases.push(r));
    });
    const running = flights.do(
      'running',
      (s) => new Promise((_, reject) => s.addEventListener('abort', () => reject(s.reason))),
    );
    const held = await flights.do('held', async (s) => s);
    expect(held.value.aborted).toBe(false);

    const reason = new Error('stopping');
    shutdown.abort(reason);
    await expect(running).rejects.toBe(reason);
    // The write behind an answer is told too.
    expect(heldSignals[0]?.aborted).toBe(true);
    const late = await flights.do('late', async (s) => s);
    expect(late.value.aborted).toBe(true);
    expect(late.value.reason).toBe(reason);
    releases.forEach((r) => r());
    await flights.settled();
  });
});
