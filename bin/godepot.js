#!/usr/bin/env node
// Entry point for the `godepot` command; the code lives in dist/ (built by `npm run build`,
// which `npm ci` runs through the `prepare` script).
import { applyV8Flags } from '../dist/runtime/v8-flags.js';

// V8 settings first: they must be in place before the code they tune runs.
applyV8Flags();
const { main } = await import('../dist/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`godepot: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
