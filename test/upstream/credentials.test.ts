// Credentials in upstream and database URLs (upstream/credentials.ts): shown
// redacted as the go command shows them, sent as Basic authorization to the
// URL they were given with and every URL below it, and to no other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { DEFAULT_DEADLINES } from '../../src/config/settings.js';
import {
  authorizationFor,
  EndpointRegistry,
  HttpPools,
  readLimited,
  redactUrl,
  splitCredentials,
} from '../../src/upstream/index.js';
import { redactText } from '../../src/util/redact.js';

describe('redaction', () => {
  it.each([
    ['https://alice:s3cret@corp.example/go', 'https://alice:xxxxx@corp.example/go'],
    ['https://tok3n@corp.example', 'https://xxxxx@corp.example/'],
    ['https://corp.example/go', 'https://corp.example/go'],
  ])('%s is shown as %s', (url, shown) => {
    expect(redactUrl(new URL(url))).toBe(shown);
  });

  it('redacts URLs inside a text that may not parse', () => {
    expect(redactText('"https://alice:s3cret@corp example" or http://tok3n@x|y')).toBe(
      '"https://alice:xxxxx@corp example" or http://xxxxx@x|y',
    );
    // An unescaped '@' in the password: the URL parser reads up to the last one, and so does redaction.
    expect(redactText('https://alice:p@ss@corp.example/a@b')).toBe('https://alice:xxxxx@corp.example/a@b');
    // A scheme right after other text is still one ("url=https://…").
    expect(redactText('url=https://alice:s3cret@corp.example')).toBe('url=https://alice:xxxxx@corp.example');
    // A password as a query parameter (ioredis reads redis://…?password= as one).
    expect(redactText('"redis://h:x/0?db=1&password=s3cret&family=4"')).toBe(
      '"redis://h:x/0?db=1&password=xxxxx&family=4"',
    );
  });

  it('reads a long run of letters in linear time (a hostile host writes one line of them)', () => {
    const started = performance.now();
    expect(redactText('a'.repeat(1 << 20))).toHaveLength(1 << 20);
    // Quadratic, this took minutes; linear, a few ms (the bound leaves room for a loaded machine).
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('which calls carry the credentials', () => {
  const creds = [
    splitCredentials(new URL('https://alice:one@corp.example/go')).credential!,
    splitCredentials(new URL('https://bob:two@corp.example/go/sumdb/sum.golang.org')).credential!,
  ];
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

  it('decodes %-escapes in the user and password, and keeps one that is not valid as written', () => {
    expect(splitCredentials(new URL('https://ci:p%40ss@corp.example')).credential?.authorization).toBe(
      basic('ci:p@ss'),
    );
    expect(splitCredentials(new URL('https://ci:100%zz@corp.example')).credential?.authorization).toBe(
      basic('ci:100%zz'),
    );
  });

  it('the URL given, and below it, the longest match winning; not a sibling or another host', () => {
    expect(creds.map((c) => c.url)).toEqual([
      'https://alice:xxxxx@corp.example/go',
      'https://bob:xxxxx@corp.example/go/sumdb/sum.golang.org',
    ]);
    expect(authorizationFor(creds, 'https://alice:xxxxx@corp.example/go')).toBe(basic('alice:one'));
    expect(authorizationFor(creds, 'https://alice:xxxxx@corp.example/go/sumdb/x')).toBe(basic('alice:one'));
    expect(authorizationFor(creds, 'https://bob:xxxxx@corp.example/go/sumdb/sum.golang.org')).toBe(basic('bob:two'));
    expect(authorizationFor(creds, 'https://alice:xxxxx@corp.example/gopher')).toBeUndefined();
    expect(authorizationFor(creds, 'https://corp.example/go')).toBeUndefined();
  });
});

describe('an endpoint with credentials', () => {
  let server: Server;
  let origin: string;
  const seen: Array<string | undefined> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.end('ok\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  it('sends them with every call, and an endpoint without them sends none', async () => {
    const { name, credential } = splitCredentials(new URL(`http://alice:s3cret@${origin}/db`));
    const pools = new HttpPools(DEFAULT_DEADLINES);
    const endpoints = new EndpointRegistry(pools, {
      deadlines: DEFAULT_DEADLINES,
      retry: { attempts: 1, baseDelay: 5, maxDelay: 5 },
      breaker: { failures: 100, halfOpenAfter: 60_000 },
      credentials: [credential!],
    });
    try {
      await endpoints.get(name).get('/latest', 'test', 'sumdb', readLimited(100));
      await endpoints.get(`http://${origin}/db`).get('/latest', 'test', 'sumdb', readLimited(100));
    } finally {
      await pools.close();
    }
    expect(seen).toEqual([`Basic ${Buffer.from('alice:s3cret').toString('base64')}`, undefined]);
  });
});
