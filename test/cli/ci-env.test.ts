import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { ciEnv, ciEnvCommand, formatCiEnv, type CiEnvOptions } from '../../src/cli/ci-env.js';
import { parseGoproxy } from '../../src/cli/doctor/config-check.js';
import { analyzeConfig } from '../../src/cli/doctor/config-check.js';
import { configFromEnv } from '../../src/cli/doctor/goenv.js';
import { generateKey } from '../../src/sumdb/note/index.js';

const base: CiEnvOptions = {
  proxy: 'https://godepot.internal/',
  fallback: 'none',
  private: '',
  privateVia: 'direct',
  sumdb: 'sum.golang.org',
};
const vars = (o: Partial<CiEnvOptions>) => Object.fromEntries(ciEnv({ ...base, ...o }).map((v) => [v.name, v.value]));

describe('ci-env', () => {
  it('joins every fallback with "|" so any godepot failure falls through; none means godepot alone', () => {
    expect(vars({}).GOPROXY).toBe('https://godepot.internal');
    expect(vars({ fallback: 'proxy.golang.org' }).GOPROXY).toBe('https://godepot.internal|https://proxy.golang.org');
    expect(vars({ fallback: 'direct' }).GOPROXY).toBe('https://godepot.internal|direct');
    for (const fallback of ['proxy.golang.org', 'direct'] as const) {
      const entries = parseGoproxy(vars({ fallback }).GOPROXY ?? '').entries;
      expect(entries[0]?.fallBackOnError).toBe(true);
    }
  });

  it('keeps the checksum database on, builds read-only, and never emits GOSUMDB=off', () => {
    expect(vars({})).toEqual({
      GOPROXY: 'https://godepot.internal',
      GOSUMDB: 'sum.golang.org',
      GOFLAGS: '-mod=readonly',
    });
    const { vkey } = generateKey('db.internal/sumdb');
    expect(vars({ sumdb: vkey }).GOSUMDB).toBe(vkey);
    expect(() => vars({ sumdb: 'off' })).toThrow(/refused/);
    expect(() => vars({ sumdb: `${vkey} https://db.internal` })).toThrow(/name or a key only/);
    expect(() => vars({ sumdb: 'db.internal' })).toThrow(/give NAME\+HASH\+KEY/);
  });

  it('private patterns: GOPRIVATE/GONOPROXY/GONOSUMDB when fetched directly, GONOSUMDB only when through godepot; public-covering patterns refused', () => {
    expect(vars({ private: 'git.corp.example,github.com/mycorp' })).toMatchObject({
      GOPRIVATE: 'git.corp.example,github.com/mycorp',
      GONOPROXY: 'git.corp.example,github.com/mycorp',
      GONOSUMDB: 'git.corp.example,github.com/mycorp',
    });
    const via = vars({ private: 'git.corp.example', privateVia: 'godepot' });
    expect(via.GONOSUMDB).toBe('git.corp.example');
    expect(via.GOPRIVATE).toBeUndefined();
    expect(via.GONOPROXY).toBeUndefined();
    const why = ciEnv({ ...base, private: 'git.corp.example', privateVia: 'godepot' }).find(
      (v) => v.name === 'GONOSUMDB',
    );
    expect(why?.why).toMatch(/godepot --private .*credentials for the Git host.*USER:TOKEN/);
    expect(() => vars({ private: 'github.com' })).toThrow(/covers public modules/);
  });

  it('refuses private modules through godepot with proxy.golang.org behind it: any godepot failure would send their paths there', () => {
    // Only GONOSUMDB is set then, so the go command asks every GOPROXY entry for a private module, and after
    // '|' it asks the next one whatever godepot answered (a Git host outage, a 403, godepot down).
    expect(() => vars({ private: 'git.corp.example', privateVia: 'godepot', fallback: 'proxy.golang.org' })).toThrow(
      /--private-via godepot.*--fallback proxy\.golang\.org.*private module paths to proxy\.golang\.org/,
    );
    expect(vars({ private: 'git.corp.example', privateVia: 'godepot', fallback: 'direct' }).GOPROXY).toBe(
      'https://godepot.internal|direct',
    );
    expect(vars({ private: 'git.corp.example', privateVia: 'direct', fallback: 'proxy.golang.org' }).GONOPROXY).toBe(
      'git.corp.example',
    );
  });

  it('refuses a malformed --private pattern, which the go command would ignore, and trims the entries it prints', () => {
    // go1.26.8's module.MatchPrefixPatterns skips a pattern path.Match calls malformed, and matches " b.example" as
    // written: GOPRIVATE=GONOSUMDB='git.corp.example/[team' kept nothing private, the paths went to sum.golang.org.
    expect(() => vars({ private: 'git.corp.example/[team' })).toThrow(
      'invalid --private: pattern "git.corp.example/[team": syntax error in pattern; the go command ignores such a pattern, so it would keep nothing private: write a path.Match glob like git.corp.example or *.corp.example',
    );
    expect(() => vars({ private: 'a.corp.example,\\', privateVia: 'godepot' })).toThrow(
      /invalid --private: pattern "\\\\"/,
    );
    expect(vars({ private: ' a.corp.example , b.corp.example,' })).toMatchObject({
      GOPRIVATE: 'a.corp.example,b.corp.example',
      GONOPROXY: 'a.corp.example,b.corp.example',
      GONOSUMDB: 'a.corp.example,b.corp.example',
    });
  });

  it('--private given twice keeps both patterns', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: process.stderr, env: {} };
    const args = [
      '--proxy',
      'https://godepot.internal',
      '--private',
      'git.corp.example',
      '--private',
      'github.com/mycorp',
    ];
    expect(await ciEnvCommand(args, io)).toBe(0);
    expect(out.join('')).toContain("export GOPRIVATE='git.corp.example,github.com/mycorp'");
  });

  it("what it prints passes the doctor's configuration checks", () => {
    for (const fallback of ['none', 'proxy.golang.org', 'direct'] as const) {
      const env = vars({ fallback, private: 'git.corp.example' });
      const problems = analyzeConfig(configFromEnv(env)).findings.filter((f) => f.severity === 'problem');
      expect(problems, fallback).toEqual([]);
    }
  });

  it('refuses a proxy URL that is not http(s) or holds a list separator', () => {
    expect(() => vars({ proxy: 'ftp://x' })).toThrow(/http or https/);
    expect(() => vars({ proxy: 'https://a,b' })).toThrow(/separate GOPROXY entries/);
    expect(() => vars({ proxy: 'not a url' })).toThrow(/invalid --proxy/);
    // A host and port alone: the scheme is what is missing (it is not "the scheme godepot.internal:").
    expect(() => vars({ proxy: 'godepot.internal:8443' })).toThrow(
      'invalid --proxy "godepot.internal:8443": give godepot\'s URL with its scheme: https://godepot.internal:8443, or http://godepot.internal:8443 if it serves plain HTTP',
    );
  });

  it('shell output is valid sh that sets exactly these values, quotes and all', () => {
    const out = formatCiEnv(
      ciEnv({ ...base, fallback: 'proxy.golang.org', private: "git.corp.example/o'brien" }),
      'shell',
    );
    const r = spawnSync('sh', ['-c', `${out}\nprintf '%s\\n' "$GOPROXY" "$GOSUMDB" "$GOFLAGS" "$GONOSUMDB"`], {
      encoding: 'utf8',
      env: {},
    });
    expect(r.stdout).toBe(
      "https://godepot.internal|https://proxy.golang.org\nsum.golang.org\n-mod=readonly\ngit.corp.example/o'brien\n",
    );
  });

  it("never prints a --proxy URL's token: each format reads it from the CI secret GODEPOT_TOKEN", () => {
    const token = 'tok-3f9a-secret';
    const v = ciEnv({ ...base, proxy: `https://ci:${token}@godepot.internal`, fallback: 'direct' });
    for (const format of ['shell', 'github', 'gitlab'] as const) {
      const out = formatCiEnv(v, format);
      expect(out, format).not.toContain(token);
      expect(out, format).toContain('the token from the CI secret GODEPOT_TOKEN');
    }
    expect(formatCiEnv(v, 'github')).toContain(
      '  GOPROXY: "https://ci:${{ secrets.GODEPOT_TOKEN }}@godepot.internal|direct"\n',
    );
    expect(formatCiEnv(v, 'gitlab')).toContain('  GOPROXY: "https://ci:${GODEPOT_TOKEN}@godepot.internal|direct"\n');
    // The shell snippet is valid sh that reads the secret from the job's environment.
    const r = spawnSync('sh', ['-c', `${formatCiEnv(v, 'shell')}\nprintf '%s\\n' "$GOPROXY"`], {
      encoding: 'utf8',
      env: { GODEPOT_TOKEN: token },
    });
    expect(r.stdout).toBe(`https://ci:${token}@godepot.internal|direct\n`);
  });

  it('GitHub Actions and GitLab CI snippets', () => {
    const v = ciEnv({ ...base, fallback: 'direct' });
    const gh = formatCiEnv(v, 'github');
    expect(gh).toMatch(/^# GitHub Actions.*\nenv:\n/);
    expect(gh).toContain('  GOPROXY: "https://godepot.internal|direct"\n');
    const gl = formatCiEnv(v, 'gitlab');
    expect(gl).toMatch(/\nvariables:\n/);
    expect(gl).toContain('  GOFLAGS: "-mod=readonly"\n');
    expect(gl).not.toContain('off');
  });
});
