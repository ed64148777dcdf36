// FsStorage's staging folder against a second start racing a first one, and
// against a symlink planted where .staging belongs; and the folders a write makes.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFolderError, FsStorage, renameInto } from '../../src/storage/fs.js';
import { StorageUnavailableError } from '../../src/storage/index.js';
import { FakeClock } from '../support/clock.js';
import { unblock } from '../support/fifo.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'godepot-staging-'));
  dirs.push(d);
  return d;
}

describe('FsStorage staging', () => {
  it('keeps the staging folder of a start whose fresh lock is still being written', async () => {
    const d = await tempDir();
    const st = join(d, '.staging');
    await mkdir(join(st, '00000000000000b1'), { recursive: true });
    await writeFile(join(st, '00000000000000b1', 'blob'), 'staged');
    // writeFile(…, { flag: 'wx' }) creates the lock, then writes it: another start can read it empty.
    await writeFile(join(st, '00000000000000b1.lock'), '');
    const s = await FsStorage.open(d);
    try {
      expect(await readdir(st)).toEqual(expect.arrayContaining(['00000000000000b1', '00000000000000b1.lock']));
    } finally {
      await s.close();
    }
  });

  it('opens a folder whose staging locks are a FIFO or links (a foreign export folder), removing them unread', async () => {
    const d = await tempDir();
    const st = join(d, '.staging');
    await mkdir(join(st, '00000000000000d1'), { recursive: true });
    execFileSync('mkfifo', [join(st, '00000000000000d1.lock')]);
    // A link to a file elsewhere that names a live process: not a lock godepot wrote.
    const elsewhere = join(await tempDir(), 'lock');
    await writeFile(elsewhere, JSON.stringify({ pid: process.ppid, host: hostname() }));
    await symlink(elsewhere, join(st, '00000000000000d2.lock'));
    const opening = FsStorage.open(d, { durable: false });
    const settled = await Promise.race([
      opening.then(() => 'opened'),
      new Promise((r) => setTimeout(r, 10_000, 'hung')),
    ]);
    // Free the reads blocked on the FIFO (one per staging entry of that owner), so the test process can end.
    const freeing = settled === 'hung' ? setInterval(() => unblock(join(st, '00000000000000d1.lock')), 50) : undefined;
    const s = await opening.finally(() => clearInterval(freeing));
    try {
      expect(settled).toBe('opened');
      expect((await readdir(st)).filter((n) => /^0{13}d/.test(n))).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it("keeps a fresh lock's staging folder written in another container, even with this process's PID", async () => {
    const d = await tempDir();
    const st = join(d, '.staging');
    await mkdir(join(st, '00000000000000c1'), { recursive: true });
    // Every container's first process is PID 1: the same PID on another host is not this start's earlier life.
    await writeFile(join(st, '00000000000000c1.lock'), JSON.stringify({ pid: process.pid, host: 'another-container' }));
    await mkdir(join(st, '00000000000000c2'), { recursive: true });
    await writeFile(join(st, '00000000000000c2.lock'), JSON.stringify({ pid: process.pid, host: hostname() }));
    const s = await FsStorage.open(d);
    try {
      const left = await readdir(st);
      expect(left).toEqual(expect.arrayContaining(['00000000000000c1', '00000000000000c1.lock']));
      // The same PID on this host is this process's earlier life: gone.
      expect(left).not.toContain('00000000000000c2');
    } finally {
      await s.close();
    }
  });

  it('makes the data folder again when it was removed while running: writes and the readiness check work', async () => {
    const d = await tempDir();
    const s = await FsStorage.open(d);
    try {
      await s.put('mod/a', Buffer.from('a'));
      await rm(d, { recursive: true, force: true });
      await s.checkWritable();
      await s.put('mod/b', Buffer.from('b'));
      expect(await s.create('mod/c', Buffer.from('c'))).toBe(true);
      const staged = await s.stage();
      await staged.write(Buffer.from('d'));
      await staged.commit('mod/d');
      await staged.discard();
      expect((await s.list('mod/')).sort()).toEqual(['mod/b', 'mod/c', 'mod/d']);
      // With its lock again: another start does not take the live staging folder for a dead one's.
      expect((await readdir(join(d, '.staging'))).filter((n) => n.endsWith('.lock'))).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('refuses a .staging that is a symlink, and removes nothing where it points', async () => {
    const d = await tempDir();
    const outside = await tempDir();
    await writeFile(join(outside, 'precious'), 'not godepot’s');
    await symlink(outside, join(d, '.staging'));
    await expect(FsStorage.open(d)).rejects.toThrow(DataFolderError);
    expect(await readdir(outside)).toEqual(['precious']);
  });
});

describe('FsStorage symlinks planted in the data folder', () => {
  it('neither writes nor deletes through a folder symlink to outside the data folder', async () => {
    const d = await tempDir();
    const outside = await tempDir();
    await writeFile(join(outside, 'victim'), 'not godepot’s');
    await symlink(outside, join(d, 'cache'));
    const s = await FsStorage.open(d);
    try {
      await expect(s.put('cache/planted', Buffer.from('x'))).rejects.toThrow(/leads outside \/.* through a symlink/);
      await expect(s.delete('cache/victim')).rejects.toThrow(/leads outside \/.* through a symlink/);
      await expect(s.move('cache/victim', 'moved')).rejects.toThrow(/leads outside \/.* through a symlink/);
      expect(await readdir(outside)).toEqual(['victim']);
      // A data folder reached through a symlink of its own is fine.
      await symlink(d, join(outside, 'link'));
      const t = await FsStorage.open(join(outside, 'link'));
      await t.put('mod/a', Buffer.from('a'));
      await t.delete('mod/a');
      await t.close();
    } finally {
      await s.close();
    }
  });
});

describe('FsStorage where a folder stands for a file, or a file for a folder (made by hand)', () => {
  it('reads such a key as absent, and a write to it names the path and what to remove', async () => {
    const d = await tempDir();
    const s = await FsStorage.open(d);
    try {
      await mkdir(join(d, 'mod', 'a', '@v', 'list'), { recursive: true });
      await writeFile(join(d, 'mod', 'b'), 'a file');
      expect(await s.get('mod/a/@v/list')).toBeNull();
      expect(await s.get('mod/b/@v/list')).toBeNull();
      await expect(s.put('mod/a/@v/list', Buffer.from('v1.0.0\n'))).rejects.toThrow(
        `storage cannot write ${join(d, 'mod', 'a', '@v', 'list')}: a folder is there, where godepot keeps a file; remove the folder`,
      );
      await expect(s.put('mod/b/@v/list', Buffer.from('v1.0.0\n'))).rejects.toThrow(
        `storage cannot write ${join(d, 'mod', 'b', '@v', 'list')}: a path element of it is a file, where godepot keeps a folder; remove that file`,
      );
      await expect(s.create('mod/b/@v/v1.0.0.json', Buffer.from('{}'))).rejects.toThrow(
        /a path element of it is a file/,
      );
      await s.put('mod/c', Buffer.from('x'));
      await expect(s.move('mod/c', 'mod/a/@v/list')).rejects.toThrow(/a folder is there/);
    } finally {
      await s.close();
    }
  });
});

describe('renameInto: the folders a write makes (each then flushed into its parent)', () => {
  it('makes none when the folder exists, and names each one it made, outermost first', async () => {
    const root = await mkdtemp(join(tmpdir(), 'godepot-rename-'));
    dirs.push(root);
    await writeFile(join(root, 'a'), 'one');
    expect(await renameInto(join(root, 'a'), join(root, 'a2'))).toEqual([]);
    await mkdir(join(root, 'x'));
    await writeFile(join(root, 'b'), 'two');
    expect(await renameInto(join(root, 'b'), join(root, 'x', 'y', 'z', 'b'))).toEqual([
      join(root, 'x', 'y'),
      join(root, 'x', 'y', 'z'),
    ]);
    expect(await readdir(join(root, 'x', 'y', 'z'))).toEqual(['b']);
  });
});

describe('FsStorage swap across starts on one data folder', () => {
  const KEY = 'sumdb/sum.example.com/latest';
  const lockOf = (d: string): string =>
    join(d, '.staging', `swap-${createHash('sha256').update(KEY).digest('hex').slice(0, 32)}`);

  it('waits for a live start holding the lock on the key, then swaps from what is there then', async () => {
    const d = await tempDir();
    const clock = new FakeClock();
    const a = await FsStorage.open(d, { durable: false, clock });
    const b = await FsStorage.open(d, { durable: false });
    try {
      await a.put(KEY, Buffer.from('1'));
      // B is in the middle of a swap of the key: its lock is there.
      await writeFile(lockOf(d), b.owner);
      const swapping = a.swap(KEY, Buffer.from('1'), Buffer.from('2 from a'));
      await clock.until(() => clock.pending > 0, 'a waiting for the lock');
      await clock.advance(1000);
      expect(await a.get(KEY)).toEqual(Buffer.from('1'));
      // B swaps and lets go: A now finds what B wrote, not what it read.
      await b.put(KEY, Buffer.from('2 from b'));
      await rm(lockOf(d));
      await clock.advance(5);
      expect(await swapping).toBe(false);
      expect(await a.get(KEY)).toEqual(Buffer.from('2 from b'));
      expect((await readdir(join(d, '.staging'))).filter((n) => n.startsWith('swap-'))).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('gives up on a lock a live start holds past the wait, with a message that says so', async () => {
    const d = await tempDir();
    const clock = new FakeClock();
    const a = await FsStorage.open(d, { durable: false, clock });
    const b = await FsStorage.open(d, { durable: false });
    try {
      await writeFile(lockOf(d), b.owner);
      const swapping = a.swap(KEY, null, Buffer.from('1'));
      swapping.catch(() => undefined);
      await clock.until(() => clock.pending > 0, 'a waiting for the lock');
      await clock.advance(10_000);
      const err = await swapping.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect((err as Error).message).toMatch(/another godepot process on this data folder has held its lock for 10s/);
      expect(await a.get(KEY)).toBeNull();
      expect(await readFile(lockOf(d), 'utf8')).toBe(b.owner);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("takes over a lock whose start is gone (killed in a swap), and a new start's cleaning removes it", async () => {
    const d = await tempDir();
    const a = await FsStorage.open(d, { durable: false });
    try {
      // A start that died: its staging lock names a PID that no longer runs.
      const dead = execFileSync(process.execPath, ['-p', 'process.pid'], { encoding: 'utf8' }).trim();
      await writeFile(
        join(d, '.staging', '00000000000000e1.lock'),
        JSON.stringify({ pid: Number(dead), host: hostname() }),
      );
      await writeFile(lockOf(d), '00000000000000e1');
      expect(await a.swap(KEY, null, Buffer.from('1'))).toBe(true);
      expect(await a.get(KEY)).toEqual(Buffer.from('1'));

      // An empty lock (being written, on a file system without hard links) left long ago by a start that died.
      await writeFile(lockOf(d), '');
      const longAgo = new Date(Date.now() - 60_000);
      await utimes(lockOf(d), longAgo, longAgo);
      expect(await a.swap(KEY, Buffer.from('1'), Buffer.from('2'))).toBe(true);

      await writeFile(lockOf(d), '00000000000000e1');
      const b = await FsStorage.open(d, { durable: false });
      await b.close();
      expect((await readdir(join(d, '.staging'))).filter((n) => n.startsWith('swap-'))).toEqual([]);
    } finally {
      await a.close();
    }
  });
});
