// The cache-hit fast path (an artifact held in memory answered without a
// promise) must answer exactly what the storage path answers: same status,
// headers and bytes for GET, HEAD, If-None-Match and Range, and the same
// access-log line and metrics.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

async function ask(url: string, init?: RequestInit): Promise<Answer> {
  const r = await fetch(url, init);
  const headers: Record<string, string> = {};
  r.headers.forEach((v, k) => {
    if (k !== 'date' && k !== 'keep-alive' && k !== 'connection') headers[k] = v;
  });
  return { status: r.status, headers, body: Buffer.from(await r.arrayBuffer()) };
}

/**
 * Same status, headers and bytes. Bodies are compared with Buffer.equals: a
 * deep toEqual walks a Buffer byte by byte (seconds for a 700 KB zip on a
 * loaded machine), which made this file time out intermittently.
 */
function expectSame(a: Answer, b: Answer, label: string): void {
  expect({ status: a.status, headers: a.headers }, label).toEqual({ status: b.status, headers: b.headers });
  expect(a.body.equals(b.body), `${label}: bodies differ`).toBe(true);
}

describe('cache hits from memory answer as hits from storage do', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let withMemory: RunningGodepot;
  let storageOnly: RunningGodepot;
  let mod: BuiltModule;
  let big: BuiltModule;

  beforeAll(async () => {
    const built = await buildModules([
      {
        path: 'example.com/hit',
        version: 'v1.2.3',
        files: { 'go.mod': 'module example.com/hit\n', 'hit.go': 'package hit\n', 'blob.bin': randomBytes(20_000) },
      },
      // Larger than one streaming chunk (256 KiB), smaller than a memory-cache item (1 MiB).
      {
        path: 'example.com/big',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/big\n', 'blob.bin': randomBytes(700_000) },
      },
    ]);
    mod = built[0] as BuiltModule;
    big = built[1] as BuiltModule;
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    const common = { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'access-log': 'true' };
    withMemory = await startGodepot(common);
    // Both share one data folder, so the stored files (and their etags) are the same.
    storageOnly = await startGodepot({ ...common, data: withMemory.data, 'memory-cache': '0' });
  }, 60_000);

  afterAll(async () => {
    await withMemory?.close();
    await storageOnly?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('GET, HEAD, If-None-Match and Range of .info, .mod and .zip', async () => {
    for (const ext of ['info', 'mod', 'zip'] as const) {
      const path = `/example.com/hit/@v/v1.2.3.${ext}`;
      const first = await ask(withMemory.url + path);
      expect(first.status).toBe(200);
      // Stored behind the answer: the storage-only godepot reads it once it has landed.
      await withMemory.g.service.idle();
      expect(
        withMemory.g.service.peek({ kind: ext, path: 'example.com/hit', version: 'v1.2.3', query: false }),
        ext,
      ).not.toBeNull();
      const etag = first.headers.etag ?? '';
      const cases: Array<RequestInit | undefined> = [
        undefined,
        { method: 'HEAD' },
        { headers: { 'if-none-match': etag } },
        { headers: { 'if-none-match': '"something-else"' } },
        { headers: { range: 'bytes=10-99' } },
        { headers: { range: 'bytes=10-99', 'if-range': '"stale"' } },
        { headers: { range: 'bytes=99999999-' } },
      ];
      for (const init of cases) {
        const fromMemory = await ask(withMemory.url + path, init);
        const fromStorage = await ask(storageOnly.url + path, init);
        expectSame(fromMemory, fromStorage, `${ext} ${JSON.stringify(init)}`);
        expect(fromMemory.headers['x-godepot-cache']).toBe('hit');
      }
      const whole = await ask(withMemory.url + path);
      expect(whole.body.equals(ext === 'zip' ? mod.zip : ext === 'mod' ? mod.mod : mod.info)).toBe(true);
    }
  });

  it('streams a stored zip of several chunks whole and by ranges across chunk boundaries', async () => {
    const path = '/example.com/big/@v/v1.0.0.zip';
    expect((await ask(withMemory.url + path)).body.equals(big.zip)).toBe(true);
    // Stored behind the answer: the storage-only godepot reads it once it has landed.
    await withMemory.g.service.idle();
    const size = big.zip.length;
    for (const range of [
      'bytes=0-',
      'bytes=100-262143',
      'bytes=262143-262144',
      'bytes=200000-600000',
      `bytes=-${size - 5}`,
      'bytes=524288-',
    ]) {
      const fromStorage = await ask(storageOnly.url + path, { headers: { range } });
      expect(fromStorage.status, range).toBe(206);
      expectSame(fromStorage, await ask(withMemory.url + path, { headers: { range } }), range);
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(fromStorage.headers['content-range'] ?? '');
      expect(m, range).not.toBeNull();
      expect(fromStorage.body.equals(big.zip.subarray(Number(m?.[1]), Number(m?.[2]) + 1)), range).toBe(true);
    }
    const whole = await ask(storageOnly.url + path);
    expect(whole.headers['x-godepot-cache']).toBe('hit');
    expect(whole.body.equals(big.zip)).toBe(true);
  });

  it('logs and counts a memory hit like any other request', async () => {
    const path = '/example.com/hit/@v/v1.2.3.mod';
    await ask(withMemory.url + path);
    const before = withMemory.logs.length;
    await ask(withMemory.url + path);
    // The access log is written in batches, after the answer.
    const line = await vi.waitFor(() => {
      const found = withMemory.logs.slice(before).find((l) => l.msg === 'request');
      if (!found) throw new Error('no access-log line yet');
      return found;
    });
    expect(line).toMatchObject({
      method: 'GET',
      path,
      status: 200,
      route: 'mod',
      module: 'example.com/hit',
      version: 'v1.2.3',
      cache: 'hit',
      verification: 'verified',
    });
    const metrics = await (await fetch(`${withMemory.url}/metrics`)).text();
    expect(metrics).toMatch(/godepot_http_requests_total\{route="mod",status="200"\} [1-9]/);
    expect(metrics).toMatch(/godepot_cache_requests_total\{kind="mod",outcome="hit"\} [1-9]/);
  });
});
