// A client that hangs up mid-download is not a server error: the request is
// logged once with error "client_closed", and nothing is logged as a
// failure or an internal error, counted against an incident or answered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { connect } from 'node:net';
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
    ]);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    // A short idle deadline for connections (no bytes either way), for the client that stops reading.
    godepot = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'access-log': 'true' },
      { limits: { socketTimeout: 500, preparingTimeout: 3_000 } },
    );
    const r = await fetch(godepot.url + path);
    await r.arrayBuffer();
    expect(r.status).toBe(200);
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
});
