// FsStorage: the default backend. Every key is a file below the data folder;
// writes go to a private staging folder first and are renamed into place after
// an fsync, so a reader (or a restart after SIGKILL) only ever sees whole files.
import { constants, existsSync } from 'node:fs';
import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rm,
  stat,
  unlink,
  utimes,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import {
  checkKey,
  sameBlob,
  type BlobInfo,
  type ListedBlob,
  type OpenBlob,
  type PutOptions,
  type StagedBlob,
  type Storage,
  StorageUnavailableError,
} from './storage.js';
import { LATE, passed, systemClock, within, type WaitingClock } from '../util/clock.js';

const STAGING = '.staging';
/** A staging owner whose lock has not been refreshed for this long is gone, whatever its PID says. */
export const STAGING_STALE_MS = 10 * 60_000;
/** How often a running owner refreshes its lock. */
const HEARTBEAT_MS = 60_000;
/** A staging lock's largest size: it holds a PID and a host name. */
const MAX_LOCK = 4096;

/** How long a swap waits for another start's lock on its key when no --storage-timeout bounds it. */
const SWAP_WAIT_MS = 10_000;
/** How often a swap waiting for a lock looks again. */
const SWAP_POLL_MS = 5;
/** A swap lock's name in the staging folder: `swap-` and a hash of its key; it holds its owner's id. */
const SWAP_LOCK = /^swap-[0-9a-f]{32}$/;
/** A start's id: its staging folder's name, and what its locks hold. */
const OWNER = /^[0-9a-f]{16}$/;

/** Staging owners open in this process (several FsStorage may share one folder, e.g. in tests). */
const liveOwners = new Set<string>();
/** Names the machine (or container) in staging locks: a PID means something only there. */
const HOST = hostname();

function errCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

function isNotFound(err: unknown): boolean {
  return errCode(err) === 'ENOENT';
}

/**
 * No file under this key: nothing there, a folder there (a key that is the
 * prefix of others, or made by hand), or a file where a folder of its path
 * should be. Object stores and memory answer such keys as absent too.
 */
function isNoFile(err: unknown): boolean {
  const code = errCode(err);
  return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR';
}

/**
 * A write that found a folder where its file goes, or a file where a folder
 * of its path goes (made by hand, or left by another program): said in
 * words, with the path and what to remove, instead of an errno.
 */
function inTheWay(err: unknown, target: string): unknown {
  const code = errCode(err);
  if (code === 'EISDIR')
    return new Error(
      `storage cannot write ${target}: a folder is there, where godepot keeps a file; remove the folder`,
    );
  if (code === 'ENOTDIR')
    return new Error(
      `storage cannot write ${target}: a path element of it is a file, where godepot keeps a folder; remove that file`,
    );
  return err;
}

/** The data folder cannot be used: says which folder and why, in words (not an errno and a syscall). */
export class DataFolderError extends Error {
  constructor(
    readonly folder: string,
    readonly reason: string,
  ) {
    super(`data folder ${folder}: ${reason}`);
    this.name = 'DataFolderError';
  }
}

function describeFsError(err: unknown, what: string): string {
  switch (errCode(err)) {
    case 'EROFS':
      return `${what}: read-only file system`;
    case 'EACCES':
    case 'EPERM':
      return `${what}: permission denied (not writable by this user)`;
    case 'ENOTDIR':
      return `${what}: a path element is a file, not a folder`;
    case 'ENOSPC':
      return `${what}: no space left on the device`;
    case 'ENOENT':
      return `${what}: a parent folder does not exist and cannot be created there`;
    case 'ELOOP':
      return `${what}: the path goes round a loop of symbolic links; give a folder the links lead to in the end`;
    default:
      return `${what}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * A lock's text and date; null when it is not a small regular file godepot wrote. Anything else there (a FIFO,
 * whose read would wait for a writer for ever; a link to a device or to a huge file) was put there by someone
 * else, in a folder that may be foreign (an export's destination): its owner is gone, and it is removed unread.
 */
async function readLock(file: string): Promise<{ text: string; mtimeMs: number } | null> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    const st = await fh.stat();
    if (!st.isFile() || st.size > MAX_LOCK) return null;
    return { text: await fh.readFile('utf8'), mtimeMs: st.mtimeMs };
  } catch {
    return null;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * Creates folder and its missing parents, one mkdir per missing element
 * (bounded by the path's depth: never a retry loop, whatever the file system
 * answers — /proc answers ENOENT to every mkdir).
 */
async function makeFolder(folder: string): Promise<void> {
  const missing: string[] = [];
  for (let dir = folder; ; dir = dirname(dir)) {
    try {
      const st = await stat(dir);
      if (!st.isDirectory()) throw new DataFolderError(folder, `${dir} exists and is not a folder`);
      break;
    } catch (err) {
      if (err instanceof DataFolderError) throw err;
      if (errCode(err) === 'ENOTDIR') {
        // Which element is the file: the fix is to name a folder instead.
        let file = dirname(dir);
        while (
          dirname(file) !== file &&
          !(await stat(file).then(
            (st) => !st.isDirectory(),
            () => false,
          ))
        )
          file = dirname(file);
        throw new DataFolderError(folder, `${file} is a file, not a folder`);
      }
      if (!isNotFound(err)) throw new DataFolderError(folder, describeFsError(err, `cannot look at ${dir}`));
      missing.push(dir);
      if (dirname(dir) === dir) break;
    }
  }
  for (const dir of missing.reverse()) {
    try {
      await mkdir(dir);
    } catch (err) {
      if (errCode(err) === 'EEXIST') continue;
      throw new DataFolderError(folder, describeFsError(err, `cannot create ${dir}`));
    }
  }
}

/** Whether root is a data folder some FsStorage has opened (it holds the staging folder every start makes). */
export function isDataFolder(root: string): boolean {
  return existsSync(join(root, STAGING));
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

export interface FsStorageOptions {
  /** fsync files and their folders on commit (default true). */
  durable?: boolean;
  /**
   * Deadline (ms) of each read, staging write and writability check (default: none). A call on a disk or network
   * file system that hangs cannot be taken back, but the request waiting for it fails with a 503 that says so,
   * and /readyz says it, instead of hanging with it (see bounded()).
   */
  timeout?: number;
  /** What the deadline is measured on (default: the system clock). */
  clock?: WaitingClock;
}

/**
 * Staging ownership. Each FsStorage stages into `.staging/<id>/`, where <id>
 * is random per start, and holds the lock `.staging/<id>.lock` (its PID,
 * refreshed every minute). Another start removes a staging folder when its
 * lock is missing, names a dead PID, names its own PID (a previous life of
 * this process: PID 1 in a container, or a restart before the dead process
 * was reaped), or has not been refreshed for STAGING_STALE_MS (the PID was
 * reused by someone else). A PID alone is never proof of ownership. A date
 * alone is not proof of death either: a wall clock stepped forward (NTP, a VM
 * resumed after a pause) makes a live owner's lock look a day old until its
 * next refresh. So a lock stale by date is removed only when, looked at again
 * after two refreshes' time (on a timer, which the wall clock does not move),
 * it has not been refreshed.
 */
export class FsStorage implements Storage {
  readonly kind = 'fs';
  private readonly durable: boolean;
  private readonly timeout: number | undefined;
  private readonly clock: WaitingClock;
  /** Bounded calls past their deadline that have not returned yet, and since when the first has been running. */
  private lateCalls = 0;
  private hungSince: number | null = null;
  /** This start's staging folder. */
  private readonly staging: string;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Owners whose lock was stale by date, with its date then: swept by sweepQuiet() unless refreshed since. */
  private readonly quiet = new Map<string, number>();
  private quietCheck: NodeJS.Timeout | undefined;

  private constructor(
    readonly root: string,
    /** root with its symlinks resolved: what every folder written in must lie in. */
    private readonly realRoot: string,
    opts: FsStorageOptions,
    readonly owner: string,
  ) {
    this.durable = opts.durable ?? true;
    this.timeout = opts.timeout;
    this.clock = opts.clock ?? systemClock;
    this.staging = join(root, STAGING, owner);
  }

  /**
   * Opens (creating if needed) the data folder and removes staging leftovers
   * of starts that are gone (interrupted writes). Staging folders of live
   * starts are kept, so several workers can share one folder. Throws
   * DataFolderError when the folder cannot be used.
   */
  static async open(root: string, opts: FsStorageOptions = {}): Promise<FsStorage> {
    const abs = resolve(root);
    const staging = join(abs, STAGING);
    await makeFolder(staging);
    // cleanStaging removes what it does not recognise there: through a planted symlink, that would be
    // someone else's files.
    const st = await lstat(staging).catch((err: unknown) => {
      throw new DataFolderError(abs, describeFsError(err, `cannot look at ${staging}`));
    });
    if (!st.isDirectory())
      throw new DataFolderError(abs, `${staging} is a symlink, not a folder; remove it (godepot creates its own)`);
    const s = new FsStorage(abs, await realpath(abs), opts, randomBytes(8).toString('hex'));
    try {
      await writeFile(s.lockFile(s.owner), JSON.stringify({ pid: process.pid, host: HOST }) + '\n', { flag: 'wx' });
      await mkdir(s.staging);
    } catch (err) {
      throw new DataFolderError(abs, describeFsError(err, `cannot write in ${join(abs, STAGING)}`));
    }
    liveOwners.add(s.owner);
    await s.cleanStaging();
    s.heartbeat = setInterval(() => {
      const now = new Date();
      utimes(s.lockFile(s.owner), now, now).catch(() => undefined);
    }, HEARTBEAT_MS);
    s.heartbeat.unref();
    return s;
  }

  private lockFile(owner: string): string {
    return join(this.root, STAGING, `${owner}.lock`);
  }

  /** Whether the start that owns a staging folder may still be writing there. */
  private async ownerAlive(owner: string, now: number): Promise<boolean> {
    if (liveOwners.has(owner)) return true;
    const lock = await readLock(this.lockFile(owner));
    if (!lock) return false;
    const { text, mtimeMs } = lock;
    const alive = this.lockAlive(text);
    if (alive && now - mtimeMs > STAGING_STALE_MS) {
      // Stale by date: looked at again later, gone if not refreshed by then (see the class comment).
      this.quiet.set(owner, mtimeMs);
    }
    return alive;
  }

  /** What a lock's text says of its owner, its date aside. */
  private lockAlive(text: string): boolean {
    let pid: unknown;
    let host: unknown;
    try {
      ({ pid, host } = JSON.parse(text) as { pid?: unknown; host?: unknown });
    } catch {
      // A fresh lock that does not parse is being written by its owner (open() creates it, then fills it).
      return true;
    }
    // A start on another machine or in another container (where every first process is PID 1): its PID
    // says nothing here, and its lock is fresh.
    if (typeof host === 'string' && host !== HOST) return true;
    return typeof pid === 'number' && pid !== process.pid && pidAlive(pid);
  }

  /** Removes staging leftovers of starts that are gone; returns how many entries were removed. */
  async cleanStaging(now = Date.now()): Promise<number> {
    let removed = 0;
    const dir = join(this.root, STAGING);
    for (const name of await readdir(dir)) {
      let gone: boolean;
      if (name.endsWith('.lock')) {
        const owner = name.slice(0, -'.lock'.length);
        gone = !(await this.ownerAlive(owner, now));
      } else if (SWAP_LOCK.test(name)) {
        gone = await this.swapLockGone(join(dir, name), now);
      } else if (OWNER.test(name)) {
        gone = !(await this.ownerAlive(name, now));
      } else {
        // A file of the older layout, `<pid>-<random>`: its PID is all there is.
        const pid = Number.parseInt(name.split('-')[0] ?? '', 10);
        gone = !(Number.isFinite(pid) && pid > 0 && pid !== process.pid && pidAlive(pid));
      }
      if (!gone) continue;
      await rm(join(dir, name), { force: true, recursive: true });
      removed++;
    }
    if (this.quiet.size > 0 && this.quietCheck === undefined) {
      this.quietCheck = setTimeout(() => {
        this.quietCheck = undefined;
        void this.sweepQuiet().catch(() => undefined);
      }, 2 * HEARTBEAT_MS);
      this.quietCheck.unref();
    }
    return removed;
  }

  /** Removes the staging of owners found stale by date whose lock has not been refreshed since; returns how many. */
  async sweepQuiet(): Promise<number> {
    let removed = 0;
    const quiet = [...this.quiet];
    this.quiet.clear();
    for (const [owner, mtimeMs] of quiet) {
      if (liveOwners.has(owner)) continue;
      const dated = await stat(this.lockFile(owner)).then(
        (st) => st.mtimeMs,
        () => undefined,
      );
      // Refreshed since: its owner runs (the clock had stepped forward).
      if (dated !== undefined && dated !== mtimeMs) continue;
      await rm(join(this.root, STAGING, owner), { force: true, recursive: true });
      await rm(this.lockFile(owner), { force: true });
      removed++;
    }
    return removed;
  }

  private file(key: string): string {
    checkKey(key);
    const p = join(this.root, ...key.split('/'));
    // checkKey already excludes traversal; this is the belt to its braces.
    if (!p.startsWith(this.root + sep)) throw new Error(`storage key escapes the data folder: ${key}`);
    return p;
  }

  /**
   * Throws unless the folder of a file about to be written or removed lies in
   * the data folder once symlinks are followed: a symlink planted in the data
   * folder (cache -> /etc) must not let godepot write or delete elsewhere.
   * Reads are not checked: they change nothing.
   */
  private async checkFolder(file: string): Promise<void> {
    let dir = dirname(file);
    let real: string;
    for (;;) {
      try {
        real = await realpath(dir);
        break;
      } catch (err) {
        // A folder still to be made: what matters is where its nearest existing parent is.
        if (!isNotFound(err) || dir === this.root) throw err;
        dir = dirname(dir);
      }
    }
    if (real !== this.realRoot && !real.startsWith(this.realRoot + sep))
      throw new Error(
        `storage refuses ${file}: ${dir} leads outside ${this.root} (to ${real}) through a symlink; remove the symlink`,
      );
  }

  private stagingFile(): string {
    return join(this.staging, randomBytes(8).toString('hex'));
  }

  get(key: string): Promise<Buffer | null> {
    return this.bounded(`reading ${key}`, () => this.read(key));
  }

  private async read(key: string): Promise<Buffer | null> {
    const f = await this.openFile(key);
    if (!f) return null;
    try {
      return await f.fh.readFile();
    } finally {
      await f.fh.close();
    }
  }

  stat(key: string): Promise<BlobInfo | null> {
    return this.bounded(`looking at ${key}`, () => this.statFile(key));
  }

  private async statFile(key: string): Promise<BlobInfo | null> {
    try {
      const st = await stat(this.file(key));
      if (!st.isFile()) return null;
      return { size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      if (isNoFile(err)) return null;
      throw err;
    }
  }

  async open(key: string): Promise<OpenBlob | null> {
    const f = await this.bounded(
      `opening ${key}`,
      () => this.openFile(key),
      (late) => late?.fh.close(),
    );
    return f && openFileBlob(f.fh, f.size, f.mtimeMs, true, (what, call) => this.bounded(`${what} ${key}`, call));
  }

  /**
   * call(), or a StorageUnavailableError once it has taken longer than the timeout: the disk (or the network file
   * system) under the data folder hangs. The call itself goes on (a file-system call cannot be taken back, and
   * holds one of libuv's threads until it returns); what it gives when it does is handed to late (a handle to
   * close). Until it has returned, the disk is taken as hung: other calls fail at once rather than queue behind
   * it (each would hold a queued request and its buffers for as long as the disk hangs). Only the calls a
   * client's answer waits for are bounded: a commit, the fsync of a large zip among them, lands behind the
   * answer and may legitimately take longer.
   */
  bounded<T>(what: string, call: () => Promise<T>, late?: (value: T) => unknown): Promise<T> {
    if (this.timeout === undefined) return call();
    const ms = this.timeout;
    if (this.hungSince !== null) {
      const s = Math.round((this.clock.now() - this.hungSince) / 1000);
      return Promise.reject(
        new StorageUnavailableError(
          this.root,
          `${what} not tried: a call made ${s}s ago has not returned (the disk or network file system under it does not answer)`,
        ),
      );
    }
    const p = call();
    return within(p, ms, this.clock).then((r) => {
      if (r !== LATE) return r;
      this.lateCalls++;
      this.hungSince ??= this.clock.now() - ms;
      void p
        .then(late, () => undefined)
        .finally(() => {
          if (--this.lateCalls === 0) this.hungSince = null;
        })
        .catch(() => undefined);
      throw new StorageUnavailableError(
        this.root,
        `${what} did not finish within ${ms / 1000}s: the disk or network file system under it does not answer`,
      );
    });
  }

  /**
   * The stored file under key, open for reading; null when there is none, or what is there is not a file. Opened
   * without waiting (O_NONBLOCK: nothing for a regular file): a FIFO put where a file belongs would otherwise
   * hold the open, and one of libuv's four threads, until something writes to it — four such and every file
   * access, DNS lookup and zip inflation of the process waits behind them.
   */
  private async openFile(key: string): Promise<{ fh: FileHandle; size: number; mtimeMs: number } | null> {
    let fh: FileHandle;
    try {
      fh = await open(this.file(key), constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      // ENXIO: a socket (or a device file with no device) is there, no file either.
      if (isNoFile(err) || errCode(err) === 'ENXIO') return null;
      throw err;
    }
    try {
      const st = await fh.stat();
      if (st.isFile()) return { fh, size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      await fh.close();
      throw err;
    }
    await fh.close();
    return null;
  }

  async put(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<void> {
    const staged = await this.stage();
    try {
      await staged.write(data);
      if (opts.mtimeMs !== undefined) await staged.dateAs(opts.mtimeMs);
      await staged.commit(key);
    } finally {
      await staged.discard();
    }
  }

  async create(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<boolean> {
    const target = this.file(key);
    await this.checkFolder(target).catch((err: unknown) => {
      throw inTheWay(err, target);
    });
    const tmp = this.stagingFile();
    const fh = await this.openStaging(tmp, 'wx');
    try {
      try {
        await this.writeWhole(fh, data, opts);
      } finally {
        await fh.close();
      }
      // link(2), unlike rename, fails where the target exists: of concurrent creates exactly one links. A
      // file system without hard links (some FUSE, SMB, NFS mounts) gets an exclusive create in place instead.
      const made = await placeInto(tmp, target, (from, to) =>
        link(from, to).catch((err: NodeJS.ErrnoException) => {
          if (!NO_LINKS.has(err.code ?? '')) throw err;
          return this.createInPlace(to, data, opts);
        }),
      );
      if (this.durable) await syncFolders(target, made);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw inTheWay(err, target);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Compare-and-swap under a lock file shared by every start on this data folder (workers of one server, tools
   * run beside it): `.staging/swap-<hash of key>`, made whole by link(2) and holding its owner's id. A lock
   * whose owner is gone (the same test as for staging folders) is removed by whoever finds it; one whose owner
   * lives is waited for, at most the storage timeout (else SWAP_WAIT_MS), then the swap fails as unavailable.
   */
  async swap(key: string, expected: Uint8Array | null, data: Uint8Array, opts: PutOptions = {}): Promise<boolean> {
    this.file(key);
    const lock = join(this.root, STAGING, `swap-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`);
    await this.takeSwapLock(lock, key);
    try {
      if (!sameBlob(await this.get(key), expected)) return false;
      await this.put(key, data, opts);
      return true;
    } finally {
      await rm(lock, { force: true });
    }
  }

  private async takeSwapLock(lock: string, key: string): Promise<void> {
    const waitMs = this.timeout ?? SWAP_WAIT_MS;
    const since = this.clock.now();
    for (;;) {
      const mine = this.stagingFile();
      const fh = await this.openStaging(mine, 'wx');
      try {
        await fh.writeFile(this.owner);
        await fh.close();
        // A file system without hard links: an exclusive create, which another start may read empty for a moment.
        await link(mine, lock).catch((err: unknown) =>
          NO_LINKS.has(String(errCode(err))) ? writeFile(lock, this.owner, { flag: 'wx' }) : Promise.reject(err),
        );
        return;
      } catch (err) {
        if (errCode(err) !== 'EEXIST') throw inTheWay(err, lock);
      } finally {
        await fh.close().catch(() => undefined);
        await rm(mine, { force: true });
      }
      if (await this.swapLockGone(lock, this.clock.now())) {
        // Two starts that find one dead owner's lock at once may both remove it, the second removing the
        // first's new lock: a crash in a swap (milliseconds) met by two swaps of its key at that moment.
        await rm(lock, { force: true });
        continue;
      }
      if (passed(since, waitMs, this.clock.now()))
        throw new StorageUnavailableError(
          this.root,
          `writing ${key}: another godepot process on this data folder has held its lock for ${waitMs / 1000}s`,
        );
      await this.clock.sleep(SWAP_POLL_MS);
    }
  }

  /**
   * Whether a swap lock's owner is gone: a lock that is gone already, or is not what a swap writes, counts as gone;
   * an empty one (being written, where there are no hard links) only once it is older than a swap's wait.
   */
  private async swapLockGone(lock: string, now: number): Promise<boolean> {
    const read = await readLock(lock);
    if (read?.text === '') return passed(read.mtimeMs, SWAP_WAIT_MS, now);
    const owner = read?.text ?? '';
    return !OWNER.test(owner) || !(await this.ownerAlive(owner, now));
  }

  /** Writes data as a new file's whole content, dated as opts says, flushed when durable. */
  private async writeWhole(fh: FileHandle, data: Uint8Array, opts: PutOptions): Promise<void> {
    await fh.writeFile(data);
    if (opts.mtimeMs !== undefined) await fh.utimes(new Date(opts.mtimeMs), new Date(opts.mtimeMs));
    if (this.durable) await fh.sync();
  }

  /**
   * create on a file system without hard links: an exclusive create of the
   * target itself, flushed; removed again if writing it fails (a torn first
   * record would otherwise stand for good). A reader may see it while it is
   * written: what create is for (small first records) is written in one call.
   */
  private async createInPlace(target: string, data: Uint8Array, opts: PutOptions): Promise<void> {
    const fh = await open(target, 'wx', 0o644);
    try {
      await this.writeWhole(fh, data, opts);
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(target, { force: true });
      throw err;
    }
    await fh.close();
  }

  async stage(): Promise<FsStagedBlob> {
    const tmp = this.stagingFile();
    const fh = await this.bounded(
      'creating a staging file',
      () => this.openStaging(tmp, 'wx+'),
      (late) => late.close().then(() => rm(tmp, { force: true })),
    );
    return new FsStagedBlob(this, tmp, fh);
  }

  /**
   * Creates a staging file. A staging folder found missing (the data folder
   * removed while godepot runs) is made again: storage then fills afresh.
   */
  private async openStaging(tmp: string, flags: string): Promise<FileHandle> {
    try {
      return await open(tmp, flags, 0o644);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await mkdir(this.staging, { recursive: true });
      // With its lock, or the next start would take this live process's staging folder for a dead one's.
      await writeFile(this.lockFile(this.owner), JSON.stringify({ pid: process.pid, host: HOST }) + '\n');
      return open(tmp, flags, 0o644);
    }
  }

  /** Renames a finished staging file into place (used by FsStagedBlob). */
  async install(tmp: string, key: string): Promise<void> {
    const target = this.file(key);
    try {
      await this.checkFolder(target);
      const made = await renameInto(tmp, target);
      if (this.durable) await syncFolders(target, made);
    } catch (err) {
      throw inTheWay(err, target);
    }
  }

  get isDurable(): boolean {
    return this.durable;
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    try {
      await this.checkFolder(file);
      await unlink(file);
    } catch (err) {
      // A folder under the key is no blob (reads say absent): not godepot's to remove.
      if (!isNoFile(err)) throw err;
    }
  }

  async move(from: string, to: string): Promise<void> {
    const source = this.file(from);
    const target = this.file(to);
    try {
      await this.checkFolder(source);
      await this.checkFolder(target);
      const made = await renameInto(source, target);
      if (this.durable) await syncFolders(target, made);
    } catch (err) {
      throw inTheWay(err, target);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    await this.walk(prefix, async (files) => {
      for (const f of files) out.push(f.key);
    });
    return out;
  }

  async listSized(prefix: string): Promise<ListedBlob[]> {
    const out: ListedBlob[] = [];
    // One folder's files at a time: a module's @v folder holds three per version.
    await this.walk(prefix, async (files) => {
      const found = await Promise.all(
        files.map(async ({ key, file }) => {
          try {
            const st = await lstat(file);
            return st.isFile() ? { key, size: st.size } : null;
          } catch (err) {
            if (isNotFound(err)) return null; // removed since its folder was read
            throw err;
          }
        }),
      );
      for (const b of found) if (b) out.push(b);
    });
    return out;
  }

  /** Calls found with the files of each folder under prefix, recursively (symlinks and other non-files left out). */
  private async walk(
    prefix: string,
    found: (files: Array<{ key: string; file: string }>) => Promise<void>,
  ): Promise<void> {
    checkKey(prefix, true);
    const base = join(this.root, ...prefix.split('/').filter((s) => s !== ''));
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      const files: Array<{ key: string; file: string }> = [];
      for (const e of entries) {
        const r = rel + e.name;
        if (e.isDirectory()) await walk(join(dir, e.name), r + '/');
        else if (e.isFile()) files.push({ key: r, file: join(dir, e.name) });
      }
      await found(files);
    };
    await walk(base, prefix.endsWith('/') ? prefix : prefix + '/');
  }

  checkWritable(): Promise<void> {
    return this.bounded('writing a test file', () => this.writeTestFile());
  }

  private async writeTestFile(): Promise<void> {
    const tmp = this.stagingFile();
    const fh = await this.openStaging(tmp, 'wx');
    try {
      await fh.write('ok');
    } finally {
      await fh.close();
      await rm(tmp, { force: true });
    }
  }

  /** Stops refreshing the lock and removes this start's (empty) staging folder and lock. */
  async close(): Promise<void> {
    if (this.heartbeat === undefined) return;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    clearTimeout(this.quietCheck);
    this.quietCheck = undefined;
    liveOwners.delete(this.owner);
    await rm(this.staging, { recursive: true, force: true }).catch(() => undefined);
    await rm(this.lockFile(this.owner), { force: true }).catch(() => undefined);
  }
}

class FsStagedBlob implements StagedBlob {
  private done = false;
  private finished: OpenBlob | null = null;
  /** The fsync finish() started; commit() waits for it, so it runs while the caller verifies the bytes. */
  private synced: Promise<void> = Promise.resolve();
  private size = 0;

  constructor(
    private readonly storage: FsStorage,
    private readonly tmp: string,
    private readonly fh: FileHandle,
  ) {}

  /** Writes in flight, a late one (past the storage's deadline, on a disk that hangs) among them. */
  private writing = 0;
  /** The fsync finish() started has not returned (it is not bounded: a commit waits for it behind the answer). */
  private syncing = false;

  write(chunk: Uint8Array): Promise<void> {
    return this.storage.bounded('writing a staging file', () => {
      this.writing++;
      return this.writeAll(chunk).finally(() => this.writing--);
    });
  }

  private async writeAll(chunk: Uint8Array): Promise<void> {
    if (this.finished || this.done) throw new Error('write after finish');
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off, this.size);
      off += bytesWritten;
      this.size += bytesWritten;
    }
  }

  /** Records ms (since epoch) as the file's write time; the rename into place keeps it. */
  async dateAs(ms: number): Promise<void> {
    if (this.finished || this.done) throw new Error('dateAs after finish');
    const t = new Date(ms);
    await this.fh.utimes(t, t);
  }

  async finish(): Promise<OpenBlob> {
    if (this.finished) return this.finished;
    const st = await this.fh.stat();
    if (this.storage.isDurable) {
      this.syncing = true;
      this.synced = this.fh.sync().finally(() => (this.syncing = false));
      // Awaited by commit(); a blob discarded instead has no use for the outcome.
      this.synced.catch(() => undefined);
    }
    // The staged blob shares the writer's descriptor; closing it is discard's job.
    this.finished = openFileBlob(this.fh, st.size, st.mtimeMs, false);
    return this.finished;
  }

  async commit(key: string): Promise<void> {
    await this.finish();
    await this.synced;
    await this.storage.install(this.tmp, key);
    // The descriptor stays open for readers of the finished blob (the rename does not move it); discard closes it.
    this.done = true;
  }

  async discard(): Promise<void> {
    if ((this.writing > 0 || this.syncing) && !this.done) {
      // FileHandle.close() waits for the writes (and the fsync) in flight: after one went late, the fetch that gave
      // up on it, or refused the bytes (the client waiting for its answer), would wait as long as the disk hangs.
      // The file goes when they return.
      this.done = true;
      void this.fh
        .close()
        .catch(() => undefined)
        .then(() => rm(this.tmp, { force: true }))
        .catch(() => undefined);
      return;
    }
    await this.fh.close().catch(() => undefined);
    if (!this.done) {
      this.done = true;
      await rm(this.tmp, { force: true });
    }
  }
}

/**
 * A file that is not a stored key, opened as a blob: a zip the go command
 * made, read (and streamed to clients) from its descriptor, which keeps the
 * bytes readable after the file is unlinked. The caller closes it.
 */
export async function openLocalFile(path: string): Promise<OpenBlob> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${path} is not a regular file`);
    return openFileBlob(fh, st.size, st.mtimeMs);
  } catch (err) {
    await fh.close();
    throw err;
  }
}

function openFileBlob(
  fh: FileHandle,
  size: number,
  mtimeMs: number,
  ownsHandle = true,
  bounded: <T>(what: string, call: () => Promise<T>) => Promise<T> = (_what, call) => call(),
): OpenBlob {
  let closed = false;
  /** Reads in flight, a late one (past the storage's deadline, on a disk that hangs) among them. */
  let reading = 0;
  const blob: OpenBlob = {
    size,
    mtimeMs,
    stream(start = 0, end = size): Readable {
      return new FileRangeStream(fh, start, Math.min(end, size));
    },
    read(start = 0, end = size, into?: Buffer): Promise<Buffer> {
      return bounded('reading', () => {
        reading++;
        return readRange(start, end, into).finally(() => reading--);
      });
    },
    async close(): Promise<void> {
      if (closed || !ownsHandle) return;
      closed = true;
      // FileHandle.close() waits for the reads in flight: after one went late, the response that gave up on it
      // would wait (and its client with it) for as long as the disk hangs. The descriptor closes when it returns.
      if (reading > 0) void fh.close().catch(() => undefined);
      else await fh.close();
    },
  };
  async function readRange(start: number, end: number, into?: Buffer): Promise<Buffer> {
    const len = Math.max(0, end - start);
    if (into && into.length < len)
      throw new RangeError(`read buffer of ${into.length} bytes is too small for ${len} bytes`);
    const buf = into ? into.subarray(0, len) : Buffer.allocUnsafe(len);
    let off = 0;
    while (off < len) {
      const { bytesRead } = await fh.read(buf, off, len - off, start + off);
      if (bytesRead === 0) throw new Error('unexpected end of stored file');
      off += bytesRead;
    }
    return buf;
  }
  return blob;
}

/**
 * Renames from to target, making target's folder only when the rename finds
 * it missing (most exist already). Returns the folders it made, outermost
 * first.
 */
export function renameInto(from: string, target: string): Promise<string[]> {
  return placeInto(from, target, rename);
}

/** renameInto with another way of placing the file (link: only where nothing is). */
async function placeInto(
  from: string,
  target: string,
  place: (from: string, to: string) => Promise<void>,
): Promise<string[]> {
  try {
    await place(from, target);
    return [];
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const first = await mkdir(dirname(target), { recursive: true });
  await place(from, target);
  const made: string[] = [];
  if (first === undefined) return made;
  for (let d = dirname(target); ; d = dirname(d)) {
    made.unshift(d);
    if (d === first || dirname(d) === d) return made;
  }
}

/**
 * Makes a rename into target durable: target's folder, and the parent of
 * every folder made for it (a new folder's own entry is in its parent, and
 * a crash could otherwise lose the folder with the file in it).
 */
async function syncFolders(target: string, made: readonly string[]): Promise<void> {
  await fsyncDir(dirname(target));
  for (const d of [...made].reverse()) await fsyncDir(dirname(d));
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** link(2)'s answers on a file system that has no hard links. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

const CHUNK = 64 << 10;

/**
 * Bytes [start, end) of an open file, read positionally through its
 * FileHandle. Unlike fs.ReadStream it never closes the descriptor (destroying
 * a ReadStream does, even with autoClose off), so many streams can share one
 * open blob; and FileHandle.close() waits for reads in flight, so a closed
 * blob can never read from a reused descriptor.
 */
class FileRangeStream extends Readable {
  private pos: number;

  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: CHUNK });
    this.pos = start;
  }

  override _read(): void {
    const n = Math.min(CHUNK, this.end - this.pos);
    if (n <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(n);
    this.fh.read(buf, 0, n, this.pos).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) {
          this.destroy(new Error('unexpected end of stored file'));
          return;
        }
        this.pos += bytesRead;
        this.push(bytesRead === n ? buf : buf.subarray(0, bytesRead));
      },
      (err: unknown) => this.destroy(err as Error),
    );
  }
}
