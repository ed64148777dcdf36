// A client that hangs up mid-download is not a server error: the request is
// logged once with error "client_closed", and nothing is logged as a
// failure or an internal error, counted against an incident or answered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { buildModules, FakeGoProxy, FakeSumDb, faults } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';

describe('a client that goes away mid-response', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  const path = '/example.com/gone/@v/v1.0.0.zip';

  beforeAll(async () => {
    // Far more than loopback socket buffers hold, so the response is still streaming when the client leaves.
    const built = await buildModules([
      {
        path: 'example.com/gone',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/gone\n', 'blob.bin': randomBytes(24 << 20) },
      },
      { path: 'example.com/slow', version: 'v1.0.0', files: { 'go.mod': 'module example.com/slow\n' } },
      { path: 'example.com/never', version: 'v1.0.0', files: { 'go.mod': 'module example.com/never\n' } },
      { path: 'example.com/later', version: 'v1.0.0', files: { 'go.mod': 'module example.com/later\n' } },
    ]);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    // The 24 MB zip fetched and verified by a godepot with the default limits (on a loaded machine that takes
    // longer than the short backstop below), then served from its data folder.
    const warm = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
    const r = await fetch(warm.url + path);
    await r.arrayBuffer();
    expect(r.status).toBe(200);
    await warm.g.service.idle();
    await warm.close();
    // A short idle deadline for connections (no bytes either way), for the client that stops reading.
    godepot = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'access-log': 'true', data: warm.data },
      { limits: { socketTimeout: 500, preparingTimeout: 3_000 } },
    );
    const hit = await fetch(godepot.url + path);
    await hit.arrayBuffer();
    expect(hit.status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('is logged as client_closed, not as a failure', async () => {
    const before = godepot.logs.length;
    await new Promise<void>((resolve, reject) => {
      const req = get(godepot.url + path, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
    const line = async (): Promise<Record<string, unknown> | undefined> =>
      godepot.logs.slice(before).find((l) => l.msg === 'request' && l.path === path);
    for (let i = 0; i < 100 && !(await line()); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await line()).toMatchObject({ route: 'zip', cache: 'hit', error: 'client_closed' });
    const alarms = godepot.logs.slice(before).filter((l) => typeof l.level === 'number' && l.level >= 40);
    expect(alarms).toEqual([]);
  });

  it('one that stops reading is closed at the idle deadline, and its download given up', async () => {
    const before = godepot.logs.length;
    const open = godepot.server.connectionCount; // the set-up's keep-alive connection, if still open
    const sock = connect(Number(new URL(godepot.url).port), '127.0.0.1');
    sock.on('error', () => undefined);
    sock.write(`GET ${path} HTTP/1.1\r\nHost: godepot\r\n\r\n`);
    // Never read: the socket buffers fill and the server's writes stop moving.
    sock.pause();
    const line = (): Record<string, unknown> | undefined =>
      godepot.logs.slice(before).find((l) => l.msg === 'request' && l.path === path);
    // Polls for the state (the request accounted for, the connection gone), 10 s at most.
    for (let i = 0; i < 500 && !(line() && godepot.server.connectionCount === open); i++)
      await new Promise((r) => setTimeout(r, 20));
    sock.destroy();
    expect(line()).toMatchObject({ route: 'zip', cache: 'hit', error: 'client_closed' });
    expect(godepot.server.connectionCount).toBe(open);
    expect(godepot.g.app.inFlight).toBe(0);
  });

  it('one that waits for an answer godepot is still preparing keeps its connection past the idle deadline', async () => {
    // The upstream takes four idle deadlines to answer (a large zip over a slow link, a private repository's
    // clone): the silence is godepot's, not the client's, and the go command would fail with an unexpected EOF.
    upstream.setFault(faults.delay(2_000), '/example.com/slow/@v/v1.0.0.mod');
    const r = await fetch(`${godepot.url}/example.com/slow/@v/v1.0.0.mod`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('module example.com/slow\n');
    expect(upstream.count('/example.com/slow/@v/v1.0.0.mod')).toBe(1);
  });

  it('one whose answer never comes is closed at the backstop, past every idle period it was spared', async () => {
    // The upstream holds the request; godepot's own first-byte deadline (4 s) comes after the backstop (3 s here).
    upstream.setFault(faults.hold(), '/example.com/never/');
    try {
      const r = await fetch(`${godepot.url}/example.com/never/@v/v1.0.0.mod`).then(
        (res) => res.status,
        (err: unknown) => String((err as { cause?: unknown }).cause ?? err),
      );
      expect(r).toMatch(/other side closed|socket hang up|ECONNRESET/);
    } finally {
      upstream.releaseHeld();
    }
  });

  it('one that stops reading is closed at the idle deadline, though a request pipelined behind is still prepared', async () => {
    upstream.setFault(faults.hold(), '/example.com/later/');
    // The zip from memory (written whole at once, so its answer has ended while the client has not taken it): the
    // connection must not count as being prepared for the request behind it.
    const big = await startGodepot(
      {
        upstream: upstream.url,
        sumdb: `${sumdb.vkey} ${sumdb.url}`,
        'memory-cache': '64MiB',
        'memory-cache-item': '32MiB',
        data: godepot.data, // the zip is stored there already
      },
      { limits: { socketTimeout: 500, preparingTimeout: 3_000 } },
    );
    const warm = await fetch(big.url + path);
    await warm.arrayBuffer();
    expect(warm.status).toBe(200);
    // The server's side of the connection (a paused client socket hears of the close only once it reads).
    const accepted = new Promise<Socket>((resolve) => big.server.once('connection', resolve));
    const sock = connect(Number(new URL(big.url).port), '127.0.0.1');
    sock.on('error', () => undefined);
    try {
      const theirs = await accepted;
      // A 24 MB zip the client never reads, and behind it a request whose answer is still being prepared.
      sock.write(`GET ${path} HTTP/1.1\r\nHost: godepot\r\n\r\nGET /example.com/later/@v/v1.0.0.mod HTTP/1.1\r\n`);
      sock.write('Host: godepot\r\n\r\n');
      sock.pause();
      // Closed at the idle deadline (500 ms here), long before the backstop for answers being prepared (3 s).
      const t0 = performance.now();
      while (!theirs.destroyed && performance.now() - t0 < 2_500) await new Promise((r) => setTimeout(r, 20));
      expect(theirs.destroyed).toBe(true);
    } finally {
      sock.destroy();
      upstream.releaseHeld();
      await big.close();
    }
  });
});
