// Private modules from a Git host over HTTPS, with the real go command under godepot and as its client: the host
// (git http-backend behind a TLS server, reached through the world's HTTP proxy by CONNECT) has a certificate
// signed by a throwaway authority made for the run and needs basic auth; godepot's go runs get the authority
// through SSL_CERT_FILE (go) and GIT_SSL_CAINFO (git), and credentials through .netrc or GOAUTH. A wrong password
// and an untrusted certificate each get a one-line 502 that names the cause and the fix, and no credential shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeRun, findGo, goEnv, requireGo, runGo, telemetryOff } from '../world/index.js';
import { FakeGitHost } from '../world/githost.js';
import { findComponent } from '../support/components.js';
import { removeDir, startGodepot, tempDir } from '../support/godepot.js';
import { hasOpenssl, testCa, type TestCa } from '../support/tls.js';

const go = findGo();
const git = go === null ? null : findComponent('git');

const LIB = 'corp.example/lib';
const VANITY = 'corp.example/vanity';
const USER = 'ci';
const PASSWORD = 'https-s3cret-pw';
const WRONG = 'wrong-pw-7c1d9e';

const files = (path: string, says: string): Record<string, string> => ({
  'go.mod': `module ${path}\n\ngo 1.21\n`,
  'lib.go': `package lib\n\nfunc Say() string { return "${says}" }\n`,
});

interface ModJson {
  Version?: string;
  Sum?: string;
  GoModSum?: string;
  Error?: string;
}

describe.skipIf(go === null || git === null || !hasOpenssl)('private modules over HTTPS with credentials', () => {
  let host: FakeGitHost;
  let ca: TestCa;
  const dirs: string[] = [];
  const dir = async (prefix: string): Promise<string> => {
    const d = await tempDir(prefix);
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    const certs = await dir('godepot-ca-');
    ca = testCa(certs, 'DNS:corp.example,IP:127.0.0.1');
    host = await FakeGitHost.start({
      git: git as string,
      user: USER,
      password: PASSWORD,
      tls: { cert: ca.cert, key: ca.key },
    });
    await host.createRepo(LIB, files(LIB, 'v1.0.0'));
    host.tag(LIB, 'v1.0.0');
    await host.createRepo(VANITY, files(VANITY, 'vanity'));
    host.tag(VANITY, 'v1.0.0');
    // Its go-import tag (served over HTTPS by corp.example) names the repository at the TLS server's loopback
    // address: a module path cannot name 127.0.0.1:PORT itself (no ':' in a module path).
    host.redirect(VANITY, `${host.httpsUrl}/git/vanity`);
  }, 60_000);

  afterAll(async () => {
    await host?.close();
    for (const d of dirs) await removeDir(d);
  });

  /**
   * The environment of godepot's go runs: a HOME with a .netrc for the host (and its loopback address) holding
   * password (null: no .netrc), the host's proxy, and more (CA files, GOAUTH, …).
   */
  const vcsEnv = async (password: string | null, more: Record<string, string>): Promise<Record<string, string>> => {
    const home = await dir('godepot-vcshome-');
    await mkdir(home, { recursive: true });
    if (password !== null) {
      await writeFile(join(home, '.netrc'), host.netrc('corp.example', password) + host.netrc('127.0.0.1', password));
      await chmod(join(home, '.netrc'), 0o600);
    }
    telemetryOff(home);
    return {
      PATH: [join(requireGo(), '..'), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
      HOME: home,
      GOCACHE: join(home, 'gocache'),
      ...host.clientEnv(),
      ...more,
    };
  };
  /** The test CA for the go command and for git. */
  const trusted = (): Record<string, string> => ({ SSL_CERT_FILE: ca.caFile, GIT_SSL_CAINFO: ca.caFile });

  /** A client's go environment for godepot at url. */
  const client = async (url: string) => {
    const h = await dir('godepot-gohome-');
    const env = goEnv({
      home: h,
      proxy: url,
      sumdb: 'off',
      extra: { GONOSUMDB: 'corp.example', GOFLAGS: '-mod=mod -modcacherw' },
    });
    return { h, env };
  };

  /** `go mod download -json mod` by a client of a godepot whose go runs get env; its log, and its answer to .info. */
  const throughGodepot = async (env: Record<string, string>, mod: string) => {
    const g = await startGodepot({ upstream: 'off', private: 'corp.example', sumdb: 'off' }, { vcs: { env } });
    try {
      const { h, env: goenv } = await client(g.url);
      const r = await runGo(['mod', 'download', '-json', mod], { cwd: h, env: goenv, timeoutMs: 30_000 });
      const [path = '', version = ''] = mod.split('@');
      const info = await fetch(`${g.url}/${path}/@v/${version}.info`);
      return {
        r,
        json: JSON.parse(r.stdout || '{}') as ModJson,
        status: info.status,
        body: await info.text(),
        log: JSON.stringify(g.logs),
      };
    } finally {
      await g.close();
    }
  };

  /** The 502 of a failed fetch: one line, in the client's words too, no credential anywhere. */
  const failed = async (env: Record<string, string>, mod = `${LIB}@v1.0.0`): Promise<string> => {
    const x = await throughGodepot(env, mod);
    expect(x.r.code, describeRun(x.r)).not.toBe(0);
    expect(x.status, x.body).toBe(502);
    expect(x.body.trim().split('\n')).toHaveLength(1);
    expect(x.json.Error).toContain(`server response: ${x.body.trim()}`);
    const basic = (pw: string): string => Buffer.from(`${USER}:${pw}`).toString('base64');
    for (const text of [x.body, x.r.stdout, x.r.stderr, x.log])
      for (const secret of [PASSWORD, WRONG, basic(PASSWORD), basic(WRONG)]) expect(text).not.toContain(secret);
    return x.body.trim();
  };

  it(".netrc and the CA: the module is served over HTTPS, with the go command's own hashes", async () => {
    const env = await vcsEnv(PASSWORD, trusted());
    const before = host.requests.length;
    const x = await throughGodepot(env, `${LIB}@v1.0.0`);
    expect(x.r.code, describeRun(x.r)).toBe(0);
    const git = host.requests.slice(before).filter((q) => q.url.includes('git-upload-pack'));
    expect(git.length).toBeGreaterThan(0);
    // git asks without credentials first (curl's way), and is answered 401.
    expect(git.some((q) => q.status === 200)).toBe(true);
    expect(git.filter((q) => q.status !== 401).every((q) => q.user === USER && q.status === 200)).toBe(true);
    // The go command itself, straight from the origin with the same credentials and CA.
    const { h, env: goenv } = await client('direct');
    const own = await runGo(['mod', 'download', '-json', `${LIB}@v1.0.0`], {
      cwd: h,
      env: { ...goenv, ...env, GOAUTH: 'netrc', GOPRIVATE: 'corp.example', GOVCS: '' },
      timeoutMs: 30_000,
    });
    expect(own.code, describeRun(own)).toBe(0);
    const ownJson = JSON.parse(own.stdout) as ModJson;
    expect(ownJson.Sum).toMatch(/^h1:/);
    expect(x.json.Sum).toBe(ownJson.Sum);
    expect(x.json.GoModSum).toBe(ownJson.GoModSum);
  }, 60_000);

  it('a go-import page behind auth: GOAUTH=netrc and a GOAUTH command give it credentials; GOAUTH=off does not', async () => {
    host.metaAuth = true;
    try {
      const off = await failed(await vcsEnv(PASSWORD, { ...trusted(), GOAUTH: 'off' }));
      expect(off).toMatch(
        /^godepot: no valid credentials for corp\.example to fetch corp\.example\/lib@v1\.0\.0: .*GOAUTH/,
      );

      const netrc = await throughGodepot(await vcsEnv(PASSWORD, { ...trusted(), GOAUTH: 'netrc' }), `${LIB}@v1.0.0`);
      expect(netrc.r.code, describeRun(netrc.r)).toBe(0);

      // go help goauth: the command prints URL lines, a blank line, header lines and a blank line. git does not
      // read GOAUTH: it has the .netrc.
      const env = await vcsEnv(PASSWORD, trusted());
      const script = join(env.HOME ?? '', 'goauth.sh');
      const ran = join(env.HOME ?? '', 'goauth.ran');
      const header = `Authorization: Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
      await writeFile(script, `#!/bin/sh\necho "$@" >> ${ran}\nprintf 'https://corp.example\\n\\n${header}\\n\\n'\n`);
      await chmod(script, 0o700);
      const before = host.requests.length;
      const cmd = await throughGodepot({ ...env, GOAUTH: `${script}` }, `${LIB}@v1.0.0`);
      expect(cmd.r.code, describeRun(cmd.r)).toBe(0);
      expect(readFileSync(ran, 'utf8')).not.toBe('');
      const metas = host.requests.slice(before).filter((q) => q.url.includes('go-get=1'));
      expect(metas.length).toBeGreaterThan(0);
      expect(metas.every((q) => q.user === USER && q.status === 200)).toBe(true);
    } finally {
      host.metaAuth = false;
    }
  }, 60_000);

  it('a wrong password: a 502 that names the module, the host and the fix, and never the password', async () => {
    for (const metaAuth of [false, true]) {
      host.metaAuth = metaAuth;
      try {
        const body = await failed(await vcsEnv(WRONG, trusted()));
        expect(body).toMatch(
          /^godepot: no valid credentials for corp\.example to fetch corp\.example\/lib@v1\.0\.0: add \(or correct\) the \.netrc entry \(machine corp\.example login USER password TOKEN\)/,
        );
      } finally {
        host.metaAuth = false;
      }
    }
  }, 60_000);

  it('an untrusted certificate: a 502 that says TLS and names the CA settings of go and of git', async () => {
    const fix =
      /give godepot's go runs the CA of corp\.example: SSL_CERT_FILE for the go command, and GIT_SSL_CAINFO \(or git's http\.sslCAInfo\) for git, which does not read SSL_CERT_FILE$/;
    // No CA: the go command's fetch of the go-import page fails first.
    const none = await failed(await vcsEnv(PASSWORD, {}));
    expect(none).toMatch(
      /^godepot: TLS failure talking to corp\.example for corp\.example\/lib@v1\.0\.0: .*x509: certificate signed by unknown authority/,
    );
    expect(none).toMatch(fix);
    expect(none).not.toMatch(/credentials/);
    // The CA for go alone (what the message said until 2026-12-07): git fails, and must not be told SSL_CERT_FILE alone.
    // GOINSECURE does not help either: go skips its check of the go-import page, git still checks.
    for (const more of [{ SSL_CERT_FILE: ca.caFile }, { GOINSECURE: 'corp.example' }] as Record<string, string>[]) {
      const git = await failed(await vcsEnv(PASSWORD, more));
      expect(git).toMatch(
        /^godepot: TLS failure talking to corp\.example for corp\.example\/lib@v1\.0\.0: fatal: unable to access/,
      );
      expect(git).toMatch(fix);
    }
  }, 60_000);

  it('a go-import tag served over HTTPS that names the repository at a loopback address and port', async () => {
    const x = await throughGodepot(await vcsEnv(PASSWORD, trusted()), `${VANITY}@v1.0.0`);
    expect(x.r.code, describeRun(x.r)).toBe(0);
    const info = JSON.parse(x.body) as { Origin?: { URL?: string } };
    expect(info.Origin?.URL).toBe(`${host.httpsUrl}/git/vanity`);
  }, 60_000);
});
