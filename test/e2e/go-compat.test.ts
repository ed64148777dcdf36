// The go command is the judge of godepot's compatibility: each scenario runs
// the same go commands twice, each time in a fresh home and main module —
// once with GOPROXY at the upstream itself, once at godepot in front of it —
// and compares what the user gets: exit codes, stdout, stderr, go.mod and
// go.sum. One world serves every scenario: an upstream that also serves the
// checksum database under /sumdb/ (GOSUMDB is the key alone, so both runs
// find the database through their proxy), a second proxy for fall-through,
// and one godepot. Where godepot answers differently by design, the test
// says why and asserts godepot's answer.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildModules,
  buildToolchain,
  FakeGoProxy,
  FakeSumDb,
  faults,
  findGo,
  goEnv,
  requireGo,
  writeApp,
  type BuiltModule,
  type FixtureModule,
} from '../world/index.js';
import { noGoMod, runSteps } from './compat-support.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';
import { freePort } from '../support/ports.js';

const go = findGo();
const C = 'example.com/compat';

/** A module version with a package at its root and one in sub/ (and a command in cmd/tool when asked). */
function lib(path: string, version: string, opts: { goMod?: string; cmd?: boolean } = {}): FixtureModule {
  const files: Record<string, string> = {
    'go.mod': opts.goMod ?? `module ${path}\n\ngo 1.21\n`,
    'lib.go': `package lib\n\nfunc Name() string { return "${path}@${version}" }\n`,
    'sub/sub.go': `package sub\n\nfunc Name() string { return "${path}/sub@${version}" }\n`,
  };
  if (opts.cmd) files['cmd/tool/main.go'] = `package main\n\nfunc main() { println("${path}@${version}") }\n`;
  return { path, version, files };
}

const UPSTREAM: FixtureModule[] = [
  ...['v1.0.0', 'v1.1.0', 'v1.1.1', 'v1.2.0'].map((v) => lib(`${C}/mvs`, v)),
  lib(`${C}/retract`, 'v1.0.0'),
  lib(`${C}/retract`, 'v1.1.0'),
  lib(`${C}/retract`, 'v1.2.0', { goMod: `module ${C}/retract\n\ngo 1.21\n\nretract v1.1.0 // broken: do not use\n` }),
  lib(`${C}/selfretract`, 'v1.0.0'),
  lib(`${C}/selfretract`, 'v1.1.0', {
    goMod: `module ${C}/selfretract\n\ngo 1.21\n\nretract v1.1.0 // published by mistake\n`,
  }),
  lib(`${C}/deprecated`, 'v1.0.0'),
  lib(`${C}/deprecated`, 'v1.1.0', {
    goMod: `// Deprecated: use ${C}/mvs instead.\nmodule ${C}/deprecated\n\ngo 1.21\n`,
  }),
  noGoMod(`${C}/incompat`, 'v1.0.0'),
  noGoMod(`${C}/incompat`, 'v2.0.0+incompatible'),
  noGoMod(`${C}/incompat`, 'v2.1.0+incompatible'),
  lib(`${C}/pseudo`, 'v0.0.0-20230102030405-abcdefabcdef'),
  lib(`${C}/tagged`, 'v1.2.3'),
  lib(`${C}/tagged`, 'v1.2.4-0.20230203040506-0123456789ab'),
  lib(`${C}/tagged`, 'v1.3.0-pre'),
  lib(`${C}/tagged`, 'v1.3.0-pre.0.20230304050607-fedcba987654'),
  lib(`${C}/major`, 'v1.0.0'),
  lib(`${C}/major/v2`, 'v2.0.0'),
  lib(`${C}/major/v2`, 'v2.1.0', { cmd: true }),
  // A v1 module with a package in a folder named v2 (layouts from before modules).
  { ...lib(`${C}/legacy`, 'v1.0.0'), files: { ...lib(`${C}/legacy`, 'v1.0.0').files, 'v2/v2.go': 'package v2\n' } },
  lib('gopkg.in/compat.v1', 'v1.0.0'),
  lib('gopkg.in/compat.v1', 'v1.1.0'),
  lib(`${C}/Upper/Case`, 'v1.0.0'),
  lib(`${C}/Upper/Case`, 'v1.1.0-RC1'),
  lib(`${C}/fresh`, 'v1.0.0'),
];
/** proxy.golang.org serves an Origin in .info for recent versions. */
const WITH_ORIGIN: FixtureModule = {
  ...lib(`${C}/origin`, 'v1.0.0'),
  origin: {
    VCS: 'git',
    URL: `https://${C}/origin`,
    Ref: 'refs/tags/v1.0.0',
    Hash: '0123456789abcdef'.repeat(2) + '01234567',
  },
};
/** Served only by the second proxy. */
const ELSEWHERE: FixtureModule[] = [lib(`${C}/elsewhere`, 'v1.0.0'), lib(`${C}/gone`, 'v1.0.0')];
/** Served by both proxies, unknown to the checksum database. */
const UNSUMMED = lib(`${C}/unsummed`, 'v1.0.0');
/** Published upstream during the test. */
const FRESH_NEXT = lib(`${C}/fresh`, 'v1.1.0');

interface Scenario {
  name: string;
  /** Lines after `go 1.21` in the main module's go.mod. */
  gomod?: string;
  /** Files of the main module besides go.mod. */
  files?: Record<string, string>;
  env?: Record<string, string>;
  /** GOPROXY, given the proxy under test (the upstream, or godepot). Default: that proxy alone. */
  proxy?: (first: string) => string;
  steps: string[][];
}

/** What the user saw in each run, with the proxy under test shown as <proxy>, the upstream as <upstream>. */
interface Compared {
  name: string;
  upstream: string;
  godepot: string;
}

/**
 * godepot's 404/410 body passes on the upstream's words and says whose they
 * are (errors.ts, fromNotFound): `not found: <what> (<upstream> answered
 * 404: <the upstream's body>)`. By design: behind several upstreams the
 * user learns which one said no.
 */
const WHOSE_WORDS = /^\tserver response: not found: .+ \(<upstream> answered 4\d\d: (.*)\)$/m;

/** text with each of the URLs or paths replaced by its name (a URL not followed by a digit: not another port's). */
function mask(text: string, names: ReadonlyArray<[string, string]>): string {
  return names.reduce(
    (t, [what, name]) => t.replace(new RegExp(`${what.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?!\\d)`, 'g'), name),
    text,
  );
}

describe.skipIf(go === null)('the go command gets the same answers through godepot as from the upstream', () => {
  let upstream: FakeGoProxy;
  let other: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let goos = '';
  let goarch = '';
  let deadProxy = '';
  const dirs: string[] = [];

  beforeAll(async () => {
    const hostEnv = { PATH: dirname(requireGo()), HOME: tmpdir(), GOENV: 'off', GOTOOLCHAIN: 'local' };
    [goos = '', goarch = ''] = spawnSync(requireGo(), ['env', 'GOOS', 'GOARCH'], { encoding: 'utf8', env: hostEnv })
      .stdout.trim()
      .split('\n');
    const platforms = new Set([`${goos}/${goarch}`, 'linux/amd64']); // the go command checks linux/amd64's exists
    const toolchain = async (v: string): Promise<BuiltModule[]> =>
      Promise.all([...platforms].map((p) => buildToolchain(v, ...(p.split('/') as [string, string]))));
    const [built, elsewhere, unsummed, known, unknown] = await Promise.all([
      buildModules([...UPSTREAM, WITH_ORIGIN]),
      buildModules(ELSEWHERE),
      buildModules([UNSUMMED]),
      toolchain('go1.99.0'),
      toolchain('go1.99.1'),
    ]);
    sumdb = await FakeSumDb.start({
      records: [...built, ...elsewhere, ...known, ...(await buildModules([FRESH_NEXT]))],
    });
    upstream = await FakeGoProxy.start([...built, ...unsummed, ...known, ...unknown]);
    other = await FakeGoProxy.start([...elsewhere, ...unsummed]);
    upstream.mountSumDb(sumdb);
    other.mountSumDb(sumdb);
    // Queries proxy.golang.org resolves by asking the origin.
    upstream.alias(`${C}/pseudo`, 'abcdefabcdef', 'v0.0.0-20230102030405-abcdefabcdef');
    upstream.alias(`${C}/tagged`, '0123456789ab', 'v1.2.4-0.20230203040506-0123456789ab');
    upstream.alias(`${C}/tagged`, 'dev', 'v1.3.0-pre.0.20230304050607-fedcba987654');
    upstream.alias(`${C}/incompat`, 'v2.1.0', 'v2.1.0+incompatible'); // no go.mod at that tag
    godepot = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
    deadProxy = `http://127.0.0.1:${await freePort()}`;
  }, 60_000);
  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await other?.close();
    await sumdb?.close();
    for (const d of dirs) await removeDir(d);
  });

  async function side(first: string, s: Scenario): Promise<string> {
    const home = await tempDir('godepot-gohome-');
    dirs.push(home);
    const dir = join(home, 'app');
    await mkdir(dir);
    await writeApp(dir, { files: { 'go.mod': `module example.com/app\n\ngo 1.21\n${s.gomod ?? ''}`, ...s.files } });
    const env = goEnv({ home, proxy: s.proxy ? s.proxy(first) : first, sumdb: sumdb.vkey, extra: s.env });
    let out = await runSteps(s.steps, dir, env);
    out += `--- go.mod\n${await readFile(join(dir, 'go.mod'), 'utf8')}`;
    out += `--- go.sum\n${await readFile(join(dir, 'go.sum'), 'utf8').catch(() => '(none)\n')}`;
    return mask(out, [
      [first, '<proxy>'],
      [upstream.url, '<upstream>'],
      [other.url, '<other>'],
      [home, '<home>'],
    ]);
  }

  /** Runs a scenario through the upstream and through godepot at once. */
  async function compare(s: Scenario): Promise<Compared> {
    const [u, g] = await Promise.all([side(upstream.url, s), side(godepot.url, s)]);
    return { name: s.name, upstream: u, godepot: g };
  }

  /** Every scenario gives the user the same, byte for byte (after the proxy's address). */
  async function expectSame(scenarios: Scenario[]): Promise<void> {
    for (const s of scenarios) {
      const r = await compare(s);
      expect.soft(r.godepot, r.name).toBe(r.upstream);
    }
  }

  /** The same, except that godepot's 404/410 bodies also say whose words they pass on (WHOSE_WORDS). */
  async function expectSameWordsPassedOn(scenarios: Scenario[]): Promise<void> {
    for (const s of scenarios) {
      const r = await compare(s);
      expect.soft(r.godepot, r.name).toMatch(WHOSE_WORDS);
      const unwrapped = r.godepot.replace(new RegExp(WHOSE_WORDS.source, 'gm'), '\tserver response: $1');
      expect.soft(unwrapped, r.name).toBe(r.upstream);
    }
  }

  const get = (name: string, target: string, gomod?: string): Scenario => ({
    name,
    steps: [['get', target]],
    ...(gomod === undefined ? {} : { gomod }),
  });

  it('version queries: @latest, @upgrade, @patch, @none, a prefix, a range, commit hashes, a branch', async () => {
    const requires = `require ${C}/mvs v1.1.0\n`;
    await expectSame([
      get('@latest', `${C}/mvs@latest`),
      get('@upgrade', `${C}/mvs@upgrade`, requires),
      get('@patch', `${C}/mvs@patch`, requires),
      get('@none', `${C}/mvs@none`, requires),
      get('a prefix', `${C}/mvs@v1.1`),
      get('a range', `${C}/mvs@<v1.2.0`),
      get('+metadata', `${C}/mvs@v1.1.0+meta`),
      get('a commit hash (no tag before it)', `${C}/pseudo@abcdefabcdef`),
      get('a commit hash (after a tag)', `${C}/tagged@0123456789ab`),
      get('a branch the upstream resolves', `${C}/tagged@dev`),
    ]);
  });

  it('queries the upstream cannot answer: its 404/410 and words reach the user', async () => {
    await expectSameWordsPassedOn([
      get('a branch', `${C}/mvs@main`),
      get('HEAD', `${C}/mvs@HEAD`),
      get('an unknown commit', `${C}/tagged@deadbeef0000`),
      get('an unknown version', `${C}/mvs@v1.1.0-nosuch`),
      get('not a semantic version', `${C}/mvs@1.1.0`),
      {
        name: 'an unknown module',
        steps: [
          ['get', `${C}/nosuch@latest`],
          ['get', `${C}/nosuch@v1.0.0`],
        ],
      },
      get('the wrong case', `${C}/upper/case@latest`),
      // Versions that cannot be the path's (module.Check fails): the go command asks anyway, and
      // proxy.golang.org answers 404/410 with the reason, or resolves v2.0.0 to v2.0.0+incompatible.
      get('v2 of a module without /v2', `${C}/major@v2.0.0`),
      get('v2 of a gopkg.in .v1 module', 'gopkg.in/compat.v1@v2.0.0'),
      get('+incompatible of a module with go.mod', `${C}/mvs@v2.0.0+incompatible`),
    ]);
  });

  it('version lists, retractions and deprecations (the latest go.mod) as the upstream gives them', async () => {
    await expectSame([
      {
        name: 'list -versions',
        steps: [
          ['list', '-m', '-versions', `${C}/mvs`, `${C}/tagged`, `${C}/pseudo`, `${C}/incompat`, `${C}/major/v2`],
        ],
      },
      {
        name: 'list -retracted',
        steps: [['list', '-m', '-versions', '-retracted', `${C}/retract`, `${C}/selfretract`]],
      },
      { name: 'list -json -retracted', steps: [['list', '-m', '-json', '-retracted', `${C}/retract@v1.1.0`]] },
      get('get a retracted version', `${C}/retract@v1.1.0`),
      {
        name: 'latest skips retracted',
        steps: [
          ['get', `${C}/retract@latest`],
          ['get', `${C}/selfretract@latest`],
        ],
      },
      {
        name: 'list -u of a retracted requirement',
        gomod: `require ${C}/retract v1.1.0\n`,
        steps: [['list', '-m', '-u', `${C}/retract`]],
      },
      {
        name: 'deprecated',
        steps: [
          ['get', `${C}/deprecated@v1.0.0`],
          ['list', '-m', '-u', `${C}/deprecated`],
        ],
      },
      {
        name: 'list -u all: upgrades, retractions, deprecations',
        gomod: `require (\n\t${C}/mvs v1.1.0\n\t${C}/retract v1.1.0\n\t${C}/deprecated v1.0.0\n\t${C}/incompat v2.0.0+incompatible\n\t${C}/tagged v1.2.3\n)\n`,
        steps: [
          ['mod', 'download'],
          ['list', '-m', '-u', 'all'],
        ],
      },
      {
        name: 'list -json -u deprecated',
        gomod: `require ${C}/deprecated v1.0.0\n`,
        steps: [['list', '-m', '-json', '-u', `${C}/deprecated`]],
      },
    ]);
  });

  it('+incompatible, pseudo-versions, /v2, gopkg.in and upper-case paths end to end', async () => {
    await expectSame([
      {
        name: '+incompatible',
        steps: [
          ['get', `${C}/incompat@latest`],
          ['get', `${C}/incompat@v2.0.0+incompatible`],
        ],
      },
      // The upstream answers .info of v2.1.0 with v2.1.0+incompatible (no go.mod at that tag), as
      // proxy.golang.org does for `go get github.com/docker/docker@v20.10.24`.
      get('a +incompatible version by its tag', `${C}/incompat@v2.1.0`),
      get('v0.0.0 pseudo-version', `${C}/pseudo@v0.0.0-20230102030405-abcdefabcdef`),
      get('@latest of a module with pseudo-versions only', `${C}/pseudo@latest`),
      get('pseudo-version after a tag', `${C}/tagged@v1.2.4-0.20230203040506-0123456789ab`),
      get('pseudo-version after a pre-release', `${C}/tagged@v1.3.0-pre.0.20230304050607-fedcba987654`),
      get('@latest with a pre-release above the release', `${C}/tagged@latest`),
      {
        name: '/v2',
        steps: [
          ['get', `${C}/major/v2@latest`],
          ['get', `${C}/major@latest`],
          ['get', `${C}/major/v2/sub`],
        ],
      },
      // The go command asks each prefix of a package path for the version (major/v2/sub@v2.0.0,
      // major/v2@v2.0.0, …): a prefix that cannot have it must say 404 for the search to go on.
      get('a package of a /v2 module at a version', `${C}/major/v2/sub@v2.0.0`),
      get('a package of a v1 module in a folder named v2', `${C}/legacy/v2@v1.0.0`),
      { name: 'go install of a /v2 command', steps: [['install', `${C}/major/v2/cmd/tool@v2.1.0`]] },
      {
        name: 'go mod tidy finds the module of each import, go get -u, go build',
        files: {
          'main.go': [
            'package main',
            '',
            'import (',
            `\tmvs "${C}/mvs/sub"`,
            `\tv2 "${C}/major/v2/sub"`,
            '\tyaml "gopkg.in/compat.v1/sub"',
            `\tupper "${C}/Upper/Case/sub"`,
            `\tincompat "${C}/incompat"`,
            `\t_ "${C}/legacy/v2"`,
            ')',
            '',
            'func main() { println(mvs.Name(), v2.Name(), yaml.Name(), upper.Name(), incompat.Name()) }',
            '',
          ].join('\n'),
        },
        gomod: `require ${C}/mvs v1.0.0\n`,
        steps: [
          ['mod', 'tidy'],
          ['get', '-u', './...'],
          ['build', '-o', 'app', '.'],
        ],
      },
      {
        name: 'gopkg.in',
        steps: [
          ['get', 'gopkg.in/compat.v1@latest'],
          ['get', 'gopkg.in/compat.v1/sub@v1.0.0'],
        ],
      },
      {
        name: 'upper case (!-escaped) in path and version',
        steps: [
          ['get', `${C}/Upper/Case@latest`],
          ['get', `${C}/Upper/Case@v1.1.0-RC1`],
          ['list', '-m', '-versions', `${C}/Upper/Case`],
        ],
      },
    ]);
  }, 60_000);

  it('go mod download -json (Sum, GoModSum, Origin) and go mod verify', async () => {
    await expectSame([
      {
        name: 'mod download -json',
        steps: [
          [
            'mod',
            'download',
            '-json',
            `${C}/mvs@v1.2.0`,
            `${C}/incompat@v2.1.0+incompatible`,
            `${C}/Upper/Case@v1.0.0`,
            `${C}/pseudo@abcdefabcdef`,
            `${C}/mvs@latest`,
            `${C}/origin@v1.0.0`,
          ],
        ],
      },
      { name: 'list -json Origin', steps: [['list', '-m', '-json', `${C}/origin@v1.0.0`]] },
      {
        name: 'mod verify',
        steps: [
          ['get', `${C}/mvs@v1.2.0`, `${C}/Upper/Case@v1.0.0`, `${C}/incompat@v2.1.0+incompatible`],
          ['mod', 'verify'],
        ],
      },
    ]);
  });

  it('404 and 410: the go command moves on to the next proxy, and shows their words', async () => {
    const undo = upstream.setFault(faults.status(410, 'gone: taken down at the author’s request\n'), `/${C}/gone/`);
    // proxy.golang.org's answer for a module it cannot fetch from its origin as an anonymous client: the reason
    // is under the first line.
    const cannotFetch = (path: string, version: string): string[] => [
      `not found: ${path}@${version}: invalid version: git ls-remote -q origin in /tmp/gopath/pkg/mod/cache/vcs/${'0f'.repeat(32)}: exit status 128:`,
      "\tfatal: could not read Username for 'https://example.com': terminal prompts disabled",
      'Confirm the import path was typed correctly.',
      'If this is a private repository, see https://golang.org/doc/faq#git_https for additional information.',
    ];
    const privateRepo = cannotFetch(`${C}/private`, 'v1.0.0');
    const deep = `${C}/private/platform/services/billing-reconciliation/v3`;
    const undoPrivate = [
      upstream.setFault(faults.status(410, `${privateRepo.join('\n')}\n`), `/${C}/private/@`),
      upstream.setFault(faults.status(410, `${cannotFetch(deep, 'v3.1.0').join('\n')}\n`), `/${deep}/@`),
    ];
    try {
      await expectSame([
        {
          name: 'comma',
          proxy: (p) => `${p},${other.url}`,
          steps: [
            ['get', `${C}/elsewhere@latest`],
            ['mod', 'download', '-json', `${C}/elsewhere@v1.0.0`],
          ],
        },
        { name: 'pipe', proxy: (p) => `${p}|${other.url}`, steps: [['get', `${C}/elsewhere@v1.0.0`]] },
        // Both say 404: the go command shows the last proxy's words.
        {
          name: 'nowhere',
          proxy: (p) => `${p},${other.url}`,
          steps: [
            ['get', `${C}/nosuch@v1.0.0`],
            ['get', `${C}/nosuch@latest`],
          ],
        },
        { name: '410', proxy: (p) => `${p},${other.url}`, steps: [['get', `${C}/gone@latest`]] },
      ]);
      await expectSameWordsPassedOn([get('410 from the only proxy', `${C}/gone@v1.0.0`)]);
      const r = await compare(get('a private repository', `${C}/private@v1.0.0`));
      // The go command shows every line of it (up to the first blank one, at most 8).
      for (const line of privateRepo) expect(r.upstream).toContain(`\t${line}\n`);
      // godepot's answer is one line: every word, whose they are, and how godepot can serve such a module.
      const said = /^\tserver response: (.*)$/m.exec(r.godepot)?.[1] ?? '';
      expect(said).toContain(`(<upstream> answered 410: ${privateRepo.map((l) => l.trim()).join(' ')})`);
      expect(said).toContain("with --private 'example.com'");
      // A line longer than 648 bytes the go command shows as "[Truncated: too long.]", and nothing else.
      const long = await compare(get('a private repository, a long path', `${deep}@v3.1.0`));
      const saidLong = /^\tserver response: (.*)$/m.exec(long.godepot)?.[1] ?? '';
      expect(saidLong).not.toContain('[Truncated');
      expect(saidLong).toMatch(new RegExp(`^not found: ${deep}@v3.1.0 .info \\(<upstream> answered 410: .*--private`));
    } finally {
      undo();
      for (const u of undoPrivate) u();
    }
  });

  it('client-side GOFLAGS=-insecure, GOINSECURE, GONOSUMDB, GOPRIVATE and GONOPROXY', async () => {
    // GOPRIVATE and GONOPROXY send the go command to the origin: an HTTP proxy that refuses keeps it on loopback.
    const origin = { HTTPS_PROXY: deadProxy, HTTP_PROXY: deadProxy };
    await expectSame([
      { name: 'GOFLAGS=-insecure', env: { GOFLAGS: '-modcacherw -insecure' }, steps: [['get', `${C}/mvs@latest`]] },
      { name: 'GOINSECURE', env: { GOINSECURE: `${C}/*` }, steps: [['get', `${C}/mvs@latest`]] },
      { name: 'GONOSUMDB', env: { GONOSUMDB: `${C}/*` }, steps: [['get', `${C}/mvs@latest`]] },
      { name: 'GOSUMDB=off', env: { GOSUMDB: 'off' }, steps: [['get', `${C}/mvs@latest`]] },
      { name: 'GOPRIVATE', env: { GOPRIVATE: `${C}/*`, ...origin }, steps: [['get', `${C}/mvs@latest`]] },
      { name: 'GONOPROXY', env: { GONOPROXY: `${C}/*`, ...origin }, steps: [['get', `${C}/mvs@latest`]] },
      {
        name: 'GOPRIVATE, GONOPROXY=none',
        env: { GOPRIVATE: `${C}/*`, GONOPROXY: 'none' },
        steps: [['get', `${C}/mvs@latest`]],
      },
    ]);
  });

  it('golang.org/toolchain: toolchain lines under GOTOOLCHAIN=local, toolchain lists, downloads and switches', async () => {
    const dl = `golang.org/toolchain@v0.0.1-go1.99.0.${goos}-${goarch}`;
    await expectSame([
      {
        name: 'GOTOOLCHAIN=local',
        gomod: `\ntoolchain go1.99.0\n`,
        steps: [
          ['mod', 'tidy'],
          ['list', '-m', '-versions', 'go', 'toolchain'],
          ['get', 'toolchain@go1.99.0'],
          ['get', 'go@1.99.0'],
        ],
      },
      { name: 'download a toolchain', steps: [['mod', 'download', '-json', dl]] },
      { name: 'GOTOOLCHAIN=go1.99.0', env: { GOTOOLCHAIN: 'go1.99.0' }, steps: [['version']] },
      {
        name: 'GOTOOLCHAIN=auto, go 1.99',
        env: { GOTOOLCHAIN: 'auto' },
        steps: [['mod', 'edit', '-go=1.99'], ['version']],
      },
      { name: 'a toolchain nobody has', env: { GOTOOLCHAIN: 'go1.98.0' }, steps: [['version']] },
    ]);
  });

  it('by design: what the checksum database does not know is refused even when the client would skip it', async () => {
    const [unsummed, next, skipped, toolchain] = await Promise.all([
      compare(get('unknown to the database', `${C}/unsummed@v1.0.0`)),
      compare({ ...get('and a next proxy has it', `${C}/unsummed@v1.0.0`), proxy: (p) => `${p},${other.url}` }),
      compare({ ...get('GONOSUMDB', `${C}/unsummed@v1.0.0`), env: { GONOSUMDB: `${C}/unsummed` } }),
      compare({ name: 'a toolchain', env: { GOTOOLCHAIN: 'go1.99.1' }, steps: [['version']] }),
    ]);
    // Directly, the go command downloads it and then refuses it itself.
    expect(unsummed.upstream).toContain(`verifying module: ${C}/unsummed@v1.0.0: reading <proxy>/sumdb/`);
    // godepot verifies before it serves: it refuses with 404 (so a next proxy in GOPROXY is asked) and says what to
    // do; the client's GONOSUMDB cannot reach it — for a module no database knows, --nosumdb or --private does.
    for (const r of [unsummed, skipped]) {
      expect(r.godepot).toMatch(/^exit 1$/m);
      expect(r.godepot).toMatch(
        new RegExp(`^\\tserver response: godepot: ${C}/unsummed@v1.0.0 is not in checksum database .*--private`, 'm'),
      );
    }
    expect(skipped.upstream).toMatch(/^exit 0$/m);
    // Being a 404, it lets the go command move on: with a next proxy that has it, the go command downloads it there
    // and refuses it itself, as it does directly.
    expect(next.godepot).toBe(next.upstream);
    // A toolchain is always looked up (even under GONOSUMDB): the go command refuses it directly, godepot's 404 reads
    // to it as "not available".
    expect(toolchain.upstream).toContain('verifying module: golang.org/toolchain@v0.0.1-go1.99.1.');
    expect(toolchain.godepot).toContain(`go: download go1.99.1 for ${goos}/${goarch}: toolchain not available`);
  });

  it('by design: queries no Git ref can be (.x, a..b) are refused with 400, not passed to the upstream', async () => {
    // A query is passed upstream only when nothing a lax server decodes or normalises can make it another path
    // (README, Query versions); Git refuses these names, so no upstream could resolve them either.
    upstream.resetLog();
    for (const q of ['.x', 'a..b']) {
      const r = await compare(get(q, `${C}/mvs@${q}`));
      expect(r.upstream).toContain(`reading <proxy>/${C}/mvs/@v/${q}.info: 404 Not Found`);
      expect(r.godepot).toContain(`reading <proxy>/${C}/mvs/@v/${q}.info: 400 Bad Request`);
    }
    // Only the direct runs asked the upstream.
    expect(upstream.count(`/${C}/mvs/@v/.x.info`) + upstream.count(`/${C}/mvs/@v/a..b.info`)).toBe(2);
  });

  it('by design: a version published upstream reaches @latest through godepot after --list-ttl', async () => {
    const before = await compare(get('before', `${C}/fresh@latest`));
    expect(before.godepot).toBe(before.upstream);
    await upstream.add(FRESH_NEXT);
    const latest = await compare(get('@latest', `${C}/fresh@latest`));
    expect(latest.upstream).toContain(`go: added ${C}/fresh v1.1.0`);
    // godepot answers @latest and the list from its copy until it is --list-ttl (5m) old, as proxy.golang.org
    // caches them; the new version itself is served at once.
    expect(latest.godepot).toContain(`go: added ${C}/fresh v1.0.0`);
    const exact = await compare(get('exact', `${C}/fresh@v1.1.0`));
    expect(exact.godepot).toBe(exact.upstream);
  });
});
