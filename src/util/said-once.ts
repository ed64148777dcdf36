// With `serve --workers N` every worker of a node finds the same things (what
// the start-up probe found, an upstream's outage, a missing data tile): the
// worker that speaks for the node says them at their own level, the others
// at debug level, so that the log says each once.

/** The level a line every worker would say alike is said at. */
export type SaidAt = <L extends 'info' | 'warn' | 'error'>(level: L) => L | 'debug';

/** Each line at its own level when this process speaks for its node, at debug level when another one does. */
export function saidAt(speaks: boolean): SaidAt {
  return (level) => (speaks ? level : 'debug');
}
