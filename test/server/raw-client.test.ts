// A hostile client speaking HTTP/1.1 on raw sockets, where fetch would
// normalise what it sends: many requests pipelined on one connection, a
// connection closed with answers still queued, a parse error while a zip is
// streaming, an absolute-form request target, CONNECT. Loopback only; every
// wait bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { startAuthRig, type AuthRig } from '../support/auth-rig.js';
import { MemoryStorage, type OpenBlob } from '../../src/storage/index.js';
import { hashToken, withUser } from '../../src/auth/users.js';
import { MAX_PIPELINED } from '../../src/server/http-server.js';

/** A connection that collects every byte it receives. */
async function open(url: string): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<unknown> }> {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  return { socket, received: () => Buffer.concat(chunks), closed };
}

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > ms) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Splits what a connection received into responses (every one here has a Content-Length). */
function responses(bytes: Buffer): Array<{ status: number; headers: string; body: Buffer }> {
  const out: Array<{ status: number; headers: string; body: Buffer }> = [];
  let pos = 0;
  while (pos < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', pos);
    if (end < 0) break;
    const headers = bytes.subarray(pos, end).toString('latin1');
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(headers)?.[1] ?? 0);
    out.push({ status: Number(headers.slice(9, 12)), headers, body: bytes.subarray(end + 4, end + 4 + length) });
    pos = end + 4 + length;
  }
  return out;
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

/** Memory storage whose zip reads after the first stall until the test lets them through. */
class StallingStorage extends MemoryStorage {
  stalled = false;
  private release: () => void = () => undefined;
  private gate: Promise<void> | null = null;
  stall(): void {
    this.gate = new Promise((r) => (this.release = r));
  }
  letThrough(): void {
    this.gate = null;
    this.release();
  }
  override async open(key: string): Promise<OpenBlob | null> {
    const blob = await super.open(key);
    if (!blob || !key.endsWith('.zip')) return blob;
    let reads = 0;
    return {
      ...blob,
      stream: (start, end) => blob.stream(start, end),
      close: () => blob.close(),
      read: async (start, end, into) => {
        if (reads++ > 0 && this.gate) {
          this.stalled = true;
          await this.gate;
        }
        return blob.read(start, end, into);
      },
    };
  }
}

describe('a hostile client on raw connections', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let ok: BuiltModule;
  let slow: BuiltModule;
  let big: BuiltModule;
  const storage = new StallingStorage();
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const built = await buildModules([
      { path: 'example.com/ok', version: 'v1.0.0', files: { 'go.mod': 'module example.com/ok\n' } },
      { path: 'example.com/slow', version: 'v1.0.0', files: { 'go.mod': 'module example.com/slow\n' } },
      // Several streaming chunks, and more than the memory cache keeps (so it streams from storage).
      {
        path: 'example.com/big',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/big\n', 'b.bin': randomBytes(600_000) },
      },
    ]);
    [ok, slow, big] = built as [BuiltModule, BuiltModule, BuiltModule];
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    godepot = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'access-log': 'true', 'memory-cache': '0' },
      { storage },
    );
    for (const p of ['/example.com/ok/@v/v1.0.0.info', '/example.com/big/@v/v1.0.0.zip'])
      expect((await fetch(godepot.url + p).then(async (r) => [r.status, await r.arrayBuffer()]))[0]).toBe(200);
    await godepot.g.service.idle();
  }, 60_000);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    storage.letThrough();
    upstream?.releaseHeld();
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('answers a slow miss and the hits pipelined behind it in order, each whole', async () => {
    const release = upstream.setFault(faults.hold(), 'example.com/slow/@v/v1.0.0.mod');
    const c = await open(godepot.url);
    sockets.push(c.socket);
    c.socket.write(
      get('/example.com/slow/@v/v1.0.0.mod') +
        get('/example.com/ok/@v/v1.0.0.info') +
        get('/example.com/big/@v/v1.0.0.zip') +
        get('/healthz', 'Connection: close\r\n'),
    );
    await waitFor(() => upstream.heldCount === 1, 'the miss to reach the upstream');
    expect(c.received().length).toBe(0); // nothing may overtake the first answer
    release();
    upstream.releaseHeld();
    await c.closed;
    const r = responses(c.received());
    expect(r.map((x) => x.status)).toEqual([200, 200, 200, 200]);
    expect(r[0]?.body.equals(slow.mod)).toBe(true);
    expect(r[1]?.body.equals(ok.info)).toBe(true);
    expect(r[2]?.body.equals(big.zip)).toBe(true);
    expect(r[3]?.body.toString()).toBe('ok\n');
  });

  it('answers at most MAX_PIPELINED requests of one connection at a time: the connection cap bounds the work', async () => {
    upstream.resetLog();
    const release = upstream.setFault(faults.hold());
    const c = await open(godepot.url);
    sockets.push(c.socket);
    const n = 2_000;
    let text = '';
    for (let i = 0; i < n; i++) text += get(`/example.com/m${i}/@v/list`);
    c.socket.write(text);
    try {
      await waitFor(() => upstream.heldCount >= Math.min(MAX_PIPELINED, 100), 'the first misses to reach the upstream');
      // Give the rest of the pipeline every chance to start work it should not.
      await new Promise((r) => setTimeout(r, 300));
      expect(godepot.g.app.inFlight).toBeLessThanOrEqual(MAX_PIPELINED);
      expect(upstream.count()).toBeLessThanOrEqual(MAX_PIPELINED);
    } finally {
      release();
      upstream.releaseHeld();
    }
    // The requests it answered, then the refusal that closes the connection.
    await c.closed;
    const r = responses(c.received());
    expect(r.length).toBeLessThanOrEqual(MAX_PIPELINED + 1);
    expect(r.at(-1)?.status).toBe(503);
    expect(r.at(-1)?.body.toString()).toMatch(/too many requests in flight on one connection/);
    expect(r.at(-1)?.headers).toMatch(/\r\nconnection: close/i);
  });

  it('forgets the answers queued on a connection the client closed: nothing stays in flight', async () => {
    await waitFor(() => godepot.g.app.inFlight === 0, 'the earlier requests to finish');
    const before = godepot.logs.length;
    const release = upstream.setFault(faults.hold(), 'example.com/slow2');
    const c = await open(godepot.url);
    c.socket.write(
      get('/example.com/slow2/@v/list') + get('/example.com/big/@v/v1.0.0.zip') + get('/example.com/ok/@v/list'),
    );
    await waitFor(() => upstream.heldCount === 1, 'the miss to reach the upstream');
    c.socket.destroy();
    await c.closed;
    try {
      // Without the client, each request is given up: not left counted in flight (shutdown would wait for it).
      await waitFor(() => godepot.g.app.inFlight === 0, 'every request of the closed connection to be given up');
    } finally {
      release();
      upstream.releaseHeld();
    }
    const lines = godepot.logs.slice(before).filter((l) => l.msg === 'request');
    expect(lines.map((l) => [l.path, l.error])).toEqual(
      expect.arrayContaining([
        ['/example.com/slow2/@v/list', 'client_closed'],
        ['/example.com/big/@v/v1.0.0.zip', 'client_closed'],
      ]),
    );
  });

  it('a malformed request behind a zip being streamed never puts an error answer inside the zip', async () => {
    storage.stall();
    const c = await open(godepot.url);
    c.socket.write(get('/example.com/big/@v/v1.0.0.zip'));
    try {
      await waitFor(() => storage.stalled && c.received().length > 60_000, 'the first chunk of the zip');
      c.socket.write('NOT HTTP AT ALL\r\n\r\n');
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      storage.letThrough();
    }
    await c.closed;
    const got = c.received();
    const head = got.indexOf('\r\n\r\n') + 4;
    const body = got.subarray(head, head + big.zip.length);
    // Whatever the client got of the zip is the zip's bytes (cut short, which it notices by Content-Length).
    expect(body.equals(big.zip.subarray(0, body.length))).toBe(true);
    expect(got.subarray(head).includes('HTTP/1.1 400')).toBe(false);
  });

  it('accepts an absolute-form request target as its path (RFC 9112 §3.2.2)', async () => {
    const c = await open(godepot.url);
    c.socket.write(
      get(`http://127.0.0.1/example.com/ok/@v/v1.0.0.info`) +
        get('HTTP://x:1/example.com/ok/@v/list?x=1') +
        get('http://x') +
        get('https://x/healthz', 'Connection: close\r\n'),
    );
    await c.closed;
    const r = responses(c.received());
    expect(r.map((x) => x.status)).toEqual([200, 200, 200, 200]);
    expect(r[0]?.body.equals(ok.info)).toBe(true);
    expect(r[1]?.body.toString()).toBe('v1.0.0\n');
    expect(r[2]?.body.toString()).toMatch(/^godepot: a verifying Go module proxy/);
    expect(r[3]?.body.toString()).toBe('ok\n');
  });

  it('answers a request with two Host lines 400 and closes the connection (RFC 9112 §3.2)', async () => {
    const c = await open(godepot.url);
    c.socket.write(
      `GET /example.com/ok/@v/v1.0.0.info HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n` +
        get('/healthz', 'Connection: close\r\n'),
    );
    await c.closed;
    const r = responses(c.received());
    expect(r.map((x) => x.status)).toEqual([400]);
    expect(r[0]?.body.toString()).toMatch(/more than one Host header/);
  });

  it('answers a request whose announced body does not parse once: no second answer behind the refusal', async () => {
    for (const te of ['identity', 'gzip']) {
      const c = await open(godepot.url);
      c.socket.write(get('/healthz', `Transfer-Encoding: ${te}\r\n`));
      await c.closed;
      const got = c.received().toString('latin1');
      expect(got.match(/HTTP\/1\.1 /g), got).toHaveLength(1);
      expect(got).toMatch(/^HTTP\/1\.1 400 [^]*carry no body\n$/);
    }
  });

  it('answers CONNECT 405 instead of dropping the connection without a word', async () => {
    const c = await open(godepot.url);
    c.socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    await c.closed;
    expect(c.received().toString('latin1')).toMatch(/^HTTP\/1\.1 405 [^]*\r\nallow: GET, HEAD\r\n/i);
  });
});

describe('an absolute-form request target under --auth', () => {
  let upstream: FakeGoProxy;
  let godepot: RunningGodepot;
  let rig: AuthRig;
  const TOKEN = 'limited-token-0123456789abcdef';

  beforeAll(async () => {
    rig = await startAuthRig(
      [
        { path: 'example.com/pub', version: 'v1.0.0', files: { 'go.mod': 'module example.com/pub\n' } },
        { path: 'corp.example/secret', version: 'v1.0.0', files: { 'go.mod': 'module corp.example/secret\n' } },
      ],
      withUser(null, 'oss', hashToken(TOKEN), 'example.com/*'),
    );
    ({ godepot, upstream } = rig);
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('is checked against the module it names, as the same path in origin form is', async () => {
    const auth = `Authorization: Basic ${Buffer.from(`oss:${TOKEN}`).toString('base64')}\r\n`;
    const c = await open(godepot.url);
    c.socket.write(
      get('http://x/example.com/pub/@v/v1.0.0.info', auth) +
        get('http://x/corp.example/secret/@v/v1.0.0.info', auth) +
        get('http://x/api/cache', auth) +
        get('http://x/healthz', 'Connection: close\r\n'),
    );
    await c.closed;
    const r = responses(c.received());
    expect(r.map((x) => x.status)).toEqual([200, 403, 403, 200]);
    expect(upstream.count('secret')).toBe(0);
  });
});
