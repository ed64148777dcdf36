// A zip read from a source that fails (a storage read error) is not a
// malformed zip: verifyModuleZip rejects with the source's own error, so a
// caller never takes a disk error for damage (and removes a good copy).
// Damage found in the middle of an entry is still a ZipError.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { bufferSource, verifyModuleZip, ZipError, type ByteSource } from '../../src/modzip/index.js';
import { buildModule } from '../world/index.js';
import { eio } from '../support/failing-reads.js';

const mod = { path: 'example.com/source', version: 'v1.0.0' };

async function zip(): Promise<Buffer> {
  const built = await buildModule({
    ...mod,
    // Large enough to be streamed through inflate rather than read whole.
    files: { 'go.mod': `module ${mod.path}\n`, 'a.go': 'package source\n', 'blob.bin': randomBytes(300 << 10) },
  });
  return built.zip;
}

describe('verifyModuleZip over a source that fails', () => {
  it('rejects with the source error when a small read fails (the central directory)', async () => {
    const inner = bufferSource(await zip());
    const source: ByteSource = { ...inner, read: () => Promise.reject(eio()) };
    const err = await verifyModuleZip(source, mod).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ZipError);
    expect((err as { code?: string }).code).toBe('EIO');
  });

  it('rejects with the source error when a stream of a large entry fails', async () => {
    const inner = bufferSource(await zip());
    const source: ByteSource = {
      ...inner,
      createReadStream: (start, end) =>
        end - start > 64 << 10
          ? new Readable({
              read() {
                this.destroy(eio());
              },
            })
          : inner.createReadStream(start, end),
    };
    const err = await verifyModuleZip(source, mod).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ZipError);
    expect((err as { code?: string }).code).toBe('EIO');
  });

  it('still calls damage in the middle of a large entry a ZipError (its stream ended by the check)', async () => {
    const z = Buffer.from(await zip());
    for (let i = 0; i + 46 < z.length; i++) {
      const central = z.readUInt32LE(i) === 0x02014b50;
      if (!central && z.readUInt32LE(i) !== 0x04034b50) continue;
      const at = i + (central ? 46 : 30);
      if (
        z
          .subarray(at, at + z.readUInt16LE(i + (central ? 28 : 26)))
          .toString()
          .endsWith('/blob.bin')
      )
        z.writeUInt32LE(100 << 10, i + (central ? 24 : 22));
    }
    await expect(verifyModuleZip(bufferSource(z), mod)).rejects.toBeInstanceOf(ZipError);
  });
});
