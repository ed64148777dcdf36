// Writing responses: artifacts (with ETag, Range and HEAD support, streamed
// with back-pressure) and errors (short text/plain the go command shows).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isBlob, isProvisional, type Artifact } from '../proxy/artifact.js';
import type { OpenBlob } from '../storage/index.js';
import type { GodepotError } from '../proxy/errors.js';
import { shorten } from '../util/shorten.js';

const NO_STORE = 'no-store';

/**
 * Who may keep a copy of an artifact: any cache ('public'), or only the
 * client's own ('private'): with --auth, a shared cache in front of godepot
 * must not hand one user's modules to another (or to anyone without
 * credentials).
 */
export type CacheScope = 'public' | 'private';

/** What a cache in front may keep of an answer that never changes (a verified artifact, a full tile). */
export function immutableFor(scope: CacheScope): string {
  return `${scope}, max-age=31536000, immutable`;
}

function cacheControl(a: Artifact, scope: CacheScope): string {
  if (isProvisional(a.verification)) return NO_STORE;
  return a.immutable ? immutableFor(scope) : `${scope}, max-age=60`;
}

/**
 * The longest line of an error body the go command shows: one longer is
 * shown as "[Truncated: too long.]" and nothing else (cmd/go/internal/web,
 * maxErrorDetailBytes).
 */
export const MAX_SHOWN_LINE = 648;

/** text on one line of at most MAX_SHOWN_LINE bytes, its middle left out if need be (shorten). */
function shownLine(text: string): string {
  let line = shorten(text, MAX_SHOWN_LINE);
  for (let max = MAX_SHOWN_LINE; Buffer.byteLength(line) > MAX_SHOWN_LINE; max -= 16) line = shorten(text, max);
  return line;
}

export function sendError(res: ServerResponse, err: GodepotError, head = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // One line, no control characters: the go command prints it verbatim (PROTOCOL.md §1.4).
  const body = Buffer.from(shownLine(err.message.replace(/[^\x20-\x7e\u00a0-\uffff]/g, '?')) + '\n', 'utf8');
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': body.length,
    'cache-control': NO_STORE,
    // It names what a client asked for and what an upstream said: a browser must not read it as HTML.
    'x-content-type-options': 'nosniff',
    'x-godepot-error': err.code,
  };
  if (err.code === 'method_not_allowed') headers.allow = 'GET, HEAD';
  // Load that passes (a full queue, the connection reserve, descriptors): when to ask again, as the cap's own 503 says.
  if (err.code === 'busy' || err.code === 'overloaded') headers['retry-after'] = 5;
  res.writeHead(err.status, headers);
  res.end(head ? undefined : body);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
  head = false,
): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': body.length,
    'cache-control': NO_STORE,
    // /readyz and /api/incidents hold an upstream's words: a browser must not read them as HTML.
    'x-content-type-options': 'nosniff',
  });
  res.end(head ? undefined : body);
}

interface ByteRange {
  start: number;
  end: number; // exclusive
}

/** Parses a single "bytes=" range against size; null = ignore (serve whole), 'unsatisfiable' = 416. */
function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * Whether an If-Match or If-None-Match list names etag ('*' names what exists). If-Match compares strongly (RFC
 * 9110 §13.1.1: a weak tag never matches), If-None-Match weakly (§13.1.2: W/"x" matches "x").
 */
function listNames(header: string, etag: string | undefined, weak: boolean): boolean {
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || (etag !== undefined && (v === etag || (weak && v === `W/${etag}`)));
  });
}

/**
 * Writes the status and headers for a (Range or conditional) GET/HEAD of a;
 * ends the response and returns null when there is no body to send (304,
 * 416, HEAD), else returns the byte range to send.
 */
function begin(req: IncomingMessage, res: ServerResponse, a: Artifact, scope: CacheScope): ByteRange | null {
  const headers: Record<string, string | number> = {
    'content-type': a.contentType,
    'cache-control': cacheControl(a, scope),
    'x-godepot-cache': a.cache,
  };
  if (a.verification !== 'n/a') headers['x-godepot-verification'] = a.verification;
  if (a.etag) headers.etag = a.etag;
  if (a.kind === 'zip') headers['accept-ranges'] = 'bytes';
  const h = req.headers;
  if (h['if-match'] !== undefined && !listNames(h['if-match'], a.etag, false)) {
    // The client holds (part of) another representation: sending this one, or a range of it, would mix the two.
    res.writeHead(412, { 'cache-control': NO_STORE, 'x-godepot-cache': a.cache, 'content-length': 0 });
    res.end();
    return null;
  }
  if (h['if-none-match'] && a.etag && listNames(h['if-none-match'], a.etag, true)) {
    res.writeHead(304, headers);
    res.end();
    return null;
  }
  let range: ByteRange | null = null;
  if (a.kind === 'zip' && h.range) {
    const ifRange = h['if-range'];
    const r = ifRange === undefined || ifRange === a.etag ? parseRange(h.range, a.size) : null;
    if (r === 'unsatisfiable') {
      // An error about this request's range, not the artifact: no cache may keep it in the zip's place.
      res.writeHead(416, {
        'cache-control': NO_STORE,
        'x-godepot-cache': a.cache,
        'accept-ranges': 'bytes',
        'content-range': `bytes */${a.size}`,
        'content-length': 0,
      });
      res.end();
      return null;
    }
    range = r;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? a.size;
  headers['content-length'] = end - start;
  if (range) headers['content-range'] = `bytes ${start}-${end - 1}/${a.size}`;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return null;
  }
  return { start, end };
}

/** sendArtifact for a body held in memory: synchronous (the cache-hit fast path). Returns the body bytes written. */
export function sendBuffered(
  req: IncomingMessage,
  res: ServerResponse,
  a: Artifact,
  body: Buffer,
  scope: CacheScope = 'public',
): number {
  const r = begin(req, res, a, scope);
  if (!r) return 0;
  res.end(r.start === 0 && r.end === body.length ? body : body.subarray(r.start, r.end));
  return r.end - r.start;
}

export async function sendArtifact(
  req: IncomingMessage,
  res: ServerResponse,
  a: Artifact,
  scope: CacheScope = 'public',
): Promise<number> {
  const body = a.body;
  if (!isBlob(body)) return sendBuffered(req, res, a, body, scope);
  try {
    const r = begin(req, res, a, scope);
    if (!r) return 0;
    await streamBlob(body, res, r.start, r.end);
    return r.end - r.start;
  } finally {
    await body.close();
  }
}

/** Bytes read from storage and written to the client at a time. */
const SEND_CHUNK = 64 << 10;

/**
 * Streams bytes [start, end) of a stored blob to res, one chunk at a time:
 * the next chunk is read only once the socket has taken the previous one,
 * so every response holds at most one chunk in memory however many clients
 * download at once and however slowly they read (the kernel's socket buffer
 * keeps the connection busy meanwhile).
 */
async function streamBlob(blob: OpenBlob, res: ServerResponse, start: number, end: number): Promise<void> {
  if (blob.remote) {
    // An object store: one request for the whole range (a read per chunk would be a GET per 64 KiB), read on
    // only as the socket takes what came (the stream's buffers are what this response holds meanwhile).
    for await (const chunk of blob.stream(start, end)) await writeChunk(res, chunk as Buffer);
    res.end();
    return;
  }
  const buf = Buffer.allocUnsafe(Math.min(SEND_CHUNK, end - start));
  for (let pos = start; pos < end;) {
    const chunk = await blob.read(pos, Math.min(end, pos + SEND_CHUNK), buf);
    pos += chunk.length;
    await writeChunk(res, chunk);
  }
  res.end();
}

function writeChunk(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (res.destroyed) {
      reject(new Error('client went away'));
      return;
    }
    const gone = (): void => reject(new Error('client went away'));
    res.once('close', gone);
    res.write(chunk, (err) => {
      res.off('close', gone);
      if (err) reject(err);
      else resolve();
    });
  });
}
