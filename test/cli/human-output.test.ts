// Issue 10 item 5: commands print plain lines for people — their report on
// stdout, warnings and errors on stderr, never JSON log lines — and say what
// version they are; ci-env adds to the user's GOFLAGS instead of replacing
// them; doctor turns godepot's view of its database sources into a fix.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { warmCommand } from '../../src/cli/warm.js';
import { ciEnvCommand, mergeGoflags } from '../../src/cli/ci-env.js';
import { version } from '../../src/cli/main.js';
import { sourceAdvice } from '../../src/cli/doctor/run.js';
import { humanSink, SERVE_TEXT_CONTEXT } from '../../src/runtime/logging.js';
import { removeDir, tempDir } from '../support/godepot.js';

function capture(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (s: string) => void out.push(s), err: { write: (s: string) => err.push(s) }, env },
  };
}

describe('command output', () => {
  it('warm: the report on stdout, plain warnings on stderr, no JSON log lines', async () => {
    const data = await tempDir();
    try {
      const c = capture();
      const code = await warmCommand(
        [
          '--data',
          data,
          '--upstream',
          'http://127.0.0.1:1',
          '--sumdb',
          'off',
          '--progress',
          'none',
          '--retry-attempts',
          '1',
          'example.com/m@v1.0.0',
        ],
        c.io,
      );
      expect(code).toBe(1);
      const stderr = c.err.join('');
      expect(stderr).toContain('godepot warm: warning: checksum verification is off');
      for (const line of [...c.out.join('').split('\n'), ...stderr.split('\n')])
        expect(line.trimStart().startsWith('{'), line).toBe(false);
      expect(c.out.join('')).toMatch(/example\.com\/m@v1\.0\.0/);
    } finally {
      await removeDir(data);
    }
  });

  it('warm names a GODEPOT_ variable that is no setting, as serve does', async () => {
    const data = await tempDir();
    try {
      const c = capture({ GODEPOT_UPSTREM: 'http://127.0.0.1:1' });
      const args = ['--data', data, '--offline', '--sumdb', 'off', '--progress', 'none', 'example.com/m@v1.0.0'];
      await warmCommand(args, c.io);
      expect(c.err.join('')).toContain(
        "godepot warm: warning: GODEPOT_UPSTREM in godepot's environment is not a godepot setting and is ignored (did you mean GODEPOT_UPSTREAM?)",
      );
    } finally {
      await removeDir(data);
    }
  });

  it('turns log records into one plain line each, the error said once', () => {
    const lines: string[] = [];
    const sink = humanSink((s) => void lines.push(s), 'godepot import');
    sink.write('{"level":40,"msg":"cannot fetch x","err":"boom"}\n{"level":30,"msg":"done"}\n');
    sink.write('{"level":50,"msg":"failed: boom","err":"boom"}\n');
    expect(lines).toEqual([
      'godepot import: warning: cannot fetch x: boom\n',
      'godepot import: done\n',
      'godepot import: error: failed: boom\n',
    ]);
  });

  it("a server's text line carries the fields that say which module, upstream and outage, once", () => {
    const lines: string[] = [];
    const sink = humanSink((s) => void lines.push(s), 'godepot', undefined, SERVE_TEXT_CONTEXT);
    sink.write(
      JSON.stringify({
        level: 50,
        module: 'example.com/m',
        version: 'v1.0.0',
        kind: 'zip',
        expected: 'h1:AAA=',
        received: 'h1:BBB=',
        upstream: 'http://127.0.0.1:9',
        alert: 'checksum_mismatch',
        pid: 7,
        msg: 'SECURITY: upstream bytes do not match the checksum database; refused, nothing stored',
      }) + '\n',
    );
    sink.write(
      JSON.stringify({
        level: 40,
        upstream: 'http://127.0.0.1:9',
        incident: 'inc-1',
        durationMs: 73547,
        failed: 8,
        msg: 'http://127.0.0.1:9 answers again: the outage is over',
      }) + '\n',
    );
    expect(lines).toEqual([
      'godepot: error: SECURITY: upstream bytes do not match the checksum database; refused, nothing stored ' +
        'module=example.com/m version=v1.0.0 kind=zip upstream=http://127.0.0.1:9 expected=h1:AAA= received=h1:BBB= ' +
        'alert=checksum_mismatch\n',
      // The upstream is in the message already: not said twice.
      'godepot: warning: http://127.0.0.1:9 answers again: the outage is over incident=inc-1 durationMs=73547 failed=8\n',
    ]);
  });

  it('godepot --version is the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version()).toBe(pkg.version);
  });
});

describe('ci-env', () => {
  it("keeps the user's GOFLAGS and adds -mod=readonly", async () => {
    expect(mergeGoflags('')).toBe('-mod=readonly');
    expect(mergeGoflags('-trimpath  -tags=netgo')).toBe('-trimpath -tags=netgo -mod=readonly');
    expect(mergeGoflags('-mod=mod -trimpath')).toBe('-trimpath -mod=readonly');
    expect(mergeGoflags('-mod=vendor')).toBe('-mod=vendor');
    const c = capture({ GOFLAGS: '-trimpath' });
    expect(await ciEnvCommand(['--proxy', 'https://godepot.internal'], c.io)).toBe(0);
    expect(c.out.join('')).toContain("export GOFLAGS='-trimpath -mod=readonly'");
  });
});

describe('doctor reading godepot /readyz sources', () => {
  it('says no action is needed when the proxy serves the log the host does not', () => {
    const a = sourceAdvice('sum.golang.org', [
      { url: 'https://proxy.golang.org/sumdb/sum.golang.org', via: 'upstream', state: 'ok' },
      { url: 'https://sum.golang.org', via: 'database', state: 'failing', detail: 'dns: cannot resolve host' },
    ]);
    expect(a?.ok).toBe(true);
    expect(a?.text).toMatch(
      /https:\/\/sum\.golang\.org \(dns: cannot resolve host\) does not answer.*no action needed/,
    );
  });

  it('tells how to add the proxy as a source when only explicit URLs are configured and none answers', () => {
    const a = sourceAdvice('sum.golang.org', [
      { url: 'https://sum.golang.org', via: 'mirror', state: 'failing', detail: 'dns' },
    ]);
    expect(a?.ok).toBe(false);
    expect(a?.text).toBe('database sum.golang.org: no source answers: https://sum.golang.org (dns)');
    expect(a?.fix).toMatch(/--sumdb without URLs \(--sumdb sum\.golang\.org\).*<upstream>\/sumdb\/sum\.golang\.org/);
    expect(sourceAdvice('x', [{ url: 'https://x', via: 'database', state: 'ok' }])).toBeNull();
  });

  it('sends nobody to add URLs godepot already reads, nor to the network when the sources answered errors', () => {
    // --sumdb sum.golang.org with no upstream serving the log: its own host is all godepot reads, as it should.
    const own = sourceAdvice('sum.golang.org', [
      { url: 'https://sum.golang.org', via: 'database', state: 'failing', detail: 'dns: cannot resolve host' },
    ]);
    expect(own?.fix).toBe('fix the network path from godepot to https://sum.golang.org');
    const mixed = sourceAdvice('sum.golang.org', [
      { url: 'https://sum.golang.org', via: 'database', state: 'failing', detail: 'dns: cannot resolve host' },
      { url: 'https://proxy.example/sumdb/sum.golang.org', via: 'upstream', state: 'failing', detail: 'status: 500' },
    ]);
    expect(mixed?.fix).toBe('fix the network path from godepot to https://sum.golang.org');
    const errors = sourceAdvice('sum.golang.org', [
      { url: 'https://sum.golang.org', via: 'database', state: 'failing', detail: 'status: 503' },
      { url: 'https://proxy.example/sumdb/sum.golang.org', via: 'upstream', state: 'failing', detail: 'status: 500' },
    ]);
    expect(errors?.fix).toMatch(/^each source answers with an error \(the network path works\)/);
  });
});
