// Differential test: the go command against a file:// proxy folder (the
// reference) and against godepot whose upstream is a plain HTTP server serving
// that same folder — cold, warm (from godepot's cache) and in an outage
// (upstream and checksum database stopped, godepot restarted on its data with
// every list stale). Awkward but valid module shapes: +incompatible, a
// self-retracting latest, only pseudo-versions, pre-releases only, /v2 beside
// v1, gopkg.in paths, upper case, a module nested in another's folder, build
// metadata in the list, a deprecation, commit-prefix queries.
import { createServer, type Server } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapePath } from '../../src/module/index.js';
import { buildModules, FakeSumDb, findGo, type BuiltModule, type FixtureModule } from '../world/index.js';
import { noGoMod, runInNewHome, writeProxyFolder } from './compat-support.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';

const go = findGo();
const W = 'example.com/diff';

function lib(path: string, version: string, goMod = `module ${path}\n\ngo 1.21\n`): FixtureModule {
  return {
    path,
    version,
    files: {
      'go.mod': goMod,
      'lib.go': `package lib\n\nfunc Name() string { return "${path}@${version}" }\n`,
      'cmd/x/main.go': `package main\n\nfunc main() { println("${path}@${version}") }\n`,
    },
  };
}

const PSEUDO = 'v0.0.0-20240203040506-0123456789ab';
/** The commit of tag v1.1.0+build.1: Go takes no version from a tag with build metadata, so a pseudo-version. */
const META_PSEUDO = 'v1.0.1-0.20240301000000-fedcba987654';
const MODULES: FixtureModule[] = [
  noGoMod(`${W}/inc`, 'v1.0.0'),
  noGoMod(`${W}/inc`, 'v2.0.0+incompatible'),
  lib(`${W}/retract`, 'v1.0.0'),
  lib(`${W}/retract`, 'v1.1.0'),
  lib(`${W}/retract`, 'v1.2.0', `module ${W}/retract\n\ngo 1.21\n\nretract (\n\tv1.2.0 // oops\n\tv1.1.0 // bad\n)\n`),
  lib(`${W}/untagged`, PSEUDO),
  lib(`${W}/pre`, 'v0.1.0-alpha'),
  lib(`${W}/pre`, 'v1.0.0-rc.1'),
  lib(`${W}/major`, 'v1.0.0'),
  lib(`${W}/major`, 'v1.0.1'),
  lib(`${W}/major/v2`, 'v2.0.0'),
  lib(`${W}/major/v2`, 'v2.1.0'),
  lib('gopkg.in/diff.v3', 'v3.0.0'),
  lib('gopkg.in/diff.v3', 'v3.0.1'),
  lib('github.com/Azure/Foo', 'v1.0.0'),
  lib('github.com/Azure/Foo', 'v1.1.0'),
  // A module with another module in its subfolder b (b is not in nest's zip).
  { ...lib(`${W}/nest`, 'v1.0.0'), files: { ...lib(`${W}/nest`, 'v1.0.0').files, 'b/go.mod': `module ${W}/nest/b\n` } },
  lib(`${W}/nest/b`, 'v1.0.0'),
  lib(`${W}/nest/b`, 'v1.1.0'),
  lib(`${W}/meta`, 'v1.0.0'),
  lib(`${W}/meta`, META_PSEUDO),
  lib(`${W}/metalist`, 'v1.0.0'),
  lib(`${W}/deprecated`, 'v1.0.0'),
  lib(`${W}/deprecated`, 'v1.1.0', `// Deprecated: use ${W}/major/v2.\nmodule ${W}/deprecated\n\ngo 1.21\n`),
];

async function writeWorldFolder(dir: string, built: BuiltModule[]): Promise<void> {
  await writeProxyFolder(dir, built);
  // Commit-prefix queries, answered as proxy.golang.org answers them: the pseudo-version's info.
  const untagged = built.find((m) => m.version === PSEUDO);
  for (const q of ['0123456789ab', '01234567']) {
    await writeFile(join(dir, escapePath(`${W}/untagged`), '@v', `${q}.info`), untagged?.info ?? '');
  }
  // A tag with build metadata, resolved as proxy.golang.org resolves a query: the info of its commit.
  const meta = built.find((m) => m.version === META_PSEUDO);
  await writeFile(join(dir, escapePath(`${W}/meta`), '@v', 'v1.1.0+build.1.info'), meta?.info ?? '');
  // A list with a build-metadata version in it (no proxy should list one; the go command refuses it).
  await writeFile(join(dir, escapePath(`${W}/metalist`), '@v', 'list'), 'v1.0.0\nv1.1.0+build.1\n');
}

/** A plain static HTTP server for the folder: what a dumb GOPROXY is. */
async function serveFolder(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    let p: string;
    try {
      p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const file = normalize(join(dir, p));
    if (!file.startsWith(dir + '/')) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (b) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(b),
      () => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n'),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Case {
  name: string;
  files?: Record<string, string>;
  steps: string[][];
}

const main = (requires = ''): Record<string, string> => ({
  'go.mod': `module example.com/main\n\ngo 1.21\n${requires}`,
});

const CASES: Case[] = [
  {
    name: '+incompatible',
    steps: [
      ['list', '-m', '-versions', '-retracted', `${W}/inc`],
      ['list', '-m', '-json', `${W}/inc@latest`],
      ['get', `${W}/inc@v2.0.0+incompatible`],
      ['get', `${W}/inc@latest`],
      ['get', `${W}/inc@upgrade`],
      ['mod', 'download', '-json', `${W}/inc@v2.0.0+incompatible`],
    ],
  },
  {
    name: 'retracted latest',
    files: main(`\nrequire ${W}/retract v1.0.0\n`),
    steps: [
      ['list', '-m', '-versions', '-retracted', `${W}/retract`],
      ['list', '-m', '-versions', `${W}/retract`],
      ['list', '-m', '-json', `${W}/retract@latest`],
      ['list', '-m', '-u', 'all'],
      ['get', `${W}/retract@patch`],
      ['get', `${W}/retract@v1`],
      ['get', `${W}/retract@upgrade`],
      ['get', `${W}/retract@latest`],
      ['mod', 'download', '-json', `${W}/retract@v1.2.0`],
    ],
  },
  {
    name: 'pseudo-versions only, commit prefixes',
    steps: [
      ['list', '-m', '-versions', '-retracted', `${W}/untagged`],
      ['list', '-m', '-json', `${W}/untagged@latest`],
      ['get', `${W}/untagged@0123456789ab`],
      ['get', `${W}/untagged@01234567`],
      ['get', `${W}/untagged@latest`],
      ['get', `${W}/untagged@upgrade`],
      ['mod', 'download', '-json', `${W}/untagged@${PSEUDO}`],
    ],
  },
  {
    name: 'pre-releases only',
    steps: [
      ['list', '-m', '-versions', `${W}/pre`],
      ['list', '-m', '-json', `${W}/pre@latest`],
      ['get', `${W}/pre@latest`],
      ['get', `${W}/pre@v0`],
      ['get', `${W}/pre@upgrade`],
      ['get', `${W}/pre@patch`],
    ],
  },
  {
    name: '/v2 beside v1',
    files: main(`\nrequire ${W}/major v1.0.0\n`),
    steps: [
      ['list', '-m', '-versions', `${W}/major`, `${W}/major/v2`],
      ['list', '-m', '-u', 'all'],
      ['get', `${W}/major@patch`],
      ['get', `${W}/major/v2@latest`],
      ['get', `${W}/major@v2.0.0`],
      ['list', '-m', '-json', `${W}/major/v2@v2`],
    ],
  },
  {
    name: 'gopkg.in',
    steps: [
      ['list', '-m', '-versions', 'gopkg.in/diff.v3'],
      ['get', 'gopkg.in/diff.v3@latest'],
      ['get', 'gopkg.in/diff.v3@v3.0.0'],
      ['get', 'gopkg.in/diff.v3@upgrade'],
      ['mod', 'download', '-json', 'gopkg.in/diff.v3@v3.0.1'],
    ],
  },
  {
    name: 'upper case',
    steps: [
      ['list', '-m', '-versions', 'github.com/Azure/Foo'],
      ['list', '-m', '-json', 'github.com/Azure/Foo@latest'],
      ['get', 'github.com/Azure/Foo@v1.0.0'],
      ['get', 'github.com/Azure/Foo@patch'],
      ['get', 'github.com/Azure/Foo@latest'],
      ['get', 'github.com/azure/foo@latest'],
      ['mod', 'download', '-json', 'github.com/Azure/Foo@v1.1.0'],
    ],
  },
  {
    name: 'nested modules',
    files: {},
    steps: [
      ['install', `${W}/nest/b/cmd/x@latest`],
      ['install', `${W}/nest/cmd/x@latest`],
      ['version', '-m', '../gopath/bin/x'],
    ],
  },
  {
    name: 'nested modules in a main module',
    steps: [
      ['get', `${W}/nest@latest`, `${W}/nest/b@v1.0.0`],
      ['get', `${W}/nest/b@latest`],
      ['list', '-m', '-u', 'all'],
    ],
  },
  {
    name: 'a tag with build metadata',
    steps: [
      ['list', '-m', '-json', `${W}/meta@v1.1.0+build.1`],
      ['get', `${W}/meta@v1.1.0+build.1`],
      ['mod', 'download', '-json', `${W}/meta@v1.1.0+build.1`],
      ['get', `${W}/meta@v1.2.0+build.1`],
    ],
  },
  {
    name: 'build metadata in the list',
    steps: [
      ['list', '-m', '-versions', `${W}/metalist`],
      ['list', '-m', '-json', `${W}/metalist@latest`],
      ['get', `${W}/metalist@latest`],
      ['get', `${W}/metalist@v1.0.0`],
    ],
  },
  {
    name: 'deprecated',
    files: main(`\nrequire ${W}/deprecated v1.0.0\n`),
    steps: [
      ['list', '-m', '-u', 'all'],
      ['list', '-m', '-u', '-json', `${W}/deprecated`],
      ['get', `${W}/deprecated@latest`],
      ['list', '-m', '-json', `${W}/deprecated@latest`],
    ],
  },
  {
    name: 'unknown modules',
    steps: [
      ['get', `${W}/nothere@latest`],
      ['list', '-m', '-versions', `${W}/nothere`],
      ['get', `${W}/major@v1.9.9`],
    ],
  },
];

describe.skipIf(go === null)('godepot in front of a folder answers as the folder does through file://', () => {
  let folder = '';
  let upstream: { url: string; close(): Promise<void> } | undefined;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot | undefined;
  const dirs: string[] = [];

  beforeAll(async () => {
    const built = await buildModules(MODULES);
    folder = await tempDir('godepot-diff-folder-');
    dirs.push(folder);
    await writeWorldFolder(folder, built);
    sumdb = await FakeSumDb.start({ records: built });
    upstream = await serveFolder(folder);
  }, 30_000);
  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    for (const d of dirs) await removeDir(d);
  });

  async function side(proxy: string, gosumdb: string, c: Case): Promise<string> {
    const files = c.files ?? main();
    const extra = { GOFLAGS: '-modcacherw -mod=mod' };
    const ran = await runInNewHome(c.steps, files, { proxy, sumdb: gosumdb, extra }, dirs);
    const { dir, home } = ran;
    let out = ran.out;
    if ('go.mod' in files) {
      for (const f of ['go.mod', 'go.sum'])
        out += `--- ${f}\n${await readFile(join(dir, f), 'utf8').catch(() => '(none)\n')}`;
    }
    let s = out.replaceAll(`file://${folder}`, '<proxy>').replaceAll(home, '<home>');
    if (godepot) s = s.replaceAll(godepot.url, '<proxy>');
    // The one wording a folder and an HTTP proxy cannot share: how "not there" reads.
    return s
      .replace(/: 404 Not Found\n\tserver response: [^\n"]*/g, ': <not found>')
      .replace(/: 404 Not Found\\n\\tserver response: [^"]*/g, ': <not found>')
      .replaceAll(': no such file or directory', ': <not found>');
  }

  async function run(proxy: string, gosumdb: string): Promise<Map<string, string>> {
    const outs = await Promise.all(CASES.map((c) => side(proxy, gosumdb, c)));
    return new Map(CASES.map((c, i) => [c.name, outs[i] ?? '']));
  }

  it('cold, warm and in an outage', async () => {
    const reference = await run(`file://${folder}`, `${sumdb.vkey} ${sumdb.url}`);
    const settings = { upstream: upstream?.url ?? '', sumdb: `${sumdb.vkey} ${sumdb.url}` };
    godepot = await startGodepot(settings);
    const check = async (phase: string) => {
      const got = await run(godepot?.url ?? '', sumdb.vkey);
      for (const c of CASES) expect.soft(got.get(c.name), `${phase}: ${c.name}`).toBe(reference.get(c.name));
    };
    await check('cold');
    await check('warm');
    const data = godepot.data;
    await godepot.close();
    godepot = undefined;
    await upstream?.close();
    upstream = undefined;
    await sumdb.close();
    godepot = await startGodepot({ ...settings, data, 'list-ttl': '1ms', 'query-ttl': '1ms' });
    await check('outage');
  }, 120_000);
});
