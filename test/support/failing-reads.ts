// A storage whose reads of some keys' bytes fail with EIO (a bad sector, an
// object store that times out mid-read), while their size and time still
// answer and everything else works: for tests that a read failure is never
// taken for damage.
import { Readable } from 'node:stream';
import type { Storage } from '../../src/storage/index.js';

export function eio(): Error {
  return Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', syscall: 'read' });
}

/** storage, but every read and stream of a blob opened under a key for which fails(key) is true fails. */
export function failingReads(storage: Storage, fails: (key: string) => boolean): Storage {
  return Object.assign(Object.create(storage) as Storage, {
    open: async (key: string) => {
      const blob = await storage.open(key);
      if (!blob || !fails(key)) return blob;
      return {
        ...blob,
        size: blob.size,
        mtimeMs: blob.mtimeMs,
        read: () => Promise.reject(eio()),
        stream: () =>
          new Readable({
            read() {
              this.destroy(eio());
            },
          }),
      };
    },
  });
}
