// DESIGN.md: module/, modzip/, sumdb/tlog/ and sumdb/note/ are pure — no
// network, no disk, no clock they did not get as an argument, no threads.
// I/O lives at the edges and comes in through interfaces (ByteSource,
// readers, ZipReadOptions.yieldTurn).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/godepot.js';

const PURE = ['src/module', 'src/modzip', 'src/sumdb/tlog', 'src/sumdb/note'];

const FORBIDDEN: Array<[RegExp, string]> = [
  [
    /from '(node:)?(fs|fs\/promises|net|tls|http|https|http2|dns|dns\/promises|dgram|child_process|worker_threads|cluster)'/,
    'an I/O or thread module',
  ],
  [/from 'undici'/, 'the HTTP client'],
  [/\b(setTimeout|setInterval|setImmediate)\s*\(/, 'a timer'],
  [/\bDate\.now\s*\(|\bperformance\.now\s*\(|new Date\(\s*\)/, 'the clock'],
  [/\bAtomics\.wait\b/, 'a blocking wait'],
];

function files(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return files(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

describe('the pure folders', () => {
  for (const dir of PURE) {
    it(`${dir} does no I/O, keeps no time and starts no thread`, () => {
      const found = files(dir);
      expect(found.length).toBeGreaterThan(0);
      const problems: string[] = [];
      for (const f of found) {
        readFileSync(join(REPO_ROOT, f), 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (/^\s*(\/\/|\*)/.test(line)) return;
            for (const [re, what] of FORBIDDEN)
              if (re.test(line)) problems.push(`${f}:${i + 1} uses ${what}: ${line.trim()}`);
          });
      }
      expect(problems).toEqual([]);
    });
  }
});
