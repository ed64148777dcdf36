// src/vcs without a Git host: what a failed go run means, the ledger's
// append-only record, and the runner's limits, single flight and deadline,
// with a fake `go` (a shell script) standing in for the real one.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import { classify, scrub } from '../../src/vcs/errors.js';
import { ledgerKey, legacyLedgerFile, PrivateLedger } from '../../src/vcs/ledger.js';
import { FsStorage, MemoryStorage, openLocalFile } from '../../src/storage/index.js';
import { GoQueueTimeoutError, GoRunner, killGroup } from '../../src/vcs/gorun.js';
import { vcsRunsPerProcess } from '../../src/runtime/private.js';
import { Origin } from '../../src/vcs/origin.js';
import { ORIGIN_HOSTS, ORIGIN_MODULES, OriginBreaker } from '../../src/vcs/breaker.js';
import { ManualClock } from '../../src/util/clock.js';
import { buildModule, findGo } from '../world/index.js';
import { findComponent } from '../support/components.js';

const M = 'corp.example/lib';

describe('classifying go errors', () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      "go: corp.example/lib@v1.0.0: git ls-remote -q origin in /x: exit status 128:\n\tfatal: could not read Username for 'http://corp.example': terminal prompts disabled",
      'auth',
      /no valid credentials for corp\.example.*\.netrc.*GOAUTH/,
    ],
    [
      "remote: HTTP Basic: Access denied\nfatal: Authentication failed for 'https://u:hunter2@corp.example/lib/'",
      'auth',
      /credentials/,
    ],
    // git had credentials (a credential helper's, a token in a url.insteadOf rewrite) and the host refused them:
    // the fix is there, not in a .netrc entry.
    [
      "go: corp.example/lib@v1.0.0: git ls-remote -q origin in /x: exit status 128:\n\tremote: auth\n\tfatal: Authentication failed for 'http://corp.example/git/lib/'",
      'auth',
      /^godepot: no valid credentials for corp\.example to fetch .*refused the credentials git gave it \(a git credential helper's, or a user:token in a url\.<base>\.insteadOf rewrite[^.]*$/,
    ],
    // Over ssh (an https→ssh insteadOf): the key, or the host key, of the user godepot runs as.
    [
      'go: corp.example/lib@v1.0.0: git ls-remote -q origin in /x: exit status 128:\n\tgit@corp.example: Permission denied (publickey).\n\tfatal: Could not read from remote repository.',
      'auth',
      /no valid credentials for corp\.example.*refused the SSH key of the user godepot runs as.*SSH_AUTH_SOCK/,
    ],
    [
      'go: corp.example/lib@v1.0.0: git ls-remote -q origin in /x: exit status 128:\n\tHost key verification failed.\n\tfatal: Could not read from remote repository.',
      'auth',
      /no valid credentials for corp\.example.*known_hosts of the user godepot runs as/,
    ],
    [
      'go: unrecognized import path "corp.example/lib": https fetch: Get "https://corp.example/lib?go-get=1": dial tcp: lookup corp.example: no such host',
      'unreachable',
      /cannot reach corp\.example/,
    ],
    // Behind an HTTP(S)_PROXY that cannot reach the host: Go says the CONNECT's status text alone, git its code.
    [
      'go: corp.example/lib@v1.0.0: unrecognized import path "corp.example/lib": https fetch: Get "https://corp.example/lib?go-get=1": Bad Gateway',
      'unreachable',
      /cannot reach corp\.example/,
    ],
    [
      "go: corp.example/lib@v1.0.0: git ls-remote -q origin in /x: exit status 128:\n\tfatal: unable to access 'https://corp.example/lib/': Received HTTP code 503 from proxy after CONNECT",
      'unreachable',
      /cannot reach corp\.example/,
    ],
    // Fetching a version, go says "invalid version:" before whatever failed: the host's failure is said as such,
    // not as a version that does not exist (a 404, remembered as one, and no outage for the breaker).
    ...['returned error: 503', 'returned error: 500', 'Empty reply from server'].map(
      (said): [string, string, RegExp] => [
        `go: corp.example/lib@v1.0.0: invalid version: git ls-remote -q --end-of-options http://corp.example/git/lib in /x: exit status 128:\n\tfatal: unable to access 'http://corp.example/git/lib/': ${said}`,
        'unreachable',
        /cannot reach corp\.example/,
      ],
    ),
    [
      "go: corp.example/lib@v1.0.0: invalid version: git ls-remote -q --end-of-options https://corp.example/lib in /x: exit status 128:\n\tfatal: unable to access 'https://corp.example/lib/': SSL certificate problem: self-signed certificate",
      'tls',
      /TLS failure.*GIT_SSL_CAINFO/,
    ],
    // git built with GnuTLS (Debian's): SSL_CERT_FILE, which the go command reads, does not help it.
    [
      "go: corp.example/lib@v1.0.0: invalid version: git ls-remote -q --end-of-options https://corp.example/git/lib in /x: exit status 128:\n\tfatal: unable to access 'https://corp.example/git/lib/': server certificate verification failed. CAfile: none CRLfile: none",
      'tls',
      /TLS failure.*GIT_SSL_CAINFO \(or git's http\.sslCAInfo\) for git, which does not read SSL_CERT_FILE$/,
    ],
    [
      'go: corp.example/lib@v2.0.0: invalid version: module contains a go.mod file, so module path must match major version ("corp.example/lib/v2")',
      'not_found',
      /does not exist at its origin corp\.example/,
    ],
    ['x509: certificate signed by unknown authority', 'tls', /TLS failure.*SSL_CERT_FILE for the go command/],
    ["go: GOVCS disallows using git for private corp.example; see 'go help vcs'", 'govcs', /GOVCS/],
    [
      'go: corp.example/lib@v9.9.9: invalid version: unknown revision v9.9.9',
      'not_found',
      /does not exist at its origin corp\.example/,
    ],
    [
      `go: can't query version "patch" of module ${M}: no existing version is required`,
      'not_found',
      /does not exist at its origin corp\.example/,
    ],
  ];
  it.each(cases)('%#: %s', (stderr, failure, message) => {
    const e = classify(M, `${M}@v1.0.0`, stderr, false);
    expect(e.failure).toBe(failure);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain('hunter2');
    expect(e.message.includes('\n')).toBe(false);
  });
  it("a public module's TLS failure names no Git configuration setting: its runs read none", () => {
    const stderr =
      "go: corp.example/lib@v1.0.0: invalid version: git ls-remote -q --end-of-options https://corp.example/lib in /x: exit status 128:\n\tfatal: unable to access 'https://corp.example/lib/': server certificate verification failed. CAfile: none CRLfile: none";
    const e = classify(M, `${M}@v1.0.0`, stderr, false, false);
    expect(e.failure).toBe('tls');
    expect(e.message).toMatch(/SSL_CERT_FILE for the go command, and GIT_SSL_CAINFO for git, which does not read/);
    expect(e.message).not.toContain('sslCAInfo');
  });
  it('quotes a long git line shortened at word boundaries: a URL too long for it left out whole, its end kept', () => {
    const url = `https://corp.example/${'group/'.repeat(40)}lib/`;
    const stderr = `fatal: unable to access '${url}': Failed to connect to corp.example port 443 after 3 ms: Connection refused`;
    const e = classify(M, `${M}@v1.0.0`, stderr, false);
    expect(e.failure).toBe('unreachable');
    // Cut at 300 characters it ended inside the URL, a path that is not the module's.
    expect(e.message).toContain(
      `: fatal: unable to access … Failed to connect to corp.example port 443 after 3 ms: Connection refused; check the network`,
    );
  });
  it('is not fooled by the words a client chose: a version, module or host named like an error', () => {
    // Each would have opened the host's breaker for every client (a TLS failure, an EOF), from one user's requests.
    const cases: Array<[string, string, string, string]> = [
      [
        'corp.example/lib',
        'corp.example/lib@ssl1',
        'go: corp.example/lib@ssl1: invalid version: unknown revision ssl1',
        'not_found',
      ],
      [
        'corp.example/lib',
        'corp.example/lib@v1.0.0-certificate',
        'go: corp.example/lib@v1.0.0-certificate: invalid version: unknown revision v1.0.0-certificate',
        'not_found',
      ],
      [
        'corp.example/geofence',
        'corp.example/geofence@latest',
        "go: corp.example/geofence@latest: git ls-remote -q origin in /x: exit status 128:\n\tfatal: repository 'https://corp.example/geofence/' not found",
        'not_found',
      ],
      [
        'ssl.corp.example/x',
        'ssl.corp.example/x@latest',
        'go: ssl.corp.example/x@latest: unrecognized import path "ssl.corp.example/x": https fetch: Get "https://ssl.corp.example/x?go-get=1": dial tcp: lookup ssl.corp.example: no such host',
        'unreachable',
      ],
      // The repository URL git prints is not the module path: a repository named like an error.
      [
        'corp.example/ssl',
        'corp.example/ssl@latest',
        "go: corp.example/ssl@latest: git ls-remote -q origin in /x: exit status 128:\n\tfatal: repository 'http://corp.example/git/ssl/' not found",
        'not_found',
      ],
      [
        'corp.example/eof',
        'corp.example/eof@latest',
        "go: corp.example/eof@latest: git ls-remote -q origin in /x: exit status 128:\n\tfatal: repository 'http://corp.example/git/eof/' not found",
        'not_found',
      ],
      // Nor is the folder the run was in (a data folder under /home/geoffrey).
      [
        M,
        `${M}@latest`,
        "go: corp.example/lib@latest: git ls-remote -q origin in /home/geoffrey/godepot/vcs/run-1/pkg/mod/cache/vcs/9f8e: exit status 128:\n\tfatal: repository 'http://corp.example/lib/' not found",
        'not_found',
      ],
      // A host that answers go-get with 404 has no such module: not an outage.
      [
        'corp.example/nope',
        'corp.example/nope@latest',
        'go: corp.example/nope@latest: unrecognized import path "corp.example/nope": reading http://corp.example/nope?go-get=1: 404 Not Found',
        'not_found',
      ],
      // A path no repository is found for (a host's root page, a github.com path that names no repository) does
      // not exist, as the go command takes it: its next shorter prefix of a package path is asked next.
      [
        'pub.example',
        'pub.example (version list)',
        'go: unrecognized import path "pub.example": parse https://pub.example/?go-get=1: no go-import meta tags ()',
        'not_found',
      ],
      [
        'github.com/owner',
        'github.com/owner@main',
        'go: github.com/owner@main: invalid github.com import path "github.com/owner"',
        'not_found',
      ],
      // The real failures still read as such.
      [
        M,
        `${M}@latest`,
        "go: corp.example/lib@latest: git ls-remote -q origin in /x: exit status 128:\n\tfatal: unable to access 'https://corp.example/lib/': SSL certificate problem: self-signed certificate",
        'tls',
      ],
      [
        M,
        `${M}@latest`,
        'go: corp.example/lib@latest: unrecognized import path "corp.example/lib": https fetch: Get "https://corp.example/lib?go-get=1": EOF',
        'unreachable',
      ],
      [
        M,
        `${M}@latest`,
        'go: corp.example/lib@latest: unrecognized import path "corp.example/lib": reading https://corp.example/lib?go-get=1: 502 Bad Gateway',
        'unreachable',
      ],
      [
        M,
        `${M}@latest`,
        'error: RPC failed; curl 18 transfer closed\nfatal: early EOF\nfatal: index-pack failed',
        'unreachable',
      ],
      [M, `${M}@latest`, 'fatal: the remote end hung up unexpectedly', 'unreachable'],
    ];
    for (const [path, what, stderr, failure] of cases)
      expect(classify(path, what, stderr, false).failure, what).toBe(failure);
  });

  it("a version needing a newer Go than godepot's is godepot's to fix (a newer go on its host), not the origin's", () => {
    // The go command makes no zip of a module whose go.mod asks for a newer Go, and GOTOOLCHAIN=local stops it
    // from downloading one: every build that needs the version fails until godepot's host has that Go.
    const e = classify(
      M,
      `${M}@v1.0.0`,
      `${M}@v1.0.0 requires go >= 1.99 (running go 1.26.8; GOTOOLCHAIN=local)\n`,
      false,
    );
    expect(e.failure).toBe('toolchain');
    expect(e.message).toBe(
      `godepot: ${M}@v1.0.0 requires go >= 1.99, and the go command godepot fetches with is go 1.26.8; install Go 1.99 or later on the godepot host (godepot runs go with GOTOOLCHAIN=local: it never downloads a toolchain)`,
    );
  });

  it("a public module in another version-control system: godepot's environment cannot allow it, so the answer does not say to", () => {
    // Public runs get GOVCS=*:git whatever godepot's environment says (gorun.ts): setting GOVCS there changes nothing.
    const e = classify(
      'pub.example/hg',
      'pub.example/hg@v1.0.0',
      "go: pub.example/hg@v1.0.0: GOVCS disallows using hg for public pub.example/hg; see 'go help vcs'",
      false,
      false,
    );
    expect(e.failure).toBe('govcs');
    expect(e.message).not.toMatch(/set GOVCS/);
    expect(e.message).toMatch(/public modules with git only.*upstream proxy.*--private/);
  });

  it("a public module's failure does not quote the go command: its words may be another host's answer", () => {
    // A go-import tag may send a public fetch to any host, an internal one included; what that host answered (go's
    // "server response:", git's "remote:" lines) stays in godepot's log, and the client gets the kind of failure.
    const cases = [
      'go: module pub.example/x: reading http://10.0.0.7/p/pub.example/x/@v/list: 404 Not Found\n\tserver response:\n\tadmin secret-1234',
      "go: module pub.example/x: git ls-remote -q --end-of-options http://10.0.0.7/r in /x: exit status 128:\n\tremote: error: admin secret-1234\n\tfatal: unable to access 'http://10.0.0.7/r/': The requested URL returned error: 403",
      "fatal: unable to access 'https://10.0.0.7/r/': SSL certificate problem: admin secret-1234",
      "fatal: unable to access 'https://10.0.0.7/r/': Failed to connect to 10.0.0.7: Connection refused secret-1234",
      'go: GOVCS disallows using hg for public pub.example/x; secret-1234',
      'anything else: secret-1234',
    ];
    for (const stderr of cases) {
      const e = classify('pub.example/x', 'pub.example/x@v1.0.0', stderr, false, false);
      expect(e.message, stderr).not.toContain('secret-1234');
      expect(e.message, stderr).not.toContain('10.0.0.7');
      expect(e.details.output, stderr).toContain('secret-1234');
    }
    expect(classify('pub.example/x', 'pub.example/x@v1.0.0', cases[0] ?? '', false, false).message).toBe(
      "pub.example/x@v1.0.0 does not exist at its origin pub.example: the go command's words are in godepot's log",
    );
    // A private module's run went where godepot's own configuration sent it: its words are quoted.
    expect(classify(M, `${M}@v1.0.0`, 'anything else: secret-1234', false, true).message).toContain('secret-1234');
  });

  it("quotes the origin's words as one clean line: no terminal escapes, control or direction characters", () => {
    // A hostile Git host's words reach the 502 body and the log through git's "remote:" lines.
    const stderr = 'remote: \x1b[2J\x1b]0;owned\x07 \x00 \u202egnp.evil \x7f\u0085 done\rfatal: bad object';
    const m = classify(M, `${M}@v1.0.0`, stderr, false).message;
    expect(m).not.toMatch(/[\p{Cc}\p{Cf}]/u);
    expect(m).toContain('fatal: bad object');
  });
  it("reads a page of git's output in linear time: a hostile host's long line does not stall godepot", () => {
    // Scrubbing credentials from the whole output took the event loop for a minute for one 256 KiB line (and
    // grew with its square: 16 MiB of stderr are kept).
    const lines = [
      'a'.repeat(1 << 17),
      'a:'.repeat(1 << 16),
      `fatal: ${'x@'.repeat(1 << 16)}`,
      // What is classified (the whole output, the client's words replaced) is read in linear time too.
      'a.'.repeat(1 << 16),
      'remote: repository '.repeat(1 << 13),
    ];
    for (const stderr of lines) {
      const started = performance.now();
      const e = classify(M, `${M}@v1.0.0`, stderr, false);
      expect(e.message.length).toBeLessThan(1000);
      expect(performance.now() - started).toBeLessThan(1_000);
    }
  });
  it('a run killed at its deadline is a time-out whatever it printed', () => {
    expect(classify(M, M, 'fatal: could not read Username', true).failure).toBe('timeout');
  });
  it('scrubs credentials from URLs', () => {
    expect(scrub('GET https://ci:s3cret@corp.example/x?token=abc')).toBe(
      'GET https://ci:xxxxx@corp.example/x?token=xxxxx',
    );
    // git takes the last '@' before the host, so a password may hold a raw '@'.
    expect(scrub("fatal: unable to access 'https://ci:p@ss@corp.example/x/'")).toBe(
      "fatal: unable to access 'https://ci:xxxxx@corp.example/x/'",
    );
  });
});

describe('the go commands a machine runs at once', () => {
  it('--vcs-concurrency is shared out among the workers, at least one each', () => {
    expect(vcsRunsPerProcess(4, 1)).toBe(4);
    expect(vcsRunsPerProcess(4, 2)).toBe(2);
    expect(vcsRunsPerProcess(4, 8)).toBe(1);
    expect(vcsRunsPerProcess(1, 2)).toBe(1);
  });
});

describe('the private ledger', () => {
  let dir: string;
  const opened: FsStorage[] = [];
  /** One process's view of the data folder: its own FsStorage, as each worker and each restart has. */
  const storage = async (): Promise<FsStorage> => {
    const s = await FsStorage.open(dir);
    opened.push(s);
    return s;
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'godepot-ledger-'));
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the records of a long ledger sixteen at a time, not one round trip after another', async () => {
    // An object store answers each read in milliseconds: thousands of records read in a row took minutes.
    class CountingStorage extends MemoryStorage {
      inFlight = 0;
      most = 0;
      reads = 0;
      override async get(key: string): Promise<Buffer | null> {
        this.reads++;
        this.most = Math.max(this.most, ++this.inFlight);
        await new Promise((r) => setImmediate(r));
        this.inFlight--;
        return super.get(key);
      }
    }
    const s = new CountingStorage();
    const l = await PrivateLedger.open(s);
    for (let i = 0; i < 100; i++) await l.check(M, `v1.0.${i}`, `h1:z${i}`, `h1:m${i}`);
    await s.put(`ledger/modules/${M}/@v/v9.9.9.json`, Buffer.from('torn'));
    const damaged: string[] = [];
    const entries = await (await PrivateLedger.open(s)).list((key) => damaged.push(key));
    expect(entries.map((e) => e.version)).toEqual(Array.from({ length: 100 }, (_, i) => `v1.0.${i}`));
    expect(damaged).toEqual([`ledger/modules/${M}/@v/v9.9.9.json`]);
    expect(s.reads).toBe(101);
    expect(s.most).toBe(16);
  });

  it('keeps at most 10,000 records in memory; one it let go is read from storage again', async () => {
    const s = new MemoryStorage();
    const l = await PrivateLedger.open(s);
    const n = 10_050;
    for (let i = 0; i < n; i++) expect((await l.check(M, `v1.0.${i}`, `h1:z${i}`, `h1:m${i}`)).kind).toBe('recorded');
    expect(l.held).toBe(10_000);
    const again = await PrivateLedger.open(s);
    expect(await again.list()).toHaveLength(n);
    expect(again.held).toBe(10_000);
    // The first records were let go: still the record, from storage.
    expect((await again.get(M, 'v1.0.0'))?.zip).toBe('h1:z0');
    expect((await again.check(M, 'v1.0.1', 'h1:z1', 'h1:m1')).kind).toBe('match');
    expect((await again.check(M, 'v1.0.2', 'h1:other', 'h1:m2')).kind).toBe('moved');
  });

  it('records the first hashes, then reports matches and moves; another process and a restart read the same record', async () => {
    const l = await PrivateLedger.open(await storage());
    expect((await l.check(M, 'v1.0.0', 'h1:zip', 'h1:mod')).kind).toBe('recorded');
    expect((await l.check(M, 'v1.0.0', 'h1:zip', 'h1:mod')).kind).toBe('match');
    const moved = await l.check(M, 'v1.0.0', 'h1:other', 'h1:mod');
    expect(moved.kind).toBe('moved');
    if (moved.kind === 'moved') expect(moved.recorded.zip).toBe('h1:zip');
    const again = await PrivateLedger.open(await storage());
    expect((await again.get(M, 'v1.0.0'))?.zip).toBe('h1:zip');
    expect((await again.check(M, 'v1.0.0', 'h1:zip', 'h1:other-mod')).kind).toBe('moved');
    expect(await again.list()).toHaveLength(1);
    // One small object per version, apart from the cache.
    expect(JSON.parse(await readFile(join(dir, ledgerKey(M, 'v1.0.0')), 'utf8'))).toMatchObject({ zip: 'h1:zip' });
  });

  it('two processes recording one version at once agree on one record, even with different hashes', async () => {
    // Two workers (or nodes) fetching a version's .mod and .zip at once, the tag moved between: one record, for both.
    for (let round = 0; round < 5; round++) {
      const v = `v1.0.${round}`;
      const a = await PrivateLedger.open(await storage());
      const b = await PrivateLedger.open(await storage());
      const [ra, rb] = await Promise.all([a.check(M, v, 'h1:zipA', 'h1:modA'), b.check(M, v, 'h1:zipB', 'h1:modB')]);
      expect([ra.kind, rb.kind].sort()).toEqual(['moved', 'recorded']);
      const winner = ra.kind === 'recorded' ? ['h1:zipA', 'h1:modA'] : ['h1:zipB', 'h1:modB'];
      for (const l of [a, b, await PrivateLedger.open(await storage())]) {
        expect((await l.get(M, v))?.zip).toBe(winner[0]);
        expect((await l.check(M, v, winner[0]!, winner[1]!)).kind).toBe('match');
      }
    }
  });

  it('imports a ledger file of the old layout once: its first record of each version, torn lines skipped', async () => {
    await mkdir(join(dir, 'ledger'));
    const line = (zip: string, version = 'v1.0.0'): string =>
      JSON.stringify({ module: M, version, zip, mod: 'h1:mod', recorded: '2026-12-01T10:00:00.000Z' }) + '\n';
    await writeFile(
      legacyLedgerFile(dir),
      line('h1:first') +
        line('h1:later') +
        '{"module":"corp.example/lib","version":"v1.1.0","zi\n' +
        line('h1:z2', 'v1.2.0'),
    );
    const warned: Array<{ fields: object; msg: string }> = [];
    const l = await PrivateLedger.open(await storage(), dir, (fields, msg) => warned.push({ fields, msg }));
    expect((await l.list()).map((e) => [e.version, e.zip])).toEqual([
      ['v1.0.0', 'h1:first'],
      ['v1.2.0', 'h1:z2'],
    ]);
    // The line that does not read is said, by its number.
    expect(warned).toHaveLength(1);
    expect(warned[0]?.fields).toMatchObject({ lines: [3] });
    expect(warned[0]?.msg).toMatch(/recorded afresh at their next fetch/);
    expect((await l.check(M, 'v1.0.0', 'h1:later', 'h1:mod')).kind).toBe('moved');
    expect(await readdir(join(dir, 'ledger'))).toContain('private.jsonl.imported');
    // Opening again imports nothing more (the file was renamed), and forgets nothing.
    expect(await (await PrivateLedger.open(await storage(), dir)).list()).toHaveLength(2);
  });

  it('keeps the file it imported before when an older godepot wrote a new one in between (downgrade, upgrade again)', async () => {
    await mkdir(join(dir, 'ledger'));
    const line = (version: string, zip: string): string =>
      JSON.stringify({ module: M, version, zip, mod: 'h1:mod', recorded: '2026-12-01T10:00:00.000Z' }) + '\n';
    await writeFile(legacyLedgerFile(dir), line('v1.0.0', 'h1:first'));
    await PrivateLedger.open(await storage(), dir);
    // The older godepot finds no private.jsonl and starts one.
    await writeFile(legacyLedgerFile(dir), line('v1.0.0', 'h1:moved') + line('v1.3.0', 'h1:z3'));
    const l = await PrivateLedger.open(await storage(), dir);
    // The record from before stays the record; the new version is imported.
    expect((await l.list()).map((e) => [e.version, e.zip])).toEqual([
      ['v1.0.0', 'h1:first'],
      ['v1.3.0', 'h1:z3'],
    ]);
    const files = (await readdir(join(dir, 'ledger'))).filter((f) => f.startsWith('private.jsonl'));
    expect(files).toHaveLength(2);
    expect(await readFile(join(dir, 'ledger', 'private.jsonl.imported'), 'utf8')).toBe(line('v1.0.0', 'h1:first'));
    const second = files.find((f) => f !== 'private.jsonl.imported') ?? '';
    expect(second).toMatch(/^private\.jsonl\.imported-\d{4}-\d\d-\d\dT[\d-]+Z$/);
    expect(await readFile(join(dir, 'ledger', second), 'utf8')).toBe(
      line('v1.0.0', 'h1:moved') + line('v1.3.0', 'h1:z3'),
    );
  });

  it('refuses to treat a damaged record as "not recorded" (it would let a moved tag be recorded afresh)', async () => {
    const s = await storage();
    await s.put(ledgerKey(M, 'v1.0.0'), Buffer.from('{"module":"corp.example/lib","ver'));
    const l = await PrivateLedger.open(s);
    await expect(l.check(M, 'v1.0.0', 'h1:zip', 'h1:mod')).rejects.toThrow(
      /record ledger\/modules\/corp\.example\/lib\/@v\/v1\.0\.0\.json is damaged; remove it/,
    );
    expect((await s.get(ledgerKey(M, 'v1.0.0')))?.toString()).toBe('{"module":"corp.example/lib","ver');
  });

  it('tells a storage that keeps first records from one that ignores conditional writes', async () => {
    const honest = new MemoryStorage();
    expect(await (await PrivateLedger.open(honest)).createHolds()).toBe(true);
    expect(await honest.list('ledger/')).toEqual([]);
    // An object store that takes If-None-Match and writes anyway.
    const lax = new MemoryStorage();
    lax.create = async (key, data, opts) => {
      await lax.put(key, data, opts);
      return true;
    };
    expect(await (await PrivateLedger.open(lax)).createHolds()).toBe(false);
    expect(await lax.list('ledger/')).toEqual([]);
    // An object store that refused If-None-Match (501): S3Storage looks before it writes, which holds no better.
    const looks = Object.assign(new MemoryStorage(), { conditionalWrites: false });
    expect(await (await PrivateLedger.open(looks)).createHolds()).toBe(false);
  });

  it('does not take a record that could not be written for one that was', async () => {
    const s = new MemoryStorage();
    s.writeError = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    const l = await PrivateLedger.open(s);
    await expect(l.check(M, 'v1.0.0', 'h1:zip', 'h1:mod')).rejects.toThrow(/no space/);
    expect(await l.get(M, 'v1.0.0')).toBeUndefined();
    s.writeError = null;
    expect((await l.check(M, 'v1.0.0', 'h1:zip', 'h1:mod')).kind).toBe('recorded');
  });
});

/** A fake go: counts its runs; `mod download -json` answers with the files of a module built in the test. */
async function fakeGo(dir: string, body: string): Promise<string> {
  const file = join(dir, 'go');
  await writeFile(file, `#!/bin/sh\necho run >> "${join(dir, 'runs')}"\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

/** M@v1.0.0 built, its .info, go.mod and zip written afresh in folder files as v.info, v.mod, v.zip (what a fake go names). */
async function moduleFiles(files: string): Promise<Awaited<ReturnType<typeof buildModule>>> {
  const built = await buildModule({
    path: M,
    version: 'v1.0.0',
    files: { 'go.mod': `module ${M}\n`, 'a.go': 'package lib\n' },
  });
  await rm(files, { recursive: true, force: true });
  await mkdir(files, { recursive: true });
  await writeFile(join(files, 'v.info'), built.info);
  await writeFile(join(files, 'v.mod'), built.mod);
  await writeFile(join(files, 'v.zip'), built.zip);
  return built;
}

/** A runner of the real go command, with HOME home, one run at a time. */
function realGo(home: string, workRoot: string): GoRunner {
  return new GoRunner({
    go: findGo() as string,
    env: { PATH: process.env.PATH ?? '', HOME: home },
    privatePatterns: M,
    workRoot,
    concurrency: 1,
    timeoutMs: 30_000,
  });
}

describe('running go', () => {
  let dir: string;
  const log = pino({ level: 'silent' });
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'godepot-gorun-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  /** A runner of the fake go at go, one run at a time, with HOME home (none unless given). */
  const fakeRunner = (go: string, timeoutMs: number, home?: string): GoRunner =>
    new GoRunner({
      go,
      env: { PATH: process.env.PATH ?? '', ...(home === undefined ? {} : { HOME: home }) },
      privatePatterns: M,
      workRoot: join(dir, 'work'),
      concurrency: 1,
      timeoutMs,
    });

  it('a missing go binary is a clear error, not a crash', async () => {
    const runner = new GoRunner({
      go: join(dir, 'no-such-go'),
      env: { PATH: '' },
      privatePatterns: M,
      workRoot: join(dir, 'work'),
      concurrency: 1,
      timeoutMs: 10_000,
    });
    const origin = new Origin({ runner, openFile: openLocalFile, ledger: null, isPrivate: () => true, log });
    await expect(origin.list(M, new AbortController().signal)).rejects.toThrow(
      /cannot run the go command .*install Go on the godepot host/,
    );
  });

  it("logs a failed public fetch's go output with the module version it was for", async () => {
    // The client's answer leaves the go command's words out; git's line names only the repository's URL, so the
    // log line the operator looks for must say which version was fetched.
    const go = await fakeGo(
      dir,
      `echo "fatal: unable to access 'http://10.0.0.7/r/': The requested URL returned error: 500" >&2; exit 1`,
    );
    const runner = fakeRunner(go, 30_000, dir);
    const lines: Array<Record<string, unknown>> = [];
    const logged = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as never) });
    const origin = new Origin({ runner, openFile: openLocalFile, ledger: null, isPrivate: () => false, log: logged });
    const err = await origin.download('pub.example/x', 'v1.2.3', new AbortController().signal).catch((e: Error) => e);
    expect((err as Error).message).not.toContain('10.0.0.7');
    const line = lines.find((l) => l.msg === 'fetching a public module from its origin failed');
    expect(line).toMatchObject({ module: 'pub.example/x', fetching: 'pub.example/x@v1.2.3', host: 'pub.example' });
    expect(String(line?.output)).toContain('10.0.0.7');
  });

  it("logs a failed private fetch's go output at the default level: the answer gives only the fix", async () => {
    // Found in a night's log: git refused godepot's credentials, the 502 and the 'request failed' line said to
    // correct the .netrc entry, and what git said (which host, which URL, which refusal) was nowhere.
    const go = await fakeGo(dir, `echo "fatal: Authentication failed for 'http://corp.example/git/lib/'" >&2; exit 1`);
    const runner = fakeRunner(go, 30_000, dir);
    const lines: Array<Record<string, unknown>> = [];
    const logged = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as never) });
    const origin = new Origin({ runner, openFile: openLocalFile, ledger: null, isPrivate: () => true, log: logged });
    const err = await origin.download(M, 'v1.2.3', new AbortController().signal).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/refused the credentials git gave it/);
    const line = lines.find((l) => l.msg === 'fetching a private module from its origin failed');
    expect(line).toMatchObject({ level: 30, module: M, fetching: `${M}@v1.2.3`, failure: 'auth' });
    expect(String(line?.output)).toContain("Authentication failed for 'http://corp.example/git/lib/'");
  });

  it('public runs that hang do not hold the slots private runs need: two queues', async () => {
    // A public run's HOME is an empty folder of its own (…/home); a private run has godepot's.
    const go = await fakeGo(dir, `case "$HOME" in */home) sleep 600 ;; *) echo private ;; esac`);
    const runner = fakeRunner(go, 60_000, dir);
    const stop = new AbortController();
    const hung = [1, 2].map(() => runner.run(['mod', 'download'], stop.signal, async (x) => x, false));
    for (const h of hung) h.catch(() => undefined);
    try {
      const r = await runner.run(['mod', 'download'], new AbortController().signal, async (x) => x, true);
      expect(r.stdout.trim()).toBe('private');
      // The second public run waits for the first one's slot, not the private queue's.
      const waiting = await Promise.race([hung[1], new Promise((r2) => setTimeout(() => r2('waits'), 200))]);
      expect(waiting).toBe('waits');
    } finally {
      stop.abort(new Error('test over'));
      await Promise.allSettled(hung);
    }
  });

  it('gives up on a slot after a run deadline of waiting: behind stuck runs a fetch says so, not wait for each', async () => {
    const go = await fakeGo(dir, 'exit 0');
    const runner = fakeRunner(go, 300);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // The one slot (concurrency 1) held by a run that does not end.
    const first = runner.run(['mod', 'download'], new AbortController().signal, () => held);
    const started = performance.now();
    const second = runner.run(['mod', 'download'], new AbortController().signal, async (x) => x);
    await expect(second).rejects.toThrow(GoQueueTimeoutError);
    await expect(second).rejects.toThrow(/--vcs-concurrency\) ran for the whole 0s \(--vcs-timeout\)/);
    // It gave up at its deadline, while the slot was still held.
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    release();
    await first;
    // The slot is free again: the next run gets it.
    expect((await runner.run(['mod', 'download'], new AbortController().signal, async (x) => x)).code).toBe(0);
  });

  it('kills a stuck go and everything it started at the deadline', async () => {
    const pidFile = join(dir, 'child.pid');
    const go = await fakeGo(dir, `sleep 600 & echo $! > "${pidFile}"\nwait`);
    const runner = fakeRunner(go, 300);
    const r = await runner.run(['mod', 'download'], new AbortController().signal, async (x) => x);
    expect(r.timedOut).toBe(true);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    // The grandchild (git, here sleep) is gone too (dead, or a zombie waiting for init to reap it).
    const running = async (): Promise<boolean> => {
      try {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
        return !/^\d+ \(.*\) [ZX]/.test(stat);
      } catch {
        return false;
      }
    };
    let alive = true;
    for (let i = 0; i < 1000 && alive; i++) {
      alive = await running();
      if (alive) await new Promise((r2) => setImmediate(r2));
    }
    expect(alive).toBe(false);
  });

  it('kills what a go killed by a signal (the OOM killer) left running in its group', async () => {
    const pidFile = join(dir, 'orphan.pid');
    const go = await fakeGo(dir, `sleep 600 >/dev/null 2>&1 & echo $! > "${pidFile}"\nkill -9 $$`);
    const r = await fakeRunner(go, 30_000).run(['mod', 'download'], new AbortController().signal, async (x) => x);
    expect(r.code).toBeNull();
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    let alive = true;
    for (let i = 0; i < 1000 && alive; i++) {
      alive = !/^\d+ \(.*\) [ZX]/.test(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '0 (x) X'));
      if (alive) await new Promise((r2) => setImmediate(r2));
    }
    if (alive) process.kill(pid, 'SIGKILL');
    expect(alive, 'the sleep go started outlived it').toBe(false);
  });

  it('ends a run at its deadline even when something go started left its group and holds the output open', async () => {
    const pidFile = join(dir, 'escaped.pid');
    const go = await fakeGo(dir, `setsid sleep 600 & echo $! > "${pidFile}"\nwait`);
    const runner = fakeRunner(go, 300);
    try {
      const r = await runner.run(['mod', 'download'], new AbortController().signal, async (x) => x);
      expect(r.timedOut).toBe(true);
    } finally {
      process.kill(Number((await readFile(pidFile, 'utf8')).trim()), 'SIGKILL');
    }
  }, 10_000);

  it('ends a run when go exits, even when something it started left its group and holds the output open', async () => {
    // An ssh ControlPersist master or a credential daemon outlives go with go's stderr: the run must not wait
    // for it until the deadline (10 minutes by default) and then call a run that succeeded a time-out.
    const pidFile = join(dir, 'daemon.pid');
    const go = await fakeGo(dir, `setsid sleep 600 & echo $! > "${pidFile}"\necho '{"Version":"v1.0.0"}'\nexit 0`);
    const runner = fakeRunner(go, 60_000);
    try {
      const r = await runner.run(['mod', 'download'], new AbortController().signal, async (x) => x);
      expect(r).toMatchObject({ code: 0, timedOut: false, stdout: '{"Version":"v1.0.0"}\n' });
    } finally {
      process.kill(Number((await readFile(pidFile, 'utf8')).trim()), 'SIGKILL');
    }
  }, 10_000);

  it.skipIf(findGo() === null)('does not answer from a Go module the data folder happens to sit in', async () => {
    // A client's query such as @upgrade would otherwise fetch that module's requirements.
    const outer = join(dir, 'outer');
    await mkdir(outer, { recursive: true });
    await writeFile(join(outer, 'go.mod'), 'module example.com/outer\n\ngo 1.21\n');
    const runner = realGo(dir, join(outer, 'data', 'vcs'));
    const r = await runner.run(['list', '-m', '-json'], new AbortController().signal, async (x) => x);
    expect(r.stdout + r.stderr).not.toContain('example.com/outer');
  });

  it.skipIf(findGo() === null)(
    'runs go with a relative --data (the default ./data): GOPATH made absolute',
    async () => {
      // go refuses a relative GOPATH ("GOPATH entry is relative"): every origin fetch failed under `--data data`.
      const runner = realGo(dir, relative(process.cwd(), join(dir, 'rel', 'vcs')));
      const r = await runner.run(['env', 'GOPATH'], new AbortController().signal, async (x) => x);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.trim().startsWith(join(dir, 'rel', 'vcs', 'run-'))).toBe(true);
    },
  );

  it.skipIf(findGo() === null)('the go command writes nothing outside the data folder, telemetry too', async () => {
    // go keeps its telemetry counters under the user's config folder unless told another place (its
    // GOTELEMETRY variable is read-only): a HOME go never saw stays empty.
    const home = join(dir, 'home');
    await mkdir(home, { recursive: true });
    const runner = realGo(home, join(dir, 'data', 'vcs'));
    const r = await runner.run(['list', '-m', '-json'], new AbortController().signal, async (x) => x);
    expect(r.code).toBe(0);
    expect(await readdir(home, { recursive: true })).toEqual([]);
  });

  it('gives go the origin-fetch environment on top of godepot own', async () => {
    const go = await fakeGo(dir, 'env');
    const runner = new GoRunner({
      go,
      env: {
        PATH: process.env.PATH ?? '',
        GOINSECURE: 'corp.example',
        GOPROXY: 'https://leak.example',
        GO111MODULE: 'off',
      },
      privatePatterns: M,
      workRoot: join(dir, 'work'),
      concurrency: 1,
      timeoutMs: 10_000,
    });
    const out = await runner.run(['x'], new AbortController().signal, async (r) => r.stdout);
    expect(out).toContain('GOPROXY=direct\n');
    expect(out).toContain(`GOPRIVATE=${M}\n`);
    expect(out).toContain(`GONOSUMDB=${M}\n`);
    expect(out).toContain('GOSUMDB=off\n');
    expect(out).toContain('GOTOOLCHAIN=local\n');
    expect(out).toContain('GOFLAGS=-mod=mod -modcacherw\n');
    expect(out).toContain('GOINSECURE=corp.example\n');
    // GO111MODULE=off in godepot's environment would make every fetch fail with "modules disabled".
    expect(out).toContain('GO111MODULE=on\n');
    expect(out).not.toContain('leak.example');
  });

  it("a private module's run gets godepot's credentials but not its settings; a public module's run neither", async () => {
    const go = await fakeGo(dir, 'env');
    const runner = new GoRunner({
      go,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: '/home/godepot',
        NETRC: '/home/godepot/.netrc',
        GOAUTH: 'netrc',
        AWS_SECRET_ACCESS_KEY: 'aws-secret',
        GIT_CONFIG_PARAMETERS: "'credential.helper'='store'",
        GODEPOT_UPSTREAM: 'https://ci:upstream-secret@proxy.example',
        HTTPS_PROXY: 'http://egress.example:3128',
        GOINSECURE: 'pub.example',
      },
      privatePatterns: M,
      workRoot: join(dir, 'work'),
      concurrency: 1,
      timeoutMs: 10_000,
    });
    const env = (credentials: boolean): Promise<string> =>
      runner.run(['x'], new AbortController().signal, async (r) => r.stdout, credentials);
    const own = await env(true);
    expect(own).toContain('HOME=/home/godepot\n');
    expect(own).toContain('GOAUTH=netrc\n');
    expect(own).toContain('AWS_SECRET_ACCESS_KEY=aws-secret\n');
    expect(own).not.toContain('upstream-secret');
    const anonymous = await env(false);
    for (const secret of ['/home/godepot', 'aws-secret', 'upstream-secret', 'credential.helper'])
      expect(anonymous).not.toContain(secret);
    expect(anonymous).toContain('GOAUTH=off\n');
    expect(anonymous).toContain('GIT_CONFIG_NOSYSTEM=1\n');
    expect(anonymous).toContain('HTTPS_PROXY=http://egress.example:3128\n');
    expect(anonymous).toContain('GOINSECURE=pub.example\n');
    expect(anonymous).toMatch(/^HOME=.*\/work\/run-[^/]+\/home$/m);
    // git reads only the lower-case http_proxy (libcurl): given the upper-case value go reads.
    expect(anonymous).toContain('https_proxy=http://egress.example:3128\n');
    expect(own).toContain('https_proxy=http://egress.example:3128\n');
  });

  it("a private module's run never waits for a desktop password window (SSH_ASKPASS): git says credentials are missing", async () => {
    const git = findComponent('git');
    if (git === null) return;
    const server = createServer((_req, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      // The password window: nobody answers it.
      const askpass = join(dir, 'askpass');
      await writeFile(askpass, '#!/bin/sh\nsleep 60\n');
      await chmod(askpass, 0o755);
      const go = await fakeGo(dir, `"${git}" ls-remote http://127.0.0.1:${port}/lib.git`);
      const env = { PATH: process.env.PATH ?? '', HOME: dir, SSH_ASKPASS: askpass, DISPLAY: ':0' };
      const runner = new GoRunner({
        go,
        env,
        privatePatterns: M,
        workRoot: join(dir, 'work'),
        concurrency: 1,
        timeoutMs: 10_000,
      });
      const r = await runner.run(['x'], new AbortController().signal, async (run) => run, true);
      expect(r.timedOut).toBe(false);
      expect(r.stderr).toMatch(/could not read Username/);
      expect(classify(M, `${M}@v1.0.0`, r.stderr, r.timedOut).failure).toBe('auth');
    } finally {
      server.close();
    }
  });

  it('shares one go run among concurrent fetches of a version, keeps it a while on its clock, and checks the zip it made', async () => {
    const files = join(dir, 'mod');
    const built = await moduleFiles(files);
    await rm(join(dir, 'runs'), { force: true });
    const json = JSON.stringify({
      Path: M,
      Version: 'v1.0.0',
      Info: join(files, 'v.info'),
      GoMod: join(files, 'v.mod'),
      Zip: join(files, 'v.zip'),
    });
    const go = await fakeGo(dir, `sleep 0.2\necho '${json}'`);
    const runner = new GoRunner({
      go,
      env: { PATH: process.env.PATH ?? '' },
      privatePatterns: M,
      workRoot: join(dir, 'work'),
      concurrency: 4,
      timeoutMs: 10_000,
    });
    const ledgerStorage = new MemoryStorage();
    {
      const clock = new ManualClock();
      const ledger = await PrivateLedger.open(ledgerStorage);
      const stop = new AbortController();
      const origin = new Origin(
        { runner, openFile: openLocalFile, ledger, isPrivate: () => true, log, clock, keepMs: 60_000 },
        stop.signal,
      );
      const s = new AbortController().signal;
      const runs = async (): Promise<number> => (await readFile(join(dir, 'runs'), 'utf8')).trim().split('\n').length;
      const all = await Promise.all([1, 2, 3].map(() => origin.download(M, 'v1.0.0', s)));
      expect(all.every((d) => d.zipH1 === built.h1 && d.modH1 === built.goModH1)).toBe(true);
      expect(await runs()).toBe(1);
      for (const d of all) d.zip.release();
      const h1 = async (): Promise<string> => {
        const d = await origin.download(M, 'v1.0.0', s);
        d.zip.release();
        return d.zipH1;
      };
      // The download is kept for keepMs on the clock the origin was given, then fetched again.
      clock.advance(59_999);
      expect(await h1()).toBe(built.h1);
      expect(await runs()).toBe(1);
      clock.advance(1);
      expect(await h1()).toBe(built.h1);
      expect(await runs()).toBe(2);
      expect((await (await PrivateLedger.open(ledgerStorage)).get(M, 'v1.0.0'))?.zip).toBe(built.h1);
      // A zip breaking the module zip rules (another module's files) is refused.
      await expect(origin.download('corp.example/other', 'v1.0.0', s)).rejects.toThrow(/not_found|resolves|zip rules/);
      // What is kept goes with godepot: its descriptor is closed then.
      stop.abort();
    }
  });

  it('serves the zip from the file go wrote, after its run folder is gone, and closes it when the last holder lets go', async () => {
    const files = join(dir, 'held');
    const built = await moduleFiles(files);
    // As the go command does: the zip is written inside the run's GOPATH, which is removed when the run ends.
    const json = `{"Path":"${M}","Version":"v1.0.0","Info":"${join(files, 'v.info')}","GoMod":"${join(files, 'v.mod')}","Zip":"$GOPATH/v.zip"}`;
    const go = await fakeGo(
      dir,
      `cp "${join(files, 'v.zip')}" "$GOPATH/v.zip"\necho '${json}' | sed "s|\\$GOPATH|$GOPATH|"`,
    );
    const workRoot = join(dir, 'held-work');
    const runner = new GoRunner({
      go,
      env: { PATH: process.env.PATH ?? '' },
      privatePatterns: M,
      workRoot,
      concurrency: 2,
      timeoutMs: 10_000,
    });
    const clock = new ManualClock();
    const stop = new AbortController();
    const origin = new Origin(
      { runner, openFile: openLocalFile, ledger: null, isPrivate: () => true, log, clock, keepMs: 60_000 },
      stop.signal,
    );
    const s = new AbortController().signal;
    /** Descriptors of this process on a v.zip under workRoot that was unlinked. */
    const heldOpen = (): number =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          return target.startsWith(workRoot) && target.endsWith('/v.zip (deleted)');
        } catch {
          return false;
        }
      }).length;
    const settled = async (want: number): Promise<number> => {
      for (let i = 0; i < 1000 && heldOpen() !== want; i++) await new Promise((r) => setImmediate(r));
      return heldOpen();
    };

    const [a, b] = await Promise.all([origin.download(M, 'v1.0.0', s), origin.download(M, 'v1.0.0', s)]);
    expect((await readdir(workRoot)).filter((n) => n.startsWith('run-'))).toEqual([]);
    expect(await settled(1)).toBe(1);
    const chunks: Buffer[] = [];
    for await (const c of a!.zip.stream()) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(built.zip)).toBe(true);
    b!.zip.release();
    // Kept for the next request of the version (its .zip after its .info): still open, and read again whole.
    const c = await origin.download(M, 'v1.0.0', s);
    let again = 0;
    for await (const chunk of c.zip.stream()) again += (chunk as Buffer).length;
    expect(again).toBe(built.zip.length);
    expect(await settled(1)).toBe(1);
    // Past its time it is let go of (at the next download, here one that fails): the descriptor closes.
    clock.advance(60_000);
    await expect(origin.download(M, 'v2.0.0', s)).rejects.toThrow(/resolves to v1.0.0/);
    expect(await settled(0)).toBe(0);
    // And when godepot stops.
    (await origin.download(M, 'v1.0.0', s)).zip.release();
    expect(await settled(1)).toBe(1);
    stop.abort();
    expect(await settled(0)).toBe(0);
  });
});

describe('the origin breaker', () => {
  const H = 'corp.example';
  const breaker = (clock: ManualClock, states: string[] = []): OriginBreaker =>
    new OriginBreaker({
      failures: 2,
      halfOpenAfter: 10_000,
      now: () => clock.now(),
      onState: (host, state) => states.push(`${host} ${state}`),
    });

  it('opens after consecutive outages, fails fast, probes after a while, and reports one incident', () => {
    const clock = new ManualClock();
    const states: string[] = [];
    const b = breaker(clock, states);
    expect(b.refusal(H, M)).toBeNull();
    b.failed(H, 'unreachable', M);
    expect(b.refusal(H, M)).toBeNull();
    b.failed(H, 'unreachable', M);
    expect(b.refusal(H, M)).toMatch(/origin host corp\.example is unavailable since .*unreachable/);
    expect(b.refusal('other.example', 'other.example/x')).toBeNull();
    clock.advance(9_999);
    expect(b.refusal(H, M)).not.toBeNull();
    clock.advance(1);
    expect(b.refusal(H, M)).toBeNull(); // the probe
    b.failed(H, 'timeout', M);
    expect(b.refusal(H, M)).not.toBeNull();
    clock.advance(10_000);
    expect(b.refusal(H, M)).toBeNull();
    b.succeeded(H);
    expect(b.refusal(H, M)).toBeNull();
    expect(states).toEqual(['corp.example open', 'corp.example closed']);
  });

  it('while open, tries a module that has not failed, one at a time: failing modules a client chose do not take the host away', () => {
    const clock = new ManualClock();
    const states: string[] = [];
    const b = breaker(clock, states);
    // A client asks for repositories too big to clone within the deadline.
    for (const bad of ['corp.example/huge1', 'corp.example/huge2']) {
      expect(b.refusal(H, bad)).toBeNull();
      b.failed(H, 'timeout', bad);
    }
    expect(b.refusal(H, 'corp.example/huge1')).not.toBeNull();
    // Another module is tried; a second one meanwhile waits for that probe's outcome.
    expect(b.refusal(H, M)).toBeNull();
    expect(b.refusal(H, 'corp.example/tool')).not.toBeNull();
    b.succeeded(H);
    expect(b.refusal(H, 'corp.example/tool')).toBeNull();
    expect(b.refusal(H, 'corp.example/huge1')).toBeNull();
    // In a real outage the probe fails too: then every module that failed is refused, and the next new one probes.
    for (const bad of ['corp.example/huge1', 'corp.example/huge2']) b.failed(H, 'unreachable', bad);
    expect(b.refusal(H, M)).toBeNull();
    b.failed(H, 'unreachable', M);
    expect(b.refusal(H, M)).not.toBeNull();
    expect(states).toEqual(['corp.example open', 'corp.example closed', 'corp.example open']);
    // A probe that ends without a verdict (the go binary missing, bad content, an abort) lets the next one probe.
    expect(b.refusal(H, 'corp.example/other')).toBeNull();
    expect(b.refusal(H, 'corp.example/third')).not.toBeNull();
    b.ended(H);
    expect(b.refusal(H, 'corp.example/third')).toBeNull();
  });
  it('remembers a bounded number of hosts: distinct failing hosts a client names do not grow it without limit', () => {
    const clock = new ManualClock();
    const open = new Set<string>();
    const b = new OriginBreaker({
      failures: 2,
      halfOpenAfter: 10_000,
      now: () => clock.now(),
      onState: (host, state) => (state === 'open' ? open.add(host) : open.delete(host)),
    });
    for (let i = 0; i < 20_000; i++) {
      const host = `h${i}.example`;
      b.failed(host, 'unreachable', `${host}/m`);
      b.failed(host, 'unreachable', `${host}/m`);
    }
    // Every host opened, so the hosts reported open are the hosts remembered. The ones it forgot are reported so
    // (the incident log would keep each outage open for ever) and are no longer refused.
    expect(open.size).toBeLessThanOrEqual(ORIGIN_HOSTS);
    expect(b.refusal('h0.example', 'h0.example/m')).toBeNull();
    // The ones that failed last are still refused.
    expect(b.refusal('h19999.example', 'h19999.example/m')).not.toBeNull();
  });
  it('remembers a bounded number of failed modules over all hosts, however many each of a few hosts fails on', () => {
    const forgotten: string[] = [];
    const b = new OriginBreaker({
      failures: 2,
      halfOpenAfter: 10_000,
      now: () => 0,
      onState: (host, state) => state === 'forgotten' && forgotten.push(host),
    });
    // Far fewer hosts than ORIGIN_HOSTS, each failing on 1,000 distinct long module paths (up to 512 characters
    // each): held for the thousand hosts a client may name, ~700 MB.
    const hosts = Math.ceil((2 * ORIGIN_MODULES) / 1_000);
    const mod = (h: number, m: number): string => `h${h}.example/${'a'.repeat(240)}/${'b'.repeat(240)}/m${m}`;
    for (let h = 0; h < hosts; h++) for (let m = 0; m < 1_000; m++) b.failed(`h${h}.example`, 'unreachable', mod(h, m));
    // The least recently failed hosts are forgotten (said so), the others still refuse the modules that failed.
    expect(forgotten.length).toBeGreaterThanOrEqual(hosts - ORIGIN_MODULES / 1_000);
    expect(forgotten[0]).toBe('h0.example');
    expect(b.refusal('h0.example', mod(0, 0))).toBeNull();
    expect(b.refusal(`h${hosts - 1}.example`, mod(hosts - 1, 0))).not.toBeNull();
  });
});

describe('leftover run folders', () => {
  /** A runner whose run folders are under root, with a run deadline of a minute; it never runs go here. */
  const sweeper = (root: string): GoRunner =>
    new GoRunner({ go: 'go', env: {}, privatePatterns: '', workRoot: root, concurrency: 1, timeoutMs: 60_000 });

  it("are removed a deadline later if unchanged: a live run's folder (another worker's) is left to its run", async () => {
    const root = await mkdtemp(join(tmpdir(), 'godepot-sweep-'));
    try {
      const { mkdir: mk, readdir, utimes } = await import('node:fs/promises');
      await mk(join(root, 'run-old', 'pkg', 'mod'), { recursive: true });
      const old = new Date(Date.now() - 3_600_000);
      await utimes(join(root, 'run-old'), old, old);
      // A process killed just before this start left the young one.
      for (const name of ['run-live', 'run-busy', 'run-killed']) await mk(join(root, name));
      const runner = sweeper(root);
      let waited = 0;
      let seen: string[] = [];
      const removed = await runner.sweep(async (ms) => {
        waited = ms;
        seen = await readdir(root);
        // Meanwhile one live run ended and removed its folder; another is still writing to its own.
        await rm(join(root, 'run-live'), { recursive: true });
        const touched = new Date(Date.now() + 5_000);
        await utimes(join(root, 'run-busy'), touched, touched);
      });
      // Nothing removed before the second look.
      expect(seen).toEqual(['run-busy', 'run-killed', 'run-live', 'run-old']);
      expect(waited).toBe(60_000);
      expect(removed).toBe(2);
      expect(await readdir(root)).toEqual(['run-busy']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('are left when the wait for the second look is called off (shutdown)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'godepot-sweep-'));
    try {
      const { mkdir: mk, readdir } = await import('node:fs/promises');
      await mk(join(root, 'run-dead'));
      const runner = sweeper(root);
      const shutdown = new AbortController();
      const sweep = runner.sweep(async () => {
        shutdown.abort(new Error('godepot closed'));
        throw shutdown.signal.reason;
      });
      await expect(sweep).rejects.toThrow('godepot closed');
      expect(await readdir(root)).toEqual(['run-dead']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!existsSync('/proc/self/cwd'))('leftover go runs', () => {
  it("are killed with their group when their folder is swept (a SIGKILLed godepot's go), and nothing else", async () => {
    const root = await mkdtemp(join(tmpdir(), 'godepot-sweep-'));
    const { mkdir: mk } = await import('node:fs/promises');
    await mk(join(root, 'run-left', 'work'), { recursive: true });
    await mk(join(root, 'elsewhere'));
    // go, group leader in its run folder, and a git it started (same group) working in the module cache.
    const left = spawn('sh', ['-c', 'sleep 300 & echo $!; exec sleep 300'], {
      cwd: join(root, 'run-left', 'work'),
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const other = spawn('sleep', ['300'], { cwd: join(root, 'elsewhere'), detached: true, stdio: 'ignore' });
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      const [line] = (await once(left.stdout!, 'data')) as [Buffer];
      const child = Number(line.toString().trim());
      const exited = once(left, 'exit');
      const removed = await new GoRunner({
        go: 'go',
        env: {},
        privatePatterns: '',
        workRoot: root,
        concurrency: 1,
        timeoutMs: 60_000,
      }).sweep(async () => undefined);
      expect(removed).toBe(1);
      // Killed by the sweep, or still running 5 s later (the failure).
      const ended = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5_000).unref()),
      ]);
      expect(ended).toBe(true);
      // The background sleep is reaped by PID 1 (or lingers as a zombie until then): gone or a zombie.
      const state = (): string => {
        try {
          return readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1]?.[0] ?? '';
        } catch {
          return 'gone';
        }
      };
      // SIGKILL reaches the group at once, but a process runs on ('R') until the kernel ends it: up to 5 s.
      const dead = (): boolean => ['gone', 'Z'].includes(state());
      for (let i = 0; i < 250 && !dead(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(['gone', 'Z']).toContain(state());
      expect(alive(other.pid!)).toBe(true);
    } finally {
      for (const p of [left.pid, other.pid]) if (p !== undefined) killGroup(p);
      await rm(root, { recursive: true, force: true });
    }
  });
});
