// The "h1:" hash of golang.org/x/mod/sumdb/dirhash (Hash1): SHA-256 over a
// summary with one line per file, `<hex sha256(content)>  <name>\n`, the
// names sorted as Go sorts strings (by their UTF-8 bytes), base64 encoded.
// A name containing '\n' cannot be summarised and is refused, as in Go.
import { createHash } from 'node:crypto';
import { encodeGoString } from '../module/index.js';

/** A file's name and the SHA-256 digest of its content. */
export interface FileDigest {
  name: string;
  sha256: Uint8Array;
}

const DIGEST = 32;

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
    if (name.includes(0x0a)) throw new Error('dirhash: filenames with newlines are not supported');
    if (sha256.length !== DIGEST) throw new Error(`dirhash: digest of ${sha256.length} bytes, want ${DIGEST}`);
    const i = this.names.length;
    if ((i + 1) * DIGEST > this.digests.length) {
      const grown = Buffer.alloc(this.digests.length * 2);
      this.digests.copy(grown);
      this.digests = grown;
    }
    this.digests.set(sha256, i * DIGEST);
    this.names.push(Buffer.from(name.buffer, name.byteOffset, name.length).toString('latin1'));
  }

  /** dirhash.Hash1 of the lines added so far. */
  digest(): string {
    const { names, digests } = this;
    const order = Array.from(names.keys()).sort((a, b) => {
      const x = names[a] ?? '';
      const y = names[b] ?? '';
      return x < y ? -1 : x > y ? 1 : 0;
    });
    const summary = createHash('sha256');
    for (const i of order) {
      summary.update(digests.toString('hex', i * DIGEST, (i + 1) * DIGEST));
      summary.update('  ');
      summary.update(names[i] ?? '', 'latin1');
      summary.update('\n');
    }
    return 'h1:' + summary.digest('base64');
  }
}

/**
 * dirhash.Hash1 from per-file SHA-256 digests. Lone surrogates
 * U+DC80–U+DCFF in a name stand for raw bytes of a name that is not UTF-8
 * (module's decodeGoBytes convention) and hash as those bytes.
 */
export function hash1(files: ReadonlyArray<FileDigest>): string {
  const summary = new Hash1Summary();
  for (const f of files) summary.add(encodeGoString(f.name), f.sha256);
  return summary.digest();
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
