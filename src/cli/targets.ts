// What warm/export should fetch: module versions gathered from go.sum and
// go.mod files, lists of module@version, folders of repositories (every
// go.sum below them), each with what to fetch (.info/.mod/.zip) and the
// go.sum hashes to compare with what the checksum database vouches for.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ModuleVersion } from '../module/index.js';
import {
  GoFileError,
  isReplaced,
  parseGoMod,
  parseGoSum,
  parseModuleArg,
  parseModuleList,
  type Replaced,
} from './gofiles.js';

export interface WarmTarget {
  readonly path: string;
  readonly version: string;
  info: boolean;
  zip: boolean;
  /** After fetching its go.mod, also fetch the go.mod of everything it requires (module graph walk). */
  graph: boolean;
  /**
   * The replace directives of each go.mod whose graph it was reached from: they apply to that whole graph (the go
   * command never downloads a replaced module version, a dependency's requirement of it included). A requirement
   * of this module is walked for every one of them that does not replace it: what one go.mod replaces another may
   * need.
   */
  readonly roots: Replaced[];
  /** Its go.mod's requirements, once walked: a root that reaches it later is carried on to them. */
  requires?: ModuleVersion[];
  /** Hashes recorded in go.sum files, to compare with the verified ones. */
  readonly sums: { zip?: string; mod?: string };
  /** Where it was named (file:line), for reports. */
  readonly sources: string[];
  /** go.sum files that disagree with each other about it. */
  readonly conflicts: string[];
}

export interface Want {
  readonly info: boolean;
  readonly zip: boolean;
  /** Walk its go.mod's requirements too, for a go.mod with these replace directives (its root). */
  readonly graph?: Replaced;
}

export const FULL: Want = { info: true, zip: true };
export const GO_MOD_ONLY: Want = { info: false, zip: false };

export class TargetSet {
  private readonly byKey = new Map<string, WarmTarget>();

  get size(): number {
    return this.byKey.size;
  }

  list(): WarmTarget[] {
    return [...this.byKey.values()];
  }

  has(mv: ModuleVersion): boolean {
    return this.byKey.has(`${mv.path}@${mv.version}`);
  }

  get(mv: ModuleVersion): WarmTarget | undefined {
    return this.byKey.get(`${mv.path}@${mv.version}`);
  }

  /**
   * Adds mv (or widens what is wanted of it); returns its target. want.graph joins its roots unless equal
   * replace directives are there already (most go.mod files have none: one root serves them all).
   */
  add(mv: ModuleVersion, want: Want, source: string, sum?: { kind: 'zip' | 'mod'; hash: string }): WarmTarget {
    const key = `${mv.path}@${mv.version}`;
    let t = this.byKey.get(key);
    if (!t) {
      t = {
        path: mv.path,
        version: mv.version,
        info: false,
        zip: false,
        graph: false,
        roots: [],
        sums: {},
        sources: [],
        conflicts: [],
      };
      this.byKey.set(key, t);
    }
    t.info ||= want.info;
    t.zip ||= want.zip;
    const root = want.graph;
    t.graph ||= root !== undefined;
    if (root && !t.roots.some((r) => sameReplaced(r, root))) t.roots.push(root);
    if (t.sources.length < 3 && !t.sources.includes(source)) t.sources.push(source);
    if (sum) {
      const have = t.sums[sum.kind];
      if (have === undefined) t.sums[sum.kind] = sum.hash;
      else if (have !== sum.hash && sum.hash.startsWith('h1:') && have.startsWith('h1:')) {
        // A few name the disagreement; thousands (a generated or hostile go.sum) would only bury the report.
        if (t.conflicts.length < MAX_CONFLICTS)
          t.conflicts.push(
            `${source} has ${sum.hash} for ${key}${sum.kind === 'mod' ? '/go.mod' : ''}, another go.sum has ${have}`,
          );
        else if (t.conflicts.length === MAX_CONFLICTS) t.conflicts.push('and more go.sum lines that disagree');
      }
    }
    return t;
  }
}

const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean =>
  a === b || (a.size === b.size && [...a].every((x) => b.has(x)));

/** Whether two go.mod files replace the same module paths and versions. */
function sameReplaced(a: Replaced, b: Replaced): boolean {
  return sameSet(a.replacedPaths, b.replacedPaths) && sameSet(a.replacedVersions, b.replacedVersions);
}

/** The disagreeing go.sum lines a target reports (then "and more"). */
const MAX_CONFLICTS = 5;

/** Folders never searched for go.sum files: VCS metadata, dependencies of other ecosystems, test fixtures. */
const SKIP_DIRS = new Set(['.git', '.hg', '.svn', 'node_modules', 'vendor', 'testdata']);

/** Every go.sum (and a workspace's go.work.sum) below dir (not following symlinks), sorted. */
export async function findGoSums(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) await walk(join(d, e.name));
      } else if (e.isFile() && (e.name === 'go.sum' || e.name === 'go.work.sum')) out.push(join(d, e.name));
    }
  };
  await walk(dir);
  return out.sort();
}

function addGoSum(set: TargetSet, text: string, file: string): void {
  for (const e of parseGoSum(text, file)) {
    set.add(e, e.kind === 'zip' ? FULL : GO_MOD_ONLY, `${file}:${e.line}`, { kind: e.kind, hash: e.hash });
  }
}

function addGoMod(set: TargetSet, text: string, file: string): void {
  const gm = parseGoMod(text, file);
  const replaced = { replacedPaths: gm.replacedPaths, replacedVersions: gm.replacedVersions };
  for (const r of gm.requires) if (!isReplaced(r, gm)) set.add(r, { ...FULL, graph: replaced }, file);
  for (const r of gm.replacements) set.add(r, { ...FULL, graph: replaced }, file);
}

/** The largest input file read: real go.sum files are a few MiB; a larger one would only cost memory. */
const MAX_INPUT = 64 << 20;

export interface Collected {
  readonly targets: TargetSet;
  /** Files read, for the report. */
  readonly files: string[];
  /** Inputs that could not be read or parsed. */
  readonly errors: Error[];
}

/**
 * Reads every input: a folder (all go.sum below it), a go.sum file (*.sum),
 * a go.mod file (*.mod), any other file (a module@version list; '-' is
 * stdin), or a literal module@version argument.
 */
export async function collectTargets(
  inputs: readonly string[],
  readStdin: () => Promise<string> = readAllStdin,
): Promise<Collected> {
  const targets = new TargetSet();
  const files: string[] = [];
  const errors: Error[] = [];
  const readOne = async (file: string, text: string): Promise<void> => {
    files.push(file);
    const name = basename(file);
    try {
      if (name.endsWith('.sum')) addGoSum(targets, text, file);
      else if (name === 'go.work')
        // A workspace's modules are in its folders' go.sum files and go.work.sum, which the folder input reads.
        throw new GoFileError(
          file,
          0,
          'a go.work file is not read: give the folder holding it (every go.sum below it and go.work.sum are read)',
        );
      else if (name === 'go.mod' || name.endsWith('.mod')) addGoMod(targets, text, file);
      else for (const mv of parseModuleList(text, file)) targets.add(mv, FULL, file);
    } catch (err) {
      errors.push(err as Error);
    }
  };
  // A file that cannot be read, or is too large to be a go.sum, is reported like one that does not parse.
  const readInput = async (file: string): Promise<void> => {
    try {
      if ((await stat(file)).size > MAX_INPUT)
        throw new Error(`larger than ${MAX_INPUT >> 20} MiB: not a go.sum, go.mod or list godepot reads`);
      await readOne(file, await readFile(file, 'utf8'));
    } catch (err) {
      errors.push(new GoFileError(file, 0, `cannot read: ${(err as Error).message}`));
    }
  };
  for (const input of inputs) {
    if (input === '-') {
      let text: string;
      try {
        text = await readStdin();
      } catch (err) {
        errors.push(new GoFileError('(stdin)', 0, `cannot read: ${(err as Error).message}`));
        continue;
      }
      await readOne('(stdin)', text);
      continue;
    }
    const st = await stat(input).catch(() => null);
    if (st?.isDirectory()) {
      const sums = await findGoSums(input);
      if (sums.length === 0) errors.push(new GoFileError(input, 0, 'no go.sum file found below this folder'));
      for (const f of sums) await readInput(f);
    } else if (st?.isFile()) {
      await readInput(input);
    } else if (st) {
      // A read would wait for a writer that may never come (a FIFO) or never end (/dev/zero).
      errors.push(
        new GoFileError(input, 0, 'not a file or folder (a pipe or a device): give a file, or - to read stdin'),
      );
    } else if (input.includes('@')) {
      try {
        targets.add(parseModuleArg(input, 'argument'), FULL, 'arguments');
      } catch (err) {
        errors.push(err as Error);
      }
    } else {
      errors.push(
        new GoFileError(
          input === '' ? 'an empty argument' : input,
          0,
          'no such file or folder (and not module@version)',
        ),
      );
    }
  }
  return { targets, files, errors };
}

/** All of stdin (or another stream), refusing more than an input file may hold (`cat /dev/zero | godepot warm -`). */
export async function readAllStdin(stream: AsyncIterable<unknown> = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = c as Buffer;
    n += b.length;
    if (n > MAX_INPUT)
      throw new Error(`larger than ${MAX_INPUT >> 20} MiB: not a go.sum, go.mod or list godepot reads`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}
