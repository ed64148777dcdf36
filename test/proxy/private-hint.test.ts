// A module an upstream proxy cannot fetch from its origin as an anonymous
// client (proxy.golang.org passes on the go command's "terminal prompts
// disabled", "unrecognized import path", or says "module host not
// permitted") is likely a private one: godepot's answer says how to serve it
// (--private), as the go command's own error points to its FAQ. Other
// not-found answers pass on unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGoProxy, faults } from '../world/index.js';
import { closeAll, startGodepot, type RunningGodepot } from '../support/godepot.js';
import { fetchAll as get } from '../support/http.js';
import { fromNotFound } from '../../src/proxy/errors.js';
import { NotFoundError } from '../../src/upstream/index.js';

describe('a private module asked of a public proxy', () => {
  let upstream: FakeGoProxy;
  const running: RunningGodepot[] = [];
  beforeAll(async () => {
    upstream = await FakeGoProxy.start([]);
  });
  afterAll(async () => {
    await closeAll(running);
    await upstream.close();
  });

  it('says how to serve it from its origin, whatever the upstream status', async () => {
    const signs = [
      [
        404,
        "not found: git.corp.example/team/lib@latest: reading https://git.corp.example/team/lib: fatal: could not read Username for 'https://git.corp.example': terminal prompts disabled",
      ],
      [410, 'not found: git.corp.example/team/lib@v1.0.0: unrecognized import path "git.corp.example/team/lib"'],
      [400, 'Go module host not permitted'],
    ] as const;
    const g = await startGodepot({ upstream: upstream.url, sumdb: 'off' });
    running.push(g);
    for (const [i, [status, words]] of signs.entries()) {
      const undo = upstream.setFault(faults.status(status, words), `/git.corp.example/team/lib${i}/`);
      try {
        const r = await get(`${g.url}/git.corp.example/team/lib${i}/@v/list`);
        expect(r.status).toBe(status);
        expect(r.text).toContain(words.slice(0, 40));
        expect(r.text).toContain("with --private 'git.corp.example'");
        expect(r.text.trim().split('\n')).toHaveLength(1);
      } finally {
        undo();
      }
    }
  });

  it('leaves other not-found answers as they are', async () => {
    const g = await startGodepot({ upstream: upstream.url, sumdb: 'off' });
    running.push(g);
    const r = await get(`${g.url}/example.com/nosuch/@v/v1.0.0.info`);
    expect(r.status).toBe(404);
    expect(r.text).toBe(
      `not found: example.com/nosuch@v1.0.0 .info (${upstream.url} answered 404: not found: module example.com/nosuch)\n`,
    );
    expect(r.text).not.toContain('--private');
  });

  it('names a pattern that covers the path asked for, and never a whole public code host', () => {
    const hint = (path: string): string =>
      fromNotFound(new NotFoundError('https://proxy.golang.org', 400, 'Go module host not permitted'), path, path)
        .message;
    // The go command probes the host itself (go get git.corp.example/team/lib asks for git.corp.example
    // too): 'git.corp.example/*' would not cover it, the bare name does.
    expect(hint('git.corp.example')).toContain("with --private 'git.corp.example':");
    expect(hint('git.corp.example/team/lib')).toContain("with --private 'git.corp.example':");
    expect(hint('github.com/acme/secret')).toContain(
      "if github.com/acme is private, godepot fetches from it itself with --private 'github.com/acme':",
    );
    expect(hint('github.com')).not.toContain('--private');
  });

  it('gives no such hint for an origin fetch (the module is private already)', () => {
    const err = new NotFoundError('origin git.corp.example', 404, 'terminal prompts disabled');
    expect(fromNotFound(err, 'git.corp.example/team/lib@latest', 'git.corp.example/team/lib').message).not.toContain(
      '--private',
    );
  });

  it('passes on only a 4xx as the status: a refusal carrying anything else (a corrupted shared entry) is a 502', () => {
    for (const [status, want] of [
      [403, 403],
      [451, 451],
      [99, 502],
      [200, 502],
      [503, 502],
      [404.5, 502],
    ] as const)
      expect(fromNotFound(new NotFoundError('http://up', status, 'x'), 'm@v1.0.0').status, String(status)).toBe(want);
  });
});
