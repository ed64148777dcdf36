// A disk or network file system that hangs (an NFS server gone, a failing
// volume): a file-system call on it does not return, and cannot be taken back.
// FsStorage bounds the calls a client's answer waits for (reads, staging
// writes, the writability check /readyz makes): past the deadline the caller
// gets a StorageUnavailableError naming the data folder — a 503 that lets the
// go command fall through to its next GOPROXY entry, not a build that hangs —
// and when the disk answers again, what the late calls opened is closed.
//
// The hang is real: this process's libuv threads are all held in calls that do
// not return (opens of FIFOs nobody writes to), so every file-system call of
// the storage waits behind them, as behind a hung mount.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { type FileHandle, mkdtemp, open, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStorage } from '../../src/storage/fs.js';
import { unblock } from '../support/fifo.js';
import { StorageUnavailableError } from '../../src/storage/index.js';
import { FakeClock } from '../support/clock.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/**
 * Ends the holding opens, again until each has: one not yet in a thread when unblocked (a thread still busy with
 * something before it) would find no writer and wait forever.
 */
async function release(fifos: string[], holding: Promise<FileHandle>[]): Promise<void> {
  let done = false;
  const all = Promise.all(holding).finally(() => (done = true));
  while (!done) {
    for (const f of fifos) unblock(f);
    await new Promise((r) => setImmediate(r));
  }
  for (const h of await all) await h.close();
}

/** libuv's threads in this process: all held, every file-system call waits behind them. */
const THREADS = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

/** A data folder in a fresh temporary folder, its storage's deadline (5 s) on a clock the test moves. */
async function hangingDisk(): Promise<{ base: string; data: string; clock: FakeClock; s: FsStorage }> {
  const base = await mkdtemp(join(tmpdir(), 'godepot-hung-'));
  dirs.push(base);
  const data = join(base, 'data');
  const clock = new FakeClock();
  return { base, data, clock, s: await FsStorage.open(data, { timeout: 5_000, clock }) };
}

/** Makes n FIFOs under base (added to fifos, for release and clean-up). */
function makeFifos(base: string, n: number, fifos: string[]): string[] {
  for (let i = 0; i < n; i++) {
    fifos.push(join(base, `fifo${i}`));
    execFileSync('mkfifo', [fifos[i] as string]);
  }
  return fifos;
}

/** Holds every libuv thread of this process in an open of a FIFO of its own (ended by release). */
function holdThreads(base: string, fifos: string[]): Promise<FileHandle>[] {
  return makeFifos(base, THREADS, fifos).map((f) => open(f, 'r'));
}

/** 'answered', or the error p rejected with. */
function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'answered',
    (err: unknown) => err,
  );
}

/** 'settled' when p settles within a few turns of the event loop (no time passes), else 'still waiting'. */
function settlesAtOnce(p: Promise<unknown>): Promise<string> {
  let turns = 0;
  const later = new Promise<string>((resolve) => {
    const turn = (): void => {
      if (++turns >= 50) resolve('still waiting');
      else setImmediate(turn);
    };
    turn();
  });
  return Promise.race([p.then(() => 'settled'), later]);
}

/** Waits (a bounded number of turns) until the storage's own staging folder is empty; returns what is left. */
async function stagingLeft(data: string, s: FsStorage): Promise<string[]> {
  const staging = join(data, '.staging', s.owner);
  for (let i = 0; i < 200 && (await readdir(staging)).length > 0; i++) await new Promise((r) => setImmediate(r));
  return readdir(staging);
}

describe('FsStorage on a disk that hangs', () => {
  it('fails each call a client waits for at the deadline, naming the data folder, and recovers', async () => {
    const { base, data, clock, s } = await hangingDisk();
    const fifos: string[] = [];
    try {
      await s.put('mod/a', Buffer.from('module a\n'));
      const holding = holdThreads(base, fifos);
      const calls = {
        get: s.get('mod/a'),
        stat: s.stat('mod/a'),
        open: s.open('mod/a'),
        stage: s.stage(),
        checkWritable: s.checkWritable(),
      };
      const settled = Object.values(calls).map(outcome);
      expect(clock.pending).toBe(5);
      await clock.advance(5_000);
      const errors = await Promise.all(settled);
      for (const err of errors) {
        expect(err).toBeInstanceOf(StorageUnavailableError);
        expect((err as StorageUnavailableError).store).toBe(data);
      }
      expect((errors[0] as Error).message).toBe(
        `the storage ${data} is unavailable: reading mod/a did not finish within 5s: the disk or network file system under it does not answer`,
      );
      // Until they return, the disk is taken as hung: a call is not even queued behind them, it fails at once.
      await clock.advance(2_000);
      await expect(s.get('mod/a')).rejects.toThrow(
        `the storage ${data} is unavailable: reading mod/a not tried: a call made 7s ago has not returned`,
      );
      expect(clock.pending).toBe(0);
      // The disk answers again: the late calls finish (what they opened is closed), and the storage serves on.
      for (const f of fifos) unblock(f);
      for (const h of await Promise.all(holding)) await h.close();
      expect(await stagingLeft(data, s)).toEqual([]);
      expect(await s.get('mod/a')).toEqual(Buffer.from('module a\n'));
    } finally {
      for (const f of fifos) unblock(f);
      await s.close();
    }
  });

  it('closes an open blob whose read went late at once, and its descriptor once the disk answers', async () => {
    const { base, data, clock, s } = await hangingDisk();
    const fifos: string[] = [];
    /** How many of this process's descriptors are open on the stored file. */
    const openOnFile = async (): Promise<number> => {
      let n = 0;
      for (const fd of await readdir('/proc/self/fd')) {
        const to = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
        if (to.startsWith(data) && to.endsWith('mod/a')) n++;
      }
      return n;
    };
    try {
      await s.put('mod/a', Buffer.from('module a\n'));
      const blob = await s.open('mod/a');
      if (!blob) throw new Error('no blob');
      const holding = holdThreads(base, fifos);
      const read = outcome(blob.read());
      await clock.advance(5_000);
      expect(await read).toBeInstanceOf(StorageUnavailableError);
      // The response that read for gives up (sendArtifact closes the blob in its finally): its close must not wait
      // for the read in flight, or the request hangs as long as the disk does, its client with it.
      expect(await settlesAtOnce(blob.close())).toBe('settled');
      await release(fifos, holding);
      for (let i = 0; i < 200 && (await openOnFile()) > 0; i++) await new Promise((r) => setImmediate(r));
      expect(await openOnFile()).toBe(0);
    } finally {
      for (const f of fifos) unblock(f);
      await s.close();
    }
  });

  it('discards a staged file whose write went late at once, and removes it once the disk answers', async () => {
    const { base, data, clock, s } = await hangingDisk();
    const fifos: string[] = [];
    try {
      const staged = await s.stage();
      const holding = holdThreads(base, fifos);
      const write = outcome(staged.write(Buffer.from('PK')));
      await clock.advance(5_000);
      expect(await write).toBeInstanceOf(StorageUnavailableError);
      // The fetch that wrote gives up (stageZipReader discards in its catch): its discard must not wait for the
      // write in flight, or the client waiting for the answer waits as long as the disk hangs.
      expect(await settlesAtOnce(staged.discard())).toBe('settled');
      await release(fifos, holding);
      expect(await stagingLeft(data, s)).toEqual([]);
    } finally {
      for (const f of fifos) unblock(f);
      await s.close();
    }
  });
});

describe('FsStorage on a disk whose flush hangs', () => {
  it('discards a finished staged file at once while its flush is in flight, and removes it once the disk answers', async () => {
    const { base, data, s } = await hangingDisk();
    const fifos: string[] = [];
    try {
      const staged = await s.stage();
      await staged.write(Buffer.from('PK'));
      const threads = THREADS;
      makeFifos(base, threads, fifos);
      // All threads but one held; finish's stat goes to the last, and the last hold queued behind it takes that
      // thread next: the fsync finish starts (a durable storage's) then waits, as on a disk whose flush hangs.
      const holding = fifos.slice(0, threads - 1).map((f) => open(f, 'r'));
      const finished = staged.finish();
      holding.push(open(fifos[threads - 1] as string, 'r'));
      await finished;
      // The verdict refuses the bytes, or the client leaves (fetchAndStore discards in its finally, before the
      // answer): the discard must not wait for the flush, or the client waits as long as the disk does.
      expect(await settlesAtOnce(staged.discard())).toBe('settled');
      await release(fifos, holding);
      expect(await stagingLeft(data, s)).toEqual([]);
    } finally {
      for (const f of fifos) unblock(f);
      await s.close();
    }
  });
});
