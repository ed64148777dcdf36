// The texts the checksum database signs and serves: the tree description
// ("go.sum database tree\nN\nhash\n") and lookup records ("id\ntext\n").
// Parsers are as strict as golang.org/x/mod/sumdb/tlog's note.go.
import { isUtf8 } from 'node:buffer';
import { decodeStdBase64 } from './base64.js';
import { MalformedRecordError, MalformedTreeError } from './errors.js';
import { HASH_SIZE, hashToString, type Hash } from './hash.js';

/** A tree head: the size of the log and its root hash. */
export interface Tree {
  readonly n: number;
  readonly hash: Hash;
}

const TREE_PREFIX = Buffer.from('go.sum database tree\n');
const MAX_TREE_TEXT = 1_000_000;
/**
 * The largest tree whose hashes have safe-integer stored indexes (storedHashIndex(0, n) = 2n - popcount(n)):
 * a larger head, once adopted, could never be proven against, nor replaced (the head only grows).
 */
export const MAX_TREE_SIZE = 2 ** 52;
const NEWLINE = 0x0a;

/** The note text for a tree: three lines, each ending in '\n'. */
export function formatTree(tree: Tree): string {
  return `go.sum database tree\n${tree.n}\n${hashToString(tree.hash)}\n`;
}

/**
 * Parses a tree note text. Lines after the third are ignored (forward
 * compatibility); N must be canonical decimal; the hash must be 32 bytes.
 * Sizes above MAX_TREE_SIZE are rejected too (Go allows int64).
 */
export function parseTree(text: Uint8Array | string): Tree {
  const buf = toBuffer(text);
  if (buf.length > MAX_TREE_TEXT || !startsWith(buf, TREE_PREFIX) || countNewlines(buf) < 3) {
    throw new MalformedTreeError();
  }
  const lines = buf.toString('latin1').split('\n', 3);
  const nText = lines[1] ?? '';
  if (!/^(0|[1-9][0-9]*)$/.test(nText)) throw new MalformedTreeError();
  const n = Number(nText);
  if (!Number.isSafeInteger(n) || n > MAX_TREE_SIZE) throw new MalformedTreeError();
  const hash = decodeStdBase64(lines[2] ?? '');
  if (hash === null || hash.length !== HASH_SIZE) throw new MalformedTreeError();
  return { n, hash };
}

/**
 * A record as served in a lookup response: "<id>\n" + text + "\n".
 * Throws MalformedRecordError unless isValidRecordText(text).
 */
export function formatRecord(id: number, text: Uint8Array): Buffer {
  if (!Number.isSafeInteger(id)) throw new RangeError(`tlog: invalid record id ${id}`);
  if (!isValidRecordText(text)) throw new MalformedRecordError();
  return Buffer.concat([Buffer.from(`${id}\n`), text, Buffer.from('\n')]);
}

/**
 * Parses a record at the start of msg, stopping right after its terminating
 * blank line. The id is parsed like Go's strconv.ParseInt (sign and leading
 * zeros allowed); `rest` is what follows, normally the signed tree note.
 */
export function parseRecord(msg: Uint8Array): { id: number; text: Buffer; rest: Buffer } {
  const buf = toBuffer(msg);
  const nl = buf.indexOf(NEWLINE);
  if (nl < 0) throw new MalformedRecordError();
  const id = parseGoInt(buf.subarray(0, nl).toString('latin1'));
  if (id === null) throw new MalformedRecordError();
  const body = buf.subarray(nl + 1);
  const end = body.indexOf('\n\n');
  if (end < 0) throw new MalformedRecordError();
  const text = body.subarray(0, end + 1);
  if (!isValidRecordText(text)) throw new MalformedRecordError();
  return { id, text, rest: body.subarray(end + 2) };
}

/**
 * Reports whether text is valid record text: valid UTF-8, no control
 * character other than '\n', no blank line, and ending in '\n'.
 */
export function isValidRecordText(text: Uint8Array): boolean {
  if (text.length === 0 || text[text.length - 1] !== NEWLINE) return false;
  let last = -1;
  for (let i = 0; i < text.length; i++) {
    const b = text[i] as number;
    // Bytes of multi-byte UTF-8 sequences are all >= 0x80, so a byte scan
    // finds exactly the control runes.
    if ((b < 0x20 && b !== NEWLINE) || (b === NEWLINE && last === NEWLINE)) return false;
    last = b;
  }
  return isUtf8(text);
}

// strconv.ParseInt(s, 10, 64), limited to safe integers; null on failure.
function parseGoInt(s: string): number | null {
  if (!/^[+-]?[0-9]+$/.test(s)) return null;
  const n = Number(s);
  if (!Number.isSafeInteger(n)) return null;
  return n === 0 ? 0 : n; // no -0
}

function toBuffer(data: Uint8Array | string): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function startsWith(buf: Buffer, prefix: Buffer): boolean {
  return buf.length >= prefix.length && buf.subarray(0, prefix.length).equals(prefix);
}

function countNewlines(buf: Buffer): number {
  let count = 0;
  for (let i = buf.indexOf(NEWLINE); i >= 0; i = buf.indexOf(NEWLINE, i + 1)) count++;
  return count;
}
