import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  emptyTreeHash,
  HASH_SIZE,
  hashToString,
  MalformedHashError,
  nodeHash,
  parseHash,
  recordHash,
  treeHash,
} from '../../../src/sumdb/tlog/index.js';
import { loadVectors, MemoryLog, prng } from './support.js';

const v = loadVectors();

describe('hashes', () => {
  it('RecordHash("hello world") matches the golden value', () => {
    expect(hashToString(recordHash(Buffer.from('hello world')))).toBe(v.tlog["RecordHash('hello world')"]);
  });

  it('the empty tree hashes to SHA-256 of nothing, and treeHash(0) agrees', async () => {
    expect(hashToString(emptyTreeHash())).toBe(v.tlog['emptyTreeHash(TreeHash(0))']);
    expect((await treeHash(0, new MemoryLog())).equals(emptyTreeHash())).toBe(true);
  });

  it('emptyTreeHash returns a fresh copy each time', () => {
    const h = emptyTreeHash();
    h[0] = 0;
    expect(hashToString(emptyTreeHash())).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it('leaf and node hashes are domain-separated SHA-256', () => {
    const l = recordHash(Buffer.from('a'));
    const r = recordHash(Buffer.from('b'));
    const manual = createHash('sha256')
      .update(Buffer.concat([Buffer.from([1]), l, r]))
      .digest();
    expect(nodeHash(l, r).equals(manual)).toBe(true);
    expect(nodeHash(r, l).equals(manual)).toBe(false);
    expect(recordHash(Buffer.from('a')).equals(createHash('sha256').update('\x00a').digest())).toBe(true);
  });

  it('parseHash inverts hashToString for random hashes', () => {
    const rand = prng(1);
    for (let i = 0; i < 200; i++) {
      const h = Buffer.alloc(HASH_SIZE);
      for (let j = 0; j < HASH_SIZE; j++) h[j] = Math.floor(rand() * 256);
      const s = hashToString(h);
      expect(s).toHaveLength(44);
      expect(parseHash(s).equals(h)).toBe(true);
    }
  });

  it.each([
    ['empty', ''],
    ['31 bytes', Buffer.alloc(31).toString('base64')],
    ['33 bytes', Buffer.alloc(33).toString('base64')],
    ['missing padding', 'TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0'],
    ['URL alphabet', 'TszzRgjTG6xce-z2AG31kAXYKBgQVtCSCE40HmuwBb0='],
    ['inner space', 'TszzRgjTG6xce+z2AG31kAXY KBgQVtCSCE40HmuwBb0='],
    ['junk after padding', 'TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=AAAA'],
  ])('parseHash rejects %s', (_name, s) => {
    expect(() => parseHash(s)).toThrow(MalformedHashError);
    expect(() => parseHash(s)).toThrow('malformed hash');
  });

  it('parseHash ignores CR and LF like Go base64', () => {
    const h = parseHash('TszzRgjTG6xce+z2AG31kAXYKBgQ\r\nVtCSCE40HmuwBb0=');
    expect(hashToString(h)).toBe('TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=');
  });
});
