// The transport faults every fake applies, seen from an HTTP client: each
// does what it says, rules match and expire, and close() ends hung requests.
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { faults } from './faults.js';
import { FakeHttpServer, GARBAGE, type Reply } from './httpfake.js';

const BODY = Buffer.from('0123456789'.repeat(100));

class EchoServer extends FakeHttpServer {
  private constructor() {
    super([]);
  }
  static async start(): Promise<EchoServer> {
    const s = new EchoServer();
    await s.listen();
    return s;
  }
  get url(): string {
    return this.origin;
  }
  protected override reply(): Reply {
    return { status: 200, contentType: 'application/octet-stream', body: BODY };
  }
}

interface Outcome {
  status?: number;
  body?: Buffer;
  error?: string;
  ms: number;
}

/** A raw GET that reports socket-level failures instead of retrying. */
function get(url: string, timeoutMs = 2_000): Promise<Outcome> {
  const start = Date.now();
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks), ms: Date.now() - start }));
      res.on('error', (e) => resolve({ status: res.statusCode, error: e.message, ms: Date.now() - start }));
      res.on('aborted', () => resolve({ status: res.statusCode, error: 'aborted', ms: Date.now() - start }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ error: e.message, ms: Date.now() - start }));
    req.end();
  });
}

describe('fault switches', () => {
  let s: EchoServer;
  beforeEach(async () => {
    s = await EchoServer.start();
  });
  afterEach(async () => {
    await s.close();
  });

  it('serves normally and logs requests', async () => {
    const r = await get(`${s.url}/a/%21b`);
    expect(r.status).toBe(200);
    expect(r.body?.equals(BODY)).toBe(true);
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]).toMatchObject({ method: 'GET', path: '/a/%21b', decodedPath: '/a/!b', status: 200 });
    expect(s.count('/a/!b')).toBe(1);
    expect(s.count(/%21/)).toBe(1);
    expect(s.count((r) => r.status === 404)).toBe(0);
    s.resetLog();
    expect(s.count()).toBe(0);
  });

  it('status, garbage and delay answer as told; the newest matching rule wins', async () => {
    s.setFault(faults.status(503, 'down for a test\n'));
    s.setFault(faults.garbage(), '/junk');
    s.setFault(faults.delay(300), '/late');
    const down = await get(`${s.url}/x`);
    expect(down.status).toBe(503);
    expect(down.body?.toString()).toBe('down for a test\n');
    expect((await get(`${s.url}/junk`)).body?.equals(GARBAGE)).toBe(true);
    const late = await get(`${s.url}/late`);
    expect(late.body?.equals(BODY)).toBe(true);
    expect(late.ms).toBeGreaterThanOrEqual(250);
    expect(s.requests.map((r) => r.fault)).toEqual(['status', 'garbage', 'delay']);
    s.clearFaults();
    expect((await get(`${s.url}/x`)).status).toBe(200);
  });

  it('times limits a rule, and the returned function removes it', async () => {
    s.setFault(faults.status(500), undefined, { times: 2 });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await get(`${s.url}/x`)).status);
    expect(codes).toEqual([500, 500, 200]);
    const undo = s.setFault(faults.status(502));
    undo();
    expect((await get(`${s.url}/x`)).status).toBe(200);
  });

  it('reset and truncate break the connection; slow drips the whole body', async () => {
    s.setFault(faults.reset(), '/reset');
    s.setFault(faults.truncate(), '/cut');
    s.setFault(faults.slow(2_000), '/slow');
    expect((await get(`${s.url}/reset`)).error).toMatch(/ECONNRESET|socket hang up/);
    const cut = await get(`${s.url}/cut`);
    expect(cut.error ?? `received ${cut.body?.length ?? 0} bytes`).toMatch(/aborted|ECONNRESET|terminated/);
    const slow = await get(`${s.url}/slow`);
    expect(slow.body?.equals(BODY)).toBe(true);
    expect(slow.ms).toBeGreaterThanOrEqual(350);
  });

  it('hang never answers, and close() frees the hung connection', async () => {
    s.setFault(faults.hang());
    const hung = get(`${s.url}/x`, 10_000);
    let answered = false;
    void hung.then(() => (answered = true));
    // Wait for the request to arrive (a state, not a guess at how long that takes), then look for an answer.
    while (s.requests.length < 1) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(s.requests).toHaveLength(1);
    expect(answered).toBe(false);
    await s.close();
    const r = await hung;
    expect(r.status).toBeUndefined();
    expect(r.error).toMatch(/socket hang up|ECONNRESET/);
    expect(r.ms).toBeLessThan(5_000);
  });

  it('dropHung() resets the connections a hang holds, and only those', async () => {
    s.setFault(faults.hang(), '/held');
    const held = get(`${s.url}/held`, 10_000);
    while (s.requests.length < 1) await new Promise((r) => setImmediate(r));
    expect(s.dropHung()).toBe(1);
    const r = await held;
    expect(r.status).toBeUndefined();
    expect(r.error).toMatch(/socket hang up|ECONNRESET/);
    expect(s.dropHung()).toBe(0);
    expect((await get(`${s.url}/other`)).status).not.toBeUndefined();
  });

  it('hold keeps a request waiting until releaseHeld(), then answers it normally', async () => {
    s.setFault(faults.hold(), '/held');
    let answered = false;
    const held = get(`${s.url}/held`, 10_000).then((r) => ((answered = true), r));
    while (s.heldCount < 1) await new Promise((r) => setImmediate(r));
    expect((await get(`${s.url}/other`)).status).toBe(200);
    expect(answered).toBe(false);
    expect(s.releaseHeld()).toBe(1);
    const r = await held;
    expect(r.status).toBe(200);
    expect(r.body?.equals(BODY)).toBe(true);
    expect(s.heldCount).toBe(0);
  });

  it('refuses faults a server does not implement', () => {
    expect(() => s.setFault(faults.alter())).toThrow(/not supported/);
  });
});
