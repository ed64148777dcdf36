// Toolchain zips as cmd/distpack writes them (archive/zip: Unix modes 0755 on
// bin/ and pkg/tool/, data descriptors, extended-timestamp extras, best
// compression; files far larger than go.mod's 16 MiB), switched to through
// godepot with GOTOOLCHAIN=go1.X.Y and auto, then listed: `go list -m
// -versions golang.org/toolchain`, `go get toolchain@…` (which stats the
// linux-amd64 .info) and @v/list. The go command is the judge of every zip:
// it checks the hash against the checksum database, unpacks, sets the exec
// bits itself (zips carry no modes into the module cache) and copies each
// _go.mod to go.mod, src/go.mod last as its mark that the unpack is done.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashFiles, hashGoMod } from '../../src/modzip/index.js';
import {
  describeRun,
  FakeGoProxy,
  FakeSumDb,
  findGo,
  goPaths,
  requireGo,
  runGo,
  sharedGoCache,
  type BuiltModule,
} from '../world/index.js';
import { readZipEntries } from '../world/zipread.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { Dirs, sumdbEnv } from './sumdb-support.js';

/** cmd/distpack's writeZip and mode(), for files given as JSON on stdin: {name, mode, b64} or {name, mode, zeros}. */
const DISTPACK_ZIP = `package main

import (
	"archive/zip"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"time"
)

type file struct {
	Name  string
	Mode  uint32
	B64   string
	Zeros int64
}

func main() {
	var files []file
	if err := json.NewDecoder(os.Stdin).Decode(&files); err != nil {
		panic(err)
	}
	zw := zip.NewWriter(os.Stdout)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	mtime := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: mtime}
		h.SetMode(os.FileMode(f.Mode))
		w, err := zw.CreateHeader(h)
		if err != nil {
			panic(err)
		}
		if f.Zeros > 0 {
			_, err = io.CopyN(w, zeros{}, f.Zeros)
		} else {
			var b []byte
			if b, err = base64.StdEncoding.DecodeString(f.B64); err == nil {
				_, err = w.Write(b)
			}
		}
		if err != nil {
			panic(err)
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
`;

type DistFile = { name: string; mode: number } & ({ data: string | Buffer } | { zeros: number });

describe.skipIf(findGo() === null)('toolchain zips as cmd/distpack writes them, through godepot', () => {
  const dirs = new Dirs();
  let goos = '';
  let goarch = '';
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  /** go1.99.0 for this host: what GOTOOLCHAIN selects. */
  let host: BuiltModule;
  /** Every version the upstream lists. */
  let all: BuiltModule[];
  /** The Go tree that writes zips. */
  let writer = '';
  const hostEnv = (): Record<string, string> => ({
    PATH: dirname(requireGo()),
    HOME: tmpdir(),
    GOENV: 'off',
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-mod=mod',
    GOPROXY: 'off',
    GOCACHE: sharedGoCache(),
  });

  const zipPath = (m: BuiltModule): string => `/${m.path}/@v/${m.version}.zip`;
  const served = (path: string): Array<Record<string, unknown>> =>
    godepot.logs.filter((l) => l.msg === 'request' && l.path === path);

  /** A golang.org/toolchain version, zipped by archive/zip as distpack does. */
  async function distpack(go: string, os: string, arch: string): Promise<BuiltModule> {
    const path = 'golang.org/toolchain';
    const version = `v0.0.1-${go}.${os}-${arch}`;
    const localGo = requireGo();
    // bin/go answers `version` as that release would and hands everything else to the local go, as itself.
    const binGo =
      `#!/bin/sh\n` +
      `[ "$*" = version ] && exec echo "go version ${go} ${os}/${arch}"\n` +
      `echo "toolchain ${go} GOROOT=$GOROOT" >&2\n` +
      `exec env -u GOROOT -u GOTOOLCHAIN_INTERNAL_SWITCH_VERSION -u GOTOOLCHAIN_INTERNAL_SWITCH_COUNT ` +
      `GOTOOLCHAIN=local ${localGo} "$@"\n`;
    const tool = `pkg/tool/${os}_${arch}`;
    const files: DistFile[] = [
      { name: 'CONTRIBUTING.md', mode: 0o644, data: '# Contributing\n' },
      { name: 'LICENSE', mode: 0o644, data: 'Copyright (c) 2009 The Go Authors.\n' },
      { name: 'VERSION', mode: 0o644, data: `${go}\ntime 2030-01-01T00:00:00Z\n` },
      { name: 'bin/go', mode: 0o755, data: binGo },
      { name: 'bin/gofmt', mode: 0o755, data: '#!/bin/sh\n' },
      { name: 'go.env', mode: 0o644, data: 'GOPROXY=https://proxy.golang.org,direct\nGOTOOLCHAIN=auto\n' },
      { name: 'lib/time/zoneinfo.zip', mode: 0o644, data: randomBytes(4096) },
      { name: 'lib/wasm/go_js_wasm_exec', mode: 0o755, data: '#!/bin/sh\n' },
      // Larger than go.mod's and LICENSE's 16 MiB, as the real compile and link are.
      { name: `${tool}/compile`, mode: 0o755, zeros: 24 << 20 },
      // Incompressible: the zip outgrows what godepot answers from memory.
      { name: `${tool}/link`, mode: 0o755, data: randomBytes(1536 << 10) },
      { name: 'src/_go.mod', mode: 0o644, data: 'module std\n\ngo 1.99\n' },
      { name: 'src/cmd/_go.mod', mode: 0o644, data: 'module cmd\n\ngo 1.99\n' },
      { name: 'src/cmd/go/main.go', mode: 0o644, data: 'package main\n' },
      { name: 'src/make.bash', mode: 0o755, data: '#!/bin/bash\n' },
      { name: 'src/vendor/modules.txt', mode: 0o644, data: '# golang.org/x/net v0.0.0\n' },
      { name: 'src/vendor/golang.org/x/net/http/httpguts/guts.go', mode: 0o644, data: 'package httpguts\n' },
      { name: 'src/cmd/vendor/modules.txt', mode: 0o644, data: '# golang.org/x/mod v0.0.0\n' },
      { name: 'src/cmd/vendor/golang.org/x/mod/zip/zip.go', mode: 0o644, data: 'package zip\n' },
    ];
    const prefix = `${path}@${version}/`;
    const spec = files.map((f) => ({
      Name: prefix + f.name,
      Mode: f.mode,
      ...('zeros' in f ? { Zeros: f.zeros } : { B64: Buffer.from(f.data).toString('base64') }),
    }));
    const r = spawnSync(requireGo(), ['run', '.'], {
      cwd: writer,
      env: hostEnv(),
      input: JSON.stringify(spec),
      maxBuffer: 64 << 20,
    });
    if (r.status !== 0) throw new Error(`writing the toolchain zip failed: ${r.stderr.toString()}`);
    const zip = r.stdout;
    const mod = Buffer.from(`module ${path}\n`);
    const h1 = hashFiles(await readZipEntries(zip));
    const goModH1 = hashGoMod(mod);
    const time = '2030-01-01T00:00:00Z';
    return {
      path,
      version,
      time,
      info: Buffer.from(JSON.stringify({ Version: version, Time: time })),
      mod,
      zip,
      zipEntries: spec.map((s) => s.Name),
      h1,
      goModH1,
      goSum: `${path} ${version} ${h1}\n${path} ${version}/go.mod ${goModH1}\n`,
      fixture: { path, version, files: {}, goMod: mod.toString() },
    };
  }

  beforeAll(async () => {
    [goos = '', goarch = ''] = spawnSync(requireGo(), ['env', 'GOOS', 'GOARCH'], { encoding: 'utf8', env: hostEnv() })
      .stdout.trim()
      .split('\n');
    writer = await dirs.make('godepot-distpack-');
    await writeFile(join(writer, 'go.mod'), 'module distpack\n\ngo 1.21\n');
    await writeFile(join(writer, 'main.go'), DISTPACK_ZIP);
    const platforms = new Set([`${goos}/${goarch}`, 'linux/amd64', 'darwin/arm64']);
    const wanted: Array<[string, string, string]> = [];
    for (const go of ['go1.98.3', 'go1.99.0']) {
      for (const p of platforms) {
        const [os = '', arch = ''] = p.split('/');
        wanted.push([go, os, arch]);
      }
    }
    all = [];
    for (const [go, os, arch] of wanted) all.push(await distpack(go, os, arch));
    host = all.find((m) => m.version === `v0.0.1-go1.99.0.${goos}-${goarch}`)!;
    upstream = await FakeGoProxy.start(all);
    sumdb = await FakeSumDb.start({ records: all });
    godepot = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, 'access-log': 'true' });
  }, 120_000);

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await dirs.removeAll();
  });

  const goFlags = { GOFLAGS: '-modcacherw -mod=mod' };

  it('the fixture is a distpack zip: Unix modes, data descriptors, a file over 16 MiB, larger than a memory item', () => {
    const zip = host.zip;
    expect(zip.length).toBeGreaterThan(1 << 20);
    expect(zip.length).toBeLessThan(4 << 20);
    // Central directory: made by Unix (3), bin/go's external attributes 0755 regular file.
    const eocd = zip.length - 22;
    let cd = zip.readUInt32LE(eocd + 16);
    const seen: Record<string, { flags: number; madeBy: number; mode: number; size: number }> = {};
    for (let i = 0; i < zip.readUInt16LE(eocd + 10); i++) {
      const n = zip.readUInt16LE(cd + 28);
      const name = zip.subarray(cd + 46, cd + 46 + n).toString();
      seen[name.slice(`${host.path}@${host.version}/`.length)] = {
        flags: zip.readUInt16LE(cd + 8),
        madeBy: zip.readUInt16LE(cd + 4) >> 8,
        mode: zip.readUInt32LE(cd + 38) >>> 16,
        size: zip.readUInt32LE(cd + 24),
      };
      cd += 46 + n + zip.readUInt16LE(cd + 30) + zip.readUInt16LE(cd + 32);
    }
    expect(seen['bin/go']).toMatchObject({ flags: 0x8, madeBy: 3, mode: 0o100755 });
    expect(seen[`pkg/tool/${goos}_${goarch}/compile`]?.size).toBe(24 << 20);
  });

  it('GOTOOLCHAIN=go1.99.0: downloaded through godepot, verified, unpacked with exec bits and run', async () => {
    const home = await dirs.make();
    const env = sumdbEnv(home, godepot.url, sumdb.vkey, { GOTOOLCHAIN: 'go1.99.0', ...goFlags });
    const r = await runGo(['version'], { cwd: home, env, timeoutMs: 30_000 });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toBe(`go version go1.99.0 ${goos}/${goarch}\n`);
    expect(r.stderr).toContain(`go: downloading go1.99.0 (${goos}/${goarch})`);
    const dir = join(goPaths(home).modcache, `${host.path}@${host.version}`);
    for (const f of ['bin/go', 'bin/gofmt', `pkg/tool/${goos}_${goarch}/compile`, 'lib/wasm/go_js_wasm_exec'])
      expect((await stat(join(dir, f))).mode & 0o111, f).not.toBe(0);
    expect((await stat(join(dir, 'LICENSE'))).mode & 0o111).toBe(0);
    // The go command's mark that the unpack is done.
    expect(await readFile(join(dir, 'src/go.mod'), 'utf8')).toBe('module std\n\ngo 1.99\n');
    expect(await readFile(join(dir, 'src/cmd/go.mod'), 'utf8')).toBe('module cmd\n\ngo 1.99\n');
    expect(served(zipPath(host))).toMatchObject([{ status: 200, cache: 'miss', verification: 'verified' }]);
    expect(upstream.count(zipPath(host))).toBe(1);

    // The switched-to go runs a build (bin/go hands it to the local go): what CI does next.
    await writeFile(join(home, 'go.mod'), 'module example.com/hello\n\ngo 1.21\n');
    await writeFile(join(home, 'main.go'), 'package main\n\nfunc main() { println("hello") }\n');
    const b = await runGo(['run', '.'], { cwd: home, env, timeoutMs: 60_000 });
    expect(b.code, describeRun(b)).toBe(0);
    expect(b.stderr).toContain(`toolchain go1.99.0 GOROOT=${dir}\n`);
    expect(b.stderr).toContain('hello\n');
  }, 90_000);

  it('GOTOOLCHAIN=auto, go.mod asking for go 1.99.0, a fresh module cache, GOSUMDB with its URL: a cache hit', async () => {
    const home = await dirs.make();
    await writeFile(join(home, 'go.mod'), 'module example.com/app\n\ngo 1.99.0\n');
    const env = sumdbEnv(home, godepot.url, `${sumdb.vkey} ${sumdb.url}`, { GOTOOLCHAIN: 'auto', ...goFlags });
    const r = await runGo(['version'], { cwd: home, env, timeoutMs: 30_000 });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toBe(`go version go1.99.0 ${goos}/${goarch}\n`);
    expect(served(zipPath(host)).at(-1)).toMatchObject({ status: 200, cache: 'hit', verification: 'verified' });
    expect(upstream.count(zipPath(host))).toBe(1);
  }, 60_000);

  it('go list -m -versions golang.org/toolchain, go get toolchain@go1.99.0 and @v/list through godepot', async () => {
    const listed = await fetch(`${godepot.url}/golang.org/toolchain/@v/list`);
    expect(listed.status).toBe(200);
    expect((await listed.text()).split('\n').filter(Boolean).sort()).toEqual(all.map((m) => m.version).sort());

    const home = await dirs.make();
    const env = sumdbEnv(home, godepot.url, sumdb.vkey, { GOTOOLCHAIN: 'local', ...goFlags });
    const r = await runGo(['list', '-m', '-versions', 'golang.org/toolchain'], { cwd: home, env, timeoutMs: 30_000 });
    expect(r.code, describeRun(r)).toBe(0);
    const [name, ...versions] = r.stdout.trim().split(' ');
    expect(name).toBe('golang.org/toolchain');
    expect(versions.sort()).toEqual(all.map((m) => m.version).sort());

    // `go get toolchain@…` checks the version exists by its linux-amd64 .info.
    await writeFile(join(home, 'go.mod'), 'module example.com/app\n\ngo 1.21\n');
    const g = await runGo(['get', 'toolchain@go1.99.0'], { cwd: home, env, timeoutMs: 30_000 });
    expect(g.code, describeRun(g)).toBe(0);
    expect(await readFile(join(home, 'go.mod'), 'utf8')).toContain('toolchain go1.99.0\n');
    expect(served('/golang.org/toolchain/@v/v0.0.1-go1.99.0.linux-amd64.info')).toMatchObject([{ status: 200 }]);

    // `go mod download` of the toolchain module itself: its go.sum lines are the database's.
    const d = await runGo(['mod', 'download', '-json', `${host.path}@${host.version}`], {
      cwd: home,
      env,
      timeoutMs: 30_000,
    });
    expect(d.code, describeRun(d)).toBe(0);
    expect(JSON.parse(d.stdout)).toMatchObject({ Sum: host.h1, GoModSum: host.goModH1 });
  }, 90_000);

  it('a toolchain no upstream has: the go command says it is not available (a 404 from godepot)', async () => {
    const home = await dirs.make();
    for (const [want, said] of [
      ['go1.97.0', `go: download go1.97.0 for ${goos}/${goarch}: toolchain not available`],
      ['go1.99', 'go: invalid toolchain: go1.99 is a language version but not a toolchain version (go1.99.x)'],
    ]) {
      const env = sumdbEnv(home, godepot.url, sumdb.vkey, { GOTOOLCHAIN: want ?? '', ...goFlags });
      const r = await runGo(['version'], { cwd: home, env, timeoutMs: 30_000 });
      expect(r.code, describeRun(r)).toBe(1);
      expect(r.stderr.trim().split('\n').at(-1)).toBe(said);
    }
  }, 60_000);

  it('three CI jobs switching to an uncached toolchain at once: all run it, the upstream is asked once', async () => {
    const m = all.find((x) => x.version === `v0.0.1-go1.98.3.${goos}-${goarch}`)!;
    const runs = await Promise.all(
      [0, 1, 2].map(async () => {
        const home = await dirs.make();
        const env = sumdbEnv(home, godepot.url, sumdb.vkey, { GOTOOLCHAIN: 'go1.98.3', ...goFlags });
        return runGo(['version'], { cwd: home, env, timeoutMs: 30_000 });
      }),
    );
    for (const r of runs) {
      expect(r.code, describeRun(r)).toBe(0);
      expect(r.stdout).toBe(`go version go1.98.3 ${goos}/${goarch}\n`);
    }
    expect(upstream.count(zipPath(m))).toBe(1);
    expect(served(zipPath(m))).toHaveLength(3);
    for (const l of served(zipPath(m))) expect(l).toMatchObject({ status: 200, verification: 'verified' });
  }, 60_000);
});
