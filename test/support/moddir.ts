// Module trees on disk, for tests: the directory walk of golang.org/x/mod/zip
// (listFilesInDir), which CheckDir and CreateFromDir build on. src/modzip
// stays free of disk access; these helpers do the reading.
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkFiles,
  goModLang,
  isVendoredPackage,
  type FileCheckReport,
  type FileProblem,
} from '../../src/modzip/index.js';
import type { ModuleVersion } from '../../src/module/index.js';
import { createModuleZip } from './modzip.js';

export interface DirFile {
  /** Slash-separated path from the module root. */
  path: string;
  /** Path on disk. */
  file: string;
  size: number;
  isRegular: boolean;
}

const VCS_DIRS = new Set(['.bzr', '.git', '.hg', '.svn']);

function readIfFile(file: string): Buffer | undefined {
  try {
    return statSync(file).isFile() ? readFileSync(file) : undefined;
  } catch {
    return undefined;
  }
}

/** Names in a directory in Go's order (os.ReadDir sorts by name, bytewise). */
function sortedNames(dir: string): string[] {
  return readdirSync(dir).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/**
 * listFilesInDir: the files CreateFromDir offers to Create, and what the walk
 * itself leaves out (vendored paths, VCS directories, nested module
 * directories, irregular files), in filepath.Walk order.
 */
export function listModuleDir(root: string): { files: DirFile[]; omitted: FileProblem[] } {
  const rootGoMod = readIfFile(join(root, 'go.mod'));
  const lang = rootGoMod === undefined ? null : goModLang(rootGoMod);
  const files: DirFile[] = [];
  const omitted: FileProblem[] = [];
  const visit = (rel: string): void => {
    const file = rel === '' ? root : join(root, rel);
    const info = lstatSync(file);
    const slashPath = rel === '' ? '.' : rel;
    if (isVendoredPackage(slashPath, lang)) {
      omitted.push({ path: slashPath, reason: 'file is in vendor directory' });
      return;
    }
    if (info.isDirectory()) {
      if (rel !== '') {
        const name = rel.slice(rel.lastIndexOf('/') + 1);
        if (VCS_DIRS.has(name)) {
          omitted.push({ path: slashPath, reason: 'directory is a version control repository' });
          return;
        }
        let goMod;
        try {
          goMod = lstatSync(join(file, 'go.mod'));
        } catch {
          goMod = undefined;
        }
        if (goMod !== undefined && !goMod.isDirectory()) {
          omitted.push({ path: slashPath, reason: 'directory is in another module' });
          return;
        }
      }
      for (const name of sortedNames(file)) visit(rel === '' ? name : `${rel}/${name}`);
      return;
    }
    if (!info.isFile()) {
      omitted.push({ path: slashPath, reason: 'not a regular file' });
      return;
    }
    files.push({ path: slashPath, file, size: info.size, isRegular: true });
  };
  visit('');
  return { files, omitted };
}

/** CheckDir: CheckFiles over the walk, paths joined to the directory, the walk's omissions appended. */
export function checkDir(root: string): FileCheckReport {
  const { files, omitted } = listModuleDir(root);
  const rootGoMod = files.some((f) => f.path === 'go.mod') ? readIfFile(join(root, 'go.mod')) : undefined;
  const report = checkFiles(files, rootGoMod);
  const out: FileCheckReport = {
    valid: report.valid.map((p) => join(root, p)),
    omitted: [...report.omitted, ...omitted].map((o) => ({ path: join(root, o.path), reason: o.reason })),
    invalid: report.invalid.map((o) => ({ path: join(root, o.path), reason: o.reason })),
  };
  if (report.sizeError !== undefined) out.sizeError = report.sizeError;
  return out;
}

/** CreateFromDir: the module zip of the tree at root. */
export async function createModuleZipFromDir(mod: ModuleVersion, root: string): Promise<Buffer> {
  const { files } = listModuleDir(root);
  return createModuleZip(
    mod,
    files.map((f) => ({ name: f.path, data: readFileSync(f.file) })),
  );
}
