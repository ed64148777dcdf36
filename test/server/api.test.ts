// The operator page's routes and JSON (server/api.ts), over HTTP on
// loopback, with a memory storage, a fake endpoint list and a page folder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryStorage, type BlobInfo, type ListedBlob } from '../../src/storage/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { OperatorApi, operatorRoutes, prefersHtml, type OperatorApiDeps } from '../../src/server/api.js';
import { OperatorStats } from '../../src/server/stats.js';
import { removeDir, tempDir } from '../support/godepot.js';

/** An operator API with no upstreams, databases or stored data, but for what a test gives it. */
function bareApi(deps: Partial<OperatorApiDeps> = {}): OperatorApi {
  return new OperatorApi({
    stats: new OperatorStats(),
    endpoints: () => [],
    proxies: [],
    sumdbMirrors: () => [],
    trees: [],
    storage: new MemoryStorage(),
    unverified: async () => 0,
    offline: false,
    ...deps,
  });
}

const PROXY = 'http://127.0.0.1:9/proxy';
const MIRROR = 'http://127.0.0.1:9/sumdb';

const OPEN_WORDS = 'circuit open, next probe in 10s; failing since 2026-01-01T00:00:00.000Z (0s)';

describe('prefersHtml', () => {
  it.each([
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', true],
    ['text/html', true],
    ['*/*', false],
    [undefined, false],
    ['text/plain, text/html;q=0.5', false],
    ['application/json', false],
    ['text/html;q=0', false],
    ['text/html;q=abc', false],
  ])('%s → %s', (accept, want) => {
    expect(prefersHtml(accept)).toBe(want);
  });
});

describe('operator routes', () => {
  let server: Server;
  let base: string;
  let ui: string;
  const storage = new MemoryStorage();
  const stats = new OperatorStats();
  let synced = 0;

  beforeAll(async () => {
    ui = await tempDir('godepot-ui-');
    await mkdir(ui, { recursive: true });
    await writeFile(join(ui, 'index.html'), '<!doctype html><title>t</title>');
    await writeFile(join(ui, 'app.js'), 'export {};');
    for (const [key, body] of [
      ['mod/example.com/a/@v/v1.0.0.info', '{}'],
      ['mod/example.com/a/@v/v1.0.0.mod', 'module example.com/a\n'],
      ['mod/example.com/a/@v/v1.0.0.zip', 'zipbytes'],
      ['mod/example.com/a/@v/list', 'v1.0.0\n'],
      ['mod/example.com/b/@v/v2.0.0.mod', 'module example.com/b\n'],
      ['unverified/example.com/c/@v/v1.0.0.zip', 'z'],
    ] as const)
      await storage.put(key, Buffer.from(body));
    stats.serviceEvents().served?.({ kind: 'zip', outcome: 'hit' });
    stats.serviceEvents().served?.({ kind: 'zip', outcome: 'miss' });
    stats.endpointObserver().onCall?.({ upstream: PROXY, kind: 'zip', outcome: 'timeout', seconds: 1 });
    const api = new OperatorApi({
      stats,
      endpoints: () => [
        {
          url: PROXY,
          state: 'open',
          health: OPEN_WORDS,
          failingSince: '2026-01-01T00:00:00.000Z',
          nextProbeAt: '2026-01-01T00:00:10.000Z',
        },
        { url: MIRROR, state: 'closed', health: 'healthy' },
      ],
      proxies: [PROXY],
      sumdbMirrors: () => [{ name: 'sum.example', urls: [MIRROR] }],
      trees: [
        {
          name: 'sum.example',
          tree: { head: { tree: { n: 42, hash: new Uint8Array(32).fill(1) }, checkedAt: 1_000 }, fork: null },
          status: () => ({ name: 'sum.example', treeSize: 42, status: 'ok', sources: [] }),
          syncShared: async () => void synced++,
        },
      ],
      storage,
      unverified: async () => 1,
      offline: false,
      uiDir: ui,
    });
    const routes = operatorRoutes(api);
    server = createServer((req, res) => {
      const r = routes(req.url ?? '/', req);
      if (!r) {
        res.writeHead(418).end('not an operator route');
        return;
      }
      void r.serve(req, res, req.method === 'HEAD');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    base = `http://127.0.0.1:${addr.port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    await removeDir(ui);
  });

  it('sends a browser from / to /ui/ and leaves / to everyone else', async () => {
    const r = await fetch(`${base}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe('/ui/');
    expect((await fetch(`${base}/`, { headers: { accept: '*/*' } })).status).toBe(418);
    const slash = await fetch(`${base}/ui`, { redirect: 'manual' });
    expect(slash.status).toBe(302);
    expect(slash.headers.get('location')).toBe('/ui/');
  });

  it('serves the page’s files with a policy that allows nothing from elsewhere, and nothing outside its folder', async () => {
    const page = await fetch(`${base}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const js = await fetch(`${base}/ui/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    for (const p of [
      '/ui/missing.js',
      '/ui/../package.json',
      '/ui/%2e%2e/package.json',
      '/ui/sub/app.js',
      '/ui/.hidden.js',
    ]) {
      const r = await fetch(base + p);
      expect(r.status, p).not.toBe(200);
      expect(await r.text(), p).not.toContain('"name"');
    }
    // Its "not found" names the file asked for: never sniffed as HTML.
    const missing = await fetch(`${base}/ui/%3Cimg%20src=x%20onerror=alert(1)%3E.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
    await missing.text();
    expect((await fetch(`${base}/api/nothing`)).status).toBe(418);
  });

  it('answers /api/upstreams with breaker state, role and the 5-minute numbers', async () => {
    const body = (await (await fetch(`${base}/api/upstreams`)).json()) as {
      offline: boolean;
      upstreams: Array<Record<string, unknown>>;
    };
    expect(body.offline).toBe(false);
    expect(body.upstreams).toEqual([
      expect.objectContaining({ url: PROXY, role: 'proxy', state: 'open', requests: 1, failures: 1, p50Ms: 1000 }),
      expect.objectContaining({ url: MIRROR, role: 'sumdb', db: 'sum.example', state: 'closed', p50Ms: null }),
    ]);
    // The state in the words /readyz uses, and when the open circuit lets a probe go (the page words it so).
    expect(body.upstreams.map((u) => [u.health, u.nextProbeAt])).toEqual([
      [OPEN_WORDS, '2026-01-01T00:00:10.000Z'],
      ['healthy', undefined],
    ]);
    // One source of the database: none covers another.
    expect(body.upstreams.map((u) => u.covered)).toEqual([undefined, undefined]);
  });

  it('answers /api/sumdb with size, root hash and check times, after learning what the other processes know', async () => {
    const before = synced;
    const body = (await (await fetch(`${base}/api/sumdb`)).json()) as { trees: Array<Record<string, unknown>> };
    expect(body.trees).toEqual([
      expect.objectContaining({
        name: 'sum.example',
        size: 42,
        rootHash: Buffer.alloc(32, 1).toString('base64'),
        status: 'ok',
        lastCheckedAt: new Date(1_000).toISOString(),
        fork: null,
      }),
    ]);
    expect(synced).toBe(before + 1);
  });

  it('answers /api/cache with what storage holds and the hit ratio', async () => {
    const body = (await (await fetch(`${base}/api/cache`)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      modules: 2,
      versions: 2,
      files: 4,
      bytes: 2 + 21 + 8 + 21,
      hitRatio: 0.5,
      artifacts: { verified: 3, unverified: 1, refused: 0 },
      refused: [],
    });
  });

  it('answers /api/series with an hour of samples', async () => {
    const body = (await (await fetch(`${base}/api/series`)).json()) as { t: number[]; hit: Array<number | null> };
    expect(body.t).toHaveLength(360);
    expect(body.hit).toHaveLength(360);
  });
});

describe('the storage inventory behind /api/cache', () => {
  /** Counts the scans; each one takes scanMs on the monotonic clock, and waits for a gate when one is set. */
  class ScanStorage extends MemoryStorage {
    scans = 0;
    stats = 0;
    scanMs = 0;
    gate: Promise<void> | null = null;
    constructor(private readonly clock: ManualClock) {
      super();
    }
    override async listSized(prefix: string): Promise<ListedBlob[]> {
      this.scans++;
      this.clock.advance(this.scanMs);
      await this.gate;
      return super.listSized(prefix);
    }
    override async stat(key: string): Promise<BlobInfo | null> {
      this.stats++;
      return super.stat(key);
    }
  }

  async function world(): Promise<{ api: OperatorApi; storage: ScanStorage; wall: ManualClock; mono: ManualClock }> {
    const wall = new ManualClock();
    const mono = new ManualClock(1_000);
    const storage = new ScanStorage(mono);
    await storage.put('mod/example.com/a/@v/v1.0.0.zip', Buffer.alloc(1000));
    await storage.put('mod/example.com/a/@v/v1.0.0.mod', Buffer.from('module example.com/a\n'));
    await storage.put('mod/example.com/a/@v/list', Buffer.from('v1.0.0\n'));
    const api = bareApi({ storage, now: () => wall.now(), monotonic: () => mono.now() });
    return { api, storage, wall, mono };
  }

  it('sums bytes from the listing, without a stat per file, and says when it counted', async () => {
    const { api, storage, wall } = await world();
    const taken = new Date(wall.now()).toISOString();
    expect(await api.cache()).toMatchObject({ files: 2, bytes: 1000 + 21, scannedAt: taken });
    expect(storage.scans).toBe(1);
    expect(storage.stats).toBe(0);
  });

  it('counts a long listing in slices, answering other requests between them', async () => {
    // 50,000 files: counted in one go, they held the event loop for hundreds of milliseconds.
    const { api, storage } = await world();
    const blobs = Array.from({ length: 50_000 }, (_, i) => ({ key: `mod/example.com/m${i}/@v/v1.0.0.zip`, size: 1 }));
    let turns = -1;
    storage.listSized = async () => {
      // Counts the turns of the event loop from the listing's answer until the count is done.
      const turn = (): void => {
        turns++;
        if (!done) setImmediate(turn);
      };
      turn();
      return blobs;
    };
    let done = false;
    expect(await api.cache()).toMatchObject({ modules: 50_000, files: 50_000, bytes: 50_000 });
    done = true;
    expect(turns).toBeGreaterThanOrEqual(3);
  });

  it('rescans no sooner than 30 s after the last scan began', async () => {
    const { api, storage, wall, mono } = await world();
    await api.cache();
    await storage.put('mod/example.com/a/@v/v1.0.0.info', Buffer.from('{"Version":"v1.0.0"}'));
    mono.advance(29_999);
    wall.advance(29_999);
    expect(await api.cache()).toMatchObject({ files: 2, bytes: 1021 });
    expect(storage.scans).toBe(1);
    mono.advance(1);
    wall.advance(1);
    expect(await api.cache()).toMatchObject({ files: 3, bytes: 1041, scannedAt: new Date(wall.now()).toISOString() });
    expect(storage.scans).toBe(2);
  });

  it('rescans no sooner than 20 times as long as the last scan took', async () => {
    const { api, storage, mono } = await world();
    storage.scanMs = 10_000;
    await api.cache();
    mono.advance(199_999 - 10_000);
    await api.cache();
    expect(storage.scans).toBe(1);
    mono.advance(1);
    await api.cache();
    expect(storage.scans).toBe(2);
  });

  it('runs one scan at a time: a request during a long scan waits for it', async () => {
    const { api, storage, mono } = await world();
    let open = (): void => {};
    storage.gate = new Promise((resolve) => (open = resolve));
    const first = api.cache();
    mono.advance(60_000);
    const second = api.cache();
    open();
    expect(await second).toEqual(await first);
    expect(storage.scans).toBe(1);
  });

  it('scans again at the next request after a scan failed', async () => {
    const { api, storage } = await world();
    storage.gate = Promise.reject(new Error('store down'));
    await expect(api.cache()).rejects.toThrow('store down');
    storage.gate = null;
    expect(await api.cache()).toMatchObject({ files: 2 });
    expect(storage.scans).toBe(2);
  });
});

describe("the workers' statistics behind /api/upstreams, /api/cache and /api/series", () => {
  // Each gathering has every worker send megabytes of samples to the one that adds them up: a page asks three
  // routes every 2 s, and many pages (or a client in a loop) must not make every worker do it for each request.
  function world(): { api: OperatorApi; gathered: () => number; mono: ManualClock; fail: (f: boolean) => void } {
    const mono = new ManualClock(1_000);
    let gatherings = 0;
    let failing = false;
    const stats = new OperatorStats();
    const api = bareApi({
      stats,
      groupStats: async () => {
        gatherings++;
        mono.advance(100);
        if (failing) throw new Error('primary gone');
        return stats;
      },
      monotonic: () => mono.now(),
    });
    return { api, gathered: () => gatherings, mono, fail: (f) => (failing = f) };
  }

  it('gathers once for the requests of a refresh and of many pages, and again 2 s later', async () => {
    const { api, gathered, mono } = world();
    await Promise.all(Array.from({ length: 20 }, () => [api.upstreams(), api.cache(), api.series()]).flat());
    expect(gathered()).toBe(1);
    await api.series();
    expect(gathered()).toBe(1);
    mono.advance(2_000);
    await api.upstreams();
    expect(gathered()).toBe(2);
  });

  it('gathers again at the next request after a gathering failed', async () => {
    const { api, gathered, fail } = world();
    fail(true);
    await expect(api.series()).rejects.toThrow('primary gone');
    fail(false);
    await api.series();
    expect(gathered()).toBe(2);
  });
});

describe('the page not built yet', () => {
  it('is served once it is built, without a restart, as its "not built" answer says', async () => {
    const dir = await tempDir('godepot-ui-');
    const ui = join(dir, 'ui');
    const routes = operatorRoutes(bareApi({ uiDir: ui }));
    const server = createServer((req, res) => void routes(req.url ?? '/', req)?.serve(req, res, false));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    try {
      const before = await fetch(`http://127.0.0.1:${addr.port}/ui/`);
      expect(before.status).toBe(404);
      expect(await before.text()).toContain('npm run build');
      await mkdir(ui, { recursive: true });
      await writeFile(join(ui, 'index.html'), '<!doctype html><title>t</title>');
      const after = await fetch(`http://127.0.0.1:${addr.port}/ui/`);
      expect(after.status).toBe(200);
      expect(await after.text()).toContain('<title>t</title>');
    } finally {
      server.closeAllConnections();
      server.close();
      await removeDir(dir);
    }
  });
});
