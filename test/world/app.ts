// The fixture world's modules: every awkward shape a Go proxy meets, each one
// used by an app (a main module importing a package from every module), plus
// generated interdependent modules and a tool for `go install tool@version`.
// Each package has one func, Name(), returning "<module>@<version>", and the
// app prints one line per import: its output shows what MVS selected.
import { compare } from '../../src/module/index.js';
import type { FixtureModule } from './modules.js';

/** The named shapes, so tests can refer to them without repeating paths. */
export const SHAPES = {
  upper: { path: 'example.com/Upper/Lib', version: 'v1.0.0', escaped: 'example.com/!upper/!lib' },
  majorV1: { path: 'example.com/major', version: 'v1.5.0' },
  majorV2: { path: 'example.com/major/v2', versions: ['v2.0.0', 'v2.1.0'], version: 'v2.1.0' },
  incompatible: {
    path: 'example.com/incompat',
    versions: ['v1.0.0', 'v2.0.0+incompatible'],
    version: 'v2.0.0+incompatible',
  },
  pseudo: { path: 'example.com/pseudo', version: 'v0.0.0-20240102030405-abcdef123456' },
  pseudoAfterTag: { path: 'example.com/pseudotag', tag: 'v1.0.0', version: 'v1.0.1-0.20240301040506-0123456789ab' },
  gopkgin: { path: 'gopkg.in/yaml-ish.v1', version: 'v1.2.3' },
  prerelease: { path: 'example.com/pre', versions: ['v1.0.0', 'v1.1.0-beta.1'], version: 'v1.1.0-beta.1' },
  retract: {
    path: 'example.com/retract',
    versions: ['v1.0.0', 'v1.1.0', 'v1.2.0'],
    retracted: 'v1.1.0',
    version: 'v1.2.0',
  },
  /** Its tree has a nested module (inner/) and vendored packages that Create must drop. */
  nested: {
    path: 'example.com/nested',
    version: 'v1.0.0',
    dropped: ['inner/go.mod', 'inner/inner.go', 'vendor/example.com/dep/dep.go'],
  },
  /** The app requires appRequires, example.com/gen/m04 requires selected, latest is newer still. */
  mvs: {
    path: 'example.com/mvs',
    versions: ['v1.0.0', 'v1.1.0', 'v1.2.0', 'v1.3.0'],
    appRequires: 'v1.1.0',
    selected: 'v1.2.0',
    latest: 'v1.3.0',
  },
} as const;

export const APP_PATH = 'example.com/app';
export const GO_LINE = 'go 1.21';

export interface FixtureApp {
  path: string;
  /** go.mod (requirements only; `go mod tidy` completes it and writes go.sum) and main.go. */
  files: Record<string, string>;
  /** The lines the built app prints: `<package>@<selected version>` per imported package, in import order. */
  expectedOutput: string[];
  /** Module path → version MVS selects, for every module in the app's build list. */
  selected: Record<string, string>;
}

export interface FixtureTool {
  path: string;
  version: string;
  /** The main package: `go install <pkg>@<version>`. */
  pkg: string;
  /** The installed binary's name (in $GOPATH/bin). */
  binary: string;
  expectedOutput: string[];
}

export interface FixtureWorld {
  /** Every module version the upstream serves (app dependencies and the tool). */
  modules: FixtureModule[];
  app: FixtureApp;
  tool: FixtureTool;
}

interface Require {
  path: string;
  version: string;
}

/** A package the app imports: its import path and the module that provides it. */
interface Provided {
  importPath: string;
  module: string;
}

const BASE_TIME = Date.UTC(2023, 0, 1);

interface AddOptions {
  /** No go.mod in the tree (the +incompatible shape): the proxy synthesizes `module <path>`. */
  noGoMod?: boolean;
  /** Packages the root package imports (and whose Name() Deps() returns). */
  imports?: string[];
  /** Appended to go.mod, e.g. retract directives. */
  extraGoMod?: string;
  time?: string;
}

class WorldBuilder {
  readonly modules: FixtureModule[] = [];
  private clock = 0;

  /** Adds a module version whose root package has Name(); returns it so callers can add files. */
  add(path: string, version: string, requires: Require[], options: AddOptions = {}): FixtureModule {
    const files: Record<string, string> = {};
    if (options.noGoMod !== true) files['go.mod'] = goMod(path, requires, options.extraGoMod ?? '');
    files['lib.go'] = goPackage(packageName(path), `${path}@${version}`, options.imports ?? []);
    this.clock += 1;
    const time = options.time ?? new Date(BASE_TIME + this.clock * 60_000).toISOString().replace('.000Z', 'Z');
    const mod: FixtureModule = { path, version, files, time };
    this.modules.push(mod);
    return mod;
  }

  requiresOf(path: string, version: string): Require[] {
    const m = this.modules.find((x) => x.path === path && x.version === version);
    if (m === undefined) throw new Error(`unknown fixture ${path}@${version}`);
    return parseRequires(m.files['go.mod']);
  }
}

function packageName(path: string): string {
  const last =
    path
      .split('/')
      .filter((e) => !/^v[0-9]+$/.test(e))
      .pop() ?? 'lib';
  const name = last
    .toLowerCase()
    .replace(/\.v[0-9]+$/, '')
    .replace(/[^a-z0-9]/g, '');
  return /^[a-z]/.test(name) ? name : `p${name}`;
}

function goMod(path: string, requires: Require[], extra: string): string {
  const req =
    requires.length === 0 ? '' : `\nrequire (\n${requires.map((r) => `\t${r.path} ${r.version}\n`).join('')})\n`;
  return `module ${path}\n\n${GO_LINE}\n${req}${extra}`;
}

function goPackage(name: string, id: string, imports: string[]): string {
  const aliases = imports.map((p, i) => `\td${i} ${JSON.stringify(p)}\n`).join('');
  const importBlock = imports.length === 0 ? '' : `import (\n${aliases})\n\n`;
  const deps = imports.map((_, i) => `d${i}.Name()`).join(', ');
  return (
    `package ${name}\n\n${importBlock}` +
    `// Name identifies the module version this package was built from.\n` +
    `func Name() string { return ${JSON.stringify(id)} }\n` +
    (imports.length === 0
      ? ''
      : `\n// Deps names the module versions this package imports.\n` +
        `func Deps() []string { return []string{${deps}} }\n`)
  );
}

function parseRequires(goModText: string | Buffer | undefined): Require[] {
  if (goModText === undefined) return [];
  const out: Require[] = [];
  for (const line of goModText.toString().split('\n')) {
    const m = /^\s+(\S+) (v\S+)/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out.push({ path: m[1], version: m[2] });
  }
  return out;
}

/** Requirements with the transitive closure added, highest version per path (a tidy go.mod's view). */
function closure(builder: WorldBuilder, direct: Require[]): Require[] {
  const best = new Map<string, string>();
  const visit = (r: Require): void => {
    const seen = best.get(r.path);
    if (seen !== undefined && compare(seen, r.version) >= 0) return;
    best.set(r.path, r.version);
    for (const dep of builder.requiresOf(r.path, r.version)) visit(dep);
  };
  direct.forEach(visit);
  return [...best]
    .map(([path, version]) => ({ path, version }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * MVS over the whole requirement graph: every module version reachable from
 * the root contributes its requirements; the highest version of each path wins.
 */
function selectVersions(builder: WorldBuilder, roots: Require[]): Map<string, string> {
  const selected = new Map<string, string>();
  const visited = new Set<string>();
  const queue = [...roots];
  for (let r = queue.shift(); r !== undefined; r = queue.shift()) {
    const key = `${r.path}@${r.version}`;
    if (visited.has(key)) continue;
    visited.add(key);
    const cur = selected.get(r.path);
    if (cur === undefined || compare(r.version, cur) > 0) selected.set(r.path, r.version);
    queue.push(...builder.requiresOf(r.path, r.version));
  }
  return selected;
}

/** The fixed shapes; returns the packages the app imports and what it requires. */
function addShapes(b: WorldBuilder): { provided: Provided[]; requires: Require[] } {
  const S = SHAPES;
  b.add(S.upper.path, S.upper.version, []);
  b.add(S.majorV1.path, S.majorV1.version, []);
  for (const v of S.majorV2.versions) b.add(S.majorV2.path, v, []);
  b.add(S.incompatible.path, 'v1.0.0', [], { noGoMod: true });
  b.add(S.incompatible.path, S.incompatible.version, [], { noGoMod: true });
  b.add(S.pseudo.path, S.pseudo.version, [], { time: '2024-01-02T03:04:05Z' });
  b.add(S.pseudoAfterTag.path, S.pseudoAfterTag.tag, []);
  b.add(S.pseudoAfterTag.path, S.pseudoAfterTag.version, [], { time: '2024-03-01T04:05:06Z' });
  b.add(S.gopkgin.path, S.gopkgin.version, []);
  for (const v of S.prerelease.versions) b.add(S.prerelease.path, v, []);
  b.add(S.retract.path, 'v1.0.0', []);
  b.add(S.retract.path, 'v1.1.0', []);
  b.add(S.retract.path, 'v1.2.0', [], {
    extraGoMod: `\n// v1.1.0 was published by mistake.\nretract ${S.retract.retracted}\n`,
  });
  const nested = b.add(S.nested.path, S.nested.version, []);
  nested.files['util/util.go'] = goPackage('util', `${S.nested.path}/util@${S.nested.version}`, []);
  // Create drops a nested module's directory and vendored packages.
  nested.files['inner/go.mod'] = `module ${S.nested.path}/inner\n\n${GO_LINE}\n`;
  nested.files['inner/inner.go'] = 'package inner\n\nthis does not compile: it must never reach the zip\n';
  nested.files['vendor/example.com/dep/dep.go'] = 'package dep\n\nthis does not compile either\n';
  nested.files['vendor/modules.txt'] = '# example.com/dep v1.0.0\n## explicit\nexample.com/dep\n';
  for (const v of S.mvs.versions) b.add(S.mvs.path, v, []);

  const requires: Require[] = [
    { path: S.upper.path, version: S.upper.version },
    { path: S.majorV1.path, version: S.majorV1.version },
    { path: S.majorV2.path, version: S.majorV2.version },
    { path: S.incompatible.path, version: S.incompatible.version },
    { path: S.pseudo.path, version: S.pseudo.version },
    { path: S.pseudoAfterTag.path, version: S.pseudoAfterTag.version },
    { path: S.gopkgin.path, version: S.gopkgin.version },
    { path: S.prerelease.path, version: S.prerelease.version },
    { path: S.retract.path, version: S.retract.version },
    { path: S.nested.path, version: S.nested.version },
    { path: S.mvs.path, version: S.mvs.appRequires },
  ];
  const provided: Provided[] = requires.map((r) => ({ importPath: r.path, module: r.path }));
  provided.push({ importPath: `${S.nested.path}/util`, module: S.nested.path });
  return { provided, requires };
}

/** Number of fixed shape modules (distinct paths) added by addShapes, plus the tool. */
const SHAPE_MODULES = 12;

function genPath(i: number): string {
  return `example.com/gen/m${String(i).padStart(2, '0')}`;
}

/** Generated module i: imports m(i/2) and m(i/3), a few also import shapes; every 7th has two versions. */
function addGenerated(b: WorldBuilder, count: number): { provided: Provided[]; requires: Require[] } {
  const versionsOf = (i: number): string[] => (i % 7 === 3 ? ['v1.0.0', 'v1.1.0'] : ['v1.0.0']);
  const shapeDeps: Record<number, Require> = {
    4: { path: SHAPES.mvs.path, version: SHAPES.mvs.selected },
    5: { path: SHAPES.upper.path, version: SHAPES.upper.version },
    6: { path: SHAPES.prerelease.path, version: 'v1.0.0' },
    8: { path: SHAPES.gopkgin.path, version: SHAPES.gopkgin.version },
  };
  for (let i = 0; i < count; i++) {
    const direct: Require[] = [];
    for (const j of new Set([Math.floor(i / 2), Math.floor(i / 3)])) {
      if (j >= i) continue;
      const vs = versionsOf(j);
      direct.push({ path: genPath(j), version: (i % 2 === 0 ? vs[0] : vs[vs.length - 1]) ?? 'v1.0.0' });
    }
    const shape = shapeDeps[i];
    if (shape !== undefined) direct.push(shape);
    const requires = closure(b, direct);
    for (const v of versionsOf(i)) b.add(genPath(i), v, requires, { imports: direct.map((r) => r.path) });
  }
  const requires = Array.from({ length: count }, (_, i) => ({ path: genPath(i), version: 'v1.0.0' }));
  return { provided: requires.map((r) => ({ importPath: r.path, module: r.path })), requires };
}

/**
 * The world: about n module paths (at least the 12 shapes) with their versions,
 * the app that imports a package from every one, and the tool.
 */
export function buildApp(n = 60): FixtureWorld {
  const b = new WorldBuilder();
  const shapes = addShapes(b);
  const gen = addGenerated(b, Math.max(1, n - SHAPE_MODULES));
  const toolPath = 'example.com/tool';
  const toolReq = [
    { path: SHAPES.upper.path, version: SHAPES.upper.version },
    { path: genPath(0), version: 'v1.0.0' },
  ];
  for (const version of ['v1.0.0', 'v1.1.0']) {
    const tool = b.add(toolPath, version, toolReq);
    delete tool.files['lib.go'];
    tool.files['cmd/hello/main.go'] = mainPackage(
      toolReq.map((r) => r.path),
      `${toolPath}/cmd/hello@${version}`,
    );
  }

  const provided = [...shapes.provided, ...gen.provided];
  const requires = [...shapes.requires, ...gen.requires];
  const selected = selectVersions(b, requires);
  const appGoMod = goMod(APP_PATH, requires, '');
  const expectedOutput = provided.map((p) => {
    const v = selected.get(p.module) ?? '?';
    return p.importPath === p.module ? `${p.module}@${v}` : `${p.importPath}@${v}`;
  });
  const toolSelected = selectVersions(b, toolReq);
  return {
    modules: b.modules,
    app: {
      path: APP_PATH,
      files: { 'go.mod': appGoMod, 'main.go': mainPackage(provided.map((p) => p.importPath)) },
      expectedOutput,
      selected: Object.fromEntries(selected),
    },
    tool: {
      path: toolPath,
      version: 'v1.0.0',
      pkg: `${toolPath}/cmd/hello`,
      binary: 'hello',
      expectedOutput: [
        `${toolPath}/cmd/hello@v1.0.0`,
        ...toolReq.map((r) => `${r.path}@${toolSelected.get(r.path) ?? '?'}`),
      ],
    },
  };
}

/** A main package printing its own id (if given) and then Name() of every import, one per line. */
function mainPackage(imports: string[], id?: string): string {
  const aliases = imports.map((p, i) => `\tm${i} ${JSON.stringify(p)}\n`).join('');
  const prints = imports.map((_, i) => `\tprintln(m${i}.Name())\n`).join('');
  const self = id === undefined ? '' : `\tprintln(${JSON.stringify(id)})\n`;
  return `package main\n\nimport (\n${aliases})\n\nfunc main() {\n${self}${prints}}\n`;
}
