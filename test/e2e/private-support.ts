// The shared world of the private-module end-to-end tests: a Git host with a
// private module (corp.example/lib) that requires a public one served by the
// fake proxy and recorded by the fake checksum database, the environment
// godepot's go runs get (its .netrc and HTTP proxy), and the app.
import { mkdir, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildModules,
  FakeGoProxy,
  FakeSumDb,
  requireGo,
  telemetryOff,
  type BuiltModule,
  type FixtureModule,
} from '../world/index.js';
import { FakeGitHost } from '../world/githost.js';
import { spawnGodepot, tempDir, type ChildGodepot } from '../support/godepot.js';

export const LIB = 'corp.example/lib';
export const PUB = 'example.com/pub';
export const USER = 'ci';
export const PASSWORD = 'git-s3cret-pw';

export const PUB_FIXTURE = {
  path: PUB,
  version: 'v1.0.0',
  files: {
    'go.mod': `module ${PUB}\n\ngo 1.21\n`,
    'pub.go': 'package pub\n\nfunc Name() string { return "pub" }\n',
  },
};

export function libFiles(says: string): Record<string, string> {
  return {
    'go.mod': `module ${LIB}\n\ngo 1.21\n\nrequire ${PUB} v1.0.0\n`,
    'lib.go': `package lib\n\nimport "${PUB}"\n\nfunc Say() string { return "${says} " + pub.Name() }\n`,
  };
}

export const APP = {
  'go.mod': `module example.com/app\n\ngo 1.21\n\nrequire ${LIB} v1.1.0\n`,
  'main.go': `package main\n\nimport "${LIB}"\n\nfunc main() { println(lib.Say()) }\n`,
};

export interface PrivateWorld {
  readonly git: FakeGitHost;
  readonly upstream: FakeGoProxy;
  readonly sumdb: FakeSumDb;
  readonly built: BuiltModule[];
  /** Commit hashes: v1.0.0, v1.1.0, and the tip of branch dev. */
  readonly commits: { readonly v100: string; readonly v110: string; readonly dev: string };
  close(): Promise<void>;
}

/**
 * extraHosts: public Git hosts (no credentials); records: more modules the
 * checksum database vouches for (not served by the proxy).
 */
export async function startPrivateWorld(
  gitBin: string,
  extraHosts: readonly string[] = [],
  records: readonly FixtureModule[] = [],
): Promise<PrivateWorld> {
  const built = await buildModules([PUB_FIXTURE]);
  const extra = await buildModules([...records]);
  const upstream = await FakeGoProxy.start(built);
  const sumdb = await FakeSumDb.start({ records: [...built, ...extra] });
  const git = await FakeGitHost.start({
    git: gitBin,
    hosts: ['corp.example', ...extraHosts],
    user: USER,
    password: PASSWORD,
    openHosts: extraHosts,
  });
  const v100 = await git.createRepo('corp.example/lib', libFiles('v1.0.0'));
  git.tag('corp.example/lib', 'v1.0.0');
  const v110 = await git.commit('corp.example/lib', libFiles('v1.1.0'), 'v1.1.0');
  git.tag('corp.example/lib', 'v1.1.0');
  const dev = await git.commit('corp.example/lib', libFiles('dev'), 'work in progress');
  git.branch('corp.example/lib', 'dev');
  return {
    git,
    upstream,
    sumdb,
    built,
    commits: { v100, v110, dev },
    async close() {
      await git.close();
      await upstream.close();
      await sumdb.close();
    },
  };
}

/** The environment of godepot's go runs: a HOME (with .netrc when credentials are given), the Git host's proxy. */
export async function vcsEnv(git: FakeGitHost, netrc: string | null): Promise<Record<string, string>> {
  const home = await tempDir('godepot-vcshome-');
  await mkdir(home, { recursive: true });
  if (netrc !== null) {
    await writeFile(join(home, '.netrc'), netrc);
    await chmod(join(home, '.netrc'), 0o600);
  }
  telemetryOff(home);
  const go = requireGo();
  return {
    PATH: [join(go, '..'), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    HOME: home,
    GOCACHE: join(home, 'gocache'),
    ...git.clientEnv(),
  };
}

/**
 * godepot (the built CLI) on the world, its go runs in env: a data directory of its own (added to dirs, which the
 * caller removes), the world's proxy (or upstream) and checksum database, then args.
 */
export async function spawnOnWorld(
  world: PrivateWorld,
  env: Record<string, string>,
  dirs: string[],
  args: readonly string[],
  opts: { upstream?: string; defaultWorkers?: boolean } = {},
): Promise<{ godepot: ChildGodepot; data: string }> {
  const data = await tempDir('godepot-data-');
  dirs.push(data);
  const godepot = await spawnGodepot(
    [
      '--data',
      data,
      '--upstream',
      opts.upstream ?? world.upstream.url,
      '--sumdb',
      `${world.sumdb.vkey} ${world.sumdb.url}`,
      ...args,
    ],
    env,
    { defaultWorkers: opts.defaultWorkers ?? false },
  );
  return { godepot, data };
}
