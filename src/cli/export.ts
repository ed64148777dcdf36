// `godepot export DIR --from go.sum…`: writes the modules a build needs,
// from godepot's verified storage (fetching what is missing through the
// service first), into a folder in GOPROXY layout, with the checksum-database
// records and the exact tiles a go client reads to check them. The folder
// works as GOPROXY=file://DIR and is what `godepot import` reads on the far
// side of an air gap.
import { lstat, readFile, realpath, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ConfigError } from '../config/load.js';
import type { OptionSpec } from '../config/options.js';
import { compare, escapePath, escapeVersion, isValid } from '../module/index.js';
import { isBlob, type Artifact } from '../proxy/artifact.js';
import type { ImmutableKind } from '../proxy/request.js';
import { MAX_LIST } from '../proxy/fetch.js';
import { formatRecord, tilePath } from '../sumdb/tlog/index.js';
import { FsStorage, type Storage } from '../storage/index.js';
import { DataFolderError } from '../storage/fs.js';
import { isDiskFull } from '../proxy/errors.js';
import type { Godepot } from '../runtime/compose.js';
import {
  commandLogger,
  intFlag,
  loadCommandSettings,
  PROCESS_IO,
  SERVER_FLAGS_HELP,
  type CommandIO,
} from './command-settings.js';
import { createProgress } from './progress.js';
import { proveExtends } from './sumdb-tiles.js';
import { collectTargets, type WarmTarget } from './targets.js';
import { BATCH_FLAGS, formatWarmReport, interruptible, progressMode } from './warm.js';
import { composeBatch, runWarm, warmFailed, type WarmReport } from './warm-run.js';

const EXPORT_FLAGS: readonly OptionSpec[] = [
  ...BATCH_FLAGS,
  {
    name: 'from',
    type: 'list',
    default: [],
    help: 'go.sum, go.mod, list file, folder or module@version to export (repeatable)',
  },
  {
    name: 'since',
    type: 'list',
    default: [],
    help: 'tree size of the checksum database the disconnected godepot holds (its /readyz treeSize; import names it when it needs this): the folder also proves this head extends that one (repeatable)',
  },
];

const EXPORT_HELP = `Usage: godepot export [flags] DIR --from INPUT [--from INPUT...]

Writes the module versions named by the inputs (as for 'godepot warm': go.sum,
go.mod, lists, folders of repositories, module@version) into DIR in GOPROXY
layout, with the checksum-database records and tiles that prove them. What
godepot does not hold yet is fetched and verified first (unless --offline).

Carry DIR to the disconnected side and run 'godepot import DIR' there; or
point Go at it directly: GOPROXY=file:///abs/DIR (GOSUMDB stays on).

Flags:
  --from INPUT         what to export (repeatable; further arguments after DIR count too)
  --since SIZE         the tree size the disconnected godepot holds, when it did not
                       import its head from this godepot's exports (repeatable)
  --concurrency N      module versions at the same time (default 8)
  --progress MODE      auto | bar | plain | none

${SERVER_FLAGS_HELP}
`;

export function proxyKey(path: string, version: string, kind: ImmutableKind): string {
  return `${escapePath(path)}/@v/${escapeVersion(version)}.${kind}`;
}

async function copyArtifact(out: Storage, key: string, a: Artifact): Promise<void> {
  if (!isBlob(a.body)) {
    await out.put(key, a.body);
    return;
  }
  const staged = await out.stage();
  try {
    for await (const chunk of a.body.stream()) await staged.write(chunk as Buffer);
    await staged.finish();
    await staged.commit(key);
  } finally {
    await staged.discard();
  }
}

/** A @v/list holding the versions already listed there and the ones exported, in semver order. */
export function mergeVersionList(existing: string, versions: Iterable<string>): string {
  const all = new Set(
    existing
      .split('\n')
      // The go command takes a line's first field ("v1.2.3 2019-01-01T00:00:00Z" lists v1.2.3).
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter((l) => isValid(l)),
  );
  for (const v of versions) all.add(v);
  return [...all].sort(compare).join('\n') + '\n';
}

/**
 * The version list already in the export folder, if it is a regular file of
 * a list's size: the folder may hold anything (a link to a FIFO or a device
 * would never end the read; a link elsewhere is not the folder's). Whatever
 * else is there is replaced by the rename of the new list, not read.
 */
async function existingList(dir: string, key: string): Promise<string> {
  const file = join(dir, ...key.split('/'));
  const st = await lstat(file).catch(() => null);
  if (!st?.isFile() || st.size > MAX_LIST) return '';
  return readFile(file, 'utf8').catch(() => '');
}

/** p with its symlinks resolved, as far as it exists (the rest appended). */
export async function realish(p: string): Promise<string> {
  const abs = resolve(p);
  const real = await realpath(abs).catch(() => null);
  if (real !== null) return real;
  const parent = dirname(abs);
  return parent === abs ? abs : join(await realish(parent), basename(abs));
}

/** The export folder, opened for writing; a path that cannot be one is a usage error that names it. */
async function openExportFolder(dir: string): Promise<Storage> {
  if ((await stat(dir).catch(() => null))?.isDirectory() === false)
    throw new ConfigError(`${dir} is a file, not a folder: give the folder to export into (a new one is created)`);
  try {
    return await FsStorage.open(dir, { durable: false });
  } catch (err) {
    if (err instanceof DataFolderError)
      throw new ConfigError(`export folder ${dir}: ${err.reason}; give a folder this user can create or write in`);
    throw err;
  }
}

/** The tree sizes of the heads earlier exports carried (newest last), as many as are remembered. */
const EXPORTED_HEADS = 32;

/**
 * Writes each database's lookups (record + the tree head it is proven against), tiles, latest and supported.
 * The tiles include those proving the head extends every head this godepot exported before (and each --since
 * size): a disconnected godepot holds one of them, and takes a newer head only with that proof.
 */
async function exportSumdb(
  g: Godepot,
  put: (key: string, data: Buffer) => Promise<void>,
  targets: readonly WarmTarget[],
  report: WarmReport,
  since: readonly number[],
): Promise<number> {
  const mirror = g.mirrors[0];
  const head = mirror?.tree.head;
  if (!mirror || !head || report.recordIds.size === 0) return 0;
  const historyKey = mirror.store.prefix + 'exported';
  const earlier = parseExported(await g.storage.get(historyKey));
  let extending;
  try {
    extending = await proveExtends(mirror, [...earlier, ...since], !g.settings.offline);
  } catch (err) {
    throw new Error(
      `cannot have the tiles that prove tree head ${head.tree.n} extends the ones exported before or given by --since (${[...earlier, ...since].join(', ')}): ${(err as Error).message}`,
    );
  }
  const base = `sumdb/${mirror.name}/`;
  let records = 0;
  for (const t of targets) {
    const rec = await mirror.store.readRecord(t.path, t.version);
    if (!rec || !report.recordIds.has(rec.id)) continue;
    await put(
      `${base}lookup/${escapePath(t.path)}@${escapeVersion(t.version)}`,
      Buffer.concat([formatRecord(rec.id, rec.text), head.note]),
    );
    records++;
  }
  const tiles = new Map([...report.tiles, ...extending].map((t) => [tilePath(t.tile), t.data]));
  for (const [path, data] of tiles) await put(base + path, data);
  await put(base + 'latest', head.note);
  await put(base + 'supported', Buffer.alloc(0));
  // Remembered once written: the next export proves its head extends this one.
  const history = [...earlier.filter((n) => n !== head.tree.n), head.tree.n].slice(-EXPORTED_HEADS);
  await g.storage.put(historyKey, Buffer.from(history.join('\n') + '\n'));
  return records;
}

/** A tree size written in decimal (1 or more, a safe integer); null for anything else. */
function treeSize(text: string): number | null {
  const n = Number(text);
  return /^[1-9][0-9]{0,15}$/.test(text) && Number.isSafeInteger(n) ? n : null;
}

/** The sizes in an `exported` history (one per line); anything else in it is left out. */
function parseExported(body: Buffer | null): number[] {
  if (!body) return [];
  return body
    .toString('utf8')
    .split('\n')
    .map(treeSize)
    .filter((n): n is number => n !== null);
}

export async function exportCommand(
  args: string[],
  io: CommandIO = PROCESS_IO,
  /** Opens the export folder (tests: a disk that fills up). */
  openFolder: (dir: string) => Promise<Storage> = openExportFolder,
): Promise<number> {
  const cs = loadCommandSettings('export', args, EXPORT_FLAGS, io.env);
  if (cs.flags.help) {
    io.out(EXPORT_HELP);
    return 0;
  }
  const [dir, ...rest] = cs.flags.positionals;
  const inputs = [...cs.flagList('from'), ...rest];
  if (dir === undefined) throw new ConfigError('give the folder to write (see godepot export --help)');
  if (inputs.length === 0)
    throw new ConfigError('nothing to export: give --from go.sum (or go.mod, a list, a folder, module@version)');
  const concurrency = intFlag(cs, 'concurrency', 1, 256);
  const since = cs.flagList('since').map((v) => {
    const n = treeSize(v);
    if (n === null)
      throw new ConfigError(
        `--since ${v}: give a tree size, a whole number like 1234 (the disconnected godepot's /readyz treeSize)`,
      );
    return n;
  });
  const mode = progressMode(cs.flag('progress'));
  // The data folder has its own layout and live writers (its sumdb/ records, its .staging): an export written
  // there would overwrite the one and end with removing the other's staging folder.
  const [realDir, realData] = await Promise.all([realish(dir), realish(cs.settings.data)]);
  if (realDir === realData || realDir.startsWith(realData + sep))
    throw new ConfigError(
      `${dir} is godepot's data folder${realDir === realData ? '' : ' (or inside it)'}: export into a folder of its own, e.g. /media/usb/godepot`,
    );
  const collected = await collectTargets(inputs);
  const out = await openFolder(dir);
  /** path@version.kind of each artifact written to the folder. */
  const written = new Set<string>();
  /** The versions of each module written whole. */
  const exported = new Map<string, Set<string>>();
  // A full disk is said once, for the folder, not as an errno per artifact, list and record.
  let full = false;
  const writing = async (write: () => Promise<unknown>): Promise<void> => {
    try {
      await write();
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      full = true;
      throw new Error(`not written: ${dir} is full`);
    }
  };
  const settings = cs.settings;
  const log = commandLogger(settings, io, 'godepot export');
  const g = await composeBatch(settings, log).catch(async (err: unknown) => {
    // A data folder it cannot use: no staging folder (and its lock) is left in the export folder to be carried over.
    await out.close();
    await rmdir(join(dir, '.staging')).catch(() => undefined);
    throw err;
  });
  const interrupt = interruptible();
  let report: WarmReport;
  let records = 0;
  /** Module versions written whole. */
  let whole = 0;
  let writeProblem: string | undefined;
  try {
    report = await runWarm(g, collected.targets, {
      concurrency,
      progress: createProgress(io.err, mode, 'exporting'),
      signal: interrupt.signal,
      sink: {
        async artifact(t, kind, a) {
          await writing(() => copyArtifact(out, proxyKey(t.path, t.version, kind), a));
          written.add(`${t.path}@${t.version}.${kind}`);
        },
      },
    });
    // A module version is in the folder when all it should hold is: listed only then (the go command would take a
    // listed version without its zip for one it can download).
    const kinds = (t: WarmTarget): string[] => ['mod', ...(t.info ? ['info'] : []), ...(t.zip ? ['zip'] : [])];
    for (const t of collected.targets.list()) {
      if (!kinds(t).every((k) => written.has(`${t.path}@${t.version}.${k}`))) continue;
      let vs = exported.get(t.path);
      if (!vs) exported.set(t.path, (vs = new Set()));
      vs.add(t.version);
      whole++;
    }
    // The folder may hold anything in the way (a file where a folder goes, a link out), or fill up: said in the
    // report, which still tells what was written, not thrown past it.
    try {
      for (const [path, versions] of exported) {
        const key = `${escapePath(path)}/@v/list`;
        const existing = await existingList(dir, key);
        await writing(() => out.put(key, Buffer.from(mergeVersionList(existing, versions))));
      }
    } catch (err) {
      if (!full) writeProblem = `cannot write the version lists to ${dir}: ${(err as Error).message}`;
    }
    try {
      records = await exportSumdb(
        g,
        (key, data) => writing(() => out.put(key, data)),
        collected.targets.list(),
        report,
        since,
      );
    } catch (err) {
      if (!full)
        writeProblem ??= `cannot write the checksum-database records and tiles to ${dir}: ${(err as Error).message}`;
    }
  } finally {
    interrupt.release();
    await g.close();
    await out.close();
    // Only when empty: another export into the same folder may be staging there still (close() removed ours).
    await rmdir(join(dir, '.staging')).catch(() => undefined);
    log.flush();
  }
  let text = formatWarmReport(report, 'exported', [
    ...(full
      ? [
          `problem: ${dir} is full (no space left on the device): free space there or export to a larger one, then export again`,
        ]
      : []),
    ...(writeProblem === undefined ? [] : [`problem: ${writeProblem}`]),
    ...collected.errors.map((e) => `input: ${e.message}`),
  ]);
  const total = collected.targets.size;
  text += `wrote ${whole} of ${total} module versions${whole < total ? ' whole (what the others miss is listed above)' : ''} and ${records} checksum-database records to ${dir}\n`;
  const failed =
    warmFailed(report) || collected.errors.length > 0 || writeProblem !== undefined || full || whole < total;
  // Carrying an incomplete folder over is what the air-gapped side then finds out the hard way.
  text += failed
    ? `not complete: fix what is listed above and export again before carrying ${dir} over\n`
    : `next: carry ${dir} over and run 'godepot import ${dir}' there (or use GOPROXY=file://${resolve(dir)} directly, GOSUMDB on)\n`;
  io.out(text);
  return failed ? 1 : 0;
}
