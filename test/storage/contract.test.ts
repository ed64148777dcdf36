// One list of behaviours every storage backend must have (the unstorage way):
// each backend runs the same tests.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile, mkdir, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  FsStorage,
  MemoryStorage,
  InvalidKeyError,
  S3Storage,
  checkKey,
  type Storage,
} from '../../src/storage/index.js';
import { findComponent } from '../support/components.js';
import { startMinio, useAwsEnv, type RunningMinio } from '../support/minio.js';
import { STAGING_STALE_MS } from '../../src/storage/fs.js';

async function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  for (const c of closers.reverse()) await c();
});

// The real MinIO, started on first use and shared: each test gets a prefix of its own.
const minioBinary = findComponent('minio');
let minio: Promise<RunningMinio> | null = null;
async function minioStorage(): Promise<Storage> {
  minio ??= (async () => {
    const m = await startMinio(minioBinary as string);
    const restore = useAwsEnv(m.env);
    closers.push(async () => {
      restore();
      await m.stop();
    });
    await m.makeBucket('contract');
    return m;
  })();
  const m = await minio;
  const s = await S3Storage.open({
    bucket: 'contract',
    prefix: `run-${randomBytes(6).toString('hex')}`,
    endpoint: m.endpoint,
    timeout: 5000,
  });
  closers.push(() => s.close());
  return s;
}

const backends: Array<[string, () => Promise<Storage>]> = [
  ['memory', async () => new MemoryStorage()],
  [
    'fs',
    async () => {
      const d = await mkdtemp(join(tmpdir(), 'godepot-storage-'));
      dirs.push(d);
      return FsStorage.open(d);
    },
  ],
  ...(minioBinary ? [['s3 (MinIO)', minioStorage] as [string, () => Promise<Storage>]] : []),
];

describe.each(backends)('%s storage contract', (_name, make) => {
  it('returns null for missing keys', async () => {
    const s = await make();
    expect(await s.get('mod/a/@v/v1.0.0.zip')).toBeNull();
    expect(await s.stat('mod/a/@v/v1.0.0.zip')).toBeNull();
    expect(await s.open('mod/a/@v/v1.0.0.zip')).toBeNull();
  });

  it('reads a key that lies above or below another as absent (a folder, or a file on its path, in fs)', async () => {
    const s = await make();
    await s.put('p/q/r', Buffer.from('1'));
    for (const key of ['p/q', 'p/q/r/t']) {
      expect(await s.get(key)).toBeNull();
      expect(await s.stat(key)).toBeNull();
      expect(await s.open(key)).toBeNull();
      await s.delete(key);
    }
    expect(await s.get('p/q/r')).toEqual(Buffer.from('1'));
  });

  it('keeps keys with the characters module paths and versions may hold (+ ~ ! _ . -) as they are', async () => {
    // An object store signs and addresses keys in URLs: '+' is a space in a query, '~' and '!' are escaped by
    // some encoders. Every operation must find the object under the key it was given.
    const s = await make();
    const keys = [
      'mod/github.com/!azure/go-autorest/@v/v10.15.4+incompatible.zip',
      'mod/example.com/a~b/c_d/@v/v1.0.0-rc.1+meta.mod',
    ];
    for (const [i, k] of keys.entries()) {
      const data = Buffer.from(`data ${i}`);
      await s.put(k, data);
      expect(await s.get(k)).toEqual(data);
      expect((await s.stat(k))?.size).toBe(data.length);
      const blob = await s.open(k);
      expect(blob && (await collect(blob.stream(1)))).toEqual(data.subarray(1));
      await blob?.close();
      expect(await s.create(k, Buffer.from('other'))).toBe(false);
    }
    expect((await s.list('mod/')).sort()).toEqual([...keys].sort());
    const moved = 'mod/github.com/!azure/go-autorest/@v/v10.15.5+incompatible.zip';
    await s.move(keys[0] as string, moved);
    expect(await s.get(keys[0] as string)).toBeNull();
    expect(await s.get(moved)).toEqual(Buffer.from('data 0'));
    await s.delete(moved);
    expect(await s.stat(moved)).toBeNull();
  });

  it('puts and reads back whole and by range', async () => {
    const s = await make();
    const data = Buffer.from('0123456789');
    await s.put('mod/example.com/!a/@v/v1.0.0.mod', data);
    expect(await s.get('mod/example.com/!a/@v/v1.0.0.mod')).toEqual(data);
    const st = await s.stat('mod/example.com/!a/@v/v1.0.0.mod');
    expect(st?.size).toBe(10);
    const blob = await s.open('mod/example.com/!a/@v/v1.0.0.mod');
    expect(blob).not.toBeNull();
    if (!blob) return;
    expect(await collect(blob.stream())).toEqual(data);
    expect(await collect(blob.stream(3, 7))).toEqual(Buffer.from('3456'));
    expect(await blob.read(8)).toEqual(Buffer.from('89'));
    expect(await collect(blob.stream(5, 5))).toEqual(Buffer.alloc(0));
    // A reused buffer: the result holds exactly the range, whatever into held before.
    const into = Buffer.alloc(6, 'x');
    expect(await blob.read(2, 6, into)).toEqual(Buffer.from('2345'));
    expect(await blob.read(7, 10, into)).toEqual(Buffer.from('789'));
    await blob.close();
  });

  it('records the write time the writer gives (read from its clock), else its own', async () => {
    const s = await make();
    const given = Date.parse('2001-02-03T04:05:06.789Z');
    const writtenAt = async (key: string): Promise<number[]> => {
      const blob = await s.open(key);
      await blob?.close();
      return [(await s.stat(key))?.mtimeMs ?? NaN, blob?.mtimeMs ?? NaN];
    };
    await s.put('mod/a/@v/list', Buffer.from('v1.0.0\n'), { mtimeMs: given });
    // fs keeps file times in a double of seconds: within a microsecond.
    for (const t of await writtenAt('mod/a/@v/list')) expect(Math.abs(t - given)).toBeLessThan(0.01);
    await s.put('mod/a/@v/list', Buffer.from('v1.0.0\nv1.1.0\n'), { mtimeMs: given + 60_000 });
    for (const t of await writtenAt('mod/a/@v/list')) expect(Math.abs(t - (given + 60_000))).toBeLessThan(0.01);
    await s.put('mod/b/@v/list', Buffer.from('v1.0.0\n'));
    for (const t of await writtenAt('mod/b/@v/list')) expect(t).toBeGreaterThan(given + 365 * 86_400_000);
    // The epoch is a date too (import dates a list it made so, older than any answer of an upstream).
    await s.put('mod/c/@v/list', Buffer.from('v1.0.0\n'), { mtimeMs: 0 });
    for (const t of await writtenAt('mod/c/@v/list')) expect(t).toBe(0);
  });

  it('keeps staged bytes invisible until commit, and replaces atomically', async () => {
    const s = await make();
    await s.put('k/x', Buffer.from('old'));
    const staged = await s.stage();
    await staged.write(Buffer.from('new '));
    await staged.write(Buffer.from('bytes'));
    expect(await s.get('k/x')).toEqual(Buffer.from('old'));
    const view = await staged.finish();
    expect(await view.read()).toEqual(Buffer.from('new bytes'));
    await staged.commit('k/x');
    await staged.discard();
    expect(await s.get('k/x')).toEqual(Buffer.from('new bytes'));
  });

  it("keeps the finished blob's write time through commit (an ETag given before the commit is the stored one's)", async () => {
    const s = await make();
    const staged = await s.stage();
    await staged.write(Buffer.from('verified bytes'));
    const view = await staged.finish();
    await staged.commit('k/dated');
    await staged.discard();
    const stored = await s.stat('k/dated');
    expect(stored?.size).toBe(view.size);
    expect(Math.floor(stored?.mtimeMs ?? NaN)).toBe(Math.floor(view.mtimeMs));
  });

  it('keeps the finished blob readable after commit until discard (a reader that began before the commit finishes)', async () => {
    const s = await make();
    const bytes = Buffer.from('x'.repeat(200_000));
    const staged = await s.stage();
    await staged.write(bytes);
    const view = await staged.finish();
    const head = await view.read(0, 1000);
    await staged.commit('k/read-on');
    const chunks: Buffer[] = [];
    for await (const c of view.stream(1000)) chunks.push(c as Buffer);
    expect(Buffer.concat([head, ...chunks])).toEqual(bytes);
    expect(await view.read(150_000, 150_010)).toEqual(bytes.subarray(150_000, 150_010));
    await staged.discard();
    expect(await s.get('k/read-on')).toEqual(bytes);
  });

  it('discards staged bytes', async () => {
    const s = await make();
    const staged = await s.stage();
    await staged.write(Buffer.from('junk'));
    await staged.discard();
    expect(await s.list('k/')).toEqual([]);
  });

  it('creates a blob only where there is none: of concurrent creates exactly one writes, and what it wrote stays', async () => {
    const s = await make();
    const key = 'ledger/modules/corp.example/!lib/@v/v1.0.0.json';
    expect(await s.create(key, Buffer.from('first'), { mtimeMs: 1_700_000_000_000 })).toBe(true);
    expect(await s.create(key, Buffer.from('second'))).toBe(false);
    expect(await s.get(key)).toEqual(Buffer.from('first'));
    expect((await s.stat(key))?.mtimeMs).toBe(1_700_000_000_000);
    // A put still replaces (create is only for first records).
    await s.put(key, Buffer.from('third'));
    expect(await s.create(key, Buffer.from('fourth'))).toBe(false);
    expect(await s.get(key)).toEqual(Buffer.from('third'));

    const raced = 'ledger/modules/corp.example/race/@v/v0.1.0.json';
    const bodies = Array.from({ length: 8 }, (_, i) => Buffer.from(`writer ${i}`));
    const won = await Promise.all(bodies.map((b) => s.create(raced, b)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await s.get(raced)).toEqual(bodies[won.indexOf(true)]);
    expect((await s.list('ledger/')).sort()).toEqual([key, raced].sort());
  });

  it('swaps a blob only from what the writer read: of concurrent swaps from one blob exactly one writes', async () => {
    const s = await make();
    const key = 'sumdb/sum.example.com/latest';
    expect(await s.swap(key, Buffer.from('1'), Buffer.from('2'))).toBe(false);
    expect(await s.get(key)).toBeNull();
    expect(await s.swap(key, null, Buffer.from('1'), { mtimeMs: 1_700_000_000_000 })).toBe(true);
    expect((await s.stat(key))?.mtimeMs).toBe(1_700_000_000_000);
    expect(await s.swap(key, null, Buffer.from('x'))).toBe(false);
    expect(await s.swap(key, Buffer.from('0'), Buffer.from('x'))).toBe(false);
    expect(await s.swap(key, Buffer.from('1'), Buffer.from('2'))).toBe(true);
    expect(await s.get(key)).toEqual(Buffer.from('2'));

    const bodies = Array.from({ length: 8 }, (_, i) => Buffer.from(`writer ${i}`));
    const won = await Promise.all(bodies.map((b) => s.swap(key, Buffer.from('2'), b)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await s.get(key)).toEqual(bodies[won.indexOf(true)]);
    expect(await s.list('sumdb/')).toEqual([key]);
  });

  it('deletes, moves and lists', async () => {
    const s = await make();
    await s.put('a/b/c', Buffer.from('1'));
    await s.put('a/d', Buffer.from('2'));
    await s.put('z/e', Buffer.from('3'));
    expect((await s.list('a/')).sort()).toEqual(['a/b/c', 'a/d']);
    await s.move('a/d', 'q/r/s');
    expect(await s.get('a/d')).toBeNull();
    expect(await s.get('q/r/s')).toEqual(Buffer.from('2'));
    await s.delete('a/b/c');
    await s.delete('a/b/c');
    expect(await s.list('a/')).toEqual([]);
    await s.checkWritable();
  });

  it('lists keys with their sizes, as list lists them', async () => {
    const s = await make();
    await s.put('m/x/@v/v1.0.0.zip', randomBytes(1500));
    await s.put('m/x/@v/v1.0.0.mod', Buffer.from('module x\n'));
    await s.put('m/y/@v/list', Buffer.alloc(0));
    await s.put('n/z', Buffer.from('outside the prefix'));
    const byKey = (a: { key: string }, b: { key: string }): number => (a.key < b.key ? -1 : 1);
    expect((await s.listSized('m/')).sort(byKey)).toEqual([
      { key: 'm/x/@v/v1.0.0.mod', size: 9 },
      { key: 'm/x/@v/v1.0.0.zip', size: 1500 },
      { key: 'm/y/@v/list', size: 0 },
    ]);
    expect((await s.listSized('m/')).map((b) => b.key).sort()).toEqual((await s.list('m/')).sort());
    await s.put('m/x/@v/v1.0.0.mod', Buffer.from('module x // rewritten\n'));
    await s.delete('m/y/@v/list');
    expect((await s.listSized('m/x/')).sort(byKey)).toEqual([
      { key: 'm/x/@v/v1.0.0.mod', size: 22 },
      { key: 'm/x/@v/v1.0.0.zip', size: 1500 },
    ]);
    expect(await s.listSized('none/')).toEqual([]);
  });

  it('refuses keys that could escape the root', async () => {
    const s = await make();
    for (const key of [
      '../x',
      'a/../../x',
      '/etc/passwd',
      'a//b',
      'a/./b',
      'a\\b',
      'a\0b',
      '.staging/x',
      'a/.hidden',
      '',
    ]) {
      await expect(s.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(s.create(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(s.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
    }
  });
});

describe('checkKey', () => {
  it('accepts escaped module keys and tile keys', () => {
    for (const k of [
      'mod/github.com/!azure/go@v/v1.0.0+incompatible.zip',
      'sumdb/sum.golang.org/tile/8/0/x001/234.p/17',
      'mod/gopkg.in/yaml.v2/@v/list',
    ]) {
      expect(() => checkKey(k)).not.toThrow();
    }
  });
});

describe('FsStorage crash leftovers', () => {
  it('removes staging leftovers of starts that are gone, whatever their PID says; keeps live ones', async () => {
    const d = await mkdtemp(join(tmpdir(), 'godepot-storage-'));
    dirs.push(d);
    const st = join(d, '.staging');
    await mkdir(st, { recursive: true });
    // The older layout: pid 2^22+1 is above Linux's pid_max default range (dead); our own PID is a previous
    // life of this process (PID 1 in a container), never a live writer.
    await writeFile(join(st, '4194305-deadbeef'), 'half-written');
    await writeFile(join(st, `${process.pid}-cafe`), 'half-written by a previous life');
    const owner = async (id: string, pid: number, ageMs = 0): Promise<void> => {
      await mkdir(join(st, id));
      await writeFile(join(st, id, 'blob'), 'staged');
      await writeFile(join(st, `${id}.lock`), JSON.stringify({ pid }));
      const t = new Date(Date.now() - ageMs);
      await utimes(join(st, `${id}.lock`), t, t);
    };
    await owner('00000000000000a1', process.pid); // a previous life of this PID
    await owner('00000000000000a2', 4194305); // dead
    await owner('00000000000000a3', process.ppid, STAGING_STALE_MS + 60_000); // PID reused by someone else
    await owner('00000000000000a4', process.ppid); // a live sibling
    await mkdir(join(st, '00000000000000a5')); // no lock at all
    const s = await FsStorage.open(d);
    try {
      // The lock stale by date is looked at again (after two refreshes' time): not refreshed, it goes.
      expect((await readdir(st)).sort()).toEqual(
        [
          '00000000000000a3',
          '00000000000000a3.lock',
          '00000000000000a4',
          '00000000000000a4.lock',
          s.owner,
          `${s.owner}.lock`,
        ].sort(),
      );
      expect(await s.sweepQuiet()).toBe(1);
      expect((await readdir(st)).sort()).toEqual(
        ['00000000000000a4', '00000000000000a4.lock', s.owner, `${s.owner}.lock`].sort(),
      );
      // A second storage on the same folder in this process keeps the first one's staging.
      const t = await FsStorage.open(d);
      await t.close();
      expect(await readdir(st)).toContain(s.owner);
    } finally {
      await s.close();
    }
    expect((await readdir(st)).sort()).toEqual(['00000000000000a4', '00000000000000a4.lock']);
  });

  it("keeps a live owner's staging whose lock looks stale because the clock stepped forward", async () => {
    const d = await mkdtemp(join(tmpdir(), 'godepot-storage-'));
    dirs.push(d);
    const st = join(d, '.staging');
    await mkdir(join(st, '00000000000000b1'), { recursive: true });
    await writeFile(join(st, '00000000000000b1', 'blob'), 'being staged');
    const lock = join(st, '00000000000000b1.lock');
    await writeFile(lock, JSON.stringify({ pid: process.ppid }));
    // Refreshed a minute ago, by a clock a day behind the one reading it now.
    const before = new Date(Date.now() - 24 * 3600_000 - 60_000);
    await utimes(lock, before, before);
    const s = await FsStorage.open(d);
    try {
      expect(await readdir(st)).toContain('00000000000000b1');
      // Its owner's next refresh, on the clock as it is now.
      const now = new Date();
      await utimes(lock, now, now);
      expect(await s.sweepQuiet()).toBe(0);
      expect(await readdir(join(st, '00000000000000b1'))).toEqual(['blob']);
    } finally {
      await s.close();
    }
  });
});
