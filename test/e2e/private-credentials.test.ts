// The credentials of private modules as the go command has them, with the real go command through godepot (the
// built CLI, started with its own HOME): a Git credential helper that answers, then answers a wrong token (the
// 502 names the helper as the fix and no token shows anywhere), then the rotated one, picked up without a
// restart; and a public module fetched through `direct` is sent none of godepot's credentials.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findGo, goEnv, runGo, describeRun } from '../world/index.js';
import { findComponent } from '../support/components.js';
import { removeDir, tempDir, type ChildGodepot } from '../support/godepot.js';
import {
  libFiles,
  LIB,
  spawnOnWorld,
  startPrivateWorld,
  USER,
  PASSWORD,
  vcsEnv,
  type PrivateWorld,
} from './private-support.js';

const go = findGo();
const git = go === null ? null : findComponent('git');
const DIRECT = { 'go.mod': 'module pub.example/direct\n\ngo 1.21\n', 'direct.go': 'package direct\n' };
const WRONG = 'wrong-token-5f1e2d';

describe.skipIf(go === null || git === null)('credentials of private modules, through godepot', () => {
  let world: PrivateWorld;
  let godepot: ChildGodepot;
  let token: string;
  const dirs: string[] = [];

  beforeAll(async () => {
    world = await startPrivateWorld(
      git as string,
      ['pub.example'],
      [{ path: 'pub.example/direct', version: 'v1.0.0', files: DIRECT }],
    );
    for (const v of ['v1.2.0', 'v1.2.1']) {
      await world.git.commit(LIB, libFiles(v), v);
      world.git.tag(LIB, v);
    }
    await world.git.createRepo('pub.example/direct', DIRECT);
    world.git.tag('pub.example/direct', 'v1.0.0');
    // No .netrc: the helper alone holds the token (also offered for pub.example, and a header for every host).
    const env = await vcsEnv(world.git, null);
    const home = env.HOME as string;
    dirs.push(home);
    token = join(home, 'token');
    await writeFile(token, PASSWORD);
    await writeFile(
      join(home, '.gitconfig'),
      `[credential]\n\thelper = "!f() { echo username=${USER}; echo password=$(cat ${token}); }; f"\n[http]\n\textraHeader = X-Credential: from-gitconfig\n`,
    );
    ({ godepot } = await spawnOnWorld(world, env, dirs, ['--private', 'corp.example'], {
      upstream: `${world.upstream.url},direct`,
    }));
  }, 240_000);

  afterAll(async () => {
    await godepot?.stop();
    await world?.close();
    for (const d of dirs) await removeDir(d);
  });

  const download = async (mod: string) => {
    const h = await tempDir('godepot-gohome-');
    dirs.push(h);
    const env = goEnv({ home: h, proxy: godepot.url, sumdb: world.sumdb.vkey, extra: { GONOSUMDB: 'corp.example' } });
    return runGo(['mod', 'download', '-json', mod], { cwd: h, env, timeoutMs: 120_000 });
  };

  it("uses the helper's token, says a refused one is the helper's to renew, and takes a new one without a restart", async () => {
    const ok = await download(`${LIB}@v1.1.0`);
    expect(ok.code, describeRun(ok)).toBe(0);

    await writeFile(token, WRONG);
    const refused = await download(`${LIB}@v1.2.0`);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toMatch(
      /502 Bad Gateway\\n\\tserver response: godepot: no valid credentials for corp\.example to fetch corp\.example\/lib@v1\.2\.0: corp\.example refused the credentials git gave it \(a git credential helper's/,
    );
    const pages = await Promise.all(
      ['/api/upstreams', '/api/sumdb', '/api/cache', '/api/incidents', '/ui/'].map(async (p) =>
        (await fetch(godepot.url + p)).text(),
      ),
    );
    for (const text of [refused.stdout, refused.stderr, godepot.output(), ...pages]) {
      expect(text).not.toContain(WRONG);
      expect(text).not.toContain(PASSWORD);
    }

    await writeFile(token, PASSWORD);
    const rotated = await download(`${LIB}@v1.2.0`);
    expect(rotated.code, describeRun(rotated)).toBe(0);
  }, 300_000);

  it('sends a public module fetched through direct none of its credentials', async () => {
    const before = world.git.requests.length;
    const r = await download('pub.example/direct@v1.0.0');
    expect(r.code, describeRun(r)).toBe(0);
    const seen = world.git.requests.slice(before).filter((q) => q.url.startsWith('http://pub.example/'));
    expect(seen.some((q) => q.url.includes('git-upload-pack') && q.status === 200)).toBe(true);
    expect(seen.every((q) => q.authorization === null)).toBe(true);
  }, 200_000);
});
