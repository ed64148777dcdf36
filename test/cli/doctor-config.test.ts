import { describe, expect, it } from 'vitest';
import {
  analyzeConfig,
  parseGoproxy,
  parseGosumdb,
  publicPathsMatched,
  type GoConfig,
} from '../../src/cli/doctor/config-check.js';
import { configFromEnv } from '../../src/cli/doctor/goenv.js';
import { verdict } from '../../src/cli/doctor/report.js';
import { checkTreeHead, findingFor, redact } from '../../src/cli/doctor/run.js';
import { parseUpstreamList, SUM_GOLANG_ORG_KEY } from '../../src/config/values.js';
import { generateKey, newSigner, signNote } from '../../src/sumdb/note/index.js';

const BASE: GoConfig = configFromEnv({});

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

const problems = (cfg: Partial<GoConfig>) =>
  analyzeConfig({ ...BASE, ...cfg }).findings.filter((f) => f.severity === 'problem');

describe('the GOPROXY list as the go command reads it', () => {
  it('uses the go command defaults when nothing is set, and GOPRIVATE as the default of GONOSUMDB/GONOPROXY', () => {
    expect(BASE).toEqual({
      GOPROXY: 'https://proxy.golang.org,direct',
      GOSUMDB: 'sum.golang.org',
      GONOSUMDB: '',
      GONOPROXY: '',
      GOPRIVATE: '',
      GOFLAGS: '',
      GOINSECURE: '',
      GOAUTH: 'netrc',
    });
    expect(configFromEnv({ GOPRIVATE: 'git.corp' })).toMatchObject({ GONOSUMDB: 'git.corp', GONOPROXY: 'git.corp' });
    expect(analyzeConfig(BASE).findings).toEqual([]);
  });

  it('parses separators, direct/off, scheme-less hosts, and ignores entries after direct', () => {
    expect(parseGoproxy(' godepot.internal:8080 | https://proxy.golang.org ,direct,https://never')).toEqual({
      entries: [
        { kind: 'url', url: 'https://godepot.internal:8080', fallBackOnError: true },
        { kind: 'url', url: 'https://proxy.golang.org', fallBackOnError: false },
        { kind: 'direct', url: 'direct', fallBackOnError: false },
      ],
      ignored: ['https://never'],
      errors: [],
    });
    expect(parseGoproxy(',,').errors).toEqual(['GOPROXY list is not the empty string, but contains no entries']);
    expect(parseGoproxy('ftp://x').errors[0]).toMatch(/scheme must be https, http or file/);
  });

  it("agrees with the server's own GOPROXY-syntax parser on random URL lists", () => {
    const rnd = prng(42);
    for (let i = 0; i < 200; i++) {
      const n = 1 + Math.floor(rnd() * 4);
      let s = '';
      for (let k = 0; k < n; k++) {
        const host = rnd() < 0.5 ? `h${k}.example` : `https://h${k}.example/p${k}`;
        s += (rnd() < 0.3 ? ' ' : '') + host + (k < n - 1 ? (rnd() < 0.5 ? ',' : '|') : '');
      }
      const ours = parseGoproxy(s).entries.map((e) => ({ url: e.url, fallBackOnError: e.fallBackOnError }));
      expect(ours, s).toEqual(parseUpstreamList(s).entries);
    }
  });
});

describe('GOSUMDB', () => {
  it('knows sum.golang.org, rewrites sum.golang.google.cn, reads keys with and without URL, and refuses the rest like Go', () => {
    expect(parseGosumdb('')).toEqual({ off: false, name: 'sum.golang.org', key: SUM_GOLANG_ORG_KEY });
    expect(parseGosumdb('sum.golang.google.cn')).toEqual({
      off: false,
      name: 'sum.golang.org',
      key: SUM_GOLANG_ORG_KEY,
      url: 'https://sum.golang.google.cn',
    });
    const { vkey } = generateKey('db.example/sumdb');
    expect(parseGosumdb(`${vkey} https://db.example/x/`)).toEqual({
      off: false,
      name: 'db.example/sumdb',
      key: vkey,
      url: 'https://db.example/x',
    });
    expect(parseGosumdb('off')).toEqual({ off: true });
    expect(parseGosumdb('a b c').error).toBe('invalid GOSUMDB: too many fields');
    expect(parseGosumdb('db.example').error).toMatch(
      /invalid GOSUMDB: malformed verifier id .*knows the key of sum\.golang\.org only/,
    );
  });
});

describe('configuration problems, each with a fix', () => {
  it('GOSUMDB=off', () => {
    const [p] = problems({ GOSUMDB: 'off' });
    expect(p).toMatchObject({ kind: 'config', subject: 'GOSUMDB' });
    expect(p?.fix).toMatch(/unset GOSUMDB/);
  });

  it.each(['-insecure', '-mod=mod -insecure', '--insecure=true', '-insecure=1'])('GOFLAGS=%s', (flags) => {
    expect(problems({ GOFLAGS: flags }).map((f) => f.subject)).toEqual(['GOFLAGS']);
  });

  // A flag's value given as a word of its own: the go command refuses GOFLAGS, so every build stops.
  it.each([
    ['-mod vendor', 'vendor'],
    ['-modcacherw  -tags  integration', 'integration'],
    ['-', '-'],
    ['--=x', '--=x'],
  ])('GOFLAGS=%s', (flags, word) => {
    const [p, ...more] = problems({ GOFLAGS: flags });
    expect(more).toEqual([]);
    expect(p).toMatchObject({ kind: 'config', subject: 'GOFLAGS' });
    expect(p?.message).toContain(`non-flag "${word}"`);
    expect(p?.fix).toMatch(/GOFLAGS=-mod=vendor/);
  });

  it.each(['-mod=mod', '-insecure=false', '-modcacherw -trimpath', ' -mod=vendor '])('not GOFLAGS=%s', (flags) => {
    expect(problems({ GOFLAGS: flags })).toEqual([]);
  });

  it.each([
    ['GONOSUMDB', '*'],
    ['GONOSUMDB', 'github.com'],
    ['GONOSUMDB', 'git.corp,github.com/*'],
    ['GONOSUMDB', 'golang.org/x'],
    ['GOPRIVATE', '*.com'],
  ])('%s=%s covers public modules', (name, value) => {
    const ps = problems({ [name]: value } as Partial<GoConfig>);
    expect(ps.map((p) => p.subject)).toContain(name);
    expect(ps[0]?.message).toMatch(/covers public modules/);
  });

  it('names GOPRIVATE, the setting given, when GONOSUMDB and GONOPROXY only inherit it (as go env shows them)', () => {
    const ps = analyzeConfig(configFromEnv({ GOPRIVATE: '*' })).findings.filter((f) => f.severity === 'problem');
    expect(ps.map((p) => [p.subject, p.fix])).toEqual([
      ['GOPRIVATE', 'list only your private module paths, e.g. GOPRIVATE=github.com/yourorg,git.internal.example'],
    ]);
    expect(ps[0]?.message).toMatch(/^GOPRIVATE=\* covers public modules .*never checked, and they bypass the proxy/);
    // Set on its own, GONOSUMDB is named.
    expect(problems({ GOPRIVATE: 'git.corp', GONOSUMDB: '*', GONOPROXY: 'git.corp' }).map((p) => p.subject)).toEqual([
      'GONOSUMDB',
    ]);
  });

  it('says when the public modules named are only the first of more, for GONOSUMDB and GONOPROXY alike', () => {
    const ps = problems({ GONOSUMDB: 'git.corp', GONOPROXY: '*' });
    // GONOPROXY's list ended at three, as if those were all.
    expect(ps.find((p) => p.subject === 'GONOPROXY')?.message).toMatch(
      /^GONOPROXY=\* covers public modules \([^)]*, …\): /,
    );
    expect(problems({ GONOSUMDB: '*' })[0]?.message).toMatch(/^GONOSUMDB=\* covers public modules \([^)]*, …\): /);
  });

  it.each(['git.corp.example', 'github.com/mycorp', '*.corp.example,gitlab.com/mycorp/*'])(
    'private patterns %s are fine',
    (v) => {
      expect(problems({ GONOSUMDB: v, GOPRIVATE: v })).toEqual([]);
      expect(publicPathsMatched(v)).toEqual([]);
    },
  );

  it('a "," between two proxies makes fallback impossible; "|" or ",direct" does not', () => {
    const [p] = problems({ GOPROXY: 'https://godepot.internal,https://proxy.golang.org' });
    expect(p?.message).toMatch(/stops instead of trying https:\/\/proxy\.golang\.org/);
    expect(p?.fix).toBe(
      'use "https://godepot.internal|https://proxy.golang.org" so any failure falls back (or list https://godepot.internal alone if every module must come through it)',
    );
    expect(problems({ GOPROXY: 'https://godepot.internal|https://proxy.golang.org,direct' })).toEqual([]);
    expect(problems({ GOPROXY: 'https://godepot.internal,direct' })).toEqual([]);
  });

  it('entries after direct are a problem; a single proxy is worth a note; direct alone a warning', () => {
    expect(problems({ GOPROXY: 'direct,https://godepot.internal' })[0]?.message).toMatch(
      /after "direct" are never used/,
    );
    const single = analyzeConfig({ ...BASE, GOPROXY: 'https://godepot.internal' }).findings;
    expect(single.map((f) => [f.severity, f.message.slice(0, 30)])).toEqual([
      ['info', 'only https://godepot.internal,'],
    ]);
    expect(single[0]?.message).toContain('otherwise add "|https://proxy.golang.org"');
    // The public proxy alone: its note does not suggest adding the public proxy.
    const publicOnly = analyzeConfig({ ...BASE, GOPROXY: 'https://proxy.golang.org' }).findings;
    expect(publicOnly.map((f) => f.severity)).toEqual(['info']);
    expect(publicOnly[0]?.message).not.toContain('add "|https://proxy.golang.org"');
    expect(publicOnly[0]?.message).toContain('GOPROXY=https://godepot.internal|https://proxy.golang.org');
    expect(analyzeConfig({ ...BASE, GOPROXY: 'direct' }).findings[0]?.severity).toBe('warning');
  });

  it('credentials in a plain-http proxy URL, and GOAUTH=off combined', () => {
    expect(problems({ GOPROXY: 'http://u:p@godepot.internal' })[0]?.message).toMatch(/refuses to send them/);
    expect(problems({ GOAUTH: 'netrc;off' })[0]?.subject).toBe('GOAUTH');
  });
});

describe('the verdict', () => {
  const target = { role: 'proxy' as const, url: 'http://g', steps: [] };

  it('names the network layer that failed, with a fix, apart from configuration problems', () => {
    const dns = findingFor(target, { name: 'dns', ok: false, ms: 3, failure: 'dns', detail: 'g does not resolve' });
    const refused = findingFor(target, { name: 'tcp', ok: false, ms: 1, failure: 'refused', detail: 'refused' });
    const http = findingFor(target, { name: 'http', ok: false, ms: 1, failure: 'status', detail: 'GET → 502' });
    const key = findingFor(
      { ...target, role: 'database' },
      { name: 'key', ok: false, ms: 1, failure: 'key', detail: 'signed by x' },
    );
    expect([dns.kind, refused.kind, http.kind, key.kind]).toEqual(['network', 'network', 'service', 'config']);
    expect(dns.message).toMatch(/DNS: name does not resolve/);
    expect(refused.message).toMatch(/connection refused/);
    const [cfg] = problems({ GOSUMDB: 'off' });
    const lines = verdict([cfg!, http, dns]);
    expect(lines.filter((l) => l.startsWith('Verdict:'))).toEqual([
      'Verdict: NETWORK problem: the path to a proxy or database is broken',
      'Verdict: SERVICE problem: it is reachable but answers with errors or reports a problem',
      'Verdict: CONFIGURATION problem: the Go settings are wrong',
    ]);
    expect(lines.filter((l) => l.startsWith('    fix: '))).toHaveLength(3);
    expect(verdict([{ kind: 'config', severity: 'info', subject: 'x', message: 'y' }])[0]).toMatch(
      /^Verdict: all good/,
    );
  });

  it('checks a tree head against the key: verifies, names another signer, or says it is not a note', () => {
    const a = generateKey('db.example');
    const b = generateKey('db.example');
    const note = signNote(
      { text: `go.sum database tree\n5\n${Buffer.alloc(32).toString('base64')}\n` },
      newSigner(a.skey),
    );
    expect(checkTreeHead(note, a.vkey, 1)).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/of 5 records verifies/),
    });
    const wrong = checkTreeHead(note, b.vkey, 1);
    expect(wrong).toMatchObject({ ok: false, failure: 'key' });
    expect(wrong.detail).toContain(
      `signed by ${a.vkey.split('+').slice(0, 2).join('+')}, not by ${b.vkey.split('+').slice(0, 2).join('+')}`,
    );
    expect(checkTreeHead(Buffer.from('hello'), a.vkey, 1)).toMatchObject({ ok: false, failure: 'body' });
  });

  it('never prints credentials of a proxy URL', () => {
    expect(redact('https://user:secret@godepot.internal/base')).toBe('https://user:xxxxx@godepot.internal/base');
    expect(redact('https://lone-token@godepot.internal')).toBe('https://xxxxx@godepot.internal');
    expect(redact('https://godepot.internal')).toBe('https://godepot.internal');
  });
});
