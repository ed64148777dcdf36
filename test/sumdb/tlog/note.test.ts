import { describe, expect, it } from 'vitest';
import {
  formatRecord,
  formatTree,
  isValidRecordText,
  MalformedRecordError,
  MalformedTreeError,
  parseHash,
  parseRecord,
  parseTree,
  recordHash,
} from '../../../src/sumdb/tlog/index.js';
import { loadVectors, prng, randomInt } from './support.js';

const v = loadVectors();
const HELLO = recordHash(Buffer.from('hello world'));
const GOLDEN_TREE = v.tlog["FormatTree(N=123456789012, RecordHash('hello world'))"] as string;

describe('tree note text', () => {
  it('FormatTree matches the golden text', () => {
    expect(formatTree({ n: 123456789012, hash: HELLO })).toBe(GOLDEN_TREE);
  });

  it('ParseTree inverts FormatTree, from a string or bytes', () => {
    for (const input of [GOLDEN_TREE, Buffer.from(GOLDEN_TREE), new Uint8Array(Buffer.from(GOLDEN_TREE))]) {
      const tree = parseTree(input);
      expect(tree.n).toBe(123456789012);
      expect(tree.hash.equals(HELLO)).toBe(true);
    }
  });

  it.each(v.tlog.ParseTree_bad)('ParseTree rejects %j', (text) => {
    expect(() => parseTree(text)).toThrow(MalformedTreeError);
    expect(() => parseTree(text)).toThrow('malformed tree note');
  });

  it.each(v.tlog.ParseTree_good_with_trailing_junk)('ParseTree ignores extra lines in %j', (text) => {
    expect(parseTree(text)).toEqual({ n: 123456789012, hash: HELLO });
  });

  const h = 'TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=';
  it.each([
    ['two lines only', `go.sum database tree\n5\n${h}`],
    ['leading zero', `go.sum database tree\n05\n${h}\n`],
    ['plus sign', `go.sum database tree\n+5\n${h}\n`],
    ['negative', `go.sum database tree\n-5\n${h}\n`],
    ['minus zero', `go.sum database tree\n-0\n${h}\n`],
    ['empty size', `go.sum database tree\n\n${h}\n`],
    ['beyond 2^53', `go.sum database tree\n9007199254740993\n${h}\n`],
    // Safe, but the stored index of its last hash is not: no proof could ever be made against such a head.
    ['2^53 - 1', `go.sum database tree\n9007199254740991\n${h}\n`],
    ['2^52 + 1', `go.sum database tree\n4503599627370497\n${h}\n`],
    ['beyond int64', `go.sum database tree\n9223372036854775808\n${h}\n`],
    ['short hash', `go.sum database tree\n5\n${h.slice(4)}\n`],
    ['v2 header', `go.sum database tree v2\n5\n${h}\n`],
    ['CRLF header', `go.sum database tree\r\n5\n${h}\n`],
    ['over 1e6 bytes', `go.sum database tree\n5\n${h}\n${'x'.repeat(1_000_000)}\n`],
  ])('ParseTree rejects %s', (_name, text) => {
    expect(() => parseTree(text)).toThrow(MalformedTreeError);
  });

  it('ParseTree accepts size 0 and the largest size whose hashes tlog can index', () => {
    expect(parseTree(`go.sum database tree\n0\n${h}\n`).n).toBe(0);
    expect(parseTree(`go.sum database tree\n4503599627370496\n${h}\n`).n).toBe(2 ** 52);
  });

  it('round-trips random trees', () => {
    const rand = prng(5);
    for (let i = 0; i < 500; i++) {
      const n = randomInt(rand, 0, 2 ** 50);
      const hash = recordHash(Buffer.from(String(rand())));
      const t = parseTree(formatTree({ n, hash }));
      expect(t.n).toBe(n);
      expect(t.hash.equals(hash)).toBe(true);
    }
  });
});

describe('records', () => {
  it('FormatRecord matches the golden text', () => {
    expect(formatRecord(123456789012, Buffer.from('hello, world\n')).toString()).toBe(
      v.tlog["FormatRecord(123456789012,'hello, world\\n')"],
    );
  });

  it.each(v.tlog.FormatRecord_bad_texts)('FormatRecord rejects %j', (text) => {
    expect(() => formatRecord(1, Buffer.from(text))).toThrow(MalformedRecordError);
    expect(() => formatRecord(1, Buffer.from(text))).toThrow('malformed record data');
  });

  it.each(v.tlog.ParseRecord)('ParseRecord($in)', ({ in: input, id, text, rest }) => {
    const r = parseRecord(Buffer.from(input));
    expect(r.id).toBe(id);
    expect(r.text.toString()).toBe(text);
    expect(r.rest.toString()).toBe(rest);
  });

  it('ParseRecord leaves non-UTF-8 bytes after the record alone (Go test’s 0xFF)', () => {
    const input = Buffer.concat([Buffer.from('123456789012\nhello, world\n\njunk on end\x01'), Buffer.from([0xff])]);
    const r = parseRecord(input);
    expect(r.rest.equals(Buffer.concat([Buffer.from('junk on end\x01'), Buffer.from([0xff])]))).toBe(true);
  });

  it.each(v.tlog.ParseRecord_bad)('ParseRecord rejects %j', (input) => {
    expect(() => parseRecord(Buffer.from(input))).toThrow(MalformedRecordError);
  });

  it.each([
    ['no newline', '123'],
    ['empty id', '\nhello\n\n'],
    ['id beyond 2^53', '9007199254740993\nhello\n\n'],
    ['invalid UTF-8', Buffer.from([0x31, 0x0a, 0xc3, 0x28, 0x0a, 0x0a])],
    ['surrogate', Buffer.from([0x31, 0x0a, 0xed, 0xa0, 0x80, 0x0a, 0x0a])],
    ['tab in text', '1\na\tb\n\n'],
  ])('ParseRecord rejects %s', (_name, input) => {
    expect(() => parseRecord(typeof input === 'string' ? Buffer.from(input) : input)).toThrow(MalformedRecordError);
  });

  it('ParseRecord accepts ids the way strconv.ParseInt does', () => {
    expect(parseRecord(Buffer.from('+7\na\n\n')).id).toBe(7);
    expect(parseRecord(Buffer.from('007\na\n\n')).id).toBe(7);
    expect(parseRecord(Buffer.from('-0\na\n\n')).id).toBe(0);
    expect(Object.is(parseRecord(Buffer.from('-0\na\n\n')).id, -0)).toBe(false);
  });

  it('isValidRecordText accepts UTF-8 and DEL, rejects controls and blank lines', () => {
    expect(isValidRecordText(Buffer.from('é ✓ \u{1F600} \x7f\n'))).toBe(true);
    expect(isValidRecordText(Buffer.from('a\n\nb\n'))).toBe(false);
    expect(isValidRecordText(Buffer.from('\n'))).toBe(true);
    expect(isValidRecordText(Buffer.from('a\r\n'))).toBe(false);
  });

  it('round-trips random record texts', () => {
    const rand = prng(6);
    const pieces = ['a', 'b', ' ', 'h1:', '/', 'é', '✓', '\n'];
    for (let i = 0; i < 500; i++) {
      let text = '';
      const len = randomInt(rand, 1, 40);
      for (let j = 0; j < len; j++) text += pieces[randomInt(rand, 0, pieces.length - 1)];
      text = text.replace(/\n+/g, '\n').replace(/^\n|\n$/g, '') + '\n';
      if (text === '\n' && i % 2) text = 'x\n';
      const id = randomInt(rand, 0, 2 ** 45);
      const msg = Buffer.concat([formatRecord(id, Buffer.from(text)), Buffer.from('tail')]);
      const r = parseRecord(msg);
      expect(r.id).toBe(id);
      expect(r.text.toString()).toBe(text);
      expect(r.rest.toString()).toBe('tail');
    }
  });

  it('parseHash and the tree hash of a real tree note agree', () => {
    expect(parseTree(GOLDEN_TREE).hash.equals(parseHash('TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0='))).toBe(true);
  });
});
