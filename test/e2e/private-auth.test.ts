// Issue 13's access control and `direct`, with the real go command: godepot
// (the built CLI) serving HTTPS with a self-signed certificate the client
// trusts through SSL_CERT_FILE, --auth with a full token and one limited to
// example.com/*, the token in GOPROXY's userinfo; and `--upstream <proxy>,direct`
// for a public module no proxy has, checked against the checksum database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildModules, describeRun, FakeGoProxy, faults, findGo, goEnv, runGo, writeApp } from '../world/index.js';
import { findComponent } from '../support/components.js';
import { removeDir, startGodepot, tempDir, type ChildGodepot, type RunningGodepot } from '../support/godepot.js';
import { hashToken, withUser } from '../../src/auth/users.js';
import { APP, LIB, spawnOnWorld, startPrivateWorld, vcsEnv, type PrivateWorld } from './private-support.js';
import { hasOpenssl, selfSignedCert } from '../support/tls.js';

const go = findGo();
const git = go === null ? null : findComponent('git');

const FULL = 'full-token-0123456789abcdef';
const LIMITED = 'limited-token-0123456789abcdef';

const DIRECT_FILES = {
  'go.mod': 'module pub.example/direct\n\ngo 1.21\n',
  'direct.go': 'package direct\n\nconst Name = "direct"\n',
};
const BAD_FILES = { 'go.mod': 'module pub.example/bad\n\ngo 1.21\n', 'bad.go': 'package bad\n\n// as released\n' };

describe.skipIf(go === null || git === null || !hasOpenssl)('HTTPS, --auth and direct, through godepot', () => {
  let world: PrivateWorld;
  let godepot: ChildGodepot;
  let cert: string;
  let port: string;
  const dirs: string[] = [];
  const home = async (): Promise<string> => {
    const d = await tempDir('godepot-gohome-');
    dirs.push(d);
    return d;
  };

  /** GET over HTTPS trusting only the test certificate. */
  const get = (
    path: string,
    auth?: string,
  ): Promise<{ status: number; body: string; wwwAuth?: string; cacheControl?: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        `https://127.0.0.1:${port}${path}`,
        { ca: cert, headers: auth ? { authorization: 'Basic ' + Buffer.from(auth).toString('base64') } : {} },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            const w = res.headers['www-authenticate'];
            const c = res.headers['cache-control'];
            resolve({
              status: res.statusCode ?? 0,
              body,
              ...(w ? { wwwAuth: w } : {}),
              ...(c ? { cacheControl: c } : {}),
            });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });

  beforeAll(async () => {
    world = await startPrivateWorld(
      git as string,
      ['pub.example'],
      [
        { path: 'pub.example/direct', version: 'v1.0.0', files: DIRECT_FILES },
        { path: 'pub.example/bad', version: 'v1.0.0', files: BAD_FILES },
      ],
    );
    await world.git.createRepo('pub.example/direct', DIRECT_FILES);
    world.git.tag('pub.example/direct', 'v1.0.0');
    // Released once with other code than the database recorded: the origin now serves different bytes.
    await world.git.createRepo('pub.example/bad', { ...BAD_FILES, 'bad.go': 'package bad\n\n// altered\n' });
    world.git.tag('pub.example/bad', 'v1.0.0');

    const dir = await tempDir('godepot-tls-');
    dirs.push(dir);
    const made = selfSignedCert(dir, 'godepot-test', 'IP:127.0.0.1');
    const { certFile, keyFile } = made;
    cert = made.cert;
    const usersFile = join(dir, 'users.json');
    await writeFile(
      usersFile,
      withUser(withUser(null, 'ci', hashToken(FULL), '*'), 'public', hashToken(LIMITED), 'example.com/*'),
    );
    const env = await vcsEnv(world.git, world.git.netrc());
    dirs.push(env.HOME as string);
    ({ godepot } = await spawnOnWorld(world, env, dirs, [
      '--private',
      'corp.example',
      '--auth',
      usersFile,
      '--tls-cert',
      certFile,
      '--tls-key',
      keyFile,
    ]));
    port = new URL(godepot.url).port;
    expect(godepot.url).toMatch(/^https:/);
  }, 120_000);

  afterAll(async () => {
    await godepot?.stop();
    await world?.close();
    for (const d of dirs) await removeDir(d);
  });

  it('without credentials: 401 with WWW-Authenticate; the probes stay open', async () => {
    const r = await get(`/${LIB}/@v/list`);
    expect(r.status).toBe(401);
    expect(r.wwwAuth).toMatch(/^Basic realm="godepot"/);
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get(`/${LIB}/@v/list`, `ci:wrong`)).status).toBe(401);
    const h = await home();
    await writeFile(join(h, 'ca.pem'), cert);
    const dl = await runGo(['mod', 'download', `${LIB}@v1.0.0`], {
      cwd: h,
      env: goEnv({ home: h, proxy: godepot.url, sumdb: 'off', extra: { SSL_CERT_FILE: join(h, 'ca.pem') } }),
      timeoutMs: 60_000,
    });
    expect(dl.code).not.toBe(0);
    expect(dl.stderr).toMatch(/401 Unauthorized/);
  }, 120_000);

  it('a token limited to example.com/* gets 403 for corp.example/…, naming the rule', async () => {
    const r = await get(`/${LIB}/@v/list`, `public:${LIMITED}`);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/user public may not read corp\.example\/lib/);
    expect(r.body).not.toContain('example.com/*');
    const list = await get('/example.com/pub/@v/list', `public:${LIMITED}`);
    expect(list.status).toBe(200);
    // Behind --auth an answer is for its user only: a shared cache in front must not keep it for others.
    expect(list.cacheControl).toBe('private, max-age=60');
    const mod = await get('/example.com/pub/@v/v1.0.0.mod', `public:${LIMITED}`);
    expect(mod.status).toBe(200);
    expect(mod.cacheControl).toBe('private, max-age=31536000, immutable');
  }, 60_000);

  it('the full token in GOPROXY userinfo builds the app over HTTPS', async () => {
    const h = await home();
    const app = await tempDir('godepot-app-');
    dirs.push(app);
    await writeApp(app, { files: APP });
    const certPath = join(h, 'ca.pem');
    await writeFile(certPath, cert);
    const { hostname } = new URL(godepot.url);
    const env = goEnv({
      home: h,
      proxy: `https://ci:${FULL}@${hostname}:${port}`,
      sumdb: world.sumdb.vkey,
      extra: { GONOSUMDB: 'corp.example', SSL_CERT_FILE: certPath },
    });
    const tidy = await runGo(['mod', 'tidy'], { cwd: app, env, timeoutMs: 180_000 });
    expect(tidy.code, describeRun(tidy)).toBe(0);
    const build = await runGo(['build', '-o', join(h, 'app'), '.'], { cwd: app, env, timeoutMs: 180_000 });
    expect(build.code, describeRun(build)).toBe(0);
    const metrics = await get('/metrics', `ci:${FULL}`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/godepot_auth_failures_total\{reason="no_credentials"\} [1-9]/);
    expect(godepot.output()).not.toContain(FULL);
    expect(godepot.output()).not.toContain(LIMITED);
  }, 400_000);
});

describe.skipIf(go === null || git === null)('--upstream <proxy>,direct for public modules', () => {
  let world: PrivateWorld;
  let godepot: RunningGodepot;
  const dirs: string[] = [];

  beforeAll(async () => {
    world = await startPrivateWorld(
      git as string,
      ['pub.example'],
      [
        { path: 'pub.example/direct', version: 'v1.0.0', files: DIRECT_FILES },
        { path: 'pub.example/bad', version: 'v1.0.0', files: BAD_FILES },
      ],
    );
    await world.git.createRepo('pub.example/direct', DIRECT_FILES);
    world.git.tag('pub.example/direct', 'v1.0.0');
    await world.git.createRepo('pub.example/bad', { ...BAD_FILES, 'bad.go': 'package bad\n\n// altered\n' });
    world.git.tag('pub.example/bad', 'v1.0.0');
    const env = await vcsEnv(world.git, null);
    dirs.push(env.HOME as string);
    // At debug level: a public module's failed origin fetch is said at info once per kind of failure every 10 s
    // (clients name such modules without limit), every one at debug; the tests read what go said of each.
    godepot = await startGodepot(
      {
        upstream: `${world.upstream.url},direct`,
        sumdb: `${world.sumdb.vkey} ${world.sumdb.url}`,
        'log-level': 'debug',
      },
      { vcs: { env } },
    );
  }, 120_000);

  afterAll(async () => {
    await godepot?.close();
    await world?.close();
    for (const d of dirs) await removeDir(d);
  });

  it('fetches what the proxy lacks from its origin, verified by the checksum database', async () => {
    const h = await tempDir('godepot-gohome-');
    dirs.push(h);
    const env = goEnv({ home: h, proxy: godepot.url, sumdb: world.sumdb.vkey });
    const dl = await runGo(['mod', 'download', '-json', 'pub.example/direct@v1.0.0', 'example.com/pub@v1.0.0'], {
      cwd: h,
      env,
      timeoutMs: 120_000,
    });
    expect(dl.code, describeRun(dl)).toBe(0);
    expect(world.upstream.requests.some((r) => r.path.includes('pub.example/direct'))).toBe(true);
    expect(world.git.count('/git/direct')).toBeGreaterThan(0);
    const zip = await fetch(`${godepot.url}/pub.example/direct/@v/v1.0.0.zip`);
    expect(zip.status).toBe(200);
    expect(zip.headers.get('x-godepot-verification')).toBe('verified');
  }, 200_000);

  it('lists and queries from the origin as the go command does with GOPROXY=direct: retracted versions listed, a host root that is no module not found', async () => {
    const M = 'pub.example/selfret';
    const files = (retract: string): Record<string, string> => ({
      'go.mod': `module ${M}\n\ngo 1.21\n${retract}`,
      'r.go': 'package selfret\n',
    });
    await world.git.createRepo(M, files(''));
    world.git.tag(M, 'v1.0.0');
    await world.git.commit(M, files('\nretract v1.1.0 // published by mistake\n'), 'retract itself');
    world.git.tag(M, 'v1.1.0');
    const h = await tempDir('godepot-gohome-');
    dirs.push(h);
    await writeFile(join(h, 'go.mod'), 'module example.com/app\n\ngo 1.21\n');
    const env = goEnv({ home: h, proxy: godepot.url, sumdb: world.sumdb.vkey, extra: { GOFLAGS: '-mod=mod' } });
    // The client reads the retractions itself: a list without the retracted version hid it from -retracted.
    const list = await runGo(['list', '-m', '-retracted', '-versions', M], { cwd: h, env });
    expect(list.code, describeRun(list)).toBe(0);
    expect(list.stdout.trim()).toBe(`${M} v1.0.0 v1.1.0`);
    // No v2: the go command also asks pub.example, which no repository answers for: a 404 (as direct says), not
    // a 502 that ends the search with "the go command's words are in godepot's log".
    const get = await runGo(['get', `${M}@v2`], { cwd: h, env });
    expect(get.code, describeRun(get)).toBe(1);
    expect(get.stderr.trim()).toBe(`go: ${M}@v2: no matching versions for query "v2"`);
    const root = await fetch(`${godepot.url}/pub.example/@v/list`);
    expect(root.status, await root.clone().text()).toBe(404);
    expect(await root.text()).toMatch(/^not found: pub\.example version list \(origin pub\.example answered 404/);
  }, 200_000);

  it('a public module the checksum database does not know is refused (404, saying so), as the go command refuses it', async () => {
    await world.git.createRepo('pub.example/unknown', {
      'go.mod': 'module pub.example/unknown\n',
      'u.go': 'package u\n',
    });
    world.git.tag('pub.example/unknown', 'v1.0.0');
    for (const kind of ['mod', 'zip']) {
      const r = await fetch(`${godepot.url}/pub.example/unknown/@v/v1.0.0.${kind}`);
      const body = await r.text();
      expect(r.status, body).toBe(404);
      expect(body).toMatch(/pub\.example\/unknown@v1\.0\.0(\/go\.mod)? is not in checksum database .*--private/);
    }
    expect(await godepot.g.storage.list('unverified/pub.example/')).toEqual([]);
    expect(await godepot.g.storage.list('mod/pub.example/unknown/')).not.toContain(
      'mod/pub.example/unknown/@v/v1.0.0.zip',
    );
  }, 200_000);

  it("a public module whose host sends go to a private repository is fetched without godepot's credentials", async () => {
    // godepot holds credentials for corp.example (its private modules); pub.example/evil's go-import names corp.example/lib.
    const env = await vcsEnv(world.git, world.git.netrc());
    dirs.push(env.HOME as string);
    const withCredentials = await startGodepot(
      {
        upstream: `${world.upstream.url},direct`,
        sumdb: `${world.sumdb.vkey} ${world.sumdb.url}`,
        private: 'corp.example',
      },
      { vcs: { env } },
    );
    world.git.redirect('pub.example/evil', 'http://corp.example/git/lib');
    try {
      // The private module itself is fetched with the credentials...
      const own = await fetch(`${withCredentials.url}/${LIB}/@v/list`);
      expect(own.status, await own.clone().text()).toBe(200);
      expect(await own.text()).toContain('v1.1.0');
      const authorized = (): number => world.git.requests.filter((r) => r.user !== null).length;
      const before = authorized();
      // ...but a public path leading to it is not: no tags, no source.
      for (const path of [
        '/pub.example/evil/@v/list',
        '/pub.example/evil/@v/v1.1.0.info',
        '/pub.example/evil/@v/v1.1.0.zip',
      ]) {
        const r = await fetch(withCredentials.url + path);
        const body = await r.text();
        expect(r.status, `${path}: ${body}`).toBeGreaterThanOrEqual(400);
        expect(body).not.toContain('v1.1.0\n');
      }
      expect(world.git.count('/git/lib')).toBeGreaterThan(0);
      expect(authorized()).toBe(before);
      const list = await (await fetch(`${withCredentials.url}/pub.example/evil/@v/list`)).text();
      expect(list).toMatch(
        /asks for credentials, and godepot fetches public modules without any .*add it to --private/,
      );
    } finally {
      await withCredentials.close();
    }
  }, 200_000);

  it("a public module whose go-import names an ssh:// repository never runs ssh (its keys are the user's, whatever HOME says)", async () => {
    // An ssh on PATH that only records that it ran: a public fetch must not get that far.
    const bin = await tempDir('godepot-fakessh-');
    dirs.push(bin);
    const ran = join(bin, 'ran');
    await writeFile(join(bin, 'ssh'), `#!/bin/sh\necho "$@" >> ${ran}\nexit 1\n`, { mode: 0o755 });
    const env = await vcsEnv(world.git, null);
    dirs.push(env.HOME as string);
    const g = await startGodepot(
      { upstream: `${world.upstream.url},direct`, sumdb: `${world.sumdb.vkey} ${world.sumdb.url}` },
      { vcs: { env: { ...env, PATH: `${bin}:${env.PATH ?? ''}` } } },
    );
    world.git.redirect('pub.example/viassh', 'ssh://git@corp.example/corp.example/lib');
    try {
      const r = await fetch(`${g.url}/pub.example/viassh/@v/list`);
      const body = await r.text();
      expect(r.status, body).toBeGreaterThanOrEqual(400);
      expect(body).not.toContain('v1.1.0');
      expect(await readFile(ran, 'utf8').catch(() => '')).toBe('');
    } finally {
      await g.close();
    }
  }, 200_000);

  it("a public module whose go-import names an internal host: the client never reads that host's answers", async () => {
    // An internal service on loopback (plain http, as go follows a go-import's http:// URL): an admin page that
    // answers every request with words meant for the inside only.
    const secret = 'internal-secret-5150';
    const asked: string[] = [];
    const internal = createServer((req, res) => {
      asked.push(req.url ?? '');
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`error: admin console: ${secret}\n`);
    });
    await new Promise<void>((r) => internal.listen(0, '127.0.0.1', r));
    const at = `http://127.0.0.1:${(internal.address() as AddressInfo).port}`;
    world.git.redirect('pub.example/intmod', `${at}/p`, 'mod');
    world.git.redirect('pub.example/intgit', `${at}/repo`);
    try {
      for (const module of ['pub.example/intmod', 'pub.example/intgit']) {
        for (const tail of ['@v/list', '@latest', '@v/v1.0.0.info', '@v/v1.0.0.mod', '@v/v1.0.0.zip']) {
          const r = await fetch(`${godepot.url}/${module}/${tail}`);
          const body = await r.text();
          expect(r.status, `${module}/${tail}: ${body}`).toBeGreaterThanOrEqual(400);
          expect(body, `${module}/${tail}`).not.toContain(secret);
          expect(body, `${module}/${tail}`).not.toContain('127.0.0.1');
        }
      }
      // go did ask the internal host (README: put --auth in front when that matters), and the operator can read
      // what it said.
      expect(asked.some((u) => u.startsWith('/p/pub.example/intmod/@v/'))).toBe(true);
      expect(asked.some((u) => u.startsWith('/repo/info/refs'))).toBe(true);
      expect(JSON.stringify(godepot.logs)).toContain(secret);
    } finally {
      internal.closeAllConnections();
      await new Promise<void>((r) => internal.close(() => r()));
    }
  }, 200_000);

  it('a public module from its origin is not served unverified while its lookup fails (--verify fallback)', async () => {
    // A repository godepot reads without credentials, but the client should not (an internal host's, no go.mod:
    // the go command makes a module of any repository). The client's own host sends go to it, and makes the
    // database's lookup of that module fail (its host hangs for the database's fetcher): not an outage of the
    // database, which answers everything else.
    await world.git.createRepo('pub.example/intranet', { 'secret.txt': 'internal-secret-7070\n' });
    world.git.tag('pub.example/intranet', 'v1.0.0');
    world.git.redirect('pub.example/intzip', 'http://pub.example/git/intranet');
    const g = await startGodepot(
      {
        upstream: `${world.upstream.url},direct`,
        sumdb: `${world.sumdb.vkey} ${world.sumdb.url}`,
        'retry-base-delay': '10ms',
        'retry-max-delay': '50ms',
      },
      { vcs: { env: await vcsEnv(world.git, null) } },
    );
    const clear = world.sumdb.setFault(faults.status(503), 'pub.example/intzip');
    try {
      for (const kind of ['mod', 'zip']) {
        const r = await fetch(`${g.url}/pub.example/intzip/@v/v1.0.0.${kind}`);
        const body = Buffer.from(await r.arrayBuffer());
        expect(r.status, body.toString('latin1')).toBe(502);
        expect(body.toString('latin1')).not.toContain('internal-secret-7070');
        expect(body.toString('latin1')).toMatch(/fetched from its origin.*checksum database vouches/);
      }
      expect(world.git.count('/git/intranet')).toBeGreaterThan(0);
      expect(await g.g.storage.list('unverified/pub.example/')).toEqual([]);
    } finally {
      clear();
      await g.close();
    }
  }, 200_000);

  it('refuses origin bytes that contradict the checksum database', async () => {
    const r = await fetch(`${godepot.url}/pub.example/bad/@v/v1.0.0.zip`);
    const body = await r.text();
    expect(r.status, body).toBe(502);
    expect(body).toMatch(/checksum mismatch for pub\.example\/bad@v1\.0\.0 from origin pub\.example/);
  }, 200_000);

  it('--verify quorum with the database down: the origin is the second source that must agree', async () => {
    // A proxy holding both modules as released; the origin of pub.example/bad was altered after release.
    const proxy = await FakeGoProxy.start(
      await buildModules([
        { path: 'pub.example/direct', version: 'v1.0.0', files: DIRECT_FILES },
        { path: 'pub.example/bad', version: 'v1.0.0', files: BAD_FILES },
      ]),
    );
    const env = await vcsEnv(world.git, null);
    dirs.push(env.HOME as string);
    const quorum = await startGodepot(
      {
        upstream: `${proxy.url},direct`,
        sumdb: `${world.sumdb.vkey} ${world.sumdb.url}`,
        verify: 'quorum',
        'retry-base-delay': '10ms',
        'retry-max-delay': '50ms',
      },
      { vcs: { env } },
    );
    world.sumdb.setFault(faults.status(503));
    try {
      const before = world.git.count('/git/direct');
      const ok = await fetch(`${quorum.url}/pub.example/direct/@v/v1.0.0.zip`);
      expect(ok.status, await ok.clone().text()).toBe(200);
      expect(ok.headers.get('x-godepot-verification')).toBe('quorum');
      expect(proxy.requests.filter((r) => r.path === '/pub.example/direct/@v/v1.0.0.zip').length).toBe(2);
      expect(world.git.count('/git/direct')).toBeGreaterThan(before);

      const bad = await fetch(`${quorum.url}/pub.example/bad/@v/v1.0.0.zip`);
      const text = await bad.text();
      expect(bad.status, text).toBe(502);
      expect(text).toMatch(/quorum policy needs two sources .* serving identical bytes, 1 did/);
      expect(await quorum.g.storage.list('mod/pub.example/')).toEqual([]);
    } finally {
      world.sumdb.clearFaults();
      await quorum.close();
      await proxy.close();
    }
  }, 200_000);
});
