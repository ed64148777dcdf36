// The go-command harness: the environment is built from scratch, and the
// hard timeout kills the whole process group (go run's child included).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findGo, GoMissingError, goEnv, goPaths, locateGo, runGo, sharedGoCache, writeApp } from './gocmd.js';

describe('locateGo', () => {
  it('prefers PATH, falls back, and is loud about a missing go only in CI', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'godepot-locate-'));
    try {
      const fake = join(dir, 'go');
      await writeFile(fake, '#!/bin/sh\n', { mode: 0o755 });
      expect(locateGo(`/nonexistent:${dir}`, ['/also/missing/go'], true)).toBe(fake);
      expect(locateGo('/nonexistent', [fake], true)).toBe(fake);
      expect(locateGo('/nonexistent', ['/also/missing/go'], false)).toBeNull();
      expect(() => locateGo('/nonexistent', ['/also/missing/go'], true)).toThrow(GoMissingError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(findGo() === null)('go command harness', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'godepot-gocmd-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('builds a hermetic environment that go itself reports back', async () => {
    const env = goEnv({ home, proxy: 'http://127.0.0.1:9', sumdb: 'off', extra: { GOFLAGS: '-modcacherw -mod=mod' } });
    expect(
      Object.keys(env).filter((k) => !k.startsWith('GO') && !['HOME', 'PATH', 'TMPDIR', 'CGO_ENABLED'].includes(k)),
    ).toEqual([]);
    const r = await runGo(['env', '-json'], { cwd: home, env });
    expect(r.code).toBe(0);
    const reported = JSON.parse(r.stdout) as Record<string, string>;
    const paths = goPaths(home);
    expect(reported).toMatchObject({
      GOPROXY: 'http://127.0.0.1:9',
      GOSUMDB: 'off',
      GOPATH: paths.gopath,
      GOMODCACHE: paths.modcache,
      GOCACHE: sharedGoCache(),
      GOTOOLCHAIN: 'local',
      GOFLAGS: '-modcacherw -mod=mod',
      GONOSUMDB: '',
      GOPRIVATE: '',
      GONOPROXY: '',
      GOINSECURE: '',
      GOVCS: '*:off',
      GOWORK: 'off',
      // Read from HOME's telemetry mode file (see telemetryOff); the variable itself is ignored.
      GOTELEMETRY: 'off',
      CGO_ENABLED: '0',
    });
  });

  it('kills go and its children at the timeout', async () => {
    const dir = join(home, 'spin');
    await writeApp(dir, {
      files: {
        'go.mod': 'module example.com/spin\n\ngo 1.21\n',
        'main.go': 'package main\n\nfunc main() {\n\tfor {\n\t}\n}\n',
      },
    });
    await writeFile(join(dir, 'marker'), 'x');
    const env = goEnv({ home, proxy: 'off', sumdb: 'off' });
    const r = await runGo(['run', '.'], { cwd: dir, env, timeoutMs: 4_000 });
    expect(r.timedOut).toBe(true);
    expect(r.code).toBeNull();
    expect(r.durationMs).toBeLessThan(15_000);
    // Nothing built from that directory is still running.
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps).not.toMatch(/go-build.*\/spin(\s|$)/m);
  });
});
