import { describe, expect, it } from 'vitest';
import { eitherSignal } from '../../src/util/signals.js';
import { dependantSignals } from '../support/signals.js';

describe('eitherSignal', () => {
  it('aborts with the reason of whichever source aborts first, and only then', () => {
    const a = new AbortController();
    const b = new AbortController();
    const link = eitherSignal(a.signal, b.signal);
    expect(link.signal.aborted).toBe(false);
    b.abort(new Error('deadline'));
    expect(link.signal.aborted).toBe(true);
    expect((link.signal.reason as Error).message).toBe('deadline');
    a.abort(new Error('later'));
    expect((link.signal.reason as Error).message).toBe('deadline');
  });

  it('is aborted at once when a source already is', () => {
    const gone = AbortSignal.abort(new Error('client gone'));
    const link = eitherSignal(new AbortController().signal, gone);
    expect((link.signal.reason as Error).message).toBe('client gone');
  });

  it('once released, leaves nothing on a long-lived source however many calls were linked to it', () => {
    const shutdown = new AbortController();
    const links = Array.from({ length: 50 }, () => eitherSignal(shutdown.signal, new AbortController().signal));
    for (const l of links) l.release();
    shutdown.abort();
    // No listener of a released link ran, and Node keeps no AbortSignal.any entry on the source.
    expect(links.filter((l) => l.signal.aborted)).toEqual([]);
    expect(dependantSignals(shutdown.signal)).toBe(0);
  });

  it('a released link no longer follows its sources', () => {
    const a = new AbortController();
    const link = eitherSignal(a.signal, new AbortController().signal);
    link.release();
    a.abort();
    expect(link.signal.aborted).toBe(false);
  });
});
