// V8 settings for a long-running proxy, applied by bin/godepot.js before
// anything else is loaded (so in every worker too, which run the same entry
// point; importing this module changes nothing by itself). Both are read by V8 when they apply, not only at start-up, so
// setting them first thing is the same as passing them to node; measured
// with `npm run bench -- --only hits` (docs/performance.md):
//
//   --liftoff-only          WebAssembly is compiled by the baseline compiler
//                           only. The one module godepot runs is undici's
//                           HTTP parser for upstream answers; optimizing it
//                           cost a transient ~30 MB at the first upstream
//                           call (idle peak 112 → 80 MB).
//   --heap-growing-percent  After a full collection the old generation may
//                           grow by half its live size before the next one
//                           (V8 allows up to 4×). Under many connections,
//                           objects of requests in flight survive into the
//                           old generation and are garbage there; this
//                           collects them at ~30 MB instead of 45–60 MB.
import { setFlagsFromString } from 'node:v8';

const V8_FLAGS = ['--liftoff-only', '--heap-growing-percent=50'] as const;

/**
 * Given to node when a serving process starts: by `npm start` (package.json,
 * kept equal by a test) and by the primary to each worker (serve.ts). V8
 * sizes the young generation when the heap is made, so this one cannot be
 * set later. Two 8 MB semi-spaces instead of up to 16 MB each: one process
 * under the 256-connection hit load peaks at ~124 instead of ~144 MB.
 */
export const NODE_START_FLAGS = ['--max-semi-space-size=8'] as const;

/** NODE_START_FLAGS added to a process's node arguments, except those it sets itself (its own value wins). */
export function withStartFlags(execArgv: readonly string[]): string[] {
  const name = (flag: string): string => flag.split('=')[0]!;
  const own = new Set(execArgv.map(name));
  return [...execArgv, ...NODE_START_FLAGS.filter((f) => !own.has(name(f)))];
}

export function applyV8Flags(): void {
  for (const flag of V8_FLAGS) setFlagsFromString(flag);
}
