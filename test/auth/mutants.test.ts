// Guards found missing by a mutation review of the --auth gate: a lookup in a
// checksum database whose name holds '/' is still checked against the
// module's rule, and user names are matched exactly (case included).
import { describe, expect, it } from 'vitest';
import { decide, moduleOfPath } from '../../src/auth/gate.js';
import { hashToken, parseUsers } from '../../src/auth/users.js';

const basic = (user: string, token: string): string => 'Basic ' + Buffer.from(`${user}:${token}`).toString('base64');

const users = parseUsers(
  JSON.stringify({
    users: [
      { name: 'ci', tokenSha256: hashToken('full-token').toString('hex'), modules: ['*'] },
      { name: 'public', tokenSha256: hashToken('pub-token').toString('hex'), modules: ['example.com/*'] },
    ],
  }),
);

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
