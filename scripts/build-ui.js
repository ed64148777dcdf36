// Completes dist/ui/ after `tsc -p src/ui/tsconfig.json`: the page's HTML,
// CSS and icon, and uPlot's browser build and stylesheet from node_modules
// (served by godepot itself; the page loads nothing from elsewhere).
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'ui');
const out = join(root, 'dist', 'ui');
mkdirSync(out, { recursive: true });
for (const name of readdirSync(src)) {
  if (/\.(html|css|svg|png)$/.test(name)) copyFileSync(join(src, name), join(out, name));
}
const uplot = dirname(createRequire(import.meta.url).resolve('uplot'));
for (const name of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(join(uplot, name), join(out, name));
