import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GoFileError,
  goModTokens,
  isReplaced,
  parseGoMod,
  parseGoSum,
  parseModuleArg,
  parseModuleList,
} from '../../src/cli/gofiles.js';
import { findGo, goEnv } from '../world/index.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('parseGoSum', () => {
  it('reads zip and go.mod lines, skipping blank lines and the legacy empty go.mod hash', () => {
    const text = [
      'example.com/Upper/Lib v1.0.0 h1:abc=',
      'example.com/Upper/Lib v1.0.0/go.mod h1:def=',
      '',
      '  golang.org/x/text v0.3.0/go.mod   h1:ghi=  ',
      'example.com/old v1.0.0/go.mod h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY=',
      'example.com/incompat v2.0.0+incompatible h1:jkl=',
    ].join('\n');
    expect(parseGoSum(text)).toEqual([
      { path: 'example.com/Upper/Lib', version: 'v1.0.0', kind: 'zip', hash: 'h1:abc=', line: 1 },
      { path: 'example.com/Upper/Lib', version: 'v1.0.0', kind: 'mod', hash: 'h1:def=', line: 2 },
      { path: 'golang.org/x/text', version: 'v0.3.0', kind: 'mod', hash: 'h1:ghi=', line: 4 },
      { path: 'example.com/incompat', version: 'v2.0.0+incompatible', kind: 'zip', hash: 'h1:jkl=', line: 6 },
    ]);
  });

  it.each([
    ['example.com/a v1.0.0', /malformed go.sum line/],
    ['example.com/a v1.0.0 h1:x= extra', /malformed go.sum line/],
    ['example.com/a 1.0.0 h1:x=', /not a semantic version/],
    ['example.com/a v1.0 h1:x=', /not an exact version; give one like v1.2.3/],
    ['example.com/a/v2 v1.0.0 h1:x=', /v2/],
    ['Example..com/a v1.0.0 h1:x=', /malformed|invalid/],
  ])('refuses %j naming the line', (line, why) => {
    let err: unknown;
    try {
      parseGoSum(`\n${line}\n`, 'x/go.sum');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GoFileError);
    expect((err as GoFileError).line).toBe(2);
    expect((err as GoFileError).message).toMatch(/^x\/go\.sum:2: /);
    expect((err as GoFileError).message).toMatch(why);
  });

  it('round-trips random go.sum files', () => {
    const rnd = prng(6);
    for (let round = 0; round < 50; round++) {
      const want = [];
      const n = Math.floor(rnd() * 20);
      for (let i = 0; i < n; i++) {
        const path = `example.com/m${Math.floor(rnd() * 1000)}${rnd() < 0.3 ? '/v2' : ''}`;
        const major = path.endsWith('/v2') ? 2 : Math.floor(rnd() * 2);
        const version = `v${major}.${Math.floor(rnd() * 10)}.${Math.floor(rnd() * 10)}${rnd() < 0.2 ? '-pre.1' : ''}`;
        const kind = rnd() < 0.5 ? 'zip' : 'mod';
        want.push({ path, version, kind, hash: `h1:${Buffer.from([i, round]).toString('base64')}`, line: i + 1 });
      }
      const text =
        want.map((e) => `${e.path} ${e.version}${e.kind === 'mod' ? '/go.mod' : ''} ${e.hash}`).join('\n') + '\n';
      expect(parseGoSum(text)).toEqual(want);
    }
  });
});

describe('parseGoMod', () => {
  const gomod = `// a comment
module example.com/app // trailing

go 1.21

require example.com/single v1.0.0
require (
	example.com/a v1.2.3 // indirect
	"example.com/quoted" v0.1.0
	// example.com/commented v9.9.9
	example.com/b/v2 v2.0.0+incompatible_not_allowed_is_rejected_below v9
)
`;

  it('reads single and block requires, quoted paths, and skips comments', () => {
    const ok = gomod.replace(/^\texample\.com\/b\/v2 .*$/m, '\texample.com/b/v2 v2.1.0');
    const r = parseGoMod(ok);
    expect(r.module).toBe('example.com/app');
    expect(r.requires).toEqual([
      { path: 'example.com/single', version: 'v1.0.0' },
      { path: 'example.com/a', version: 'v1.2.3' },
      { path: 'example.com/quoted', version: 'v0.1.0' },
      { path: 'example.com/b/v2', version: 'v2.1.0' },
    ]);
  });

  it('refuses a malformed require naming the line', () => {
    expect(() => parseGoMod(gomod, 'app/go.mod')).toThrow(/^app\/go\.mod:11: usage: require/);
  });

  it('reads replace directives: module replacements count, directory replacements do not', () => {
    const r = parseGoMod(`module m
require example.com/x v1.0.0
require example.com/y v1.0.0
replace example.com/x => example.com/fork/x v1.0.1
replace (
	example.com/y v1.0.0 => ../y
	example.com/z v0.1.0 => example.com/z v0.2.0
)
`);
    expect(r.replacements).toEqual([
      { path: 'example.com/fork/x', version: 'v1.0.1' },
      { path: 'example.com/z', version: 'v0.2.0' },
    ]);
    expect([...r.replacedPaths]).toEqual(['example.com/x']);
    expect(isReplaced({ path: 'example.com/x', version: 'v1.0.0' }, r)).toBe(true);
    expect(isReplaced({ path: 'example.com/y', version: 'v1.0.0' }, r)).toBe(true);
    expect(isReplaced({ path: 'example.com/y', version: 'v1.0.1' }, r)).toBe(false);
  });

  it('checks requirements against replace directives in linear time (a hostile go.mod of many of each)', () => {
    // Each requirement was looked up in the replace directives one by one: 50,000 of each took minutes of CPU, the
    // 64 MiB a go.mod may be, hours. Linear, this takes about a second (the bound leaves room for a loaded machine).
    const n = 50_000;
    const lines = ['module example.com/app', 'require ('];
    for (let i = 0; i < n; i++) lines.push(`\texample.com/r${i} v1.0.0`);
    lines.push(')', 'replace (');
    for (let i = 0; i < n; i++) lines.push(`\texample.com/x${i} => example.com/y${i} v1.0.0`);
    lines.push(`\texample.com/r7 v1.0.0 => ./r7`, ')');
    const started = performance.now();
    const r = parseGoMod(lines.join('\n'));
    const kept = r.requires.filter((mv) => !isReplaced(mv, r));
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(kept.length).toBe(n - 1);
    expect(isReplaced({ path: 'example.com/x49999', version: 'v9.0.0' }, r)).toBe(true);
  });

  it('tokenizes like modfile: parentheses split words, => does not, escapes in double quotes, comments end the line', () => {
    // golang.org/x/mod v0.43.0: Parse refuses "replace a=>b v1.0.0" (usage: one word, no arrow).
    expect(goModTokens('replace a=>b v1 // c')).toEqual(['replace', 'a=>b', 'v1']);
    expect(goModTokens('replace a => b v1')).toEqual(['replace', 'a', '=>', 'b', 'v1']);
    // strconv.Unquote's escapes (golang.org/x/mod v0.43.0 reads "example.com/\x61\u0062" as example.com/ab).
    expect(goModTokens('require "example.com/\\x61\\u0062\\143" v1.0.0')).toEqual([
      'require',
      'example.com/abc',
      'v1.0.0',
    ]);
    expect(goModTokens('require ("x\\"y" `raw//not comment`)')).toEqual([
      'require',
      '(',
      'x"y',
      'raw//not comment',
      ')',
    ]);
    expect(() => goModTokens('require "open', 'f', 3)).toThrow(/f:3: unterminated/);
  });

  it.skipIf(findGo() === null)('agrees with `go mod edit -json` on requirements and replacements', () => {
    const go = findGo() as string;
    const dir = mkdtempSync(join(tmpdir(), 'godepot-gomod-'));
    try {
      const text = `module example.com/app

go 1.21

require (
	example.com/a v1.2.3 // indirect
	"example.com/quoted" v0.1.0
	example.com/b/v2 v2.1.0
	gopkg.in/yaml.v3 v3.0.1
)

require example.com/Upper v0.0.0-20240102030405-abcdef123456

replace example.com/a => example.com/fork/a v1.2.4

replace example.com/quoted v0.1.0 => ./local
`;
      writeFileSync(join(dir, 'go.mod'), text);
      // The hermetic environment of every go run in the tests (telemetry off: see telemetryOff).
      const r = spawnSync(go, ['mod', 'edit', '-json'], {
        cwd: dir,
        encoding: 'utf8',
        env: goEnv({ home: dir, proxy: 'off', sumdb: 'off' }),
      });
      expect(r.status, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as {
        Require: Array<{ Path: string; Version: string }>;
        Replace: Array<{ New: { Path: string; Version?: string } }>;
      };
      const ours = parseGoMod(text);
      expect(ours.requires).toEqual(j.Require.map((x) => ({ path: x.Path, version: x.Version })));
      expect(ours.replacements).toEqual(
        j.Replace.filter((x) => x.New.Version).map((x) => ({ path: x.New.Path, version: x.New.Version })),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseGoMod as the go command reads go.mod files (golang.org/x/mod v0.43.0 Parse / ParseLax)', () => {
  /** go.mod files the go command refuses (true) or takes (false) for their characters alone (go 1.26, mod edit -json). */
  const ODD_CHARACTERS: ReadonlyArray<[string, string, boolean]> = [
    ['a byte order mark', '\ufeffmodule example.com/app\nrequire example.com/c v1.2.0\n', true],
    ['a non-breaking space between words', 'module example.com/app\nrequire example.com/c\u00a0v1.2.0\n', true],
    ['a vertical tab', 'module example.com/app\nrequire example.com/c\vv1.2.0\n', true],
    ['a control character in a directive godepot ignores', 'module example.com/app\ngodebug x=\x01\n', true],
    ['a zero-width space after a version', 'module example.com/app\nrequire example.com/c v1.2.0\u200b\n', true],
    ['a /* */ comment', 'module example.com/app\nrequire example.com/c v1.2.0 /* x */\n', true],
    ['CRLF and U+FFFD in a comment', 'module example.com/app\r\nrequire example.com/c v1.2.0 // \ufffd\r\n', false],
    ['a retract interval', 'module example.com/app\nretract [v1.0.0, v1.1.0]\nrequire example.com/c v1.2.0\n', false],
    ['an emoji in the module path', 'module example.com/\u{1f600}x\nrequire example.com/c v1.2.0\n', false],
  ];

  it('refuses the characters the go command refuses, and takes those it takes', () => {
    for (const [what, text, refused] of ODD_CHARACTERS) {
      if (refused) expect(() => parseGoMod(text), what).toThrow(GoFileError);
      else expect(parseGoMod(text).requires, what).toEqual([{ path: 'example.com/c', version: 'v1.2.0' }]);
    }
    expect(() => parseGoMod('module example.com/app\nrequire example.com/c v1.2.0\u00a0\n')).toThrow(
      /go.mod:2: unexpected character U\+00A0 .*the go command refuses this go.mod too/,
    );
  });

  it.skipIf(findGo() === null)('agrees with the go command on which of these it refuses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'godepot-gomod-chars-'));
    try {
      for (const [what, text, refused] of ODD_CHARACTERS) {
        writeFileSync(join(dir, 'go.mod'), text);
        const r = spawnSync(findGo() as string, ['mod', 'edit', '-json'], {
          cwd: dir,
          encoding: 'utf8',
          env: goEnv({ home: dir, proxy: 'off', sumdb: 'off' }),
        });
        expect(r.status !== 0, `${what}: ${r.stderr}`).toBe(refused);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes a requirement on a module path without a dot when a replace directive replaces it', () => {
    const text =
      'module example.com/app\n\nrequire (\n\tmyorg/shared v0.0.0-00010101000000-000000000000\n\tgithub.com/pkg/errors v0.9.1\n)\n\nreplace myorg/shared => ../shared\n';
    const gm = parseGoMod(text);
    expect(gm.requires.filter((r) => !isReplaced(r, gm))).toEqual([
      { path: 'github.com/pkg/errors', version: 'v0.9.1' },
    ]);
    // Not replaced, it is still refused, naming the line.
    expect(() => parseGoMod('require myorg/shared v1.0.0\n')).toThrow(/go.mod:1: .*missing dot/);
  });

  it('takes an empty one-line block and ignores a block the go command does not know', () => {
    expect(parseGoMod('require ()\nrequire example.com/a v1.0.0\n').requires).toEqual([
      { path: 'example.com/a', version: 'v1.0.0' },
    ]);
    expect(parseGoMod('require example.com/x v1.0.0 (\n\tjunk\n)\n', 'go.mod', { lax: true }).requires).toEqual([]);
  });

  it('lax (a dependency go.mod): only requires count, versions made canonical, unusable requirements left out', () => {
    // ParseLax of this file: require example.com/a@v1.2.0, example.com/b@v1.0.0, /abs/dir@v1.0.0 (no path check);
    // its replace and exclude lines are ignored, malformed or not.
    const text = [
      'module example.com/dep',
      'require (',
      '\texample.com/a v1.2',
      '\t/abs/dir v1.0.0',
      '\texample.com/b v1.0.0+build',
      ')',
      'replace example.com/a => example.com/z v1.2',
      'replace garbage',
      'exclude example.com/b master',
      '',
    ].join('\n');
    expect(parseGoMod(text, 'go.mod', { lax: true }).requires).toEqual([
      { path: 'example.com/a', version: 'v1.2.0' },
      { path: 'example.com/b', version: 'v1.0.0' },
    ]);
    expect(() => parseGoMod(text)).toThrow(/go.mod:3: example.com\/a@v1.2: not an exact version/);
  });
});

describe('module lists', () => {
  it('reads path@version and "path version" lines with comments', () => {
    expect(parseModuleList('# tools\nexample.com/a@v1.0.0\n\nexample.com/b v2.0.0+incompatible // old\n')).toEqual([
      { path: 'example.com/a', version: 'v1.0.0' },
      { path: 'example.com/b', version: 'v2.0.0+incompatible' },
    ]);
  });

  it('refuses queries and non-canonical versions (warm fetches what a build can use)', () => {
    expect(() => parseModuleArg('example.com/a@latest')).toThrow(/not a semantic version/);
    expect(() => parseModuleArg('example.com/a@v1.0')).toThrow(
      'example.com/a@v1.0: not an exact version; give one like v1.2.3 (queries such as @latest or @v1 are not resolved here)',
    );
    expect(() => parseModuleArg('example.com/a')).toThrow(/not module@version/);
    expect(() => parseModuleList('a b c\n', 'l.txt')).toThrow(
      /^l\.txt:1: not a list of module@version \(want one module@version per line/,
    );
  });

  it('does not repeat the first line of a file that is no list (a .env, a token file named by a slip)', () => {
    for (const secret of ['GITHUB_TOKEN=ghp_s3cr3t', 'ghp_s3cr3t@host', 'ghp_s3cr3t v1.0.0', 'https://bob:s3cr3t@x']) {
      let message = '';
      try {
        parseModuleList(`# comment\n${secret}\nexample.com/a@v1.0.0\n`, '.env');
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, secret).toMatch(/^\.env:2: not a list of module@version/);
      expect(message, secret).not.toContain('s3cr3t');
    }
    // Once the file has shown itself to be a list, a bad line is quoted: it is a typo to find.
    expect(() => parseModuleList('example.com/a@v1.0.0\nexample.com/b@v1\n', 'tools.txt')).toThrow(
      /^tools\.txt:2: example\.com\/b@v1: not an exact version/,
    );
  });
});
