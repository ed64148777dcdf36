// Clients that stop reading large zips (found in review): each download holds
// its socket and the stored file it streams from for as long as its client
// takes, and the connection cap counted the socket alone. At `ulimit -n 400`
// (cap 272) 300 such clients took every descriptor: /healthz and every other
// request failed to connect, and opens failed with EMFILE as a 500, until the
// socket timeout (120 s) closed them. The cap now leaves each connection a
// second descriptor. A served child with a small descriptor limit, loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { removeDir, spawnGodepot, startGodepot, tempDir } from '../support/godepot.js';

/** Asks for path and reads only the first bytes of the answer; resolves once they came or the connection ended. */
async function stalledReader(url: string, path: string): Promise<Socket> {
  const s = connect(Number(new URL(url).port), '127.0.0.1');
  s.on('error', () => undefined);
  s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  await new Promise<void>((resolve) => {
    s.once('data', () => {
      s.pause();
      resolve();
    });
    s.once('close', () => resolve());
  });
  return s;
}

async function tryGet(url: string): Promise<{ status: number; retryAfter: string | null } | string> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await r.arrayBuffer();
    return { status: r.status, retryAfter: r.headers.get('retry-after') };
  } catch (err) {
    return String(err);
  }
}

describe('clients that stop reading large zips', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let data: string;
  let big: BuiltModule;
  let small: BuiltModule;

  beforeAll(async () => {
    [big, small] = (await buildModules([
      {
        path: 'example.com/stalled/big',
        version: 'v1.0.0',
        // Above the memory cache's largest item (streamed from its file) and what the sockets' buffers take.
        files: { 'go.mod': 'module example.com/stalled/big\n', 'blob.bin': randomBytes(8 << 20) },
      },
      {
        path: 'example.com/stalled/small',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/stalled/small\n' },
      },
    ])) as [BuiltModule, BuiltModule];
    upstream = await FakeGoProxy.start([big, small]);
    sumdb = await FakeSumDb.start({ records: [big, small] });
    data = await tempDir();
    // Stored first, so the served child reads both from files.
    const filler = await startGodepot({ data, upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
    for (const m of [big, small]) expect((await fetch(`${filler.url}/${m.path}/@v/${m.version}.zip`)).status).toBe(200);
    await filler.g.service.idle();
    await filler.close();
  }, 60_000);

  afterAll(async () => {
    await upstream?.close();
    await sumdb?.close();
    if (data) await removeDir(data);
  });

  it('leave the descriptors /healthz and other files need', async () => {
    const g = await spawnGodepot(
      ['--data', data, '--upstream', upstream.url, '--sumdb', `${sumdb.vkey} ${sumdb.url}`],
      {},
      { nofile: 400 },
    );
    const stalled: Socket[] = [];
    try {
      for (let i = 0; i < 300; i += 50)
        stalled.push(
          ...(await Promise.all(
            Array.from({ length: 50 }, () => stalledReader(g.url, `/${big.path}/@v/${big.version}.zip`)),
          )),
        );
      expect(await tryGet(`${g.url}/healthz`)).toEqual({ status: 200, retryAfter: null });
      // Answered, or refused for now with when to ask again: never a failed connection or a 500.
      const other = await tryGet(`${g.url}/${small.path}/@v/${small.version}.zip`);
      expect(
        typeof other === 'object' && (other.status === 200 || (other.status === 503 && other.retryAfter === '5')),
        String(JSON.stringify(other)),
      ).toBe(true);
      expect(g.output()).not.toMatch(/EMFILE/);
      for (const s of stalled) s.destroy();
      expect(await tryGet(`${g.url}/${small.path}/@v/${small.version}.zip`)).toMatchObject({ status: 200 });
    } finally {
      for (const s of stalled) s.destroy();
      await g.stop();
    }
  }, 30_000);
});
