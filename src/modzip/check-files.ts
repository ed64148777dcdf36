// Which files of a module tree go into its zip (golang.org/x/mod/zip
// CheckFiles, the file selection of Create): vendored packages, nested
// modules and .hg_archival.txt are left out; bad names, case collisions and
// oversized files are invalid.
import { checkFilePath, InvalidPathError } from '../module/index.js';
import { MAX_GO_MOD, MAX_LICENSE, MAX_ZIP_FILE, type FileProblem } from './errors.js';
import { CollisionChecker } from './fold.js';
import { goModLang, langAtLeast, type GoLang } from './gomod.js';
import { asciiLower, clean, isAbs, isGoModFold, split } from './gopath.js';

/**
 * What CheckFiles/CheckDir/CheckZip report. Every input file is in exactly
 * one of valid, omitted and invalid, each in input order.
 */
export interface FileCheckReport {
  valid: string[];
  omitted: FileProblem[];
  invalid: FileProblem[];
  /** Set when the valid files are too large in total (or the zip itself is). */
  sizeError?: string;
}

/** A file offered for a module zip: its slash-separated path from the module root. */
export interface CandidateFile {
  path: string;
  size: number;
  /** false for symbolic links and other irregular files (left out); default true. */
  isRegular?: boolean;
}

export const REASON = {
  notClean: 'file path is not clean',
  notRelative: 'file path is not relative',
  goModCase: 'go.mod files must have lowercase names',
  goModSize: `go.mod file too large (max size is ${MAX_GO_MOD} bytes)`,
  licenseSize: `LICENSE file too large (max size is ${MAX_LICENSE} bytes)`,
  vcs: 'directory is a version control repository',
  vendored: 'file is in vendor directory',
  submoduleFile: 'file is in another module',
  submoduleDir: 'directory is in another module',
  hgArchival: "file is inserted by 'hg archive' and is always omitted",
  notRegular: 'not a regular file',
  treeTooLarge: `module source tree too large (max size is ${MAX_ZIP_FILE} bytes)`,
} as const;

/**
 * isVendoredPackage: whether name is in a package under a "vendor"
 * directory. Before Go 1.24 (as the root go.mod declares) a nested
 * ".../vendor/" is measured from the wrong offset (golang.org/issue/37397),
 * kept so old modules keep their checksums; from 1.24 the offset is right
 * and vendor/modules.txt is left out too.
 */
export function isVendoredPackage(name: string, lang: GoLang | null): boolean {
  const go124 = langAtLeast(lang, 1, 24);
  if (go124 && name === 'vendor/modules.txt') return true;
  let i: number;
  if (name.startsWith('vendor/')) {
    i = 'vendor/'.length;
  } else {
    const j = name.indexOf('/vendor/');
    if (j < 0) return false;
    i = go124 ? j + '/vendor/'.length : '/vendor/'.length;
  }
  return name.slice(i).includes('/');
}

/** The message of an error a module path check threw, for a report line. */
export function reasonOf(err: unknown): string {
  if (err instanceof InvalidPathError) return err.message;
  throw err;
}

/**
 * CheckFiles. `goModContent` is the content of the root go.mod, if the
 * caller has it; its `go` line selects the vendor rules (as Create reads it
 * from the regular root file named exactly "go.mod" among `files`).
 */
export function checkFiles(files: ReadonlyArray<CandidateFile>, goModContent?: Uint8Array): FileCheckReport {
  const report: FileCheckReport = { valid: [], omitted: [], invalid: [] };
  const errPaths = new Set<string>();
  const addError = (path: string, omitted: boolean, reason: string): void => {
    if (errPaths.has(path)) return;
    errPaths.add(path);
    (omitted ? report.omitted : report.invalid).push({ path, reason });
  };

  // Directories holding a go.mod (any case) are other modules; their files stay out.
  const haveGoMod = new Set<string>();
  let lang: GoLang | null = null;
  for (const f of files) {
    const [dirPart, basePart] = split(f.path);
    if (!isGoModFold(basePart) || f.isRegular === false) continue;
    haveGoMod.add(dirPart);
    if (basePart === 'go.mod' && dirPart === '' && goModContent !== undefined) lang = goModLang(goModContent);
  }
  const inSubmodule = (p: string): boolean => {
    for (let cur = p; ;) {
      const [dirPart] = split(cur);
      if (dirPart === '') return false;
      if (haveGoMod.has(dirPart)) return true;
      cur = dirPart.slice(0, -1);
    }
  };

  const collisions = new CollisionChecker();
  let room = MAX_ZIP_FILE;
  for (const f of files) {
    const p = f.path;
    if (p !== clean(p)) {
      addError(p, false, REASON.notClean);
      continue;
    }
    if (isAbs(p)) {
      addError(p, false, REASON.notRelative);
      continue;
    }
    if (isVendoredPackage(p, lang)) {
      addError(p, true, REASON.vendored);
      continue;
    }
    if (inSubmodule(p)) {
      addError(p, true, REASON.submoduleFile);
      continue;
    }
    if (p === '.hg_archival.txt') {
      addError(p, true, REASON.hgArchival);
      continue;
    }
    try {
      checkFilePath(p);
    } catch (err) {
      addError(p, false, reasonOf(err));
      continue;
    }
    if (asciiLower(p) === 'go.mod' && p !== 'go.mod') {
      addError(p, false, REASON.goModCase);
      continue;
    }
    const collision = collisions.check(p, false);
    if (collision !== null) {
      addError(p, false, collision);
      continue;
    }
    if (f.isRegular === false) {
      addError(p, true, REASON.notRegular);
      continue;
    }
    const size = f.size;
    if (size >= 0 && size <= room) room -= size;
    else report.sizeError ??= REASON.treeTooLarge;
    if (p === 'go.mod' && size > MAX_GO_MOD) {
      addError(p, false, REASON.goModSize);
      continue;
    }
    if (p === 'LICENSE' && size > MAX_LICENSE) {
      addError(p, false, REASON.licenseSize);
      continue;
    }
    report.valid.push(p);
  }
  return report;
}
