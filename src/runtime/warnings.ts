// Node's process warnings held from the first moment a command may meet one:
// bin/godepot.js holds them for `serve` before anything else loads (a
// library may warn as it loads, and loading takes seconds on a busy
// machine). Kept free of imports so that holding them costs nothing.
import type { Logger } from 'pino';

export interface HeldWarnings {
  logTo(log: Logger, level: 'warn' | 'debug'): void;
  release(): void;
}

/**
 * Node's process warnings (a library's deprecation or support notice, such
 * as the AWS SDK's on Node 20) as log lines, one each, instead of the
 * several lines of plain text Node prints on stderr between the JSON lines.
 * Warnings are held from this call (before the logger exists: a library
 * warns as it loads) until logTo() names the logger and the level; after
 * that each is logged as it comes. release() gives Node its printer back
 * (and it the warnings held, when no logger was named).
 * Node told not to print warnings (`--no-warnings`, NODE_NO_WARNINGS=1: it
 * then has no printer) logs none; `--no-deprecation` is kept as well. One
 * hold per process: a second call, until release(), returns the first.
 */
export function holdProcessWarnings(): HeldWarnings {
  current ??= hold();
  return current;
}

let current: HeldWarnings | null = null;

function hold(): HeldWarnings {
  const previous = process.listeners('warning');
  if (previous.length === 0) return { logTo: () => {}, release: () => {} };
  const held: Array<Error & { code?: string }> = [];
  let say: ((w: Error & { code?: string }) => void) | null = null;
  const onWarning = (w: Error & { code?: string }): void => {
    if (w.name === 'DeprecationWarning' && process.noDeprecation) return;
    if (say) say(w);
    else held.push(w);
  };
  process.removeAllListeners('warning');
  process.on('warning', onWarning);
  return {
    logTo(log, level) {
      say = (w) =>
        log[level]({ warning: w.name, code: w.code }, `Node.js warning: ${w.message.replace(/\s*\n\s*/g, ' ').trim()}`);
      for (const w of held.splice(0)) say(w);
    },
    release() {
      current = null;
      process.off('warning', onWarning);
      for (const l of previous) process.on('warning', l);
      for (const w of held.splice(0)) for (const l of previous) l(w);
    },
  };
}
