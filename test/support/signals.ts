// What Node keeps on an AbortSignal for AbortSignal.any: each signal combined
// with it, in a set (kDependantSignals) that Node 20 empties only when this
// signal aborts (nodejs/node#55351). A signal that lives as long as the
// process (shutdown) must not collect one per request.

/** How many combined signals Node holds on signal (0 when it holds none). */
export function dependantSignals(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  // Node's own set class (SafeSet), so not `instanceof Set`.
  const set =
    key === undefined ? undefined : (signal as unknown as Record<symbol, { size?: unknown } | undefined>)[key];
  return typeof set?.size === 'number' ? set.size : 0;
}
