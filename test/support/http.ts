// Small HTTP helpers shared by the server, chaos and e2e tests.
import { createHash } from 'node:crypto';

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
