// The --auth gate and users file: who gets in, with which status, and what
// the refusal says (never the token, never the pattern list).
import { describe, expect, it, vi } from 'vitest';
import { chmod, chown, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide, moduleOfPath, basicCredentials } from '../../src/auth/gate.js';
import { decodeRequestPath, parseProxyPath } from '../../src/proxy/request.js';
import { parseSumdbRequest } from '../../src/sumdb/request.js';
import { prng } from '../support/prng.js';
import { hashToken, parseUsers, withUser } from '../../src/auth/users.js';
import { authCommand } from '../../src/cli/auth.js';
import { main } from '../../src/cli/main.js';

const basic = (user: string, token: string): string => 'Basic ' + Buffer.from(`${user}:${token}`).toString('base64');

const users = parseUsers(
  JSON.stringify({
    users: [
      { name: 'ci', tokenSha256: hashToken('full-token').toString('hex'), modules: ['*'] },
      { name: 'public', tokenSha256: hashToken('pub-token').toString('hex'), modules: ['example.com/*'] },
    ],
  }),
);

describe('the auth gate', () => {
  it('leaves the probes open and wants a user for everything else', () => {
    expect(decide(users, '/healthz', undefined)).toEqual({ allow: true, user: null });
    expect(decide(users, '/readyz', undefined)).toEqual({ allow: true, user: null });
    for (const p of ['/metrics', '/', '/api/incidents', '/corp.example/lib/@v/list', '/sumdb/sum.golang.org/latest']) {
      const d = decide(users, p, undefined);
      expect(d.allow, p).toBe(false);
      if (!d.allow) expect(d.status).toBe(401);
    }
  });

  it('refuses a wrong token and an unknown user alike, without echoing the token', () => {
    for (const h of [
      basic('ci', 'nope'),
      basic('nobody', 'full-token'),
      basic('ci', ''),
      'Bearer full-token',
      'Basic !!',
    ]) {
      const d = decide(users, '/example.com/a/@v/list', h);
      expect(d.allow, h).toBe(false);
      if (!d.allow) {
        expect(d.status).toBe(401);
        expect(d.message).not.toContain('full-token');
        expect(d.message).not.toContain('nope');
      }
    }
  });

  it('names in its decision (which is logged) only a user the file knows: an unknown name is often the token itself', () => {
    const asToken = decide(users, '/example.com/a/@v/list', basic('full-token-in-the-name', ''));
    expect(asToken).toMatchObject({ allow: false, reason: 'bad_credentials', user: null });
    const wrongToken = decide(users, '/example.com/a/@v/list', basic('ci', 'nope'));
    expect(wrongToken).toMatchObject({ allow: false, reason: 'bad_credentials', user: 'ci' });
  });

  it('lets a user read only modules matching its patterns (403 naming the rule, not the list)', () => {
    expect(decide(users, '/example.com/a/@v/v1.0.0.zip', basic('public', 'pub-token')).allow).toBe(true);
    expect(decide(users, '/corp.example/lib/@v/v1.0.0.zip', basic('ci', 'full-token')).allow).toBe(true);
    const d = decide(users, '/corp.example/lib/@v/list', basic('public', 'pub-token'));
    expect(d.allow).toBe(false);
    if (!d.allow) {
      expect(d.status).toBe(403);
      expect(d.message).toMatch(/user public may not read corp\.example\/lib.*module patterns/);
      expect(d.message).not.toContain('example.com/*');
    }
    const lookup = decide(users, '/sumdb/sum.golang.org/lookup/corp.example/lib@v1.0.0', basic('public', 'pub-token'));
    expect(lookup.allow).toBe(false);
    // Tiles and tree heads name no module: any valid user.
    expect(decide(users, '/sumdb/sum.golang.org/tile/8/0/000', basic('public', 'pub-token')).allow).toBe(true);
    expect(decide(users, '/corp.example/lib/@latest', basic('public', 'pub-token')).allow).toBe(false);
  });

  it('opens the operator surfaces only to a user allowed every module: they name modules of every pattern', () => {
    for (const p of ['/metrics', '/api/incidents', '/api/upstreams', '/api', '/ui', '/ui/', '/ui/app.js']) {
      expect(decide(users, p, basic('ci', 'full-token')).allow, p).toBe(true);
      const d = decide(users, p, basic('public', 'pub-token'));
      expect(d.allow, p).toBe(false);
      if (!d.allow) {
        expect(d).toMatchObject({ status: 403, reason: 'operator_only', user: 'public' });
        expect(d.message).toMatch(/user public may not read the operator pages.*"\*"/);
      }
    }
    // Not operator surfaces: the about page, and module paths that merely begin alike.
    for (const p of ['/', '/apis.example/m/@v/list', '/ui.example/m/@latest', '/metrics.example/m/@latest']) {
      const d = decide(users, p, basic('public', 'pub-token'));
      expect(d.allow ? 'allowed' : d.reason, p).not.toBe('operator_only');
    }
  });

  it('reads module paths as the router does (case-escaped, @latest, lookups)', () => {
    expect(moduleOfPath('/github.com/!azure/sdk/@v/list')).toBe('github.com/Azure/sdk');
    expect(moduleOfPath('/corp.example/lib/@latest')).toBe('corp.example/lib');
    expect(moduleOfPath('/sumdb/sum.golang.org/lookup/corp.example/lib@v1.0.0')).toBe('corp.example/lib');
    expect(moduleOfPath('/metrics')).toBeNull();
    expect(basicCredentials(basic('a', 'b:c'))).toEqual({ user: 'a', token: Buffer.from('b:c') });
  });

  it("reads the header as Go's net/http Request.BasicAuth does: what Go refuses does not get in", () => {
    const b64 = basic('ci', 'full-token').slice('Basic '.length); // Y2k6ZnVsbC10b2tlbg==
    // Each verdict checked against Go 1.26's Request.BasicAuth.
    const goAccepts = ['Basic ', 'basic ', 'BASIC ', 'bAsIc '].map((s) => s + b64);
    const goRefuses = [
      'Basic  ' + b64, // two spaces
      'Basic\t' + b64,
      'Basic' + b64,
      'Basic ' + b64.replace(/=+$/, ''), // no padding
      'Basic ' + b64 + '=',
      'Basic ' + b64 + '!',
      'Basic ' + b64.slice(0, 4) + ' ' + b64.slice(4),
      'Basic ' + b64.slice(0, 4) + '.' + b64.slice(4),
      'Basic ' + b64 + Buffer.from('x:y').toString('base64'), // data after the padding
      'Basic ' + b64 + '\u00e9',
      'Basic ' + b64 + ', Bearer x',
      'Bearer ' + b64,
    ];
    for (const h of goAccepts) expect(decide(users, '/example.com/a/@v/list', h).allow, h).toBe(true);
    for (const h of goRefuses) {
      expect(decide(users, '/example.com/a/@v/list', h), h).toMatchObject({ allow: false, status: 401 });
    }
    // The URL-safe alphabet is not standard base64: "ci:>>?" is Y2k6Pj4/ there, Y2k6Pj4_ URL-safe.
    const urlSafe = parseUsers(withUser(null, 'ci', hashToken('>>?'), '*'));
    expect(decide(urlSafe, '/m.example/a/@v/list', 'Basic Y2k6Pj4/').allow).toBe(true);
    expect(decide(urlSafe, '/m.example/a/@v/list', 'Basic Y2k6Pj4_').allow).toBe(false);
    const colons = parseUsers(withUser(null, 'ci', hashToken('a:b:'), '*'));
    expect(decide(colons, '/m.example/a/@v/list', basic('ci', 'a:b:')).allow).toBe(true);
    expect(decide(colons, '/m.example/a/@v/list', basic('ci', 'a:b')).allow).toBe(false);
  });

  it('compares the token as the bytes sent: bytes that are not UTF-8 do not match a token holding U+FFFD', () => {
    const odd = parseUsers(withUser(null, 'ci', hashToken('x\uFFFDy'), '*'));
    const sent = (token: Buffer): string => 'Basic ' + Buffer.concat([Buffer.from('ci:'), token]).toString('base64');
    expect(decide(odd, '/example.com/a/@v/list', sent(Buffer.from('x\uFFFDy'))).allow).toBe(true);
    for (const bad of [[0xff], [0xfe], [0xc3], [0xed, 0xa0, 0x80], [0xfd]]) {
      const token = Buffer.concat([Buffer.from('x'), Buffer.from(bad), Buffer.from('y')]);
      expect(decide(odd, '/example.com/a/@v/list', sent(token)), token.toString('hex')).toMatchObject({
        allow: false,
        status: 401,
        reason: 'bad_credentials',
      });
    }
  });
});

describe('the users file', () => {
  it('refuses what it cannot read as a whole', () => {
    expect(() => parseUsers('{')).toThrow(/not JSON/);
    // Saved by a Windows editor: UTF-8 with a byte-order mark.
    expect(parseUsers('\uFEFF{"users": []}')).toEqual([]);
    expect(() => parseUsers('{"users":[{"name":"a","tokenSha256":"abc","modules":["*"]}]}')).toThrow(/64 hex/);
    expect(() => parseUsers('{"users":[{"name":"a b","tokenSha256":"' + 'a'.repeat(64) + '","modules":[]}]}')).toThrow(
      /name/,
    );
    expect(() => parseUsers('{"users":[{"name":"a","tokenSha256":"' + 'a'.repeat(64) + '","modules":["["]}]}')).toThrow(
      /invalid module pattern "\["/,
    );
    const twice = withUser(withUser(null, 'a', hashToken('1'), '*'), 'a', hashToken('2'), 'x.example/*');
    expect(parseUsers(twice)).toHaveLength(1);
  });

  it('refuses an entry holding the hash of an empty token (a variable left unset), which anyone could send', () => {
    // `printf %s "$TOKEN" | sha256sum` and `echo "$TOKEN" | sha256sum` with TOKEN unset.
    for (const empty of ['', '\n']) {
      const text = JSON.stringify({
        users: [{ name: 'ci', tokenSha256: hashToken(empty).toString('hex').toUpperCase(), modules: ['*'] }],
      });
      expect(() => parseUsers(text)).toThrow(/user ci: "tokenSha256" is the SHA-256 of an empty token/);
    }
    // What such a file would have let in: GOPROXY=https://ci@host sends "ci:", an empty token.
    const open = [{ name: 'ci', tokenSha256: hashToken(''), modules: '*' }];
    expect(decide(open, '/corp.example/lib/@v/list', basic('ci', '')).allow).toBe(true);
  });

  it('godepot auth add prints a token once and stores only its hash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'godepot-auth-'));
    try {
      const file = join(dir, 'users.json');
      const out: string[] = [];
      const io = { out: (s: string) => out.push(s), err: process.stderr, env: {} };
      expect(await authCommand(['add', 'ci', '--modules', 'corp.example/*,example.com', '--auth', file], io)).toBe(0);
      const token = out.join('').trim().split('\n').pop() ?? '';
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const text = await readFile(file, 'utf8');
      expect(text).not.toContain(token);
      const [u] = parseUsers(text);
      expect(u?.tokenSha256.equals(hashToken(token))).toBe(true);
      expect(u?.modules).toBe('corp.example/*,example.com');
      expect(decide(parseUsers(text), '/corp.example/x/@v/list', basic('ci', token)).allow).toBe(true);
      // What a token may read is said when it is made: no silent "every module".
      await expect(authCommand(['add', 'other', '--auth', file], io)).rejects.toThrow(/give --modules PATTERNS/);
      // --modules given twice: both patterns.
      expect(
        await authCommand(['add', 'two', '--modules', 'a.example', '--modules', 'b.example/*', '--auth', file], io),
      ).toBe(0);
      expect(parseUsers(await readFile(file, 'utf8')).find((x) => x.name === 'two')?.modules).toBe(
        'a.example,b.example/*',
      );
      const help: string[] = [];
      expect(await authCommand(['add', '--help'], { ...io, out: (t: string) => void help.push(t) })).toBe(0);
      expect(help.join('')).toMatch(/^Usage: godepot auth add NAME --modules PATTERNS/);
      // The overview says so too: --modules has no default there either.
      const write = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
      try {
        expect(await main(['help'])).toBe(0);
        expect(write.mock.calls.join('')).toContain('godepot auth add NAME --modules PATTERNS [--auth FILE]');
      } finally {
        write.mockRestore();
      }
      expect(parseUsers(await readFile(file, 'utf8')).map((x) => x.name)).toEqual(['ci', 'two']);
      const nowhere = join(dir, 'missing', 'users.json');
      await expect(authCommand(['add', 'ci', '--modules', '*', '--auth', nowhere], io)).rejects.toThrow(
        `cannot write ${nowhere}: its folder ${join(dir, 'missing')} does not exist; create it first`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('godepot auth add on a users file that exists', () => {
  // An administrator (often root) adds a user to a file godepot, another user, reads (root:godepot 0640): a copy
  // that only its writer may read would keep the new token out, and godepot from starting again.
  it("keeps the file's mode, and its owner when it may (as root)", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'godepot-auth-'));
    try {
      const file = join(dir, 'users.json');
      await writeFile(file, withUser(null, 'ci', hashToken('t'), '*'));
      await chmod(file, 0o640);
      const root = process.getuid?.() === 0;
      if (root) await chown(file, 4321, 4322);
      const io = { out: () => undefined, err: process.stderr, env: {} };
      expect(await authCommand(['add', 'other', '--modules', 'example.com/*', '--auth', file], io)).toBe(0);
      const st = await stat(file);
      expect((st.mode & 0o777).toString(8)).toBe('640');
      if (root) expect([st.uid, st.gid]).toEqual([4321, 4322]);
      expect(parseUsers(await readFile(file, 'utf8')).map((u) => u.name)).toEqual(['ci', 'other']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Guards found missing by a mutation review: a lookup in a checksum database whose name holds '/'
// is still checked against the module's rule, and user names are matched exactly (case included).
describe('lookups in a checksum database whose name holds a slash', () => {
  // Database names may contain '/' (the server matches configured names as prefixes).
  const lookup = '/sumdb/example.com/sumdb/lookup/corp.example/lib@v1.0.0';

  it('reads the module of the lookup, whatever the database name', () => {
    expect(moduleOfPath(lookup)).toBe('corp.example/lib');
    expect(moduleOfPath('/sumdb/example.com/a/b/lookup/github.com/!azure/sdk@v1.2.3')).toBe('github.com/Azure/sdk');
  });

  it("checks the lookup against the module's rule: 403 for a user not allowed it", () => {
    const d = decide(users, lookup, basic('public', 'pub-token'));
    expect(d).toMatchObject({ allow: false, status: 403, reason: 'module_not_allowed', user: 'public' });
    expect(decide(users, lookup, basic('ci', 'full-token')).allow).toBe(true);
    expect(decide(users, '/sumdb/example.com/sumdb/lookup/example.com/a@v1.0.0', basic('public', 'pub-token'))).toEqual(
      { allow: true, user: 'public' },
    );
  });
});

describe('user names', () => {
  it('match exactly: the token of user ci does not let in CI, Ci or cI', () => {
    expect(decide(users, '/corp.example/lib/@v/list', basic('ci', 'full-token'))).toEqual({ allow: true, user: 'ci' });
    for (const name of ['CI', 'Ci', 'cI', 'PUBLIC']) {
      const token = name.toLowerCase() === 'ci' ? 'full-token' : 'pub-token';
      const d = decide(users, '/example.com/a/@v/list', basic(name, token));
      expect(d, name).toMatchObject({ allow: false, status: 401, reason: 'bad_credentials' });
    }
  });
});

describe('the gate and the router read the same module', () => {
  // The gate parses paths on its own (it must decide before routing): for every path the router would serve
  // as a module (or a lookup), the gate must have checked that very module, whatever the spelling.
  const PIECES = [
    'corp.example',
    'secret',
    '!secret',
    '@v',
    '%40v',
    '@latest',
    'list',
    'v1.0.0.info',
    'v1.0.0.zip',
    '',
    '.',
    '%2e',
    'x@v1.0.0',
    'x@v1.0.0-a',
    'lookup',
    'sumdb',
    'sum.golang.org',
    'v2',
    'example.com',
  ];

  /** The module the router serves for a raw path (proxy or sumdb lookup); null when it serves none. */
  function routed(raw: string): string | null {
    let path: string;
    try {
      path = decodeRequestPath(raw);
    } catch {
      return null;
    }
    try {
      if (path.startsWith('/sumdb/sum.golang.org/')) {
        const r = parseSumdbRequest(path.slice('/sumdb/sum.golang.org/'.length));
        return r.kind === 'lookup' ? r.ref.path : null;
      }
      return parseProxyPath(path)?.path ?? null;
    } catch {
      return null;
    }
  }

  it('on random paths made of hostile pieces', () => {
    const rand = prng(23);
    let served = 0;
    for (let i = 0; i < 20_000; i++) {
      const n = 1 + Math.floor(rand() * 6);
      const parts = Array.from({ length: n }, () => PIECES[Math.floor(rand() * PIECES.length)]);
      const raw = '/' + parts.join('/');
      const module = routed(raw);
      if (module === null) continue;
      served++;
      expect(moduleOfPath(decodeRequestPath(raw)), raw).toBe(module);
    }
    // The pieces make real module requests often enough for the comparison to mean something.
    expect(served).toBeGreaterThan(100);
  });
});
