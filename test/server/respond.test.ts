// Error bodies as the go command shows them: it prints a text/plain body's
// lines under "server response:", but a line longer than 648 bytes only as
// "[Truncated: too long.]" (cmd/go/internal/web). godepot's one line is kept
// within that, its start (what failed) and its end (what to do) shown.
import { createServer, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { GodepotError, toGodepotError } from '../../src/proxy/errors.js';
import { MAX_SHOWN_LINE, sendError, sendText } from '../../src/server/respond.js';

async function bodyOf(err: GodepotError): Promise<string> {
  const server = createServer((_req, res) => sendError(res, err));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  try {
    return await (await fetch(`http://127.0.0.1:${port}/`)).text();
  } finally {
    server.close();
  }
}

describe('sendError', () => {
  it('answers one line of at most 648 bytes, the middle left out of a longer message', async () => {
    const upstreamWords = 'fatal: could not read Username for ‘https://example.com’: terminal prompts disabled '.repeat(
      12,
    );
    const message = `not found: example.com/m@v1.0.0 .info (https://proxy.example answered 410: ${upstreamWords})\n(if example.com is private, use --private 'example.com')`;
    const body = await bodyOf(new GodepotError('gone', message));
    expect(body.endsWith('\n')).toBe(true);
    const line = body.slice(0, -1);
    expect(line).not.toContain('\n');
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(MAX_SHOWN_LINE);
    expect(line).toMatch(/^not found: example\.com\/m@v1\.0\.0 \.info \(https:\/\/proxy\.example answered 410: fatal/);
    expect(line).toMatch(/ … .*use --private 'example\.com'\)$/);
  });

  it('leaves a message that fits as it is, but for control characters', async () => {
    expect(await bodyOf(new GodepotError('not_found', 'not found: zurückgezogen\u001b[31m'))).toBe(
      'not found: zurückgezogen?[31m\n',
    );
  });
});

describe('text answers in a browser', () => {
  // An error names what a client asked for (any path) and what an upstream said; /readyz and /api/incidents are
  // JSON the operator page reads, holding an upstream's error text. Opened in a browser, none may be sniffed as
  // HTML: nosniff holds it to its content type.
  it('forbids content sniffing on errors and on text and JSON answers', async () => {
    const hostile = '<html><img src=x onerror=alert(1)></html>';
    for (const send of [
      (res: ServerResponse) => sendError(res, new GodepotError('not_found', `not found: ${hostile}`)),
      (res: ServerResponse) => sendText(res, 200, JSON.stringify([{ detail: hostile }]), 'application/json'),
      (res: ServerResponse) => sendText(res, 503, hostile),
    ]) {
      const server = createServer((_req, res) => send(res));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as { port: number };
      try {
        const r = await fetch(`http://127.0.0.1:${port}/`);
        await r.text();
        expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      } finally {
        server.close();
      }
    }
  });
});

describe('load that passes', () => {
  // A full verification queue, the connection reserve, descriptors run out: the client may ask again, and is told
  // when (as the connection cap's own 503 says), where an outage or a refusal says nothing of the kind.
  it('says when to ask again on busy and overloaded, and only there', async () => {
    const retryAfter = async (err: GodepotError): Promise<string | null> => {
      const server = createServer((_req, res) => sendError(res, err));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as { port: number };
      try {
        const r = await fetch(`http://127.0.0.1:${port}/`);
        await r.text();
        return r.headers.get('retry-after');
      } finally {
        server.close();
      }
    };
    expect(await retryAfter(toGodepotError(Object.assign(new Error('EMFILE'), { code: 'EMFILE' }), 'x'))).toBe('5');
    expect(await retryAfter(new GodepotError('busy', 'godepot: too many verifications in progress'))).toBe('5');
    expect(await retryAfter(new GodepotError('overloaded', 'godepot: too many connections'))).toBe('5');
    expect(await retryAfter(new GodepotError('upstream_failed', 'godepot: upstream down'))).toBeNull();
  });
});
