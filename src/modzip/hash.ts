// The "h1:" hash of golang.org/x/mod/sumdb/dirhash (Hash1): SHA-256 over a
// summary with one line per file, `<hex sha256(content)>  <name>\n`, the
// names sorted as Go sorts strings (by their UTF-8 bytes), base64 encoded.
import { createHash } from 'node:crypto';
import { encodeGoString } from '../module/index.js';

/** A file's name and the SHA-256 digest of its content. */
export interface FileDigest {
  name: string;
  sha256: Uint8Array;
}

/** Hash1 from raw name bytes and digests: the form the zip verifier uses. */
export function hash1Bytes(files: ReadonlyArray<{ name: Uint8Array; sha256: Uint8Array }>): string {
  const sorted = files.slice().sort((a, b) => Buffer.compare(a.name, b.name));
  const summary = createHash('sha256');
  for (const f of sorted) {
    if (f.name.includes(0x0a)) throw new Error('dirhash: filenames with newlines are not supported');
    if (f.sha256.length !== 32) throw new Error(`dirhash: digest of ${f.sha256.length} bytes, want 32`);
    summary.update(Buffer.from(f.sha256).toString('hex'));
    summary.update('  ');
    summary.update(f.name);
    summary.update('\n');
  }
  return 'h1:' + summary.digest('base64');
}

/**
 * dirhash.Hash1 from per-file SHA-256 digests. Names are sorted in Go
 * (bytewise UTF-8) order; a name containing '\n' is refused, as in Go. Lone
 * surrogates U+DC80–U+DCFF stand for raw bytes of a name that is not UTF-8
 * (module's decodeGoBytes convention) and hash as those bytes.
 */
export function hash1(files: ReadonlyArray<FileDigest>): string {
  return hash1Bytes(files.map((f) => ({ name: encodeGoString(f.name), sha256: f.sha256 })));
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
