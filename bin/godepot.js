#!/usr/bin/env node
// Entry point for the `godepot` command; the code lives in dist/ (built by `npm run build`,
// which `npm ci` runs through the `prepare` script).
import { applyV8Flags } from '../dist/runtime/v8-flags.js';
import { holdProcessWarnings } from '../dist/runtime/warnings.js';

// V8 settings first: they must be in place before the code they tune runs.
applyV8Flags();
// The server logs Node's warnings as JSON lines: held from here, before its modules load (a library may warn as
// it loads), until its logger exists; given back to Node's printer when the command ends.
const warnings = process.argv[2] === 'serve' ? holdProcessWarnings() : null;
const { main } = await import('../dist/cli/main.js');

main(process.argv.slice(2))
  .finally(() => warnings?.release())
  .then(
    (code) => {
      if (typeof code === 'number') process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`godepot: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
