// An upstream GOPROXY on loopback (PROTOCOL.md §1.1, §6): list (no
// pseudo-versions), @latest (release > prerelease > pseudo), .info, .mod and
// .zip, case-encoded paths with `!` or `%21`, 404 for anything unknown; plus
// the fault switches of FakeHttpServer and `alter` (valid bytes, wrong hash).
import { isPseudoVersion, prerelease, sortVersions, unescapePath, unescapeVersion } from '../../src/module/index.js';
import type { Fault, LoggedRequest } from './faults.js';
import { FakeHttpServer, notFound, textReply, type Delegation, type Reply } from './httpfake.js';
import { buildModule, isBuiltModule, type BuiltModule, type FixtureModule } from './modules.js';
import type { FakeSumDb } from './sumdb.js';

/** A data tile below a checksum database's mount: `/tile/<H>/data/…`. */
const DATA_TILE = /\/tile\/\d+\/data\//;

/** What a proxy request asks for, once parsed. */
export type ProxyQuery =
  | { kind: 'list'; path: string }
  | { kind: 'latest'; path: string }
  | { kind: 'info' | 'mod' | 'zip'; path: string; version: string };

export interface FakeGoProxyOptions {
  /** Path prefix the proxy is served under, e.g. `/goproxy`. Default: the root. */
  prefix?: string;
}

const KIND_BY_EXT: Record<string, 'info' | 'mod' | 'zip'> = { '.info': 'info', '.mod': 'mod', '.zip': 'zip' };

/**
 * Parses a proxy path below the base (already percent-decoded). Returns null
 * for anything that is not a well-formed proxy request.
 */
export function parseProxyPath(decoded: string): ProxyQuery | null {
  try {
    if (decoded.endsWith('/@latest')) {
      return { kind: 'latest', path: unescapePath(decoded.slice(1, -'/@latest'.length)) };
    }
    const at = decoded.lastIndexOf('/@v/');
    if (at < 1) return null;
    const path = unescapePath(decoded.slice(1, at));
    const file = decoded.slice(at + '/@v/'.length);
    if (file === 'list') return { kind: 'list', path };
    const dot = file.lastIndexOf('.');
    const kind = dot > 0 ? KIND_BY_EXT[file.slice(dot)] : undefined;
    if (kind === undefined) return null;
    return { kind, path, version: unescapeVersion(file.slice(0, dot)) };
  } catch {
    return null;
  }
}

/** The proxy's @latest rule: highest release, else highest prerelease, else highest pseudo-version. */
export function latestVersion(versions: readonly string[]): string | undefined {
  const pick = (vs: string[]): string | undefined => sortVersions(vs).pop();
  const tagged = versions.filter((v) => !isPseudoVersion(v));
  return (
    pick(tagged.filter((v) => prerelease(v) === '')) ??
    pick(tagged.filter((v) => prerelease(v) !== '')) ??
    pick(versions.filter((v) => isPseudoVersion(v)))
  );
}

export class FakeGoProxy extends FakeHttpServer {
  private readonly byPath = new Map<string, Map<string, BuiltModule>>();
  private readonly altered = new Map<string, Promise<BuiltModule>>();
  private readonly mounts = new Map<string, FakeSumDb>();
  /** Mounts whose data tiles are passed through too (mountSumDb). */
  private readonly dataTileMounts = new Set<string>();
  /** `.info` answers for queries (a branch, a commit hash): `path@query` → the version they name. */
  private readonly queries = new Map<string, string>();

  private constructor(readonly prefix: string) {
    super(['alter']);
  }

  static async start(
    modules: Iterable<FixtureModule | BuiltModule> = [],
    options: FakeGoProxyOptions = {},
  ): Promise<FakeGoProxy> {
    const prefix = (options.prefix ?? '').replace(/\/+$/, '');
    const proxy = new FakeGoProxy(prefix);
    await proxy.addAll(modules);
    await proxy.listen();
    return proxy;
  }

  /** The GOPROXY URL (origin plus prefix). */
  get url(): string {
    return this.origin + this.prefix;
  }

  /** Adds (or replaces) a module version; a fixture is built first. */
  async add(m: FixtureModule | BuiltModule): Promise<BuiltModule> {
    const built = isBuiltModule(m) ? m : await buildModule(m);
    let versions = this.byPath.get(built.path);
    if (versions === undefined) {
      versions = new Map();
      this.byPath.set(built.path, versions);
    }
    versions.set(built.version, built);
    this.altered.delete(`${built.path}@${built.version}`);
    return built;
  }

  async addAll(ms: Iterable<FixtureModule | BuiltModule>): Promise<BuiltModule[]> {
    return Promise.all([...ms].map((m) => this.add(m)));
  }

  /** Removes one version, or the whole module when version is omitted. Reports whether anything was removed. */
  remove(path: string, version?: string): boolean {
    const versions = this.byPath.get(path);
    if (versions === undefined) return false;
    if (version === undefined) return this.byPath.delete(path);
    const removed = versions.delete(version);
    if (versions.size === 0) this.byPath.delete(path);
    return removed;
  }

  /**
   * Makes `.info` of `query` (a commit hash, a branch) answer the info of
   * `version`, as proxy.golang.org resolves a query it can ask the origin
   * about. Without one, a query is a 404 like any unknown version.
   */
  alias(path: string, query: string, version: string): void {
    this.queries.set(`${path}@${query}`, version);
  }

  /** The true module version as served without faults. */
  get(path: string, version: string): BuiltModule | undefined {
    return this.byPath.get(path)?.get(version);
  }

  /** Every module version held, in insertion order. */
  all(): BuiltModule[] {
    return [...this.byPath.values()].flatMap((vs) => [...vs.values()]);
  }

  /** All versions of a module (pseudo-versions included), sorted. */
  versions(path: string): string[] {
    return sortVersions([...(this.byPath.get(path)?.keys() ?? [])]);
  }

  /** The version @latest answers, if the module is known. */
  latest(path: string): string | undefined {
    return latestVersion(this.versions(path));
  }

  /**
   * Serves a checksum database below `/sumdb/<name>/` (and `supported`), the
   * way a proxy that proxies the sumdb does. The database applies its own
   * faults and log to those requests, after this proxy's. Data tiles are
   * refused as proxy.golang.org refuses them (seen 2026-12-05: `403 Go
   * module path not permitted` for every `/sumdb/sum.golang.org/tile/8/data/…`,
   * while lookups, hash tiles and `latest` are served), unless
   * `dataTiles` (a proxy that passes every path through, as Athens and
   * goproxy/goproxy do).
   */
  mountSumDb(db: FakeSumDb, name: string = db.name, opts: { dataTiles?: boolean } = {}): void {
    this.mounts.set(name, db);
    if (opts.dataTiles) this.dataTileMounts.add(name);
    else this.dataTileMounts.delete(name);
  }

  protected override delegate(rawPath: string): Delegation | undefined {
    const base = `${this.prefix}/sumdb/`;
    if (!rawPath.startsWith(base)) return undefined;
    const rest = rawPath.slice(base.length);
    for (const [name, db] of this.mounts) {
      if (!rest.startsWith(`${name}/`)) continue;
      const below = rest.slice(name.length);
      if (DATA_TILE.test(below) && !this.dataTileMounts.has(name)) return undefined;
      return { target: db, path: db.prefix + below };
    }
    return undefined;
  }

  /** The bytes `alter` serves for a version: one file changed, so the zip is valid but its h1 differs. */
  alteredModule(m: BuiltModule): Promise<BuiltModule> {
    const key = `${m.path}@${m.version}`;
    let p = this.altered.get(key);
    if (p === undefined) {
      p = buildModule(alterFixture(m.fixture));
      this.altered.set(key, p);
    }
    return p;
  }

  protected override async reply(rawPath: string, request: LoggedRequest, fault: Fault | undefined): Promise<Reply> {
    if (!rawPath.startsWith(`${this.prefix}/`)) return notFound(rawPath);
    if (rawPath.startsWith(`${this.prefix}/sumdb/`) && DATA_TILE.test(rawPath))
      return textReply(403, 'Go module path not permitted\n');
    let decoded: string;
    try {
      decoded = decodeURIComponent(rawPath.slice(this.prefix.length));
    } catch {
      return notFound(request.path);
    }
    const q = parseProxyPath(decoded);
    if (q === null) return notFound(decoded);
    const versions = this.byPath.get(q.path);
    if (versions === undefined) return notFound(`module ${q.path}`);
    if (q.kind === 'list') {
      const tags = sortVersions([...versions.keys()].filter((v) => !isPseudoVersion(v)));
      return textReply(200, tags.map((v) => `${v}\n`).join(''));
    }
    if (q.kind === 'latest') {
      const v = latestVersion([...versions.keys()]);
      const m = v === undefined ? undefined : versions.get(v);
      return m === undefined ? notFound(`${q.path}@latest`) : jsonReply(m.info);
    }
    const aliased = q.kind === 'info' ? this.queries.get(`${q.path}@${q.version}`) : undefined;
    const found = versions.get(aliased ?? q.version);
    if (found === undefined) return notFound(`${q.path}@${q.version}`);
    const m = fault?.kind === 'alter' && q.kind !== 'info' ? await this.alteredModule(found) : found;
    switch (q.kind) {
      case 'info':
        return jsonReply(m.info);
      case 'mod':
        return { status: 200, contentType: 'text/plain; charset=utf-8', body: m.mod };
      case 'zip':
        return { status: 200, contentType: 'application/zip', body: m.zip };
    }
  }
}

function jsonReply(body: Buffer): Reply {
  return { status: 200, contentType: 'application/json', body };
}

/** The fixture with one Go file (or a marker file) and its go.mod changed. */
function alterFixture(f: FixtureModule): FixtureModule {
  const files: Record<string, string | Buffer> = { ...f.files };
  const goFile = Object.keys(files)
    .filter((n) => n.endsWith('.go') && !n.includes('/'))
    .sort()[0];
  if (goFile !== undefined) files[goFile] = `${String(files[goFile])}\n// altered by the fake proxy\n`;
  else files['ALTERED'] = 'altered by the fake proxy\n';
  const goMod = f.goMod ?? (typeof files['go.mod'] !== 'undefined' ? String(files['go.mod']) : undefined);
  const altered: FixtureModule = { ...f, files };
  if (goMod !== undefined) {
    const changed = `${goMod}// altered by the fake proxy\n`;
    if (files['go.mod'] !== undefined) files['go.mod'] = changed;
    altered.goMod = changed;
  } else {
    altered.goMod = `module ${f.path}\n// altered by the fake proxy\n`;
  }
  return altered;
}
