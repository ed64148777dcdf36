// Records of the checksum database: parsing lookup paths, checking that a
// record is about the module asked for, and splitting data tiles into
// records (which godepot indexes so it can answer lookups it never made).
import { isValidRecordText } from './tlog/index.js';
import { check, escapedLengthProblem, isCanonicalVersion, unescapePath, unescapeVersion } from '../module/index.js';
import { SumdbError } from './errors.js';

// golang.org/x/mod/sumdb/server.go's lookup syntax.
const LOOKUP_RE = /^[^@]+@v[0-9]+\.[0-9]+\.[0-9]+(-[^@]*)?(\+incompatible)?$/;

export interface ModuleVersionRef {
  readonly path: string;
  readonly version: string;
}

/** Parses "<escpath>@<escver>" of a /lookup/ request (400 on anything malformed). */
export function parseLookupPath(escaped: string): ModuleVersionRef {
  if (!LOOKUP_RE.test(escaped)) throw new SumdbError('bad_request', 'invalid module@version syntax');
  const at = escaped.lastIndexOf('@');
  const long = escapedLengthProblem(escaped.slice(0, at), escaped.slice(at + 1));
  if (long !== null) throw new SumdbError('bad_request', long);
  let path: string;
  let version: string;
  try {
    path = unescapePath(escaped.slice(0, at));
    version = unescapeVersion(escaped.slice(at + 1));
    check(path, version);
  } catch (err) {
    throw new SumdbError('bad_request', `invalid module@version: ${(err as Error).message}`);
  }
  // The database holds canonical versions only (the go command asks for nothing else): "v1.0.0-pre+meta" is not
  // sent to it, where its answer, a record of another version, would count against an honest source.
  if (!isCanonicalVersion(version))
    throw new SumdbError('bad_request', `invalid module@version: ${version} is not a canonical version`);
  return { path, version };
}

/**
 * The module version a record is the database's answer for: the path and
 * version of its first line "<path> <version>[/go.mod] <hash>". A record
 * holds the go.sum lines of one module version; a line about another module
 * does not make it that module's answer (the database answers a lookup of
 * that module with its own record), so the data-tile index files a record
 * under its subject only.
 */
export function recordSubject(text: string): ModuleVersionRef | null {
  const f = (text.split('\n', 1)[0] ?? '').split(' ');
  if (f.length !== 3) return null;
  return { path: f[0] as string, version: (f[1] as string).replace(/\/go\.mod$/, '') };
}

/** True when the record holds a line for path@version (what the go command filters on). */
export function recordMentions(text: string, path: string, version: string): boolean {
  const prefix = `${path} ${version}`;
  return text.split('\n').some((l) => l.startsWith(prefix + ' ') || l.startsWith(prefix + '/go.mod '));
}

/**
 * Splits a data tile into its record texts: each record is its text (ending
 * in '\n') followed by a blank line. Throws on anything else.
 */
export function splitDataTile(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const end = data.indexOf('\n\n', start);
    if (end < 0) throw new Error('data tile does not end with a blank line');
    const text = data.subarray(start, end + 1);
    if (!isValidRecordText(text)) throw new Error(`invalid record text in data tile at byte ${start}`);
    out.push(text);
    start = end + 2;
  }
  return out;
}

/** The first w records of a data tile, re-joined (a partial data tile). */
export function dataTilePrefix(records: readonly Buffer[], w: number): Buffer {
  const parts: Buffer[] = [];
  for (const r of records.slice(0, w)) parts.push(r, Buffer.from('\n'));
  return Buffer.concat(parts);
}
