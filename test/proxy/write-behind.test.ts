// A miss is answered once its bytes are verified; the artifact is moved under
// its key behind the answer (issue 16: cold fill). What that must not change:
// one upstream fetch per artifact while the write is pending, nothing served
// that was not verified, the same ETag before and after the write, shutdown
// waiting for the write, and a failed write costing a refetch, not an error.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { closeAll, removeDir, startGodepot, type RunningGodepot, type RawSettings } from '../support/godepot.js';
import { waitFor } from '../support/ports.js';
import { GatedStorage } from '../support/gated-storage.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { fetchAll as get, sha256hex as sha } from '../support/http.js';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The writes held at the gate: artifacts only (the checksum database's head and records go through). */
const ARTIFACT = (key: string): boolean => key.startsWith('mod/');

describe('answers a verified miss before its write lands', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  const mods = new Map<string, BuiltModule>();
  const running: RunningGodepot[] = [];

  const start = async (storage: MemoryStorage, extra: RawSettings = {}): Promise<RunningGodepot> => {
    const g = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, ...extra },
      { storage },
    );
    running.push(g);
    return g;
  };
  const fetches = (path: string): number => upstream.requests.filter((r) => r.decodedPath.endsWith(path)).length;

  beforeAll(async () => {
    const fixtures = Array.from({ length: 4 }, (_, i) => ({
      path: `example.com/wb${i}`,
      version: 'v1.0.0',
      files: {
        'go.mod': `module example.com/wb${i}\n`,
        'wb.go': `package wb${i}\n`,
        'data.txt': 'y'.repeat(30_000 + i),
      },
    }));
    for (const b of await buildModules(fixtures)) mods.set(b.path, b);
    upstream = await FakeGoProxy.start([...mods.values()]);
    sumdb = await FakeSumDb.start({ records: [...mods.values()] });
  }, 60_000);
  afterEach(async () => {
    upstream.resetLog();
    await closeAll(running);
  });
  afterAll(async () => {
    await upstream.close();
    await sumdb.close();
  });

  it('serves .mod and .zip verified while the write is pending, fetches once, and stores them after', async () => {
    const storage = new GatedStorage(ARTIFACT);
    // Memory cache off: the second request cannot be a memory hit, only a share of the pending fetch.
    const g = await start(storage, { 'memory-cache': '0' });
    const m = mods.get('example.com/wb0') as BuiltModule;
    for (const [ext, want] of [
      ['mod', m.mod],
      ['zip', m.zip],
    ] as const) {
      const path = `/example.com/wb0/@v/v1.0.0.${ext}`;
      const first = await get(g.url + path);
      expect(first.status).toBe(200);
      expect(first.headers.get('x-godepot-verification')).toBe('verified');
      expect(sha(first.body)).toBe(sha(want));
      // Answered, not yet stored: a second request shares the answer instead of fetching again.
      expect(await storage.stat(`mod/example.com/wb0/@v/v1.0.0.${ext}`)).toBeNull();
      const second = await get(g.url + path);
      expect(second.status).toBe(200);
      expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
      expect(fetches(path)).toBe(1);
    }
    // (The .info may be held too: it is read ahead once the .mod was fetched, read-ahead.ts.)
    expect(storage.held).toEqual(
      expect.arrayContaining(['mod/example.com/wb0/@v/v1.0.0.mod', 'mod/example.com/wb0/@v/v1.0.0.zip']),
    );
    storage.letThrough();
    await g.g.service.idle();
    expect(await storage.get('mod/example.com/wb0/@v/v1.0.0.zip')).toEqual(m.zip);
    expect(await storage.get('mod/example.com/wb0/@v/v1.0.0.mod')).toEqual(m.mod);
    expect(await storage.get('mod/example.com/wb0/@v/v1.0.0.info')).toEqual(m.info);
  });

  it('serves a zip too large for memory from its verified staged bytes while the write is pending', async () => {
    const storage = new GatedStorage(ARTIFACT);
    // Zips above 256 bytes are not held in memory: this one is staged on storage, verified there and read from there.
    const g = await start(storage, { 'memory-cache-item': '256B' });
    const m = mods.get('example.com/wb0') as BuiltModule;
    expect(m.zip.length).toBeGreaterThan(256);
    const path = '/example.com/wb0/@v/v1.0.0.zip';
    const first = await get(g.url + path);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-godepot-verification')).toBe('verified');
    expect(first.headers.get('x-godepot-cache')).toBe('miss');
    expect(sha(first.body)).toBe(sha(m.zip));
    expect(storage.held).toContain('mod/example.com/wb0/@v/v1.0.0.zip');
    expect(await storage.stat('mod/example.com/wb0/@v/v1.0.0.zip')).toBeNull();
    // While still pending: another request shares the staged bytes, a range of them too.
    const second = await get(g.url + path);
    expect(sha(second.body)).toBe(sha(m.zip));
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    const part = await get(g.url + path, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.body).toEqual(m.zip.subarray(100, 200));
    expect(fetches(path)).toBe(1);
    storage.letThrough();
    await g.g.service.idle();
    expect(await storage.get('mod/example.com/wb0/@v/v1.0.0.zip')).toEqual(m.zip);
    const hit = await get(g.url + path);
    expect(hit.headers.get('x-godepot-cache')).toBe('hit');
    expect(hit.headers.get('etag')).toBe(first.headers.get('etag'));
  });

  it('a client still reading the staged zip when the write lands gets every byte; its descriptor is closed after it', async () => {
    // On the filesystem, with a zip large enough that a paused client holds its answer mid-way.
    const [big] = await buildModules([
      {
        path: 'example.com/wbbig',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/wbbig\n', 'big.bin': randomBytes(8 << 20) },
      },
    ]);
    const up = await FakeGoProxy.start([big as BuiltModule]);
    const db = await FakeSumDb.start({ records: [big as BuiltModule] });
    const g = await startGodepot({ upstream: up.url, sumdb: `${db.vkey} ${db.url}` });
    try {
      const chunks: Buffer[] = [];
      let paused!: () => void;
      const firstChunk = new Promise<void>((r) => (paused = r));
      let resume!: () => void;
      const done = new Promise<number>((resolve, reject) => {
        request(`${g.url}/example.com/wbbig/@v/v1.0.0.zip`, (res) => {
          res.on('data', (c: Buffer) => {
            chunks.push(c);
            if (chunks.length === 1) {
              res.pause();
              resume = () => res.resume();
              paused();
            }
          });
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        })
          .on('error', reject)
          .end();
      });
      await firstChunk;
      // The write lands (flushed, renamed into place) while the client has read only the start.
      await g.g.service.idle();
      expect(await g.g.storage.stat('mod/example.com/wbbig/@v/v1.0.0.zip')).not.toBeNull();
      // The staged file's descriptor (the file now under its key) is closed once the last reader is done.
      const stored = join(g.data, 'mod/example.com/wbbig/@v/v1.0.0.zip');
      const openOnStored = async (): Promise<number> => {
        const fds = await readdir('/proc/self/fd');
        const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
        return targets.filter((t) => t === stored).length;
      };
      // Still open after the commit: the paused client's answer is read from it.
      expect(await openOnStored()).toBeGreaterThan(0);
      resume();
      expect(await done).toBe(200);
      expect(sha(Buffer.concat(chunks))).toBe(sha((big as BuiltModule).zip));
      await waitFor(async () => (await openOnStored()) === 0, 5_000, 'the staged zip was never closed');
    } finally {
      await g.close();
      await removeDir(g.data);
      await up.close();
      await db.close();
    }
  }, 60_000);

  it("gives the stored file's ETag on the miss (memory cache off: the second answer comes from storage)", async () => {
    const storage = new MemoryStorage();
    const g = await start(storage, { 'memory-cache': '0' });
    const path = '/example.com/wb1/@v/v1.0.0.zip';
    const miss = await get(g.url + path);
    expect(miss.headers.get('x-godepot-cache')).toBe('miss');
    await g.g.service.idle();
    const hit = await get(g.url + path);
    expect(hit.headers.get('x-godepot-cache')).toBe('hit');
    expect(hit.headers.get('etag')).toBe(miss.headers.get('etag'));
    expect(fetches(path)).toBe(1);
  });

  it('shutdown waits for a pending write', async () => {
    const storage = new GatedStorage(ARTIFACT);
    const g = await start(storage);
    expect((await get(`${g.url}/example.com/wb2/@v/v1.0.0.info`)).status).toBe(200);
    running.splice(running.indexOf(g), 1);
    const closing = g.close();
    // Turns of the event loop, not time: a close that did not wait would get to its storage meanwhile.
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(storage.writtenAtClose).toBe(-1);
    storage.letThrough();
    await closing;
    expect(storage.writtenAtClose).toBe(1);
    expect(await storage.stat('mod/example.com/wb2/@v/v1.0.0.info')).not.toBeNull();
    await removeDir(g.data);
  });

  it('a write that fails after the answer is logged, and the next request fetches again', async () => {
    const storage = new GatedStorage(ARTIFACT);
    const g = await start(storage, { 'memory-cache': '0' });
    const path = '/example.com/wb3/@v/v1.0.0.mod';
    expect((await get(g.url + path)).status).toBe(200);
    storage.failWith(Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' }));
    await g.g.service.idle();
    expect(g.logs.some((l) => String(l.msg).includes('could not be stored') && String(l.err).includes('EIO'))).toBe(
      true,
    );
    expect(await storage.stat('mod/example.com/wb3/@v/v1.0.0.mod')).toBeNull();
    const again = await get(g.url + path);
    expect(again.status).toBe(200);
    expect(fetches(path)).toBe(2);
  });
});
