// Long texts cut for one line (src/util/shorten.ts): never inside a word, the
// middle left out so that the start (what happened) and the end (what to do)
// both stay.
import { describe, expect, it } from 'vitest';
import { firstLine, shorten } from '../../src/util/shorten.js';

const SAID =
  "godepot: cannot reach corp.example to fetch corp.example/lib@v1.2.3: fatal: unable to access 'https://corp.example/lib/': Failed to connect to corp.example port 443 after 2 ms: Connection refused; check the network, DNS and HTTP(S)_PROXY of godepot's environment (stored versions are still served)";

/** Every word of a shortened text, but the mark, is a word of the original. */
function wordsOf(original: string, short: string): void {
  const words = new Set(original.split(/\s+/));
  for (const w of short.split(' ')) if (w !== '…') expect(words, w).toContain(w);
}

describe('shorten', () => {
  it('leaves a text that fits as it is, its white space runs read as one space', () => {
    expect(shorten('connection refused', 60)).toBe('connection refused');
    expect(shorten('  no answer\n\twithin 5s ', 60)).toBe('no answer within 5s');
  });

  it('keeps whole words from the start and the end, within the length', () => {
    for (const max of [60, 120, 200]) {
      const s = shorten(SAID, max);
      expect(s.length, s).toBeLessThanOrEqual(max);
      expect(s).toMatch(/^godepot: cannot reach /);
      expect(s).toMatch(/ … /);
      expect(s).toMatch(/served\)$/);
      wordsOf(SAID, s);
    }
    // Room for the fix at the end: all of it.
    expect(shorten(SAID, 240)).toContain("check the network, DNS and HTTP(S)_PROXY of godepot's environment");
  });

  it('leaves out a word too long for the room whole, and cuts only a text of one such word', () => {
    const url = `https://corp.example/${'a'.repeat(200)}`;
    expect(shorten(`fetching ${url} failed`, 60)).toBe('fetching … failed');
    const one = 'x'.repeat(500);
    expect(shorten(one, 20)).toBe(`${'x'.repeat(19)}…`);
  });

  it('never cuts a character in two (an emoji is two UTF-16 units): the text stays well-formed', () => {
    // A cut between the two halves left a lone surrogate, sent as U+FFFD in place of the character.
    for (const max of [20, 21]) {
      const s = shorten('😀'.repeat(300), max);
      expect(Buffer.from(s, 'utf8').toString('utf8')).toBe(s);
      expect(s.length).toBeLessThanOrEqual(max);
      expect(s).toMatch(/^(😀)+…$/);
    }
  });
});

describe('firstLine', () => {
  it('takes the first line that is not blank, trimmed, printable, and shortened', () => {
    expect(firstLine('\n  \n  not found: example.com/m@v1.0.0  \nsecond line\n', 100)).toBe(
      'not found: example.com/m@v1.0.0',
    );
    expect(firstLine('caf\u00e9 \u001b[31mred\n', 100)).toBe('caf? ?[31mred');
    expect(firstLine('one two three four five six seven', 20)).toBe('one two … seven');
    expect(firstLine('\n\n', 10)).toBe('');
  });
});
