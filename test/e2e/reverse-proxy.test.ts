// godepot behind a caching reverse proxy, as platform teams run it: a real
// nginx with proxy_cache on and no proxy_cache_valid, so what nginx keeps, and
// for how long, is what godepot's Cache-Control says. Verified artifacts are
// kept (a second client costs godepot nothing); an artifact served unverified
// during a checksum-database outage is not (the verified answer replaces it);
// lists are kept for their max-age; under --auth nothing is kept for the next
// client, who may have no credentials.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildModules,
  type BuiltModule,
  describeRun,
  FakeGoProxy,
  FakeSumDb,
  faults,
  findGo,
  runGo,
} from '../world/index.js';
import { findComponent } from '../support/components.js';
import { freePort, waitFor } from '../support/ports.js';
import { OffsetClock } from '../support/clock.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { hashToken, withUser } from '../../src/auth/users.js';
import { Dirs, metric, sumdbEnv, tinyLib } from './sumdb-support.js';

const go = findGo();
const nginxBinary = go === null ? null : findComponent('nginx');

interface Nginx {
  readonly url: string;
  stop(): Promise<void>;
}

/** A non-daemon nginx on a loopback port, caching what it proxies to origin as origin's Cache-Control allows. */
async function startNginx(binary: string, dir: string, origin: string): Promise<Nginx> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `${asRoot ? 'user root;\n' : ''}worker_processes 1;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp-body;
  proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fastcgi;
  uwsgi_temp_path ${dir}/tmp-uwsgi;
  scgi_temp_path ${dir}/tmp-scgi;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=godepot:1m;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${origin};
      proxy_http_version 1.1;
      proxy_cache godepot;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }
}
`,
  );
  const child: ChildProcess = spawn(
    binary,
    ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', `daemon off; pid ${dir}/nginx.pid;`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${err}`);
        return fetch(`${url}/healthz`).then(
          () => true,
          () => false,
        );
      },
      15_000,
      `nginx did not answer on port ${port}`,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, stop };
}

/** Requests godepot answered for module artifacts (not lists, not the checksum database). */
async function artifactRequests(godepot: RunningGodepot): Promise<number> {
  let n = 0;
  for (const route of ['info', 'mod', 'zip']) n += await metric(godepot.url, 'godepot_http_requests_total', { route });
  return n;
}

const LIBS = ['alpha', 'beta', 'gamma'].map((n) => tinyLib('example.com/rp', n));
const LATE = tinyLib('example.com/rp', 'late');
const SECRET = tinyLib('example.com/rp', 'secret');
const at = (m: { path: string; version: string }): string => `${m.path}@${m.version}`;

describe.skipIf(go === null || nginxBinary === null)('godepot behind a caching nginx', () => {
  const dirs = new Dirs();
  const clock = new OffsetClock();
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let nginx: Nginx;
  let late: BuiltModule;

  beforeAll(async () => {
    const built = await buildModules([...LIBS, LATE]);
    late = built[built.length - 1] as BuiltModule;
    upstream = await FakeGoProxy.start(built);
    // LATE joins the database later: no tree godepot has seen proves it.
    sumdb = await FakeSumDb.start({ records: built.slice(0, -1) });
    // The breakers run on a clock the test moves past the half-open time, instead of waiting for it.
    godepot = await startGodepot(
      { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'retry-attempts': '1' },
      { compose: { upstreamClock: clock } },
    );
    nginx = await startNginx(nginxBinary ?? '', await dirs.make('godepot-nginx-'), godepot.url);
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await dirs.removeAll();
  });

  /** `go mod download` of mods by a fresh client (empty module cache and sumdb state), through nginx. */
  const download = async (mods: Array<{ path: string; version: string }>): Promise<void> => {
    const home = await dirs.make();
    const r = await runGo(['mod', 'download', ...mods.map(at)], {
      cwd: home,
      env: sumdbEnv(home, nginx.url, sumdb.vkey),
      timeoutMs: 30_000,
    });
    expect(r.code, describeRun(r)).toBe(0);
  };

  it('keeps verified artifacts: a second client is served by nginx alone', async () => {
    await download(LIBS);
    const zip = await fetch(`${nginx.url}/${LIBS[0]?.path}/@v/v1.0.0.zip`);
    expect(zip.status).toBe(200);
    expect(zip.headers.get('x-godepot-verification')).toBe('verified');
    expect(zip.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(zip.headers.get('x-cache-status')).toBe('HIT');
    await zip.arrayBuffer();

    const before = await artifactRequests(godepot);
    expect(before).toBeGreaterThan(0);
    await download(LIBS);
    expect(await artifactRequests(godepot)).toBe(before);
  }, 40_000);

  it('does not keep an artifact served unverified: once verified, clients get the verified one', async () => {
    const zipPath = `/${LATE.path}/@v/${LATE.version}.zip`;
    await sumdb.add(late);
    sumdb.setFault(faults.status(503));
    try {
      for (const status of ['MISS', 'MISS']) {
        const r = await fetch(nginx.url + zipPath);
        expect(r.status).toBe(200);
        expect(r.headers.get('x-godepot-verification')).toBe('unverified');
        expect(r.headers.get('cache-control')).toBe('no-store');
        // Not kept: the second request goes to godepot again.
        expect(r.headers.get('x-cache-status')).toBe(status);
        await r.arrayBuffer();
      }
    } finally {
      sumdb.clearFaults();
    }
    await godepot.g.service.idle();
    // Past the breaker's half-open time, one re-verification pass promotes the copy.
    clock.skip(3_600_000);
    expect((await godepot.g.reverify.runOnce()).verified).toBeGreaterThan(0);

    const r = await fetch(nginx.url + zipPath);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-godepot-verification')).toBe('verified');
    await r.arrayBuffer();
    await download([LATE]);
  }, 40_000);

  it('keeps list and @latest for their max-age only', async () => {
    for (const path of [`/${LIBS[1]?.path}/@v/list`, `/${LIBS[1]?.path}/@latest`]) {
      const first = await fetch(nginx.url + path);
      expect(first.status, path).toBe(200);
      expect(first.headers.get('cache-control'), path).toBe('public, max-age=60');
      await first.arrayBuffer();
      const second = await fetch(nginx.url + path);
      expect(second.headers.get('x-cache-status'), path).toBe('HIT');
      await second.arrayBuffer();
    }
  }, 20_000);
});

describe.skipIf(go === null || nginxBinary === null)('godepot --auth behind a caching nginx', () => {
  const TOKEN = 'rp-token-0123456789abcdef';
  const dirs = new Dirs();
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let nginx: Nginx;

  beforeAll(async () => {
    const built = await buildModules([SECRET]);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    const dir = await dirs.make('godepot-auth-');
    const users = join(dir, 'users.json');
    await writeFile(users, withUser(null, 'ci', hashToken(TOKEN), '*'));
    godepot = await startGodepot({
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      auth: users,
      'insecure-auth': 'true',
    });
    nginx = await startNginx(nginxBinary ?? '', await dirs.make('godepot-nginx-'), godepot.url);
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await dirs.removeAll();
  });

  it('keeps no private answer for a client without credentials', async () => {
    const authorization = 'Basic ' + Buffer.from(`ci:${TOKEN}`).toString('base64');
    for (const path of [
      `/${SECRET.path}/@v/list`,
      `/${SECRET.path}/@latest`,
      `/${SECRET.path}/@v/${SECRET.version}.mod`,
      `/${SECRET.path}/@v/${SECRET.version}.zip`,
      `/sumdb/${sumdb.name}/lookup/${at(SECRET)}`,
      `/sumdb/${sumdb.name}/tile/8/0/000.p/1`,
    ]) {
      for (let i = 0; i < 2; i++) {
        const ok = await fetch(nginx.url + path, { headers: { authorization } });
        expect(ok.status, path).toBe(200);
        expect(ok.headers.get('cache-control'), path).toMatch(/^(private\b|no-cache$)/);
        expect(ok.headers.get('x-cache-status'), path).not.toBe('HIT');
        await ok.arrayBuffer();
      }
      const anonymous = await fetch(nginx.url + path);
      expect(anonymous.status, path).toBe(401);
      await anonymous.arrayBuffer();
    }
  }, 20_000);
});
