#!/usr/bin/env node
// `npm run bench` (after `npm run build`): compiles the benchmark driver
// (bench/*.ts and the test world it reuses) with the project's own tsc into
// dist/bench/, then runs it. One command on a fresh machine; flags pass
// through (`npm run bench -- --help`).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'bench', 'tsconfig.json')], {
  stdio: 'inherit',
  cwd: root,
});
if (compiled.status !== 0) {
  process.stderr.write('bench: compiling the benchmark driver failed\n');
  process.exit(compiled.status ?? 1);
}
const { main } = await import(pathToFileURL(join(root, 'dist', 'bench', 'bench', 'main.js')).href);
process.exitCode = await main(process.argv.slice(2));
