// The "h1:" hash of golang.org/x/mod/sumdb/dirhash (Hash1): SHA-256 over a
// summary with one line per file, `<hex sha256(content)>  <name>\n`, the
// names sorted as Go sorts strings (by their UTF-8 bytes), base64 encoded.
// A name containing '\n' cannot be summarised and is refused, as in Go.
import { createHash, type Hash } from 'node:crypto';
import { encodeGoString } from '../module/index.js';

/** A file's name and the SHA-256 digest of its content. */
export interface FileDigest {
  name: string;
  sha256: Uint8Array;
}

const DIGEST = 32;

/** A name's bytes as a latin1 string (one char per byte); refuses a newline, as Go does. */
function latin1(name: Uint8Array): string {
  if (name.includes(0x0a)) throw new Error('dirhash: filenames with newlines are not supported');
  return Buffer.from(name.buffer, name.byteOffset, name.length).toString('latin1');
}

function hexDigest(sha256: Uint8Array): string {
  if (sha256.length !== DIGEST) throw new Error(`dirhash: digest of ${sha256.length} bytes, want ${DIGEST}`);
  return Buffer.from(sha256.buffer, sha256.byteOffset, sha256.length).toString('hex');
}

/** One summary line: `<hex sha256>  <name>\n`. */
function addLine(summary: Hash, hex: string, name: string): void {
  summary.update(hex);
  summary.update('  ');
  summary.update(name, 'latin1');
  summary.update('\n');
}

/**
 * The summary's lines collected one file at a time, compactly: names as
 * latin1 strings (one byte per char, so comparing them compares the bytes)
 * and the digests side by side in one growing buffer, for zips with
 * hundreds of thousands of entries.
 */
export class Hash1Summary {
  private readonly names: string[] = [];
  private digests = Buffer.alloc(DIGEST * 64);

  get count(): number {
    return this.names.length;
  }

  add(name: Uint8Array, sha256: Uint8Array): void {
    hexDigest(sha256);
    const i = this.names.length;
    if ((i + 1) * DIGEST > this.digests.length) {
      const grown = Buffer.alloc(this.digests.length * 2);
      this.digests.copy(grown);
      this.digests = grown;
    }
    this.digests.set(sha256, i * DIGEST);
    this.names.push(latin1(name));
  }

  /**
   * dirhash.Hash1 of the lines added so far. With yieldTurn, the sort and
   * the summary are done in slices of SLICE lines, with a turn between them.
   */
  async digest(yieldTurn?: () => Promise<void>): Promise<string> {
    const { names, digests } = this;
    const turn = yieldTurn ?? ((): Promise<void> => Promise.resolve());
    const order = await sortInSlices(names, turn);
    const summary = createHash('sha256');
    for (let k = 0; k < order.length; k++) {
      const i = order[k] ?? 0;
      addLine(summary, digests.toString('hex', i * DIGEST, (i + 1) * DIGEST), names[i] ?? '');
      if (k % SLICE === SLICE - 1) await turn();
    }
    return 'h1:' + summary.digest('base64');
  }
}

/** Lines sorted or hashed between two turns: a few milliseconds of work. */
const SLICE = 8192;

/**
 * The indexes of names in sorted order: slices sorted with Array.sort, then
 * merged pairwise, a turn after every SLICE elements placed.
 */
async function sortInSlices(names: readonly string[], turn: () => Promise<void>): Promise<Uint32Array> {
  const n = names.length;
  const less = (x: number, y: number): boolean => (names[x] ?? '') < (names[y] ?? '');
  let from = new Uint32Array(n).map((_, i) => i);
  for (let lo = 0; lo < n; lo += SLICE) {
    from.subarray(lo, lo + SLICE).sort((x, y) => (less(x, y) ? -1 : less(y, x) ? 1 : 0));
    await turn();
  }
  let to = new Uint32Array(n);
  let placed = 0;
  for (let width = SLICE; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(n, lo + width);
      const hi = Math.min(n, lo + 2 * width);
      for (let i = lo, j = mid, k = lo; k < hi; k++) {
        const x = from[i] ?? 0;
        const y = from[j] ?? 0;
        if (j >= hi || (i < mid && !less(y, x))) {
          to[k] = x;
          i++;
        } else {
          to[k] = y;
          j++;
        }
        if (++placed % SLICE === 0) await turn();
      }
    }
    [from, to] = [to, from];
  }
  return from;
}

/**
 * dirhash.Hash1 from per-file SHA-256 digests. Lone surrogates
 * U+DC80–U+DCFF in a name stand for raw bytes of a name that is not UTF-8
 * (module's decodeGoBytes convention) and hash as those bytes.
 */
export function hash1(files: ReadonlyArray<FileDigest>): string {
  const lines = files.map((f) => ({ name: latin1(encodeGoString(f.name)), hex: hexDigest(f.sha256) }));
  lines.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const summary = createHash('sha256');
  for (const l of lines) addLine(summary, l.hex, l.name);
  return 'h1:' + summary.digest('base64');
}

/** SHA-256 of bytes. */
export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** dirhash.Hash1 over files given with their content. */
export function hashFiles(files: ReadonlyArray<{ name: string; data: Uint8Array }>): string {
  return hash1(files.map((f) => ({ name: f.name, sha256: sha256(f.data) })));
}

/**
 * The go.mod hash of go.sum's `<path> <version>/go.mod h1:…` lines:
 * Hash1 over the single name "go.mod" (no module prefix).
 */
export function hashGoMod(content: Uint8Array): string {
  return hashFiles([{ name: 'go.mod', data: content }]);
}
