// Readers for the files operators hand to warm/export: go.sum, go.mod and
// plain lists of module@version. Pure (text in, values out); finding the
// files on disk is targets.ts's job.
import { canonicalVersion, check, isCanonicalVersion, type ModuleVersion } from '../module/index.js';

export class GoFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    // Line 0: not a line of a file (a command-line argument, a folder): said without one.
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'GoFileError';
  }
}

export interface GoSumEntry {
  readonly path: string;
  readonly version: string;
  /** 'zip' for "<path> <version> <hash>", 'mod' for "<path> <version>/go.mod <hash>". */
  readonly kind: 'zip' | 'mod';
  readonly hash: string;
  readonly line: number;
}

/** The legacy placeholder hash the go command drops when it reads go.sum. */
const EMPTY_GO_MOD_HASH = 'h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY=';

function checkModuleVersion(file: string, line: number, path: string, version: string): void {
  try {
    check(path, version);
  } catch (err) {
    throw new GoFileError(file, line, (err as Error).message);
  }
  if (!isCanonicalVersion(version)) {
    // v1 or v1.2 is a query to the go command (the latest v1.x), not v1.0.0: never suggest that.
    throw new GoFileError(
      file,
      line,
      `${path}@${version}: not an exact version; give one like v1.2.3 (queries such as @latest or @v1 are not resolved here)`,
    );
  }
}

/**
 * go.sum lines, as the go command reads them: fields split on white space,
 * exactly three per line (else an error naming the line), blank lines
 * skipped, the legacy empty go.mod hash dropped.
 */
export function parseGoSum(text: string, file = 'go.sum'): GoSumEntry[] {
  const out: GoSumEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const f = raw
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '');
    if (f.length === 0) return;
    if (f.length !== 3)
      throw new GoFileError(file, line, `malformed go.sum line (want "<path> <version>[/go.mod] <hash>")`);
    const [path, v, hash] = f as [string, string, string];
    const kind = v.endsWith('/go.mod') ? 'mod' : 'zip';
    const version = kind === 'mod' ? v.slice(0, -'/go.mod'.length) : v;
    checkModuleVersion(file, line, path, version);
    if (hash === EMPTY_GO_MOD_HASH) return;
    out.push({ path, version, kind, hash, line });
  });
  return out;
}

export interface GoModRequirements {
  readonly module?: string;
  /** require directives (direct and // indirect). */
  readonly requires: ModuleVersion[];
  /** Right-hand sides of replace directives that name a module version. */
  readonly replacements: ModuleVersion[];
  /**
   * Module paths replaced for every version ("replace old => …" without a version on the left), and module versions
   * replaced ("replace old v1.2.3 => …", as "old@v1.2.3"). Sets: each requirement of the file, and of every go.mod
   * in its graph, is looked up in them, and a go.mod may hold hundreds of thousands of each.
   */
  readonly replacedPaths: Set<string>;
  readonly replacedVersions: Set<string>;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
};

/** The body of a "…" string as Go's strconv.Unquote reads it (\x41, \101, \u0041 …); null when it is invalid. */
function goUnquote(body: string): string | null {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i] ?? '';
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const width = { x: 2, u: 4, U: 8 }[e] ?? (/[0-7]/.test(e) ? 3 : 0);
    const digits = e === 'x' || e === 'u' || e === 'U' ? body.slice(i + 1, i + 1 + width) : body.slice(i, i + 3);
    if (width === 0 || digits.length !== width || !(e >= '0' && e <= '7' ? /^[0-7]+$/ : /^[0-9a-fA-F]+$/).test(digits))
      return null;
    const n = parseInt(digits, e >= '0' && e <= '7' ? 8 : 16);
    i += e >= '0' && e <= '7' ? 2 : width;
    if (e === 'x' || (e >= '0' && e <= '7')) {
      if (n > 0xff) return null;
      // A byte: one of UTF-8's, which a module path of ASCII needs no more of.
      out += String.fromCharCode(n);
    } else {
      if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return null;
      out += String.fromCodePoint(n);
    }
  }
  return out;
}

/**
 * Whether c (one code point) may be part of a word, as modfile's isIdent says: printable (Go's unicode.IsPrint:
 * letters, marks, numbers, punctuation, symbols), not a space, not one of the punctuation tokens.
 */
function isIdent(c: string): boolean {
  const n = c.charCodeAt(0);
  // ASCII (nearly every character of a go.mod) without the regular expression: printable is ! to ~.
  if (n < 0x80) return n > 0x20 && n < 0x7f && !'()[]{},'.includes(c);
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(c);
}

/**
 * Splits one go.mod line into tokens as modfile's lexer does: words ("=>" is one only when it stands alone),
 * quoted strings (unquoted as Go's strconv.Unquote does), and the punctuation ( ) [ ] { } ,. Comments dropped.
 * Space is a blank, a tab or a carriage return; any other character outside a word, a string or a comment (a byte
 * order mark, a non-breaking space, a control character) is an error, as the go command refuses the file for it.
 */
export function goModTokens(line: string, file = 'go.mod', lineNo = 0): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = String.fromCodePoint(line.codePointAt(i) as number);
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (line.startsWith('//', i)) {
      break;
    } else if (line.startsWith('/*', i)) {
      throw new GoFileError(file, lineNo, 'go.mod files use // comments, not /* */ comments');
    } else if ('()[]{},'.includes(c)) {
      tokens.push(c);
      i++;
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      while (j < line.length && line[j] !== c) j += c === '"' && line[j] === '\\' ? 2 : 1;
      if (j >= line.length) throw new GoFileError(file, lineNo, 'unterminated quoted string');
      const body = line.slice(i + 1, j);
      // A string Go cannot unquote stays quoted: no module path, as the go command refuses it where it is used.
      tokens.push((c === '"' ? goUnquote(body) : body) ?? line.slice(i, j + 1));
      i = j + 1;
    } else if (!isIdent(c)) {
      throw new GoFileError(
        file,
        lineNo,
        `unexpected character U+${(c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')} (a byte order mark, a control character or an unusual space); the go command refuses this go.mod too: remove it`,
      );
    } else {
      let j = i;
      for (;;) {
        if (j >= line.length || line.startsWith('//', j)) break;
        if (line.startsWith('/*', j))
          throw new GoFileError(file, lineNo, 'go.mod files use // comments, not /* */ comments');
        const d = String.fromCodePoint(line.codePointAt(j) as number);
        if (!isIdent(d)) break;
        j += d.length;
      }
      tokens.push(line.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

/**
 * The module versions a go.mod names: its requirements and the module
 * versions its replace directives point at (local-directory replacements
 * have no version and are left out). Other directives are ignored.
 *
 * A requirement's module path is checked only when it is not replaced: the
 * go command takes `require corp/lib v0.0.0` with `replace corp/lib => ../lib`.
 *
 * `lax` reads a dependency's go.mod the way the go command does
 * (modfile.ParseLax): only its require directives count, a version such as
 * v1.2 is v1.2.0, and a requirement no proxy could serve (an invalid path) is
 * left out rather than the whole file.
 */
export function parseGoMod(text: string, file = 'go.mod', opts: { readonly lax?: boolean } = {}): GoModRequirements {
  let module: string | undefined;
  const requires: ModuleVersion[] = [];
  const requireLines: number[] = [];
  const replacements: ModuleVersion[] = [];
  const replacedPaths = new Set<string>();
  const replacedVersions = new Set<string>();
  /** The verb of the block being read ('' for one the go command does not know, such as "require x ("). */
  let block: string | null = null;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    let tokens = goModTokens(raw, file, lineNo);
    if (tokens.length === 0) return;
    let verb: string;
    if (block !== null) {
      if (tokens[0] === ')') {
        block = null;
        return;
      }
      verb = block;
    } else {
      verb = tokens[0] as string;
      tokens = tokens.slice(1);
      if (tokens[tokens.length - 1] === '(') {
        block = tokens.length === 1 ? verb : '';
        return;
      }
      // "require ()": an empty block.
      if (tokens.length === 2 && tokens[0] === '(' && tokens[1] === ')') return;
    }
    if (verb === 'module' && tokens[0] !== undefined) module = tokens[0];
    else if (verb === 'require') {
      const [path, version] = tokens;
      if (path === undefined || version === undefined || tokens.length !== 2)
        throw new GoFileError(file, lineNo, 'usage: require module/path v1.2.3');
      if (opts.lax) {
        const canonical = canonicalVersion(version);
        if (canonical === '') checkModuleVersion(file, lineNo, path, version);
        try {
          check(path, canonical);
        } catch {
          return;
        }
        requires.push({ path, version: canonical });
        return;
      }
      if (!isCanonicalVersion(version)) checkModuleVersion(file, lineNo, path, version);
      requires.push({ path, version });
      requireLines.push(lineNo);
    } else if (verb === 'replace' && !opts.lax) {
      const arrow = tokens.indexOf('=>');
      if (arrow < 1)
        throw new GoFileError(file, lineNo, 'usage: replace module/path [v1.2.3] => other/module v1.4.5 (or ./dir)');
      const left = tokens.slice(0, arrow);
      const right = tokens.slice(arrow + 1);
      if (left.length === 1) replacedPaths.add(left[0] as string);
      else if (left.length === 2) replacedVersions.add(`${left[0] as string}@${left[1] as string}`);
      if (right.length === 2) {
        const [path, version] = right as [string, string];
        checkModuleVersion(file, lineNo, path, version);
        replacements.push({ path, version });
      }
    }
  });
  const gm = { replacedPaths, replacedVersions };
  requires.forEach((r, i) => {
    if (!isReplaced(r, gm)) checkModuleVersion(file, requireLines[i] ?? 0, r.path, r.version);
  });
  return { ...(module === undefined ? {} : { module }), requires, replacements, replacedPaths, replacedVersions };
}

/** "path@version" → the module version it names (canonical versions only: warm fetches what a build can use). */
export function parseModuleArg(arg: string, file = 'arguments', line = 0): ModuleVersion {
  const at = arg.lastIndexOf('@');
  if (at <= 0) throw new GoFileError(file, line, `${JSON.stringify(arg)} is not module@version`);
  const path = arg.slice(0, at);
  const version = arg.slice(at + 1);
  checkModuleVersion(file, line, path, version);
  return { path, version };
}

/**
 * A list of module versions: one "path@version" (or "path version") per
 * line; '#' and '//' comments and blank lines ignored. Until one line has
 * read as a module version, a bad line is not repeated in the error: any
 * file not named .sum or .mod is read as a list, and one named by a slip
 * (a .env, a token file) would have its secret printed to a CI log.
 */
export function parseModuleList(text: string, file = 'list'): ModuleVersion[] {
  const out: ModuleVersion[] = [];
  text.split('\n').forEach((raw, i) => {
    const s = raw.replace(/(^|\s)(#|\/\/).*$/, '').trim();
    if (s === '') return;
    const f = s.split(/\s+/);
    try {
      if (f.length === 2) out.push(parseModuleArg(`${f[0]}@${f[1]}`, file, i + 1));
      else if (f.length === 1) out.push(parseModuleArg(f[0] as string, file, i + 1));
      else throw new GoFileError(file, i + 1, 'want one module@version per line');
    } catch (err) {
      if (out.length > 0) throw err;
      throw new GoFileError(
        file,
        i + 1,
        'not a list of module@version (want one module@version per line; the line is not shown, in case the file is something else)',
      );
    }
  });
  return out;
}

/** What a go.mod's replace directives replace. */
export type Replaced = Pick<GoModRequirements, 'replacedPaths' | 'replacedVersions'>;

/** True when mv is replaced by a go.mod's replace directives (so it is never downloaded itself). */
export function isReplaced(mv: ModuleVersion, gomod: Replaced): boolean {
  return gomod.replacedPaths.has(mv.path) || gomod.replacedVersions.has(`${mv.path}@${mv.version}`);
}
