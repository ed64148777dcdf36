// `godepot import DIR`: fills godepot from a Go installation's download cache
// ($GOMODCACHE/cache/download, which also holds the checksum-database
// lookups and tiles the go command used) or from a folder in GOPROXY layout
// (what `godepot export` writes). DIR is served on a private loopback port
// and godepot is composed with it as its first upstream and as the first
// mirror of each database, then every module version found is warmed: so
// nothing from DIR is kept unless it verifies against the signed tree.
import { lstat, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ConfigError } from '../config/load.js';
import type { Settings } from '../config/settings.js';
import { isCanonicalVersion, unescapePath, unescapeVersion, check, type ModuleVersion } from '../module/index.js';
import { policyFor } from '../proxy/verify.js';
import { withPrivateNosumdb } from '../runtime/private.js';
import {
  commandLogger,
  intFlag,
  loadCommandSettings,
  PROCESS_IO,
  SERVER_FLAGS_HELP,
  type CommandIO,
} from './command-settings.js';
import { startDirServer } from '../runtime/dir-server.js';
import { HEAD_UNCHECKED } from '../sumdb/index.js';
import { storageKey } from '../proxy/request.js';
import type { Storage } from '../storage/index.js';
import { mergeVersionList, realish } from './export.js';
import { createProgress, printable } from './progress.js';
import { TargetSet } from './targets.js';
import { BATCH_FLAGS, formatWarmReport, interruptible, progressMode } from './warm.js';
import { composeBatch, runWarm, warmFailed, type WarmReport } from './warm-run.js';

const IMPORT_HELP = `Usage: godepot import [flags] DIR

Fills godepot from a folder carried over from elsewhere, verifying every
module against the checksum-database records and tiles the folder holds (or
the configured databases, unless --offline) and keeping only what verifies.

DIR is either
  a Go module cache: $GOMODCACHE (or its cache/download folder) of a machine
  that built the code: it holds the modules and the database lookups and
  tiles the go command checked them with; or
  a folder written by 'godepot export' (GOPROXY layout).

Flags:
  --offline            use only what DIR holds: contact no configured upstream or database
  --concurrency N      module versions imported at the same time (default 8)
  --progress MODE      auto | bar | plain | none

${SERVER_FLAGS_HELP}

Exit status: 0 when everything found in DIR was verified and stored; 1 otherwise.
`;

export interface FoundVersion {
  readonly path: string;
  readonly version: string;
  readonly files: Set<'info' | 'mod' | 'zip'>;
}

/**
 * Whether dir/parts… is a folder reached through no link: a link in a carried-over folder may lead anywhere on
 * this machine (through / a walk took a minute), and the folder's server does not serve what lies beyond one.
 */
async function folderBelow(dir: string, ...parts: string[]): Promise<boolean> {
  for (let i = 1; i <= parts.length; i++)
    if (!(await lstat(join(dir, ...parts.slice(0, i))).catch(() => null))?.isDirectory()) return false;
  return true;
}

/** The folder holding the GOPROXY layout: DIR/cache/download for a module cache, else DIR. */
export async function layoutRoot(dir: string): Promise<string> {
  return (await folderBelow(dir, 'cache', 'download')) ? join(dir, 'cache', 'download') : dir;
}

/**
 * Every module version with a .info, .mod or .zip under root (the sumdb/
 * folder and hidden folders skipped), and the modules with a version list.
 */
export async function scanLayout(
  root: string,
): Promise<{ found: FoundVersion[]; skipped: string[]; listed: Set<string> }> {
  const found = new Map<string, FoundVersion>();
  const skipped: string[] = [];
  const listed = new Set<string>();
  const walk = async (d: string, depth: number): Promise<void> => {
    if (depth > 40) return;
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      if (depth === 0 && e.name === 'sumdb') continue;
      const sub = join(d, e.name);
      if (e.name !== '@v') {
        await walk(sub, depth + 1);
        continue;
      }
      const escPath = relative(root, d).split(sep).join('/');
      let path: string;
      try {
        path = unescapePath(escPath);
      } catch {
        skipped.push(`${escPath}: not a module path`);
        continue;
      }
      for (const fe of await readdir(sub, { withFileTypes: true }).catch(() => [])) {
        const f = fe.name;
        // Regular files only: a link in a foreign folder may point anywhere on this machine, and a FIFO or device
        // would never end. Said, or "imported 3 of 3" would hide a zip left behind.
        if (!fe.isFile()) {
          if (!fe.isDirectory() && /^list$|\.(info|mod|zip)$/.test(f))
            skipped.push(`${escPath}/@v/${f}: not a regular file (a link, a FIFO or a device), not read`);
          continue;
        }
        if (f === 'list') listed.add(path);
        const m = /^(.+)\.(info|mod|zip)$/.exec(f);
        if (!m) continue;
        let version: string;
        try {
          version = unescapeVersion(m[1] as string);
          check(path, version);
        } catch {
          skipped.push(`${escPath}/@v/${f}: not a valid module version`);
          continue;
        }
        if (!isCanonicalVersion(version)) continue;
        const key = `${path}@${version}`;
        let v = found.get(key);
        if (!v) found.set(key, (v = { path, version, files: new Set() }));
        v.files.add(m[2] as 'info' | 'mod' | 'zip');
      }
    }
  };
  await walk(root, 0);
  return { found: [...found.values()], skipped, listed };
}

/** Database names (host[/path]) with lookups or tiles under root/sumdb (linked folders not followed). */
export async function scanDatabases(root: string): Promise<string[]> {
  const out: string[] = [];
  if (!(await folderBelow(root, 'sumdb'))) return out;
  const walk = async (d: string, depth: number): Promise<void> => {
    const dirs = (await readdir(d, { withFileTypes: true }).catch(() => []))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    if (depth > 0 && (dirs.includes('lookup') || dirs.includes('tile'))) {
      out.push(relative(join(root, 'sumdb'), d).split(sep).join('/'));
      return;
    }
    if (depth > 4) return;
    for (const n of dirs) if (!n.startsWith('.')) await walk(join(d, n), depth + 1);
  };
  await walk(join(root, 'sumdb'), 0);
  return out.sort();
}

/**
 * The module versions whose lookups a database's folder holds, oldest file
 * first: the order the go command checked and wrote them, each against the
 * newest tree head it had seen, with the tiles it then saved.
 */
export async function lookupsInOrder(root: string, name: string): Promise<ModuleVersion[]> {
  const base = join(root, 'sumdb', ...name.split('/'), 'lookup');
  const found: Array<{ mv: ModuleVersion; mtime: number; rel: string }> = [];
  if (!(await folderBelow(root, 'sumdb', ...name.split('/'), 'lookup'))) return [];
  const walk = async (d: string, depth: number): Promise<void> => {
    if (depth > 40) return;
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full, depth + 1);
      else if (e.isFile()) {
        const rel = relative(base, full).split(sep).join('/');
        const at = rel.lastIndexOf('@');
        try {
          const mv = { path: unescapePath(rel.slice(0, at)), version: unescapeVersion(rel.slice(at + 1)) };
          check(mv.path, mv.version);
          const st = await stat(full);
          if (st.size > 0) found.push({ mv, mtime: st.mtimeMs, rel });
        } catch {
          // Not a lookup file (a lock, a partial write): the go command ignores it too.
        }
      }
    }
  };
  await walk(base, 0);
  return found.sort((a, b) => a.mtime - b.mtime || a.rel.localeCompare(b.rel)).map((f) => f.mv);
}

/** Settings that put the folder's server first: as the upstream and as the first mirror of every database. */
export function importSettings(base: Settings, dirUrl: string): Settings {
  const only = base.offline;
  return {
    ...base,
    // --offline here means "only the folder"; godepot itself must fetch (from the folder).
    offline: false,
    upstream: { entries: [{ url: dirUrl, fallBackOnError: true }, ...(only ? [] : base.upstream.entries)], off: false },
    sumdb: base.sumdb.map((s) => ({
      ...s,
      urls: [`${dirUrl}/sumdb/${s.name}`, ...(only ? [] : s.urls)],
      viaUpstreams: !only && s.viaUpstreams,
    })),
    // A carried-over folder is foreign: keep nothing the database has not vouched for.
    verify: { mode: 'strict', rules: [] },
  };
}

export async function importCommand(
  args: string[],
  io: CommandIO = PROCESS_IO,
  /** The data folder's storage instead of the one --data names (tests: a disk that fills up). */
  storage?: Storage,
): Promise<number> {
  const cs = loadCommandSettings('import', args, BATCH_FLAGS, io.env);
  if (cs.flags.help) {
    io.out(IMPORT_HELP);
    return 0;
  }
  const [dir, ...extra] = cs.flags.positionals;
  if (dir === undefined || extra.length > 0)
    throw new ConfigError('give exactly one folder to import (see godepot import --help)');
  if (!(await stat(dir).catch(() => null))?.isDirectory()) throw new ConfigError(`${dir} is not a folder`);
  const concurrency = intFlag(cs, 'concurrency', 1, 256);
  const mode = progressMode(cs.flag('progress'));
  const root = await layoutRoot(dir);
  // The data folder's sumdb/ holds records in its own format: read as this folder's, the export's lookups would be
  // taken for damaged records of its own and removed.
  const realData = await realish(cs.settings.data);
  if ((await realish(dir)) === realData || (await realish(root)) === realData)
    throw new ConfigError(
      `${dir} is godepot's data folder (--data): give the folder carried over (an export or a Go module cache), not the one it fills`,
    );
  const { found, skipped, listed } = await scanLayout(root);
  const databases = await scanDatabases(root);
  const configured = cs.settings.sumdb.map((s) => s.name);
  const targets = new TargetSet();
  let withoutMod = 0;
  let unverifiable = 0;
  for (const v of found) {
    if (!v.files.has('mod') && !v.files.has('zip')) {
      withoutMod++;
      continue;
    }
    // Private (--private, --nosumdb) modules, or every module when no database
    // is configured, would be kept unchecked: a foreign folder is not trusted.
    if (policyFor(v.path, withPrivateNosumdb(cs.settings), cs.settings.sumdb.length > 0) === 'skip') {
      unverifiable++;
      continue;
    }
    targets.add(v, { info: v.files.has('info'), zip: v.files.has('zip') }, root);
  }
  if (found.length === 0) {
    // Pointed one level off (the mount above an export folder, GOPATH instead of GOMODCACHE, …): say so, not
    // "imported 0 of 0" and success.
    const inner = (await findLayoutsBelow(dir)).map(printable);
    throw new ConfigError(
      `no module versions found in ${dir}${
        inner.length === 1
          ? `; an exported folder or module cache is at ${inner[0]}: import that`
          : inner.length > 1
            ? `; module versions are in ${inner.join(', ')}: import the one you meant`
            : ': give an exported folder (godepot export) or a Go module cache ($GOMODCACHE)'
      }`,
    );
  }
  const server = await startDirServer(root, configured);
  const settings = importSettings(cs.settings, server.url);
  // Its log lines name the folder, not the loopback port it is served on (as the progress and report do).
  const named = (t: string): string => t.split(server.url).join(`folder ${dir}`);
  const log = commandLogger(
    settings,
    { ...io, err: { write: (t: string) => io.err.write(named(t)) } },
    'godepot import',
  );
  const g = await composeBatch(settings, log, {
    ...(storage ? { storage } : {}),
    // An export holds the records and tiles its lookups need, not data tiles: indexing would warn of each.
    indexDataTiles: false,
  }).catch(async (err: unknown) => {
    // A data folder it cannot use: said, and the folder's server stopped, or the process would never end.
    await server.close();
    throw err;
  });
  const interrupt = interruptible();
  let report: WarmReport;
  let lists = 0;
  /** The tree size of the primary database's verified head before the import. */
  let heldBefore = 0;
  try {
    // Replaying the lookups one at a time, in the go command's order, checks each against the tree head the go
    // command used, so the tiles the folder holds suffice; concurrent lookups could meet the heads in another order.
    const primary = g.mirrors[0];
    heldBefore = primary?.tree.head?.tree.n ?? 0;
    if (primary) {
      for (const mv of await lookupsInOrder(root, primary.name)) {
        if (interrupt.signal.aborted) break;
        await primary.lookup(mv, interrupt.signal).catch(() => undefined);
      }
    }
    report = await runWarm(g, targets, {
      concurrency,
      progress: createProgress(
        {
          // Its lines name the folder, not the loopback port it is served on (as the report below does).
          write: (t: string) => io.err.write(named(t)),
          ...(io.err.isTTY === undefined ? {} : { isTTY: io.err.isTTY }),
          ...(io.err.columns === undefined ? {} : { columns: io.err.columns }),
        },
        mode,
        'importing',
      ),
      signal: interrupt.signal,
    });
    // The version lists the folder holds: without them an offline godepot answers @v/list, @latest and
    // `go get …@latest` with 404, where GOPROXY=file:// of the same folder answers them. What is listed is what
    // this import verified and stored, added to the list already kept: the folder's own list is no more than a
    // claim (it may name versions the folder does not hold, which an offline godepot could not serve), and
    // another folder imported earlier, or the upstream, may know versions this one does not.
    const failed = new Set(report.failures.map((f) => f.module));
    const imported = new Map<string, string[]>();
    for (const t of targets.list()) {
      if (!listed.has(t.path) || failed.has(`${t.path}@${t.version}`)) continue;
      imported.set(t.path, [...(imported.get(t.path) ?? []), t.version]);
    }
    for (const [path, versions] of imported) {
      if (interrupt.signal.aborted) break;
      const ok = await mergeList(g.storage, path, versions).then(
        () => true,
        () => false,
      );
      if (ok) lists++;
    }
  } finally {
    interrupt.release();
    await g.close();
    await server.close();
    log.flush();
  }
  const notes = skipped.map((s) => `note: skipped ${s}`);
  for (const d of databases)
    if (!configured.includes(d))
      notes.push(
        `note: the folder holds records of database ${d}, which is not configured (--sumdb); they were not used`,
      );
  if (databases.length === 0) {
    notes.push(
      `note: the folder holds no checksum-database records; ${cs.settings.offline ? 'with --offline nothing could be verified' : 'records came from the configured databases'}`,
    );
  }
  // The folder's head could not be proven to extend the one held: it was exported without the tiles for it.
  if (heldBefore > 0 && report.failures.some((f) => f.problems.some((p) => p.includes(HEAD_UNCHECKED))))
    notes.push(
      `note: this godepot holds the tree of size ${heldBefore}, and the folder does not prove its tree head extends it: on the connected side export again with --since ${heldBefore}`,
    );
  let out = formatWarmReport(report, 'imported', notes);
  if (lists > 0) out += `${lists} version lists imported (for @v/list and @latest)\n`;
  if (withoutMod > 0) out += `${withoutMod} module versions with only a .info file were left out (nothing to verify)\n`;
  if (unverifiable > 0) {
    out += `${unverifiable} module versions were left out: no checksum database can vouch for them (${cs.settings.sumdb.length > 0 ? 'private, --nosumdb' : 'no --sumdb configured'}); godepot fetches them from their own upstream instead\n`;
  }
  // The folder is served on a private loopback port: a failure names the folder, not that port.
  io.out(named(out));
  return warmFailed(report) ? 1 : 0;
}

/**
 * Adds versions to path's stored @v/list. The list keeps the stored one's
 * date, or the epoch's when there was none: it is never fresher than what
 * the upstream last said, so a serving godepot online refreshes it as
 * before, and an offline one serves it as it is.
 */
async function mergeList(storage: Storage, path: string, versions: readonly string[]): Promise<void> {
  const key = storageKey({ kind: 'list', path });
  const blob = await storage.open(key);
  let existing = '';
  let mtimeMs = 0;
  if (blob) {
    try {
      existing = (await blob.read()).toString('utf8');
      mtimeMs = blob.mtimeMs;
    } finally {
      await blob.close();
    }
  }
  const merged = mergeVersionList(existing, versions);
  if (merged !== existing) await storage.put(key, Buffer.from(merged), { mtimeMs });
}

/** The folders below dir (two levels at most, at most 5) that hold module versions, nearest first. */
async function findLayoutsBelow(dir: string): Promise<string[]> {
  const found: string[] = [];
  let level = [dir];
  for (let depth = 1; depth <= 2 && found.length < 5; depth++) {
    const next: string[] = [];
    for (const d of level) {
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
        if (!e.isDirectory() || e.name.startsWith('.') || found.length >= 5) continue;
        const sub = join(d, e.name);
        if ((await scanLayout(await layoutRoot(sub))).found.length > 0) found.push(sub);
        else next.push(sub);
      }
    }
    level = next;
  }
  return found;
}
