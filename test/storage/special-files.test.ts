// What is found in the data folder where godepot keeps a file is not always a
// file. A FIFO there (made by hand, by a script gone wrong, by someone with
// write access to the folder) used to hold every read of that key — and one of
// libuv's four threads each, so that four of them stalled every file access,
// DNS lookup and zip inflation of the process. It reads as nothing stored,
// at once, as a folder there does, and the next write replaces it.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { FsStorage } from '../../src/storage/fs.js';
import { unblock } from '../support/fifo.js';

const dirs: string[] = [];

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('FsStorage with a FIFO where a stored file belongs', () => {
  it('reads it as nothing stored without waiting, more of them than libuv has threads, and replaces it', async () => {
    const data = await mkdtemp(join(tmpdir(), 'godepot-fifo-'));
    dirs.push(data);
    const s = await FsStorage.open(data);
    try {
      await mkdir(join(data, 'mod', 'example.com', 'x', '@v'), { recursive: true });
      const keys = [1, 2, 3, 4, 5, 6].map((i) => `mod/example.com/x/@v/v1.0.${i}.mod`);
      for (const k of keys) execFileSync('mkfifo', [join(data, k)]);
      const reads = Promise.all(keys.flatMap((k) => [s.get(k), s.open(k), s.stat(k)]));
      // A bound, not a pause: a read that waits on its FIFO never ends, and would hold the test run with it.
      const bound = new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), 5_000).unref());
      const got = await Promise.race([reads, bound]);
      if (got === 'still waiting') for (const k of keys) unblock(join(data, k));
      expect(got).toEqual(keys.flatMap(() => [null, null, null]));
      // Nothing left waiting on libuv's threads: the storage goes on as usual, and a write takes the FIFO's place.
      await s.put(keys[0] as string, Buffer.from('module example.com/x\n'));
      expect(await s.get(keys[0] as string)).toEqual(Buffer.from('module example.com/x\n'));
      expect((await lstat(join(data, keys[0] as string))).isFile()).toBe(true);
    } finally {
      await s.close();
    }
  });
});

describe('FsStorage with a Unix socket where a stored file belongs', () => {
  it('reads it as nothing stored, as stat says, not as a failure of the storage', async () => {
    const data = await mkdtemp(join(tmpdir(), 'godepot-sock-'));
    dirs.push(data);
    const s = await FsStorage.open(data);
    const key = 'mod/example.com/x/@v/v1.0.0.mod';
    await mkdir(join(data, 'mod', 'example.com', 'x', '@v'), { recursive: true });
    const srv = createServer().listen(join(data, key));
    try {
      await new Promise((r) => srv.once('listening', r));
      expect(await s.stat(key)).toBeNull();
      // Opening a socket fails with ENXIO: a 5xx naming the storage for what is only something that is no file.
      expect(await s.get(key)).toBeNull();
      expect(await s.open(key)).toBeNull();
    } finally {
      srv.close();
      await s.close();
    }
  });
});
