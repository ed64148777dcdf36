// A checksum database on loopback (PROTOCOL.md §2): /latest, /lookup and
// /tile with Go's status rules, signed with a test key, with faults that a
// verifying client must catch (altered records and tiles, a forged
// signature, a forked history).
import { escapePath, escapeVersion, unescapePath, unescapeVersion } from '../../src/module/index.js';
import { formatRecord, formatTree, parseTilePath, type Tile } from '../../src/sumdb/tlog/index.js';
import type { Fault, LoggedRequest } from './faults.js';
import { FakeHttpServer, notFound, textReply, type Reply } from './httpfake.js';
import { SumLog, type LogRecord } from './sumlog.js';
import { makeSigners, TEST_KEY, type SumDbKey, type SumDbSigners } from './sumkeys.js';

export { TEST_KEY, type SumDbKey } from './sumkeys.js';

/** What a record needs: the two go.sum hashes of a module version. */
export interface SumRecordInput {
  path: string;
  version: string;
  h1: string;
  goModH1: string;
}

/** Anything that can answer "what are the true hashes of path@version" (FakeGoProxy can). */
export interface ModuleSource {
  get(path: string, version: string): SumRecordInput | undefined | Promise<SumRecordInput | undefined>;
}

export interface FakeSumDbOptions {
  /** The signing key: the golang/mod test key (default), a given pair, or 'generate' a fresh one. */
  key?: SumDbKey | 'generate';
  /** Name for a generated key (default `localhost.localdev/sumdb`). */
  name?: string;
  /** Path this database is served under on its own server, e.g. `/sumdb/localhost.localdev/sumdb`. Default: the root. */
  prefix?: string;
  /** Records to append at start, in order. */
  records?: SumRecordInput[];
}

/** The go.sum lines of a module version: the record text the database holds for it. */
export function recordText(m: SumRecordInput): string {
  return `${m.path} ${m.version} ${m.h1}\n${m.path} ${m.version}/go.mod ${m.goModH1}\n`;
}

const LOOKUP_SYNTAX = /^[^@]+@v[0-9]+\.[0-9]+\.[0-9]+(-[^@]*)?(\+incompatible)?$/;
const NOTE_TYPE = 'text/plain; charset=UTF-8';

export class FakeSumDb extends FakeHttpServer {
  readonly log = new SumLog();
  private source: ModuleSource | undefined;
  private forks = 0;

  private constructor(
    private readonly signers: SumDbSigners,
    readonly prefix: string,
  ) {
    super(['alterRecord', 'alterTile', 'badSignature']);
  }

  static async start(options: FakeSumDbOptions = {}): Promise<FakeSumDb> {
    const prefix = (options.prefix ?? '').replace(/\/+$/, '');
    if (prefix !== '' && !prefix.startsWith('/')) throw new Error(`sumdb prefix must start with '/': ${prefix}`);
    const db = new FakeSumDb(makeSigners(options.key ?? TEST_KEY, options.name), prefix);
    await db.addAll(options.records ?? []);
    await db.listen();
    return db;
  }

  /** The database name (the key's name), e.g. `localhost.localdev/sumdb`. */
  get name(): string {
    return this.signers.name;
  }

  get vkey(): string {
    return this.signers.key.vkey;
  }

  get skey(): string {
    return this.signers.key.skey;
  }

  /** Base URL of the database: server origin plus prefix. */
  get url(): string {
    return this.origin + this.prefix;
  }

  /** The GOSUMDB value that makes the go command talk to this database directly. */
  get gosumdb(): string {
    return `${this.vkey} ${this.url}`;
  }

  get size(): number {
    return this.log.size;
  }

  /** Appends the module version's record (once); resolves to its id. */
  add(m: SumRecordInput): Promise<number> {
    return this.log.append(`${m.path}@${m.version}`, Buffer.from(recordText(m)));
  }

  async addAll(ms: Iterable<SumRecordInput>): Promise<number[]> {
    const ids: number[] = [];
    for (const m of ms) ids.push(await this.add(m));
    return ids;
  }

  /** Appends an arbitrary record (valid record text) under an optional path@version key. */
  addRecord(text: string, key: string | null = null): Promise<number> {
    return this.log.append(key, Buffer.from(text));
  }

  /**
   * Like Go's sumdb.TestServer: a lookup of a version the log lacks asks the
   * source and appends its record then (so ids follow lookup order). Pass
   * undefined to stop.
   */
  autoAddFrom(source: ModuleSource | undefined): void {
    this.source = source;
  }

  /** The signed note of the current tree (what /latest serves). */
  async signedTree(): Promise<Buffer> {
    const n = this.log.size;
    const text = formatTree({ n, hash: await this.log.treeHash(n) });
    return this.signers.sign(text);
  }

  /**
   * Switches to a different history signed with the same key: the first
   * `keep` records (default: all but the last) stay, then a marker record
   * nobody asked for, then the remaining old records again. The new tree is
   * larger than the old one, so a client that remembers the old tree finds
   * that it is not a prefix of the new one: go reports a SECURITY ERROR.
   */
  async fork(options: { keep?: number } = {}): Promise<void> {
    const old = this.log.all();
    const keep = Math.min(old.length, Math.max(0, options.keep ?? old.length - 1));
    this.forks += 1;
    const marker: LogRecord = {
      key: null,
      text: Buffer.from(
        `example.com/fork-marker v0.0.${this.forks} h1:${Buffer.alloc(32, this.forks).toString('base64')}\n`,
      ),
    };
    await this.log.replace([...old.slice(0, keep), marker, ...old.slice(keep)]);
  }

  protected override async reply(rawPath: string, _request: LoggedRequest, fault: Fault | undefined): Promise<Reply> {
    if (!rawPath.startsWith(`${this.prefix}/`)) return notFound(rawPath);
    let path: string;
    try {
      path = decodeURIComponent(rawPath.slice(this.prefix.length));
    } catch {
      return textReply(400, 'invalid path escaping\n');
    }
    if (path === '/latest') return this.noteReply(200, Buffer.alloc(0), fault);
    if (path === '/supported') return textReply(200, '');
    if (path.startsWith('/lookup/')) return this.lookup(path.slice('/lookup/'.length), fault);
    if (path.startsWith('/tile/')) return this.tile(path.slice(1), fault);
    return notFound(path);
  }

  private async noteReply(status: number, before: Buffer, fault: Fault | undefined): Promise<Reply> {
    const n = this.log.size;
    const text = formatTree({ n, hash: await this.log.treeHash(n) });
    const note = fault?.kind === 'badSignature' ? this.signers.forge(text) : this.signers.sign(text);
    return { status, contentType: NOTE_TYPE, body: Buffer.concat([before, note]) };
  }

  private async lookup(modVer: string, fault: Fault | undefined): Promise<Reply> {
    if (!LOOKUP_SYNTAX.test(modVer)) return textReply(400, 'invalid module@version syntax\n');
    const at = modVer.indexOf('@');
    let path: string;
    let version: string;
    try {
      path = unescapePath(modVer.slice(0, at));
      version = unescapeVersion(modVer.slice(at + 1));
    } catch (e) {
      // Go's server reports unescaping errors as plain errors: 500.
      return textReply(500, `${e instanceof Error ? e.message : String(e)}\n`);
    }
    let id = this.log.idOf(path, version);
    if (id === undefined && this.source !== undefined) {
      const m = await this.source.get(path, version);
      if (m !== undefined) id = await this.add(m);
    }
    if (id === undefined) return notFound(`${path}@${version}`);
    const rec = this.log.record(id);
    if (rec === undefined) return notFound(`${path}@${version}`);
    const text = fault?.kind === 'alterRecord' ? alterRecordText(rec.text) : rec.text;
    return this.noteReply(200, formatRecord(id, text), fault);
  }

  private async tile(tilePath: string, fault: Fault | undefined): Promise<Reply> {
    let t: Tile;
    try {
      t = parseTilePath(tilePath);
    } catch {
      return textReply(400, 'invalid tile syntax\n');
    }
    if (!this.log.covers(t)) return notFound(tilePath);
    const isData = t.l === -1;
    const body = isData ? this.log.dataTile(t) : await this.log.tileData(t);
    if (fault?.kind === 'alterTile' && body.length > 0) body[0] = (body[0] ?? 0) ^ 0xff;
    return { status: 200, contentType: isData ? NOTE_TYPE : 'application/octet-stream', body };
  }

  /** The path of a lookup request for path@version below this database's URL. */
  static lookupPath(path: string, version: string): string {
    return `/lookup/${escapePath(path)}@${escapeVersion(version)}`;
  }
}

/**
 * Record text that still parses but differs from what the log holds: the
 * first h1 hash has its first byte flipped; text without an h1 gets a line.
 */
function alterRecordText(text: Buffer): Buffer {
  const s = text.toString('utf8');
  const m = /h1:([A-Za-z0-9+/]{43}=)/.exec(s);
  if (m?.[1] === undefined) return Buffer.concat([text, Buffer.from('altered\n')]);
  const raw = Buffer.from(m[1], 'base64');
  raw[0] = (raw[0] ?? 0) ^ 0xff;
  return Buffer.from(s.replace(m[1], raw.toString('base64')));
}
