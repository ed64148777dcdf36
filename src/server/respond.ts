// Writing responses: artifacts (with ETag, Range and HEAD support, streamed
// with back-pressure) and errors (short text/plain the go command shows).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { isBlob, type Artifact } from '../proxy/artifact.js';
import type { GodepotError } from '../proxy/errors.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const MUTABLE = 'public, max-age=60';
const NO_STORE = 'no-store';

export function sendError(res: ServerResponse, err: GodepotError, head = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // One line, no control characters: the go command prints it verbatim (PROTOCOL.md §1.4).
  const body = Buffer.from(err.message.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e\u00a0-\uffff]/g, '?') + '\n', 'utf8');
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': body.length,
    'cache-control': NO_STORE,
    'x-godepot-error': err.code,
  };
  if (err.code === 'method_not_allowed') headers.allow = 'GET, HEAD';
  res.writeHead(err.status, headers);
  res.end(head ? undefined : body);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8', head = false): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { 'content-type': contentType, 'content-length': body.length, 'cache-control': NO_STORE });
  res.end(head ? undefined : body);
}

interface ByteRange {
  start: number;
  end: number; // exclusive
}

/** Parses a single "bytes=" range against size; null = ignore (serve whole), 'unsatisfiable' = 416. */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
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

function etagMatches(header: string | undefined, etag: string | undefined): boolean {
  if (!header || !etag) return false;
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v === etag || v === `W/${etag}`;
  });
}

export async function sendArtifact(req: IncomingMessage, res: ServerResponse, a: Artifact): Promise<number> {
  const body = a.body;
  try {
    const headers: Record<string, string | number> = {
      'content-type': a.contentType,
      'cache-control': a.verification === 'unverified' || a.verification === 'quorum' ? NO_STORE : a.immutable ? IMMUTABLE : MUTABLE,
      'x-godepot-cache': a.cache,
    };
    if (a.verification !== 'n/a') headers['x-godepot-verification'] = a.verification;
    if (a.etag) headers.etag = a.etag;
    if (a.kind === 'zip') headers['accept-ranges'] = 'bytes';
    if (etagMatches(req.headers['if-none-match'], a.etag)) {
      res.writeHead(304, headers);
      res.end();
      return 0;
    }
    let range: ByteRange | null = null;
    if (a.kind === 'zip' && req.headers.range) {
      const ifRange = req.headers['if-range'];
      const r = ifRange === undefined || ifRange === a.etag ? parseRange(req.headers.range, a.size) : null;
      if (r === 'unsatisfiable') {
        res.writeHead(416, { ...headers, 'content-range': `bytes */${a.size}`, 'content-length': 0 });
        res.end();
        return 0;
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
      return 0;
    }
    if (!isBlob(body)) {
      res.end(range ? body.subarray(start, end) : body);
      return end - start;
    }
    await pipeline(body.stream(start, end), res);
    return end - start;
  } finally {
    if (isBlob(body)) await body.close();
  }
}
