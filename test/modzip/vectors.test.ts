// golang/mod zip/testdata (create, create_from_dir, unzip, check_files,
// check_dir, check_zip), run as golang/mod's zip_test.go runs them.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeGoBytes } from '../../src/module/index.js';
import {
  bufferSource,
  checkFiles,
  checkZip,
  formatReport,
  hashFiles,
  hashZip,
  verifyModuleZip,
  ZipError,
} from '../../src/modzip/index.js';
import { checkDir, createModuleZipFromDir } from '../support/moddir.js';
import { createModuleZip, rawZip } from '../support/modzip.js';
import { parseTxtar, vectorPath, type TxtarFile } from '../support/txtar.js';

interface ZipTest {
  name: string;
  path: string;
  version: string;
  hash?: string;
  wantErr?: string;
  files: TxtarFile[];
  want?: string;
}

/**
 * zip_test.go's readTest: comment lines are key=value, '#' starts a comment
 * anywhere on a line. Values are decoded as Go holds bytes, so the 0xFF
 * module path of invalid_utf8_mod_path stays a byte that is not UTF-8.
 */
function readTest(dir: string, file: string): ZipTest {
  const raw = readFileSync(vectorPath(`golang-mod/zip/testdata/${dir}/${file}`));
  const archive = parseTxtar(raw);
  const fields: Record<string, string> = {};
  for (const lineBytes of splitLines(raw)) {
    const line0 = decodeGoBytes(lineBytes);
    if (line0.startsWith('-- ') && line0.endsWith(' --')) break;
    const hash = line0.indexOf('#');
    const line = (hash >= 0 ? line0.slice(0, hash) : line0).trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`${file}: missing = separator`);
    fields[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  const test: ZipTest = {
    name: file.replace(/\.txt$/, ''),
    path: fields['path'] ?? '',
    version: fields['version'] ?? '',
    files: archive.files.filter((f) => f.name !== 'want'),
  };
  if (fields['hash'] !== undefined) test.hash = fields['hash'];
  if (fields['wantErr'] !== undefined) test.wantErr = fields['wantErr'];
  const want = archive.files.find((f) => f.name === 'want');
  if (want !== undefined) test.want = want.data.toString('utf8');
  return test;
}

function splitLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let start = 0; start < buf.length;) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl < 0 ? buf.length : nl;
    out.push(buf.subarray(start, end));
    start = end + 1;
  }
  return out;
}

function tests(dir: string): ZipTest[] {
  const files = readdirSync(vectorPath(`golang-mod/zip/testdata/${dir}/`)).filter((f) => f.endsWith('.txt'));
  return files.sort().map((f) => readTest(dir, f));
}

const tmpRoots: string[] = [];
function extractToTempDir(files: TxtarFile[]): string {
  const root = mkdtempSync(join(tmpdir(), 'godepot-modzip-'));
  tmpRoots.push(root);
  for (const f of files) {
    const target = join(root, f.name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.data);
  }
  return root;
}
afterAll(() => {
  for (const r of tmpRoots) rmSync(r, { recursive: true, force: true });
});

async function expectZipHash(zip: Buffer, t: ZipTest): Promise<void> {
  const mod = { path: t.path, version: t.version };
  const summary = await verifyModuleZip(bufferSource(zip), mod);
  expect(summary.h1).toBe(t.hash);
  expect((await hashZip(bufferSource(zip))).h1).toBe(t.hash);
}

async function expectError(p: Promise<unknown>, wantErr: string): Promise<void> {
  const err: unknown = await p.then(
    () => new Error('unexpected success'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ZipError);
  expect((err as ZipError).message).toContain(wantErr);
}

const VECTOR_HASHES = new Set<string>();

describe('create', () => {
  for (const t of tests('create')) {
    it(t.name, async () => {
      const mod = { path: t.path, version: t.version };
      const files = t.files.map((f) => ({ name: f.name, data: f.data }));
      if (t.wantErr !== undefined) return expectError(createModuleZip(mod, files), t.wantErr);
      VECTOR_HASHES.add(`create/${t.name}`);
      return expectZipHash(await createModuleZip(mod, files), t);
    });
  }
});

describe('create_from_dir', () => {
  for (const t of tests('create_from_dir')) {
    it(t.name, async () => {
      const mod = { path: t.path, version: t.version };
      const root = extractToTempDir(t.files);
      if (t.wantErr !== undefined) return expectError(createModuleZipFromDir(mod, root), t.wantErr);
      VECTOR_HASHES.add(`create_from_dir/${t.name}`);
      return expectZipHash(await createModuleZipFromDir(mod, root), t);
    });
  }
});

describe('unzip', () => {
  for (const t of tests('unzip')) {
    it(t.name, async () => {
      const mod = { path: t.path, version: t.version };
      const zip = await rawZip(t.files.map((f) => ({ name: f.name, data: f.data })));
      if (t.wantErr !== undefined) return expectError(verifyModuleZip(bufferSource(zip), mod), t.wantErr);
      VECTOR_HASHES.add(`unzip/${t.name}`);
      await expectZipHash(zip, t);
      // Go hashes the extracted tree (HashDir): the same names and contents.
      expect(hashFiles(t.files.map((f) => ({ name: f.name, data: f.data })))).toBe(t.hash);
    });
  }

  it('reproduces all 17 hash= values', () => {
    expect(VECTOR_HASHES.size).toBe(17);
  });
});

describe('check_files', () => {
  for (const t of tests('check_files')) {
    it(t.name, () => {
      const rootGoMod = t.files.filter((f) => f.name === 'go.mod').at(-1)?.data;
      const report = checkFiles(
        t.files.map((f) => ({ path: f.name, size: f.data.length })),
        rootGoMod,
      );
      expect(formatReport(report)).toBe(t.want);
    });
  }
});

describe('check_dir', () => {
  for (const t of tests('check_dir')) {
    it(t.name, () => {
      const root = extractToTempDir(t.files);
      expect(formatReport(checkDir(root)).split(root).join('$work')).toBe(t.want);
    });
  }
});

describe('check_zip', () => {
  for (const t of tests('check_zip')) {
    it(t.name, async () => {
      const zip = await rawZip(t.files.map((f) => ({ name: f.name, data: f.data })));
      const report = await checkZip(bufferSource(zip), { path: t.path, version: t.version });
      expect(formatReport(report)).toBe(t.want);
    });
  }
});
