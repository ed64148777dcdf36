// Fixture modules and what a proxy serves for them: .info, .mod and .zip
// bytes (the zip made by Go's Create rules), their h1 hashes and the go.sum
// lines a checksum database records for them.
import { hashFiles, hashGoMod } from '../../src/modzip/index.js';
import { isPseudoVersion, pseudoVersionTime } from '../../src/module/index.js';
import { createModuleZip, rawZip } from '../support/modzip.js';
import { readZipEntries } from './zipread.js';

export { buildApp, SHAPES, APP_PATH, type FixtureApp, type FixtureTool, type FixtureWorld } from './app.js';

export interface FixtureModule {
  path: string;
  version: string;
  /** Files of the module tree, relative to its root. Create's rules decide which reach the zip. */
  files: Record<string, string | Buffer>;
  /**
   * The .mod body. Default: files['go.mod'], or `module <path>\n` when there
   * is none (the +incompatible / no-go.mod case).
   */
  goMod?: string;
  /** RFC 3339 time for .info. Default: the pseudo-version's time, else 2023-01-01T00:00:00Z. */
  time?: string;
  /** The .info's Origin (where the version came from), as proxy.golang.org serves it for recent versions. */
  origin?: Record<string, string>;
}

export interface BuiltModule {
  path: string;
  version: string;
  time: string;
  /** `{"Version":…,"Time":…}` */
  info: Buffer;
  mod: Buffer;
  zip: Buffer;
  /** Entry names in the zip, as stored (with the `<path>@<version>/` prefix). */
  zipEntries: string[];
  /** dirhash of the zip: go.sum's `<path> <version> h1:…` */
  h1: string;
  /** dirhash of .mod: go.sum's `<path> <version>/go.mod h1:…` */
  goModH1: string;
  /** The two go.sum lines (each ending in '\n'): exactly the checksum database's record text. */
  goSum: string;
  /** The fixture this was built from. */
  fixture: FixtureModule;
}

const DEFAULT_TIME = '2023-01-01T00:00:00Z';

export function isBuiltModule(m: FixtureModule | BuiltModule): m is BuiltModule {
  return 'zip' in m && Buffer.isBuffer(m.zip);
}

/** The .mod body a proxy serves for the fixture. */
export function fixtureGoMod(m: FixtureModule): string {
  if (m.goMod !== undefined) return m.goMod;
  const file = m.files['go.mod'];
  if (file !== undefined) return file.toString();
  return `module ${m.path}\n`;
}

function fixtureTime(m: FixtureModule): string {
  if (m.time !== undefined) return m.time;
  if (isPseudoVersion(m.version)) return pseudoVersionTime(m.version).toISOString().replace('.000Z', 'Z');
  return DEFAULT_TIME;
}

/** Builds the served bytes and hashes of a fixture module version. */
export async function buildModule(m: FixtureModule): Promise<BuiltModule> {
  const time = fixtureTime(m);
  const mod = Buffer.from(fixtureGoMod(m));
  const zip = await createModuleZip({ path: m.path, version: m.version }, m.files);
  const entries = await readZipEntries(zip);
  const h1 = hashFiles(entries);
  const goModH1 = hashGoMod(mod);
  return {
    path: m.path,
    version: m.version,
    time,
    info: Buffer.from(JSON.stringify({ Version: m.version, Time: time, ...(m.origin ? { Origin: m.origin } : {}) })),
    mod,
    zip,
    zipEntries: entries.map((e) => e.name),
    h1,
    goModH1,
    goSum: `${m.path} ${m.version} ${h1}\n${m.path} ${m.version}/go.mod ${goModH1}\n`,
    fixture: m,
  };
}

export function buildModules(ms: Iterable<FixtureModule>): Promise<BuiltModule[]> {
  return Promise.all([...ms].map(buildModule));
}

/**
 * A golang.org/toolchain version (`v0.0.1-<go>.<goos>-<goarch>`) shaped as
 * cmd/distpack makes them: no root go.mod (the .mod is `module
 * golang.org/toolchain`), the tree's go.mod files renamed _go.mod, vendor/
 * folders kept — so its zip is written entry by entry, not by Create's
 * rules. bin/go is a shell script that the go command runs when GOTOOLCHAIN
 * selects this version: for `version` it prints `go version <go> <goos>/<goarch>`
 * as that release would, for anything else `fake <go> toolchain: <args>`.
 */
export async function buildToolchain(go: string, goos: string, goarch: string): Promise<BuiltModule> {
  const path = 'golang.org/toolchain';
  const version = `v0.0.1-${go}.${goos}-${goarch}`;
  const files: Record<string, string> = {
    'bin/go': `#!/bin/sh\n[ "$*" = version ] && exec echo "go version ${go} ${goos}/${goarch}"\necho "fake ${go} toolchain: $*"\n`,
    'bin/gofmt': '#!/bin/sh\n',
    VERSION: `${go}\ntime ${DEFAULT_TIME}\n`,
    'lib/wasm/go_js_wasm_exec': '#!/bin/sh\n',
    [`pkg/tool/${goos}_${goarch}/compile`]: '#!/bin/sh\n',
    'src/_go.mod': 'module std\n',
    'src/cmd/_go.mod': 'module cmd\n',
    'src/vendor/modules.txt': '# golang.org/x/net v0.0.0\n',
    'src/vendor/golang.org/x/net/http/httpguts/guts.go': 'package httpguts\n',
  };
  const prefix = `${path}@${version}/`;
  const zip = await rawZip(Object.entries(files).map(([name, data]) => ({ name: prefix + name, data })));
  const mod = Buffer.from(`module ${path}\n`);
  const h1 = hashFiles(await readZipEntries(zip));
  const goModH1 = hashGoMod(mod);
  return {
    path,
    version,
    time: DEFAULT_TIME,
    info: Buffer.from(JSON.stringify({ Version: version, Time: DEFAULT_TIME })),
    mod,
    zip,
    zipEntries: Object.keys(files).map((name) => prefix + name),
    h1,
    goModH1,
    goSum: `${path} ${version} ${h1}\n${path} ${version}/go.mod ${goModH1}\n`,
    fixture: { path, version, files, goMod: mod.toString() },
  };
}
