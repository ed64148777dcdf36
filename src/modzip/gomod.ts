// The language version a root go.mod declares (`go 1.24`), read the way
// golang.org/x/mod/zip reads it: modfile.ParseLax, then go/version.Lang.
// Since Go 1.24 that version changes which vendor files Create leaves out.
//
// This is a small subset of ParseLax: the lexer (comments, quoted strings,
// punctuation, blocks) and the rules for the `go` and `module` directives.
// Other directives are not validated, so a go.mod that ParseLax rejects for a
// malformed require line still yields its go version here.

export interface GoLang {
  major: number;
  minor: number;
}

const GO_VERSION = /^([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?$/;
const LAX_GO_VERSION = /^v?(([1-9][0-9]*)\.(0|[1-9][0-9]*))([^0-9].*)$/;
const PUNCT = new Set(['(', ')', '[', ']', '{', '}', ',']);

class SyntaxError_ extends Error {}

/** Tokens of one line; comments dropped. Throws on an unterminated string. */
function lexLine(line: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] ?? '';
    if (c === ' ' || c === '\t' || c === '\r' || c === '\v' || c === '\f') {
      i++;
    } else if (line.startsWith('//', i)) {
      break;
    } else if (PUNCT.has(c)) {
      tokens.push(c);
      i++;
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      while (j < line.length && line[j] !== c) j += c === '"' && line[j] === '\\' ? 2 : 1;
      if (j >= line.length) throw new SyntaxError_('unterminated quoted string');
      tokens.push(line.slice(i, j + 1));
      i = j + 1;
    } else {
      let j = i;
      while (j < line.length && !/[\s()[\]{},"`]/.test(line[j] ?? ' ') && !line.startsWith('//', j)) j++;
      if (line.startsWith('/*', i)) throw new SyntaxError_('mod files must use // comments, not /* comments');
      tokens.push(line.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

/** "1.24.1", "1.21rc2", or a lax form such as "1.24-x" → its language version. */
function parseGoVersion(arg: string): GoLang | null {
  let m = GO_VERSION.exec(arg);
  if (m === null) {
    const lax = LAX_GO_VERSION.exec(arg);
    if (lax === null) return null;
    m = GO_VERSION.exec(lax[1] ?? '');
    if (m === null) return null;
  }
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/**
 * The language version of a go.mod (go/version.Lang of its `go` line), or
 * null when there is none or the file does not parse (Go then uses "",
 * which sorts before every version).
 */
export function goModLang(content: Uint8Array | string): GoLang | null {
  const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
  let lang: GoLang | null = null;
  let sawGo = false;
  let sawModule = false;
  let inBlock = false;
  try {
    for (const line of text.split('\n')) {
      const tokens = lexLine(line);
      if (tokens.length === 0) continue;
      if (inBlock) {
        if (tokens[0] === ')') inBlock = false;
        continue;
      }
      if (tokens[tokens.length - 1] === '(') {
        inBlock = true;
        continue;
      }
      const [verb, ...args] = tokens;
      if (verb === 'go') {
        if (sawGo || args.length !== 1) return null;
        sawGo = true;
        lang = parseGoVersion(args[0] ?? '');
        if (lang === null) return null;
      } else if (verb === 'module') {
        if (sawModule || args.length !== 1) return null;
        sawModule = true;
      }
    }
  } catch (err) {
    if (err instanceof SyntaxError_) return null;
    throw err;
  }
  return lang;
}

/** version.Compare(lang, "go1.<minor>") >= 0 for a Go 1 language version. */
export function langAtLeast(lang: GoLang | null, major: number, minor: number): boolean {
  if (lang === null) return false;
  return lang.major !== major ? lang.major > major : lang.minor >= minor;
}
