// No secret godepot is given reaches anything it shows or writes: the built
// CLI (default workers) gets a distinctive secret in each place an operator
// puts one (an upstream's and a checksum database's userinfo in a config
// file, a Redis password, S3 session credentials, --auth tokens, ~/.netrc,
// HTTPS_PROXY's userinfo), is made to fail and log (wrong tokens, an upstream
// answering 401/403/500 and then gone, Redis killed and restarted), and then
// every output is searched for each secret (as is, base64 and URL-encoded):
// the log, every client answer, /api/*, /readyz, /metrics, /ui/, the data
// folder, doctor, ci-env, --help and the errors for bad values.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FakeGoProxy, FakeSumDb, faults } from '../world/index.js';
import { findComponent } from '../support/components.js';
import { BIN, removeDir, spawnGodepot, tempDir, type ChildGodepot } from '../support/godepot.js';
import { startMinio, type RunningMinio } from '../support/minio.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { waitFor } from '../support/ports.js';
import { hashToken, withUser } from '../../src/auth/users.js';

const run = promisify(execFile);
const redisBinary = findComponent('redis-server');
const minioBinary = findComponent('minio');
const BUCKET = 'godepot-secrets';

// Fixed, distinctive secrets (the S3 ones come from MinIO's STS and are added at start).
const SECRETS: Record<string, string> = {
  upstream: 'UpstreamTok3n-7f3a9e',
  sumdb: 'SumdbPassw0rd-41c2d8',
  redis: 'RedisPassw0rd-9c1e55',
  goodToken: 'GoodAuthTok3n-2b7d10',
  wrongToken: 'WrongAuthTok3n-5e8f21',
  netrc: 'NetrcPassw0rd-a6b3c4',
  httpsProxy: 'HttpsProxyPassw0rd-d9e0f1',
};

const MOD = { path: 'example.com/secret/ok', version: 'v1.0.0', files: { 'go.mod': 'module example.com/secret/ok\n' } };

/** Each secret as it could leak: as is, base64 (of itself and of user:secret forms) and URL-encoded. */
function forms(secret: string): string[] {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  // base64 of a longer text holding the secret: any of three alignments; keep the middle that does not depend on
  // the neighbours (drop the first and last 4 characters, which do).
  const aligned = [0, 1, 2].map((pad) => b64('\0'.repeat(pad) + secret).slice(4, -4));
  return [secret, encodeURIComponent(secret), b64(secret), ...aligned.filter((s) => s.length >= 8)];
}

describe.skipIf(redisBinary === null || minioBinary === null)('secrets never shown or written', () => {
  let redis: RunningRedis;
  let minio: RunningMinio;
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: ChildGodepot;
  let dir: string;
  let data: string;
  let env: Record<string, string>;
  let args: string[];
  /** Everything godepot showed or wrote, by where it came from. */
  const outputs: Array<[string, string]> = [];
  const secrets = (): Array<[string, string]> => Object.entries(SECRETS);

  const get = async (path: string, token?: string, user = 'alice'): Promise<string> => {
    const headers: Record<string, string> = token
      ? { authorization: 'Basic ' + Buffer.from(`${user}:${token}`).toString('base64') }
      : {};
    const r = await fetch(godepot.url + path, { headers });
    const body = `${r.status} ${JSON.stringify([...r.headers])} ${await r.text()}`;
    outputs.push([`GET ${path} (${token === undefined ? 'no token' : token})`, body]);
    return body;
  };

  beforeAll(async () => {
    dir = await tempDir('godepot-secrets-');
    data = join(dir, 'data');
    redis = await startRedis(redisBinary as string, { args: ['--requirepass', SECRETS.redis as string] });
    minio = await startMinio(minioBinary as string);
    await minio.makeBucket(BUCKET);
    const s3 = await minio.envAllowing(BUCKET, ['s3:*']);
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) SECRETS[k] = s3[k] as string;
    sumdb = await FakeSumDb.start();
    upstream = await FakeGoProxy.start([MOD]);
    sumdb.autoAddFrom(upstream);

    const home = join(dir, 'home');
    await mkdir(home);
    await writeFile(join(home, '.netrc'), `machine 127.0.0.1 login netrcuser password ${SECRETS.netrc}\n`, {
      mode: 0o600,
    });
    const withUserinfo = (url: string, user: string, secret: string): string =>
      url.replace('http://', `http://${user}:${secret}@`);
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ redis: `redis://:${SECRETS.redis}@127.0.0.1:${redis.port}` }),
    );
    await writeFile(join(dir, 'users.json'), withUser(null, 'alice', hashToken(SECRETS.goodToken as string), '*'));
    env = {
      ...s3,
      HOME: home,
      HTTPS_PROXY: `http://proxyuser:${SECRETS.httpsProxy}@127.0.0.1:9`,
      GOAUTH: 'netrc',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    args = [
      ...['--config', join(dir, 'config.json'), '--data', data, '--log-format', 'json'],
      ...['--sumdb', `${sumdb.vkey} ${withUserinfo(sumdb.url, 'sumuser', SECRETS.sumdb as string)}`],
      ...['--auth', join(dir, 'users.json'), '--insecure-auth'],
      ...['--storage', `s3://${BUCKET}/p`, '--s3-endpoint', minio.endpoint],
      ...['--breaker-failures', '2', '--retry-attempts', '1'],
    ];
    // The upstream from the environment, the sumdb from a flag, Redis from the config file: each way a secret comes.
    env.GODEPOT_UPSTREAM = withUserinfo(upstream.url, 'upuser', SECRETS.upstream as string);
    godepot = await spawnGodepot(args, env, { defaultWorkers: true });
  }, 60_000);

  afterAll(async () => {
    await godepot?.stop();
    await upstream?.close();
    await sumdb?.close();
    await redis?.stop();
    await minio?.stop();
    if (dir) await removeDir(dir);
  });

  it('shows and writes none of them, however things fail', async () => {
    const base = `/${MOD.path}/@v/${MOD.version}`;
    // Clients: none, a wrong token, a wrong user, then the right one.
    await get(`${base}.info`);
    await get(`${base}.info`, SECRETS.wrongToken);
    await get(`${base}.info`, SECRETS.goodToken, 'mallory');
    expect(await get(`${base}.info`, SECRETS.goodToken)).toMatch(/^200 /);
    expect(await get(`${base}.zip`, SECRETS.goodToken)).toMatch(/^200 /);
    await get(`/sumdb/${sumdb.name}/supported`, SECRETS.goodToken);
    await get(`/sumdb/${sumdb.name}/lookup/${MOD.path}@${MOD.version}`, SECRETS.goodToken);
    // The upstream refuses and fails.
    for (const [i, code] of [401, 403, 500].entries()) {
      upstream.setFault(faults.status(code, `upstream says ${code}\n`), `/example.com/secret/f${i}/`);
      await get(`/example.com/secret/f${i}/@v/list`, SECRETS.goodToken);
      await get(`/example.com/secret/f${i}/@v/v1.0.0.info`, SECRETS.goodToken);
    }
    // Then is gone.
    await upstream.close();
    for (const p of ['g1', 'g2', 'g3', 'g4']) await get(`/example.com/secret/${p}/@v/list`, SECRETS.goodToken);
    // Redis killed: degraded, logged; restarted: back.
    await redis.kill();
    await waitFor(async () => (await get('/readyz')).includes('"redis"'), 15_000, 'readyz did not name Redis');
    await get(`/example.com/secret/r1/@v/list`, SECRETS.goodToken);
    await redis.start();
    await get(`/example.com/secret/r2/@v/list`, SECRETS.goodToken);
    await waitFor(
      async () => !/"state":"(down|lost|unreachable)"/.test(await get('/readyz')),
      15_000,
      'Redis not back',
    );
    // Everything the operator can read.
    for (const p of ['/readyz', '/healthz', '/metrics', '/api/incidents', '/api/upstreams', '/api/cache'])
      await get(p, SECRETS.goodToken);
    for (const p of ['/api/sumdb', '/api/series', '/ui/', '/ui/app.js', '/ui/format.js', '/ui/charts.js'])
      await get(p, SECRETS.goodToken);
    await get('/api/incidents', SECRETS.wrongToken);

    // The operator tools, in text format, given the same secrets.
    const cli = async (label: string, argv: string[], extra: Record<string, string> = {}): Promise<void> => {
      const r = await run(process.execPath, [BIN, ...argv], {
        env: { PATH: process.env.PATH ?? '', ...env, ...extra },
        timeout: 8_000,
      }).catch((e: { stdout?: string; stderr?: string }) => e);
      outputs.push([label, `${r.stdout ?? ''}\n${r.stderr ?? ''}`]);
    };
    const client = godepot.url.replace('http://', `http://alice:${SECRETS.goodToken}@`);
    await cli('doctor', ['doctor', '--no-go', '--goproxy', client, '--gosumdb', 'off'], {
      GOPROXY: client,
      GONOSUMDB: '*',
    });
    // ci-env prints the GOPROXY a job needs, so a token given in its --proxy is printed on purpose: none here.
    await cli('ci-env', ['ci-env', '--proxy', godepot.url, '--format', 'github']);
    await cli('serve --help', ['serve', '--help']);
    const bad: Array<[string, string]> = [
      ['--upstream', `http://upuser:${SECRETS.upstream}@127.0.0.1:99999`],
      ['--upstream', `htp:/upuser:${SECRETS.upstream}@x`],
      ['--sumdb', `nokey http://sumuser:${SECRETS.sumdb}@127.0.0.1:1`],
      ['--redis', `redis://:${SECRETS.redis}@127.0.0.1:notaport`],
      ['--redis', `rediss//:${SECRETS.redis}@127.0.0.1`],
      ['--redis', `http://:${SECRETS.redis}@127.0.0.1:1`],
      ['--s3-endpoint', `http://user:${SECRETS.AWS_SECRET_ACCESS_KEY}@127.0.0.1:notaport`],
    ];
    for (const [flag, value] of bad) await cli(`serve ${flag} (bad)`, ['serve', '--data', data, flag, value]);
    await writeFile(join(dir, 'bad.json'), `{"upstream": "http://u:${SECRETS.upstream}@127.0.0.1:1", "redis": 7,}`);
    await cli('serve --config (bad JSON)', ['serve', '--config', join(dir, 'bad.json')]);
    await writeFile(join(dir, 'bad2.json'), JSON.stringify({ redis: `redis://:${SECRETS.redis}@h:x`, nope: 1 }));
    await cli('serve --config (bad values)', ['serve', '--config', join(dir, 'bad2.json')]);

    // The log, after a clean stop, and every file godepot wrote.
    await godepot.stop();
    outputs.push(['log', godepot.output()]);
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) outputs.push([`file ${p}`, (await readFile(p)).toString('latin1')]);
      }
    };
    await walk(data);

    // The story happened: each failure was seen (else the search proves little).
    const all = outputs.map(([, text]) => text).join('\n');
    expect(all).toMatch(/upstream says 401/);
    expect(all).toMatch(/xxxxx/);
    expect(
      outputs.some(([label, text]) => label === 'log' && /redis/i.test(text) && /"level":(40|50)/.test(text)),
    ).toBe(true);

    const leaks: string[] = [];
    for (const [where, text] of outputs)
      for (const [name, secret] of secrets())
        for (const form of forms(secret))
          if (text.includes(form)) {
            const at = text.indexOf(form);
            leaks.push(`${name} in ${where}: …${text.slice(Math.max(0, at - 120), at + form.length + 40)}…`);
            break;
          }
    expect(leaks).toEqual([]);
  }, 45_000);
});
