import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadSettings, parseListen } from '../../src/config/load.js';
import { OPTIONS, envName } from '../../src/config/options.js';
import { SETTINGS_SCHEMA } from '../../src/config/schema.js';
import {
  DEFAULT_SUMDB,
  formatUpstreamList,
  parseDuration,
  parseSize,
  parseSumdbSpec,
  parseUpstreamList,
  SUM_GOLANG_ORG_KEY,
} from '../../src/config/values.js';

const TEST_KEY = 'localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6';

describe('value syntaxes', () => {
  it('parses durations and sizes', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
    // A bare number is seconds to one reader and milliseconds to another: refused, saying so (0 is 0 either way).
    expect(() => parseDuration('300')).toThrow('invalid duration "300": give a unit, like 300s or 300ms');
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration(42)).toBe(42);
    for (const bad of ['', '5 minutes', '-1s', '1x', 's']) expect(() => parseDuration(bad)).toThrow(/invalid duration/);
    expect(parseSize('256MiB')).toBe(256 * 1024 * 1024);
    expect(parseSize('1GB')).toBe(1e9);
    expect(parseSize('0')).toBe(0);
    for (const bad of ['', 'lots', '1TB', '-1']) expect(() => parseSize(bad)).toThrow(/invalid size/);
    expect(() => parseSize('1TiB')).toThrow(/unit \(B, KB, MB, GB, KiB, MiB or GiB\)/);
    // A bare number is refused (32 is more likely 32 MiB meant than 32 bytes), as a bare duration is.
    expect(() => parseSize('32')).toThrow('invalid size "32": give a unit, like 32MiB (or 32B for bytes)');
    expect(parseSize('32B')).toBe(32);
    // A config file's JSON number is bytes, as documented.
    expect(parseSize(32)).toBe(32);
  });

  it('parses GOPROXY lists like the go command', () => {
    const l = parseUpstreamList('https://a.example|b.example/sub, ,http://127.0.0.1:9/x/');
    expect(l.entries).toEqual([
      { url: 'https://a.example', fallBackOnError: true },
      { url: 'https://b.example/sub', fallBackOnError: false },
      { url: 'http://127.0.0.1:9/x', fallBackOnError: false },
    ]);
    expect(l.off).toBe(false);
    expect(formatUpstreamList(l)).toBe('https://a.example|https://b.example/sub,http://127.0.0.1:9/x');
    expect(parseUpstreamList('off')).toEqual({ entries: [], off: true });
    // The go command never asks what follows off or direct; godepot's own list says so instead of dropping it.
    expect(() => parseUpstreamList('https://a.example,off,https://ignored')).toThrow(
      'upstream list: "off" ends it, so "https://ignored" after it would never be asked; put proxies before "off"',
    );
    expect(() => parseUpstreamList('direct,https://proxy.golang.org|https://b.example')).toThrow(
      /"direct" ends it, so "https:\/\/proxy.golang.org", "https:\/\/b.example" after it would never be asked/,
    );
    const d = parseUpstreamList('https://a.example,direct');
    expect(d).toEqual({ entries: [{ url: 'https://a.example', fallBackOnError: false }], off: false, direct: true });
    expect(formatUpstreamList(d)).toBe('https://a.example,direct');
    expect(parseUpstreamList('direct')).toEqual({ entries: [], off: false, direct: true });
    expect(() => parseUpstreamList('noproxy')).toThrow(/noproxy.*not supported/);
    expect(() => parseUpstreamList('ftp://a.example')).toThrow(/scheme must be http or https/);
    expect(() => parseUpstreamList(' , ')).toThrow(/empty/);
  });

  it('refuses an upstream listed twice, however its URL is spelled: one proxy must not count as two', () => {
    for (const twice of [
      'https://a.example,https://a.example',
      'https://a.example|a.example/',
      'https://A.example:443/x,https://a.example/x',
      'https://a.example,https://alice:s3cret@a.example',
    ])
      expect(() => parseUpstreamList(twice), twice).toThrow(/upstream https:\/\/a\.example(\/x)? is listed twice/);
    // The same host under another path is another upstream.
    expect(parseUpstreamList('https://a.example/one,https://a.example/two').entries).toHaveLength(2);
  });

  it('keeps the user:password of an upstream or database URL as Basic credentials, and names the URL without it', () => {
    const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;
    const l = parseUpstreamList('https://alice:s3cr%40t@corp.example/go,https://tok3n@other.example');
    expect(l.entries).toEqual([
      {
        url: 'https://alice:xxxxx@corp.example/go',
        fallBackOnError: false,
        credential: { url: 'https://alice:xxxxx@corp.example/go', authorization: basic('alice:s3cr@t') },
      },
      {
        url: 'https://xxxxx@other.example',
        fallBackOnError: false,
        credential: { url: 'https://xxxxx@other.example', authorization: basic('tok3n:') },
      },
    ]);
    expect(formatUpstreamList(l)).toBe('https://alice:xxxxx@corp.example/go,https://xxxxx@other.example');
    const t = parseSumdbSpec(`${TEST_KEY} https://bob:pw@mirror.example/sumdb/x,https://mirror2.example`);
    expect(t.urls).toEqual(['https://bob:xxxxx@mirror.example/sumdb/x', 'https://mirror2.example']);
    expect(t.credentials).toEqual([
      { url: 'https://bob:xxxxx@mirror.example/sumdb/x', authorization: basic('bob:pw') },
    ]);
    // Settings hold them all, for the endpoints; a bad URL's message does not repeat the password.
    const s = loadSettings(
      ['--upstream', 'https://alice:s3cret@corp.example', '--sumdb', `${TEST_KEY} https://bob:pw@m.example`],
      {},
    );
    expect(s.credentials.map((c) => c.url)).toEqual([
      'https://alice:xxxxx@corp.example',
      'https://bob:xxxxx@m.example',
    ]);
    for (const bad of ['https://alice:s3cret@corp.example?x', 'alice:s3cret@corp.example?x'])
      expect(() => parseUpstreamList(bad)).toThrow(/"https:\/\/alice:xxxxx@corp\.example\?x": no query/);
    // A malformed %-escape: the go command's url.Parse refuses it (sent as written, it would be another password).
    expect(() => parseUpstreamList('https://alice:s3%zzt@corp.example')).toThrow(
      'invalid upstream URL "https://alice:xxxxx@corp.example": its user:password has a malformed %-escape; write "%" as %25',
    );
  });

  it('parses GOSUMDB-style database specs, keys with "+" in their data included', () => {
    const d = parseSumdbSpec(DEFAULT_SUMDB);
    // The default, like the go command's: the key of sum.golang.org, its own host, and the upstreams' /sumdb/ endpoints.
    expect(d).toEqual({
      name: 'sum.golang.org',
      key: SUM_GOLANG_ORG_KEY,
      urls: ['https://sum.golang.org'],
      viaUpstreams: true,
      credentials: [],
    });
    expect(parseSumdbSpec('sum.golang.org')).toEqual(d);
    expect(parseSumdbSpec(SUM_GOLANG_ORG_KEY)).toEqual(d);
    // A name in upper case (the go command takes it; godepot keeps host names lower-case) says what to write.
    expect(() => parseSumdbSpec('Sum.Example+12345678+AQ==')).toThrow(
      'invalid sumdb name "Sum.Example": write its host in lower case (sum.example)',
    );
    // The go command's spellings: a known name with URLs, and its one alias.
    expect(parseSumdbSpec('sum.golang.org https://mirror.example/sumdb/sum.golang.org')).toEqual({
      name: 'sum.golang.org',
      key: SUM_GOLANG_ORG_KEY,
      urls: ['https://mirror.example/sumdb/sum.golang.org'],
      viaUpstreams: false,
      credentials: [],
    });
    expect(parseSumdbSpec('sum.golang.google.cn')).toEqual({
      name: 'sum.golang.org',
      key: SUM_GOLANG_ORG_KEY,
      urls: ['https://sum.golang.google.cn'],
      viaUpstreams: false,
      credentials: [],
    });
    expect(() => parseSumdbSpec('sum.example.com')).toThrow(
      /unknown checksum database "sum.example.com".*NAME\+HASH\+KEY/,
    );
    const t = parseSumdbSpec(`${TEST_KEY} http://127.0.0.1:1/a,http://127.0.0.1:2/b`);
    expect(t.name).toBe('localhost.localdev/sumdb');
    expect(t.urls).toEqual(['http://127.0.0.1:1/a', 'http://127.0.0.1:2/b']);
    expect(parseSumdbSpec(TEST_KEY).urls).toEqual(['https://localhost.localdev/sumdb']);
    expect(parseSumdbSpec(TEST_KEY).viaUpstreams).toBe(true);
    expect(t.viaUpstreams).toBe(false);
    expect(() => parseSumdbSpec('a b c')).toThrow(/expected/);
    expect(() => parseSumdbSpec('name+xyz+key')).toThrow(/NAME\+HASH\+KEY/);
    expect(() => parseSumdbSpec(`${TEST_KEY} ftp://x`)).toThrow(/scheme/);
  });

  it('refuses an upstream or database URL with a query or fragment, even an empty "?" or "#"', () => {
    // go1.26.8 reads GOPROXY=https://proxy.example/p? as the proxy https://proxy.example/p, asking for
    // https://proxy.example/p/golang.org/x/text/@v/list?, and GOSUMDB="KEY https://m.example/p?x=1" as the database at
    // https://m.example/p, asking for https://m.example/p/lookup/M@V?x=1. godepot appends its paths to the URL text,
    // after the "?" or "#", so it asked for https://proxy.example/p? on every call: refused, as a query is, instead.
    for (const bad of [
      'https://proxy.example/p?',
      'https://proxy.example/p#',
      'proxy.example?',
      'https://proxy.example/p?#',
    ])
      expect(() => parseUpstreamList(bad), bad).toThrow(
        /: no query or fragment allowed; remove the part from "\?" or "#"$/,
      );
    for (const bad of [
      'https://m.example/p?x=1',
      'https://m.example/p?',
      'https://m.example#f',
      'https://m.example/p#',
    ])
      expect(() => parseSumdbSpec(`${TEST_KEY} ${bad}`), bad).toThrow(
        `invalid sumdb URL "${bad}": no query or fragment allowed; remove the part from "?" or "#"`,
      );
    expect(() => parseUpstreamList('https://proxy.example/p?')).toThrow(
      'invalid upstream URL "https://proxy.example/p?": no query or fragment allowed; remove the part from "?" or "#"',
    );
  });

  it('refuses URL spellings a browser URL parser repairs but the go command reads otherwise', () => {
    // go1.26.8 (net/url, path.Join in proxyRepo.getBody) reads GOPROXY=https:/proxy.example and https:///proxy.example
    // as URLs with no host, https://proxy.example/a\b as the path /a%5Cb, https://proxy.example/a//b as asking for
    // https://proxy.example/a/b/golang.org/x/text/@v/list, and refuses a tab in a URL. godepot (WHATWG URL) read them as
    // https://proxy.example, /a/b, /a//b and a URL without the tab: other upstreams than the go command's.
    const shape =
      ': write it as http(s)://HOST[:PORT][/PATH], with "//" before the host and "/" (not "\\") between path elements';
    for (const bad of [
      'https:/proxy.example',
      'https:///proxy.example',
      'https://proxy.example/a\\b',
      'C:\\proxy',
      'https://proxy.example/a\tb',
    ])
      expect(() => parseUpstreamList(bad), bad).toThrow(shape);
    expect(() => parseUpstreamList('https:/proxy.example')).toThrow(
      `invalid upstream URL "https:/proxy.example"${shape}`,
    );
    expect(() => parseSumdbSpec(`${TEST_KEY} https:/m.example`)).toThrow(
      `invalid sumdb URL "https:/m.example"${shape}`,
    );
    expect(() => parseSumdbSpec(`${TEST_KEY} https://m.example/a\\b`)).toThrow(shape);
    expect(() => parseUpstreamList('https://proxy.example/a//b')).toThrow(
      'invalid upstream URL "https://proxy.example/a//b": its path has an empty element ("//"); write one "/"',
    );
    // What the go command reads the same way stays accepted: a trailing "//" (cleaned by both), a bare host.
    expect(parseUpstreamList('https://proxy.example/a//,proxy2.example').entries.map((e) => e.url)).toEqual([
      'https://proxy.example/a',
      'https://proxy2.example',
    ]);
  });

  it('parses listen addresses', () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen(':9000')).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    for (const bad of ['8080', 'host:', 'a:b:c']) expect(() => parseListen(bad)).toThrow(/HOST:PORT/);
    // An IPv6 address without brackets (GODEPOT_LISTEN=::1:8080) says how to write it.
    for (const bad of ['::1:8080', '::1', 'fe80::1:80'])
      expect(() => parseListen(bad)).toThrow(/an IPv6 address goes in brackets, as in \[::1\]:8080/);
    // A URL pasted from a GOPROXY line has two colons too, but is no IPv6 address.
    for (const bad of ['http://localhost:8080', 'https://[::1]:8443'])
      expect(() => parseListen(bad)).toThrow(
        /is not HOST:PORT: give the address without a scheme, like 127.0.0.1:8080/,
      );
    expect(() => parseListen('127.0.0.1:99999')).toThrow(
      '"127.0.0.1:99999": port 99999 is out of range (1–65535, or 0 for any)',
    );
  });
});

describe('loadSettings', () => {
  it('has working defaults: fs storage in ./data, proxy.golang.org, sum.golang.org', () => {
    const s = loadSettings([], {});
    expect(s.data).toBe('./data');
    // The data folder's reads and staging writes are bounded by default (a disk that hangs fails requests at 5 s).
    expect(s.storage).toEqual({ kind: 'fs', timeout: 5_000 });
    expect(s.upstream.entries.map((e) => e.url)).toEqual(['https://proxy.golang.org']);
    expect(s.sumdb.map((x) => x.name)).toEqual(['sum.golang.org']);
    expect(s.verify.mode).toBe('fallback');
    expect(s.offline).toBe(false);
  });

  // Found walking the README: "s3://BUCKET[/PREFIX]" (README, --help), but a bucket alone was refused as an empty prefix.
  it('takes a bucket without a prefix, as s3://BUCKET[/PREFIX] says', () => {
    for (const storage of ['s3://bucket', 's3://bucket/'])
      expect(loadSettings(['--storage', storage], {}).storage, storage).toMatchObject({
        kind: 's3',
        bucket: 'bucket',
        prefix: '',
      });
    expect(loadSettings(['--storage', 's3://bucket/a/b'], {}).storage).toMatchObject({
      bucket: 'bucket',
      prefix: 'a/b',
    });
  });

  it('takes flags over environment over config file over defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'godepot-config-'));
    const file = join(dir, 'godepot.json');
    writeFileSync(file, JSON.stringify({ listen: '127.0.0.1:1111', data: '/file', 'list-ttl': '1m', offline: true }));
    const env = { GODEPOT_DATA: '/env', GODEPOT_LIST_TTL: '2m' };
    const s = loadSettings(['--config', file, '--list-ttl', '3m'], env);
    expect(s.listen.port).toBe(1111);
    expect(s.data).toBe('/env');
    expect(s.ttl.list).toBe(180_000);
    expect(s.offline).toBe(true);
    const s2 = loadSettings(
      ['--offline=false', `--sumdb=${TEST_KEY} http://127.0.0.1:1`, '--sumdb', 'sum.golang.org'],
      {},
    );
    expect(s2.offline).toBe(false);
    expect(s2.sumdb.map((x) => x.name)).toEqual(['localhost.localdev/sumdb', 'sum.golang.org']);
    const s3 = loadSettings([], {
      GODEPOT_SUMDB: `${TEST_KEY} http://127.0.0.1:1 ; sum.golang.org`,
      GODEPOT_VERIFY_RULE: 'example.com/*=strict',
    });
    expect(s3.sumdb).toHaveLength(2);
    expect(s3.verify.rules).toEqual([{ pattern: 'example.com/*', mode: 'strict' }]);
    // A trailing space (an env file) is trimmed in a choice as in every other value.
    const s4 = loadSettings([], { GODEPOT_VERIFY: 'strict ', GODEPOT_LOG_LEVEL: ' warn', GODEPOT_LOG_FORMAT: 'text ' });
    expect([s4.verify.mode, s4.logLevel, s4.logFormat]).toEqual(['strict', 'warn', 'text']);
  });

  it('names the bad setting', () => {
    const bad: Array<[string[], Record<string, string>, RegExp]> = [
      [['--listen', 'nowhere'], {}, /--listen/],
      [['--list-ttl', 'soon'], {}, /--list-ttl/],
      [[], { GODEPOT_RETRY_ATTEMPTS: '0' }, /--retry-attempts.*out of range/],
      [['--verify', 'maybe'], {}, /--verify.*strict, fallback, quorum/],
      [['--upstream', 'noproxy'], {}, /--upstream.*noproxy/],
      // Said why: it read "invalid upstream URL" and nothing more.
      [
        ['--upstream', 'https://'],
        {},
        /--upstream: invalid upstream URL "https:\/\/": not a URL \(want http\(s\):\/\/HOST/,
      ],
      [['--access-log=2'], {}, /--access-log: "2" is not true or false \(true\/false, yes\/no, on\/off, 1\/0\)/],
      [['--auth', '/x/users.json'], {}, /--auth.*--tls-cert.*--insecure-auth/],
      [['--sumdb', 'sum.golang.org+00000000+AAAA'], {}, /--sumdb #1/],
      // A key that parses but does not check out (a copy-paste slip) says what to do, not only Go's words.
      [
        ['--sumdb', 'sum.golang.org+00000000+AAAA'],
        {},
        /not a usable verifier key \(invalid verifier hash\): copy the database's NAME\+HASH\+KEY whole/,
      ],
      [['--sumdb', `${TEST_KEY}x`], {}, /not a usable verifier key \(malformed verifier id\)/],
      [['--verify-rule', 'nomode'], {}, /--verify-rule/],
      [['--frobnicate'], {}, /unknown flag --frobnicate/],
      [['--sumdb', 'sum.golang.org', '--sumdb', 'sum.golang.org'], {}, /configured twice/],
      [['--metadata-total-timeout', '1s'], {}, /--metadata-total-timeout/],
      // Passed the shape's check, then stopped the start as "cannot reach the object store … Invalid URL".
      [
        ['--storage', 's3://bucket/p', '--s3-endpoint', 'http://minio:99999'],
        {},
        /--s3-endpoint.*http:\/\/minio:99999/,
      ],
      // Found in review: credentials in the endpoint (mc's MC_HOST form) were taken, unused (the AWS chain signs),
      // and the URL, secret and all, named the store in every storage error, 503 and /readyz.
      [
        ['--storage', 's3://bucket/p', '--s3-endpoint', 'http://godepot:change-me-please@minio:9000'],
        {},
        /--s3-endpoint: .*carries credentials \(user:password@\): give them as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
      ],
      // Found in review: taken, then every write failed at the store ("Object name contains unsupported
      // characters", "Your key is too long"), after start for a long module path.
      [['--storage', 's3://bucket/a//b'], {}, /--storage: .*"a\/\/b" has an empty element or one starting with "\."/],
      [['--storage', 's3://bucket/a/../b'], {}, /--storage: .*"a\/\.\.\/b" has an empty element/],
      [['--storage', `s3://bucket/${'p'.repeat(201)}`], {}, /--storage: .*prefix is 201 characters long; at most 200/],
      [['--private', 'corp.example/*,corp.example/[x'], {}, /--private: pattern "corp\.example\/\[x"/],
      // The go command ignores a malformed GONOSUMDB entry: the paths it was meant to keep out would be looked up.
      [['--nosumdb', 'corp.example/[x'], {}, /--nosumdb: pattern "corp\.example\/\[x"/],
      [['--verify-rule', 'corp.example/[x=strict'], {}, /--verify-rule: pattern "corp\.example\/\[x"/],
    ];
    for (const [args, env, re] of bad) {
      expect(() => loadSettings(args, env), args.join(' ')).toThrow(ConfigError);
      expect(() => loadSettings(args, env), args.join(' ')).toThrow(re);
      expect(() => loadSettings(args, env), args.join(' ')).not.toThrow(/change-me-please/);
    }
  });

  it('never turns verification off by an empty value: "no database" is the explicit --sumdb off', () => {
    const dir = mkdtempSync(join(tmpdir(), 'godepot-config-'));
    const file = join(dir, 'empty.json');
    writeFileSync(file, JSON.stringify({ sumdb: [] }));
    for (const [args, env] of [
      [[], { GODEPOT_SUMDB: '' }],
      [[], { GODEPOT_SUMDB: ' ; ' }],
      [['--config', file], {}],
      [['--sumdb', ''], {}],
    ] as Array<[string[], Record<string, string>]>) {
      expect(() => loadSettings(args, env), JSON.stringify([args, env])).toThrow(/--sumdb: empty.*--sumdb off/);
    }
    expect(loadSettings(['--sumdb', 'off'], {}).sumdb).toEqual([]);
    expect(loadSettings([], { GODEPOT_SUMDB: 'off' }).sumdb).toEqual([]);
    expect(() => loadSettings(['--sumdb', 'off', '--sumdb', 'sum.golang.org'], {})).toThrow(/cannot be combined/);
  });

  it('has one schema entry for every option', () => {
    expect(Object.keys(SETTINGS_SCHEMA.in.shape).sort()).toEqual(OPTIONS.map((o) => o.name).sort());
  });

  it('parses flags strictly and says where a bad value came from', () => {
    expect(() => loadSettings(['--frobnicate=1'], {})).toThrow(/^unknown flag --frobnicate; see godepot serve --help$/);
    expect(() => loadSettings(['-x'], {})).toThrow(/unknown flag -x/);
    // Go's single-dash spelling of a known flag: told how godepot spells it (not "unknown flag -l").
    expect(() => loadSettings(['-listen', '127.0.0.1:8080'], {})).toThrow(
      "unknown flag -listen: godepot's flags take two dashes (--listen); see godepot serve --help",
    );
    expect(() => loadSettings(['-frobnicate=1'], {})).toThrow(/^unknown flag -frobnicate; see godepot serve --help$/);
    // A near miss of a known flag is named.
    expect(() => loadSettings(['--workrs', '2'], {})).toThrow(
      'unknown flag --workrs (did you mean --workers?); see godepot serve --help',
    );
    expect(() => loadSettings(['--upstreams=x'], {})).toThrow(
      /^unknown flag --upstreams \(did you mean --upstream\?\)/,
    );
    expect(() => loadSettings(['--listen'], {})).toThrow(/--listen needs a value/);
    expect(() => loadSettings(['stray'], {})).toThrow(/unexpected argument "stray"/);
    // A boolean flag's value with a space is said how to write, not "unexpected argument".
    expect(() => loadSettings(['--read-ahead', 'no'], {})).toThrow(
      '--read-ahead no: a boolean flag takes its value after "=": --read-ahead=no',
    );
    expect(loadSettings(['--read-ahead=no'], {}).readAhead).toBe(false);
    expect(() => loadSettings(['--workers', 'lots'], {})).toThrow(
      /--workers: "lots" is neither auto nor a whole number/,
    );
    expect(loadSettings(['--access-log=false', '--workers', '2', '--workers', '3'], {})).toMatchObject({
      accessLog: false,
      workers: 3,
    });
    expect(() => loadSettings([], { GODEPOT_LIST_TTL: 'soon' })).toThrow(
      /--list-ttl: .*"soon".*\(from GODEPOT_LIST_TTL\)$/,
    );
    const file = join(mkdtempSync(join(tmpdir(), 'godepot-config-')), 'c.json');
    writeFileSync(file, JSON.stringify({ workers: 2, offline: true, 'retry-attempts': [2] }));
    expect(() => loadSettings(['--config', file], {})).toThrow(
      new RegExp(`--retry-attempts: expected a string or a whole number, not a list.*\\(from config file ${file}\\)`),
    );
    writeFileSync(file, JSON.stringify({ workers: 2, offline: true, sumdb: 'off' }));
    expect(loadSettings(['--config', file], {})).toMatchObject({ workers: 2, offline: true, sumdb: [] });
    // A list of upstreams: which separator (what to do on failure) is the user's to say.
    writeFileSync(file, JSON.stringify({ upstream: ['https://a.example', 'https://b.example'] }));
    expect(() => loadSettings(['--config', file], {})).toThrow(
      /--upstream: give one string in GOPROXY syntax: the URLs joined by "," \(next on 404\/410\) or "\|"/,
    );
    writeFileSync(file, JSON.stringify({ upstream: 'https://a.example|https://b.example', sumdb: 'off' }));
    expect(loadSettings(['--config', file], {}).upstream.entries.map((e) => e.url)).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
  });

  it('takes every occurrence of a repeated pattern or list flag, the last of a scalar, and refuses two --upstream', () => {
    const twice = (name: string, a: string, b: string) => loadSettings([`--${name}`, a, `--${name}`, b], {});
    // Patterns add up: dropping one would send a private module path to a checksum database or proxy.
    expect(twice('nosumdb', 'a.example/*', 'b.example/*,c.example').nosumdb).toBe('a.example/*,b.example/*,c.example');
    expect(twice('private', 'a.example/*', 'b.example/*,c.example').private).toBe('a.example/*,b.example/*,c.example');
    expect(twice('verify-rule', 'a.example/*=strict', 'b.example/*=quorum').verify.rules).toEqual([
      { pattern: 'a.example/*', mode: 'strict' },
      { pattern: 'b.example/*', mode: 'quorum' },
    ]);
    expect(twice('sumdb', 'sum.golang.org', `${TEST_KEY} http://127.0.0.1:1`).sumdb.map((x) => x.name)).toEqual([
      'sum.golang.org',
      'localhost.localdev/sumdb',
    ]);
    // The variable is one comma-separated list; a flag replaces it rather than adding to it.
    const env = { GODEPOT_NOSUMDB: 'a.example/*, b.example', GODEPOT_PRIVATE: 'c.example/*,d.example' };
    expect(loadSettings([], env)).toMatchObject({ nosumdb: 'a.example/*,b.example', private: 'c.example/*,d.example' });
    expect(loadSettings(['--nosumdb', 'e.example', '--nosumdb=f.example'], env).nosumdb).toBe('e.example,f.example');
    // The config file's value: one string, or a list of them.
    const file = join(mkdtempSync(join(tmpdir(), 'godepot-config-')), 'lists.json');
    writeFileSync(file, JSON.stringify({ nosumdb: ['a.example/*', 'b.example,c.example'], private: 'd.example' }));
    expect(loadSettings(['--config', file], {})).toMatchObject({
      nosumdb: 'a.example/*,b.example,c.example',
      private: 'd.example',
    });
    // Which separator joins two upstreams says what happens on failure: the user's to write, not godepot's to guess.
    expect(() => twice('upstream', 'https://a.example', 'https://b.example')).toThrow(
      /^--upstream is given 2 times: give one list in GOPROXY syntax, the URLs joined by "," \(next on 404\/410\) or "\|" \(next on any error\)/,
    );
    expect(loadSettings(['--upstream', 'https://a.example|https://b.example'], {}).upstream.entries).toHaveLength(2);
    // A scalar given twice takes the last, as the go command's flags do (a wrapper's default, then the user's).
    expect(twice('list-ttl', '1m', '2m').ttl.list).toBe(120_000);
    expect(twice('listen', '127.0.0.1:1111', '127.0.0.1:2222').listen.port).toBe(2222);
  });

  it('reads a JSON number in the config file as milliseconds, bytes or a count, and refuses one elsewhere', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'godepot-config-')), 'numbers.json');
    writeFileSync(
      file,
      JSON.stringify({
        'list-ttl': 300000,
        'hedge-delay': 0,
        'memory-cache': 33554432,
        'memory-cache-item': 0,
        'retry-attempts': 5,
        'vcs-concurrency': 2,
        workers: 3,
      }),
    );
    expect(loadSettings(['--config', file], {})).toMatchObject({
      ttl: { list: 300_000 },
      hedgeDelay: 0,
      memoryCache: 32 * 1024 * 1024,
      memoryCacheItem: 0,
      retry: { attempts: 5 },
      vcs: { concurrency: 2 },
      workers: 3,
    });
    // GODEPOT_CONFIG is read the same way.
    expect(loadSettings([], { GODEPOT_CONFIG: file }).ttl.list).toBe(300_000);
    // A flag or a variable is text: a bare number there is still refused (seconds or milliseconds?).
    expect(() => loadSettings(['--config', file, '--list-ttl', '300000'], {})).toThrow(
      /^invalid --list-ttl: invalid duration "300000": give a unit, like 300000s or 300000ms$/,
    );
    expect(() => loadSettings(['--config', file], { GODEPOT_MEMORY_CACHE: '33554432' })).toThrow(
      /^invalid --memory-cache: invalid size "33554432": give a unit.*\(from GODEPOT_MEMORY_CACHE\)$/,
    );
    const refused: Array<[Record<string, unknown>, RegExp]> = [
      [{ 'list-ttl': 1.5 }, /^invalid --list-ttl: invalid duration 1\.5: must be a whole number of milliseconds/],
      [{ 'list-ttl': -1 }, /^invalid --list-ttl: invalid duration -1/],
      [{ 'memory-cache': 0.5 }, /^invalid --memory-cache: invalid size 0\.5: must be a whole number of bytes/],
      [{ 'retry-attempts': 2.5 }, /^invalid --retry-attempts: 2\.5 is not a whole number/],
      [{ 'retry-attempts': 0 }, /^invalid --retry-attempts: 0 is out of range 1\.\.10/],
      [{ workers: 0 }, /^invalid --workers: 0 is out of range 1\.\.64/],
      // Where a number means nothing, it is refused, naming the setting, rather than read as its text.
      [{ listen: 8080 }, /^invalid --listen: expected a string, not the number 8080/],
      [{ upstream: 1 }, /^invalid --upstream: expected a string, not the number 1/],
      [{ nosumdb: 5 }, /^invalid --nosumdb: expected a string.*, not the number 5/],
      [{ data: true }, /^invalid --data: expected a string, not true/],
      [{ offline: 1 }, /^invalid --offline: expected true or false, not the number 1/],
      [{ verify: 2 }, /^invalid --verify: expected a string, not the number 2/],
      [{ 'node-name': 7 }, /^invalid --node-name: expected a string, not the number 7/],
      [{ 'list-ttl': true }, /^invalid --list-ttl: expected a string or a number of milliseconds, not true/],
      [{ 'memory-cache': '32' }, /^invalid --memory-cache: invalid size "32": give a unit/],
    ];
    for (const [json, re] of refused) {
      writeFileSync(file, JSON.stringify(json));
      expect(() => loadSettings(['--config', file], {}), JSON.stringify(json)).toThrow(
        new RegExp(`${re.source}.*\\(from config file ${file}\\)$`),
      );
    }
    // true/false stay booleans' own, and a string still says the same as a flag.
    writeFileSync(file, JSON.stringify({ offline: true, 'read-ahead': 'off', 'list-ttl': '90s', workers: 'auto' }));
    expect(loadSettings(['--config', file], {})).toMatchObject({
      offline: true,
      readAhead: false,
      ttl: { list: 90_000 },
    });
  });

  it('refuses unknown keys and bad JSON in the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'godepot-config-'));
    const f1 = join(dir, 'a.json');
    writeFileSync(f1, '{"listn": "x"}');
    expect(() => loadSettings(['--config', f1], {})).toThrow(/unknown setting "listn" \(did you mean "listen"\?\)/);
    const f2 = join(dir, 'b.json');
    writeFileSync(f2, '{');
    expect(() => loadSettings(['--config', f2], {})).toThrow(/not valid JSON/);
    // A short YAML file: one line, without the file's text (newlines, a password), saying what to write instead.
    const yaml = join(dir, 'c.yaml');
    writeFileSync(yaml, 'upstream: https://al:pw@p\n');
    expect(() => loadSettings(['--config', yaml], {})).toThrow(
      `config file ${yaml} is not valid JSON (Unexpected token 'u'): write it as one JSON object, like {"listen": ":8080"} (no comments, no YAML)`,
    );
    writeFileSync(yaml, '{\n  // a comment\n  "listen": ":9090"\n}\n');
    expect(() => loadSettings(['--config', yaml], {})).toThrow(/not valid JSON \(.* at line 2, column 3\): write it/);
    // An empty --config ("$UNSET") is said, not taken for no file (nor for GODEPOT_CONFIG's).
    for (const args of [['--config', ''], ['--config=']])
      expect(() => loadSettings(args, { GODEPOT_CONFIG: f1 })).toThrow(
        '--config is empty: name a JSON config file, or leave the flag out',
      );
    // Saved with a byte-order mark (Windows editors): still JSON.
    const bom = join(dir, 'bom.json');
    writeFileSync(bom, '\uFEFF{"listen": ":9090"}');
    expect(loadSettings(['--config', bom], {}).listen).toEqual({ host: '0.0.0.0', port: 9090 });
    // Said in words: it read "ENOENT: no such file or directory, open '…'", "EISDIR: illegal operation on a directory".
    expect(() => loadSettings(['--config', join(dir, 'missing.json')], {})).toThrow(
      `cannot read config file ${join(dir, 'missing.json')}: no such file`,
    );
    expect(() => loadSettings(['--config', dir], {})).toThrow(
      `cannot read config file ${dir}: a folder, not a JSON file`,
    );
    // A file named by a GODEPOT_CONFIG left in the environment says where its name came from.
    const missing = join(dir, 'gone.json');
    expect(() => loadSettings([], { GODEPOT_CONFIG: missing })).toThrow(
      `cannot read config file ${missing} (named by GODEPOT_CONFIG)`,
    );
    expect(() => loadSettings([], { GODEPOT_CONFIG: f1 })).toThrow(
      `config file ${f1} (named by GODEPOT_CONFIG): unknown setting "listn"`,
    );
  });
});

describe('README', () => {
  it('documents every setting with its flag and environment variable', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const o of OPTIONS) {
      expect(readme, o.name).toContain(`\`--${o.name}\``);
      expect(readme, o.name).toContain(`\`${envName(o.name)}\``);
    }
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
  });

  it('gives each setting in its table the variable and default godepot serve --help prints', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const rows = new Map(
      [...readme.matchAll(/^\| `--([a-z0-9-]+)` \| `([A-Z0-9_]+)` \| ([^|]+) \|/gm)].map((m) => [
        m[1],
        { env: m[2], default: (m[3] as string).trim() },
      ]),
    );
    expect([...rows.keys()]).toEqual(OPTIONS.map((o) => o.name));
    for (const o of OPTIONS) {
      const shown = [o.default].flat().join(',');
      expect(rows.get(o.name), o.name).toEqual({
        env: envName(o.name),
        default: shown === '' ? '(none)' : `\`${shown}\``,
      });
    }
  });
});
