// A txtar reader (format of golang.org/x/tools/txtar): the comment is the
// lines before the first marker; a marker line is "-- NAME --"; a file's data
// runs to the next marker; a missing final newline is added. No syntax errors.
import { readFileSync } from 'node:fs';

export interface TxtarFile {
  name: string;
  data: Buffer;
}

export interface Txtar {
  comment: string;
  files: TxtarFile[];
}

const NEWLINE = 0x0a;

function markerName(line: Buffer): string | null {
  const s = line.toString('utf8');
  if (!s.startsWith('-- ') || !s.endsWith(' --') || s.length < 6) return null;
  return s.slice(3, -3).trim();
}

/** Parses txtar bytes. File data is kept as raw bytes (fixtures may hold non-UTF-8 data). */
export function parseTxtar(input: Buffer | string): Txtar {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const lines: Buffer[] = [];
  let start = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(NEWLINE, start);
    const end = nl === -1 ? buf.length : nl + 1;
    lines.push(buf.subarray(start, end));
    start = end;
  }
  const files: TxtarFile[] = [];
  const comment: Buffer[] = [];
  let current: { name: string; chunks: Buffer[] } | null = null;
  const flush = (): void => {
    if (!current) return;
    let data = Buffer.concat(current.chunks);
    if (data.length > 0 && data[data.length - 1] !== NEWLINE) data = Buffer.concat([data, Buffer.from('\n')]);
    files.push({ name: current.name, data });
  };
  for (const line of lines) {
    const body = line[line.length - 1] === NEWLINE ? line.subarray(0, line.length - 1) : line;
    const name = markerName(body);
    if (name !== null) {
      flush();
      current = { name, chunks: [] };
    } else if (current) {
      current.chunks.push(line);
    } else {
      comment.push(line);
    }
  }
  flush();
  let c = Buffer.concat(comment);
  if (c.length > 0 && c[c.length - 1] !== NEWLINE) c = Buffer.concat([c, Buffer.from('\n')]);
  return { comment: c.toString('utf8'), files };
}

export function readTxtar(file: string | URL): Txtar {
  return parseTxtar(readFileSync(file));
}

/** `key=value` lines of a txtar comment, as used by golang.org/x/mod/zip testdata. */
export function commentFields(comment: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of comment.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

export const VECTORS = new URL('../fixtures/vectors/', import.meta.url);

export function vectorPath(rel: string): URL {
  return new URL(rel, VECTORS);
}
