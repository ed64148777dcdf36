// Signals that abort with either of two others, for a call that ends: Node
// 20's AbortSignal.any keeps, on each source, a reference to every signal
// ever combined with it until that source aborts (nodejs/node#55351), so a
// long-lived caller's signal (shutdown's, a probe loop's) combined with each
// call's deadline grew by one entry per call. Here the listeners go when the
// call releases the link.
import { setMaxListeners } from 'node:events';

export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Removes the link's listeners from its sources (the call is over). */
  release(): void;
}

/** A signal aborted, with its reason, by whichever of a and b aborts first. */
export function eitherSignal(a: AbortSignal, b: AbortSignal): LinkedSignal {
  const ctl = new AbortController();
  const fromA = (): void => ctl.abort(a.reason);
  const fromB = (): void => ctl.abort(b.reason);
  const release = (): void => {
    a.removeEventListener('abort', fromA);
    b.removeEventListener('abort', fromB);
  };
  if (a.aborted) fromA();
  else if (b.aborted) fromB();
  else {
    a.addEventListener('abort', fromA, { once: true });
    b.addEventListener('abort', fromB, { once: true });
  }
  return { signal: ctl.signal, release };
}

/**
 * A controller for a signal that lives as long as the process or a command
 * (shutdown's, a mirror's stop, a batch command's interrupt): every call
 * under way listens to it, and each removes its listener when it ends, so
 * a busy server has hundreds at once. Node's leak check (a warning past 10
 * listeners) would say "Possible EventTarget memory leak detected" in the
 * log of every busy server: it is off for these signals.
 */
export function processWideController(): AbortController {
  const ctl = new AbortController();
  setMaxListeners(0, ctl.signal);
  return ctl;
}
