// Small HTTP helpers shared by the server, chaos and e2e tests.
import { createHash } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';

export interface Fetched {
  readonly status: number;
  readonly body: Buffer;
  readonly text: string;
  readonly headers: Headers;
  /** Time to the last byte. */
  readonly ms: number;
}

/** GETs (or whatever init says) url and reads the whole body. */
export async function fetchAll(url: string, init?: RequestInit): Promise<Fetched> {
  const t = performance.now();
  const r = await fetch(url, init);
  const body = Buffer.from(await r.arrayBuffer());
  return { status: r.status, body, text: body.toString('utf8'), headers: r.headers, ms: performance.now() - t };
}

export function sha256hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * GET on a connection of its own (no keep-alive agent): N calls are N
 * concurrent connections, which the workers of a cluster share out.
 */
export function getAlone(url: string): Promise<{ status: number; body: Buffer; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
