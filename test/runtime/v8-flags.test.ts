import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_START_FLAGS, withStartFlags } from '../../src/runtime/v8-flags.js';

describe('node start flags', () => {
  it('npm start gives node the same flags the primary gives each worker', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      scripts: { start: string };
    };
    // exec: the shell npm runs the script in hands over to node, so npm's SIGTERM reaches godepot.
    const [exec, node, ...rest] = pkg.scripts.start.split(' ');
    expect([exec, node]).toEqual(['exec', 'node']);
    expect(rest.slice(0, NODE_START_FLAGS.length)).toEqual([...NODE_START_FLAGS]);
    expect(rest.slice(NODE_START_FLAGS.length)).toEqual(['bin/godepot.js', 'serve']);
  });

  it('adds the flags a process was not started with and keeps a value of its own', () => {
    expect(withStartFlags(['--inspect'])).toEqual(['--inspect', ...NODE_START_FLAGS]);
    expect(withStartFlags(['--max-semi-space-size=32'])).toEqual(['--max-semi-space-size=32']);
    expect(withStartFlags([...NODE_START_FLAGS])).toEqual([...NODE_START_FLAGS]);
  });
});
