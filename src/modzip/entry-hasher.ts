// SHA-256 (and, where zlib does not check it, the CRC-32) of one entry's
// content as it streams by, refusing content beyond the declared size.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { ZipError } from './errors.js';

export class EntryHasher {
  private readonly sha = createHash('sha256');
  crc = 0;
  size = 0;

  /**
   * @param crcHere whether to compute the CRC-32 here; switched off when a
   *   gzip frame lets zlib check it
   */
  constructor(
    readonly declared: number,
    readonly name: string,
    public crcHere: boolean,
  ) {}

  /** Throws ZipError once the content passes the declared size (Unzip's check, which stops zip bombs). */
  update(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.declared) {
      throw new ZipError(`uncompressed size of file ${this.name} is larger than declared size (${this.declared} bytes)`, this.name);
    }
    this.sha.update(chunk);
    if (this.crcHere) this.crc = crc32(chunk, this.crc);
  }

  digest(): Buffer {
    return this.sha.digest();
  }
}
