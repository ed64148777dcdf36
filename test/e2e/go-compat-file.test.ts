// The go command is the judge, and GOPROXY=file:// is the plainest proxy it
// knows: the same module versions written in the GOPROXY layout to a folder.
// Each case runs the same go commands twice, each time in a fresh home — once
// with GOPROXY at that folder (GOSUMDB names the database's URL, as a folder
// cannot serve it), once at godepot in front of a fake upstream (GOSUMDB the
// key alone, so the go command finds the database through godepot) — and
// compares what the user gets: exit codes, stdout, stderr, and every go.mod,
// go.sum and go.work afterwards. go-compat.test.ts compares godepot with its
// upstream for queries and errors; these are the everyday commands of a
// developer or a CI job on the module shapes that trip proxies up.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, findGo, type FixtureModule } from '../world/index.js';
import { noGoMod, runInNewHome, writeProxyFolder } from './compat-support.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';

const go = findGo();
const W = 'example.com/fw';

/** A module version with a package at its root, a command in cmd/tool, and the go.mod given (or a plain one). */
function lib(path: string, version: string, goMod = `module ${path}\n\ngo 1.21\n`, imports = ''): FixtureModule {
  return {
    path,
    version,
    files: {
      'go.mod': goMod,
      'lib.go': `package lib\n\n${imports}func Name() string { return "${path}@${version}" }\n`,
      'cmd/tool/main.go': `package main\n\nfunc main() { println("${path}@${version}") }\n`,
    },
  };
}

const MODULES: FixtureModule[] = [
  ...['v1.0.0', 'v1.1.0', 'v1.1.1', 'v1.2.0', 'v1.2.1', 'v1.3.0'].map((v) => lib(`${W}/mvs`, v)),
  // A later go.mod retracts an earlier version; the latest retracts itself (so @latest is the one before it).
  lib(`${W}/retract`, 'v1.0.0'),
  lib(`${W}/retract`, 'v1.1.0'),
  lib(`${W}/retract`, 'v1.2.0', `module ${W}/retract\n\ngo 1.21\n\nretract v1.1.0 // broken: do not use\n`),
  lib(
    `${W}/retract`,
    'v1.3.0',
    `module ${W}/retract\n\ngo 1.21\n\nretract (\n\tv1.3.0 // published by mistake\n\tv1.1.0 // broken: do not use\n)\n`,
  ),
  lib(`${W}/deprecated`, 'v1.0.0'),
  lib(`${W}/deprecated`, 'v1.1.0', `// Deprecated: use ${W}/mvs instead.\nmodule ${W}/deprecated\n\ngo 1.21\n`),
  // +incompatible versions (no go.mod at v2 tags), and the /v2 module the author moved to later.
  noGoMod(`${W}/inc`, 'v1.0.0'),
  noGoMod(`${W}/inc`, 'v2.0.0+incompatible'),
  noGoMod(`${W}/inc`, 'v2.1.0+incompatible'),
  lib(`${W}/inc/v2`, 'v2.2.0'),
  // Pre-releases only: @latest is the newest pre-release.
  lib(`${W}/pre`, 'v0.1.0-alpha'),
  lib(`${W}/pre`, 'v0.2.0-beta.1'),
  lib(`${W}/pre`, 'v0.2.0-beta.2'),
  // Tags and a pseudo-version after them (not in the list, fetched by its version).
  lib(`${W}/tagged`, 'v1.2.0'),
  lib(`${W}/tagged`, 'v1.2.1-0.20240102030405-abcdefabcdef'),
  // No tag at all: the list is empty, @latest answers the pseudo-version.
  lib(`${W}/untagged`, 'v0.0.0-20240203040506-0123456789ab'),
  // Two paths that differ only in case: `!` escaping keeps them apart in URLs and on disk.
  lib(`${W}/Case`, 'v1.0.0'),
  lib(`${W}/case`, 'v1.1.0'),
  // A go.mod with a toolchain line and go 1.26.
  lib(`${W}/newgo`, 'v1.0.0', `module ${W}/newgo\n\ngo 1.26\n\ntoolchain go1.26.1\n`),
  // Dependencies between modules: go mod graph and go mod why have something to show.
  lib(`${W}/app`, 'v1.0.0', `module ${W}/app\n\ngo 1.21\n\nrequire ${W}/mvs v1.1.0\n`, `import _ "${W}/mvs"\n\n`),
];

interface Case {
  name: string;
  /** Files of the working folder (a main module, a workspace, or nothing). Default: a main module. */
  files?: Record<string, string>;
  env?: Record<string, string>;
  steps: string[][];
}

const mainModule = (requires = ''): Record<string, string> => ({
  'go.mod': `module example.com/main\n\ngo 1.21\n${requires}`,
});

describe.skipIf(go === null)('the go command gets the same answers from godepot as from a file:// proxy', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let folder = '';
  const dirs: string[] = [];

  beforeAll(async () => {
    const built = await buildModules(MODULES);
    folder = await tempDir('godepot-fileproxy-');
    dirs.push(folder);
    await writeProxyFolder(folder, built);
    sumdb = await FakeSumDb.start({ records: built });
    upstream = await FakeGoProxy.start(built);
    godepot = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
  }, 30_000);
  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    for (const d of dirs) await removeDir(d);
  });

  async function side(proxy: string, gosumdb: string, c: Case): Promise<string> {
    const files = c.files ?? mainModule();
    const ran = await runInNewHome(c.steps, files, { proxy, sumdb: gosumdb, ...(c.env ? { extra: c.env } : {}) }, dirs);
    const { dir, home } = ran;
    let out = ran.out;
    // Every go.mod, go.sum and go.work the case started with, or the command may have written.
    const written = new Set(
      Object.keys(files).flatMap((f) => {
        const d = f.includes('/') ? `${f.slice(0, f.lastIndexOf('/'))}/` : '';
        return f.endsWith('.go')
          ? []
          : f.startsWith('go.work')
            ? ['go.work', 'go.work.sum']
            : [`${d}go.mod`, `${d}go.sum`];
      }),
    );
    for (const f of [...written].sort())
      out += `--- ${f}\n${await readFile(join(dir, f), 'utf8').catch(() => '(none)\n')}`;
    return out.replaceAll(`file://${folder}`, '<proxy>').replaceAll(godepot.url, '<proxy>').replaceAll(home, '<home>');
  }

  async function expectSame(cases: Case[]): Promise<void> {
    await Promise.all(
      cases.map(async (c) => {
        const [file, g] = await Promise.all([
          side(`file://${folder}`, `${sumdb.vkey} ${sumdb.url}`, c),
          side(godepot.url, sumdb.vkey, c),
        ]);
        expect.soft(g, c.name).toBe(file);
      }),
    );
  }

  it('retractions, a self-retracting latest, deprecations', async () => {
    await expectSame([
      {
        name: 'list -m -u -retracted all',
        files: mainModule(`\nrequire (\n\t${W}/retract v1.1.0\n\t${W}/deprecated v1.0.0\n\t${W}/mvs v1.1.0\n)\n`),
        steps: [
          ['mod', 'download'],
          ['list', '-m', '-u', '-retracted', 'all'],
        ],
      },
      {
        name: 'get @latest skips the retracted',
        steps: [
          ['get', `${W}/retract@latest`],
          ['list', '-m', '-versions', `${W}/retract`],
          ['list', '-m', '-versions', '-retracted', `${W}/retract`],
        ],
      },
      {
        name: 'a self-retracted requirement',
        files: mainModule(`\nrequire ${W}/retract v1.3.0\n`),
        steps: [
          ['list', '-m', '-u', `${W}/retract`],
          ['get', `${W}/retract@latest`],
        ],
      },
      {
        name: 'deprecated',
        steps: [
          ['get', `${W}/deprecated@v1.0.0`],
          ['list', '-m', '-u', '-json', `${W}/deprecated`],
          ['get', `${W}/deprecated@latest`],
        ],
      },
    ]);
  });

  it('+incompatible beside /v2, pre-releases, pseudo-versions and version queries', async () => {
    const requires = `\nrequire ${W}/mvs v1.1.0\n`;
    await expectSame([
      {
        name: '+incompatible',
        steps: [
          ['list', '-m', '-versions', `${W}/inc`, `${W}/inc/v2`],
          ['get', `${W}/inc@v2.0.0+incompatible`],
          ['get', `${W}/inc@latest`],
          ['get', `${W}/inc/v2@latest`],
        ],
      },
      {
        name: 'pre-releases only',
        steps: [
          ['list', '-m', '-versions', `${W}/pre`],
          ['get', `${W}/pre@latest`],
        ],
      },
      { name: 'a pseudo-version after a tag', steps: [['get', `${W}/tagged@v1.2.1-0.20240102030405-abcdefabcdef`]] },
      { name: '@upgrade', files: mainModule(requires), steps: [['get', `${W}/mvs@upgrade`]] },
      { name: '@patch', files: mainModule(requires), steps: [['get', `${W}/mvs@patch`]] },
      { name: '@none', files: mainModule(requires), steps: [['get', `${W}/mvs@none`]] },
      { name: '@<v1.3', steps: [['get', `${W}/mvs@<v1.3`]] },
      { name: '@v1.2', steps: [['get', `${W}/mvs@v1.2`]] },
      { name: '@>=v1.1.1', files: mainModule(requires), steps: [['get', `${W}/mvs@>=v1.1.1`]] },
    ]);
  });

  it('go install outside a module, go mod download -json all, why, graph, go work sync', async () => {
    await expectSame([
      // go version -m: the module versions and sums built into the installed binary.
      {
        name: 'install outside a module',
        files: {},
        steps: [
          ['install', `${W}/mvs/cmd/tool@v1.2.0`],
          ['version', '-m', '../gopath/bin/tool'],
        ],
      },
      {
        name: 'install @latest outside a module',
        files: {},
        steps: [
          ['install', `${W}/retract/cmd/tool@latest`],
          ['version', '-m', '../gopath/bin/tool'],
        ],
      },
      {
        name: 'mod download -json all, why, graph',
        files: {
          ...mainModule(),
          'main.go': `package main\n\nimport _ "${W}/app"\n\nfunc main() {}\n`,
        },
        steps: [
          ['mod', 'tidy'],
          ['mod', 'download', '-json', 'all'],
          ['mod', 'why', '-m', `${W}/mvs`],
          ['mod', 'graph'],
        ],
      },
      {
        name: 'work sync',
        env: { GOWORK: '' },
        files: {
          'go.work': 'go 1.21\n\nuse (\n\t./a\n\t./b\n)\n',
          'a/go.mod': `module example.com/a\n\ngo 1.21\n\nrequire ${W}/mvs v1.1.0\n`,
          'a/a.go': `package a\n\nimport _ "${W}/mvs"\n`,
          'b/go.mod': `module example.com/b\n\ngo 1.21\n\nrequire ${W}/mvs v1.2.0\n`,
          'b/b.go': `package b\n\nimport _ "${W}/mvs"\n`,
        },
        steps: [
          ['work', 'sync'],
          ['list', '-m', 'all'],
        ],
      },
    ]);
  });

  it('an untagged module, paths that differ only in case, a go 1.26 go.mod with a toolchain line', async () => {
    await expectSame([
      {
        name: 'untagged: empty list, @latest',
        steps: [
          ['list', '-m', '-versions', `${W}/untagged`],
          ['get', `${W}/untagged@latest`],
        ],
      },
      {
        name: 'case',
        steps: [
          ['get', `${W}/Case@latest`],
          ['get', `${W}/case@latest`],
          ['list', '-m', '-versions', `${W}/Case`, `${W}/case`],
          ['mod', 'verify'],
        ],
      },
      {
        name: 'go 1.26 and toolchain',
        steps: [
          ['get', `${W}/newgo@latest`],
          ['list', '-m', '-json', `${W}/newgo`],
        ],
      },
    ]);
  });
});
