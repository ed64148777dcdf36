import { describe, expect, it } from 'vitest';
import { eitherSignal, processWideController } from '../../src/util/signals.js';
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

describe('processWideController', () => {
  it('takes a listener per call under way without Node saying "Possible EventTarget memory leak"', async () => {
    const turn = (): Promise<unknown> => new Promise((resolve) => setImmediate(resolve));
    // Node emits its warning on a later turn: what earlier tests left is let out first.
    await turn();
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const linkAll = (ctl: AbortController) =>
        Array.from({ length: 50 }, () => eitherSignal(ctl.signal, new AbortController().signal));
      const wide = linkAll(processWideController());
      await turn();
      expect(warnings).toEqual([]);
      // The control: a plain controller past 10 listeners makes Node warn.
      const plain = linkAll(new AbortController());
      await turn();
      expect(warnings).toContain('MaxListenersExceededWarning');
      for (const l of [...wide, ...plain]) l.release();
    } finally {
      process.off('warning', onWarning);
    }
  });
});
