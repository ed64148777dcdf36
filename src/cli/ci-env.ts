// `godepot ci-env`: the Go settings a CI job needs to build through a given
// godepot, as shell exports or a GitHub Actions / GitLab CI snippet.
//
// Separator choice (PROTOCOL.md §1.3): after ',' the go command moves to the
// next GOPROXY entry only on 404/410; after '|' on any error. A fallback is
// meant to cover godepot being down or failing (refused, time-out, 5xx), so
// every fallback is joined with '|'. With no fallback the list is godepot
// alone: a godepot outage stops the build, by design (every module then
// provably came through godepot).
import { ConfigError, parseFlags } from '../config/load.js';
import type { OptionSpec } from '../config/options.js';
import { ValueError } from '../config/values.js';
import { parseGosumdb } from './doctor/config-check.js';
import { PROCESS_IO, type CommandIO } from './command-settings.js';
import { publicPathsMatched } from './doctor/config-check.js';
import { InvalidPatternError, patternList, splitPatterns } from '../module/index.js';

export type Fallback = 'none' | 'proxy.golang.org' | 'direct';
export type CiFormat = 'shell' | 'github' | 'gitlab';

export interface CiEnvOptions {
  readonly proxy: string;
  readonly fallback: Fallback;
  /** GOPRIVATE-syntax patterns of private modules ('' for none). */
  readonly private: string;
  /** 'direct': private modules are fetched from their VCS; 'godepot': through godepot (which must list them in --nosumdb). */
  readonly privateVia: 'direct' | 'godepot';
  /** GOSUMDB value: a database name or "NAME+HASH+KEY" (never off). */
  readonly sumdb: string;
  /** The GOFLAGS already set where the job runs: kept, with -mod=readonly added. */
  readonly goflags?: string;
}

export interface CiVar {
  readonly name: string;
  readonly value: string;
  readonly why: string;
}

const FLAGS: readonly OptionSpec[] = [
  { name: 'proxy', type: 'string', default: '', help: "godepot's URL" },
  { name: 'fallback', type: 'string', default: 'none', help: 'none | proxy.golang.org | direct' },
  {
    name: 'private',
    type: 'string',
    default: '',
    help: 'GOPRIVATE-syntax patterns of private modules (comma-separated, repeatable)',
  },
  { name: 'private-via', type: 'string', default: 'direct', help: 'direct | godepot' },
  { name: 'gosumdb', type: 'string', default: 'sum.golang.org', help: 'the checksum database (name or NAME+HASH+KEY)' },
  { name: 'format', type: 'string', default: 'shell', help: 'shell | github | gitlab' },
];

const CI_ENV_HELP = `Usage: godepot ci-env --proxy URL [--fallback none|proxy.golang.org|direct]
                     [--private PATTERNS [--private-via direct|godepot]]
                     [--gosumdb NAME|KEY] [--format shell|github|gitlab]

Prints the Go settings a CI job needs to build through godepot:
  GOPROXY   godepot, then the fallback joined with '|' (any godepot failure falls through)
  GOSUMDB   left on (the go command finds the database through godepot)
  GOFLAGS   -mod=readonly added to the GOFLAGS of the environment (kept): a build never rewrites go.mod/go.sum, so every hash is checked
  GOPRIVATE, GONOSUMDB, GONOPROXY  for --private patterns only
A token in --proxy (https://ci:TOKEN@host) is printed as a reference to the CI secret GODEPOT_TOKEN, never itself.
`;

function quoteShell(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

function quoteYaml(v: string): string {
  return JSON.stringify(v);
}

/**
 * Where the token of a --proxy URL with one (https://ci:TOKEN@host, for
 * godepot's --auth) stands in what ci-env prints: a reference to the CI
 * secret GODEPOT_TOKEN, never the token, which would end up committed with
 * the workflow file.
 */
const TOKEN_MARK = 'GODEPOT_TOKEN_MARK';
const TOKEN_SECRET = 'GODEPOT_TOKEN';

/** v with the token's mark replaced by how the format reads the CI secret, quoted for that format. */
function quoted(v: string, format: CiFormat): string {
  const [before, after] = v.split(TOKEN_MARK) as [string, string | undefined];
  if (after === undefined) return format === 'shell' ? quoteShell(v) : quoteYaml(v);
  switch (format) {
    case 'shell':
      return `${quoteShell(before)}"\${${TOKEN_SECRET}}"${quoteShell(after)}`;
    case 'github':
      return quoteYaml(`${before}\${{ secrets.${TOKEN_SECRET} }}${after}`);
    case 'gitlab':
      return quoteYaml(`${before}\${${TOKEN_SECRET}}${after}`);
  }
}

function normalizeProxyUrl(input: string): string {
  // "godepot.internal:8443" parses as a URL of scheme "godepot.internal:": say what is missing instead.
  const bare = input.trim();
  if (bare !== '' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(bare) && !/[\s,|]/.test(bare))
    throw new ConfigError(
      `invalid --proxy ${JSON.stringify(input)}: give godepot's URL with its scheme: https://${bare}, or http://${bare} if it serves plain HTTP`,
    );
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new ConfigError(
      `invalid --proxy ${JSON.stringify(input)}: want godepot's URL, like https://godepot.internal`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`invalid --proxy ${JSON.stringify(input)}: the scheme must be http or https`);
  if (url.search || url.hash) throw new ConfigError(`invalid --proxy ${JSON.stringify(input)}: no query or fragment`);
  if (/[,|]/.test(url.toString()))
    throw new ConfigError(`invalid --proxy ${JSON.stringify(input)}: ',' and '|' separate GOPROXY entries`);
  return url.toString().replace(/\/+$/, '');
}

function checkGosumdb(value: string): string {
  const v = value.trim();
  if (v === '' || v === 'off')
    throw new ConfigError('--gosumdb off is refused: builds through godepot keep the checksum database on');
  if (/\s/.test(v))
    throw new ConfigError(
      '--gosumdb takes a name or a key only; the go command then reaches the database through godepot',
    );
  // As the go command reads it (doctor checks a GOSUMDB the same way).
  const spec = parseGosumdb(v);
  if (spec.error !== undefined) throw new ConfigError(`invalid --gosumdb ${JSON.stringify(value)}: ${spec.error}`);
  return v;
}

export function ciEnv(o: CiEnvOptions): CiVar[] {
  let proxy = normalizeProxyUrl(o.proxy);
  const url = new URL(proxy);
  const token = url.password !== '';
  if (token) {
    url.password = TOKEN_MARK;
    proxy = url.toString().replace(/\/+$/, '');
  }
  const goproxy = {
    none: proxy,
    'proxy.golang.org': `${proxy}|https://proxy.golang.org`,
    direct: `${proxy}|direct`,
  }[o.fallback];
  const why = {
    none: 'godepot only: if it is down the build stops (no module can bypass it)',
    'proxy.golang.org':
      "godepot, then proxy.golang.org on any godepot failure ('|', not ',': ',' falls through only on 404/410)",
    direct: "godepot, then the modules' own repositories on any godepot failure ('|'; needs VCS access)",
  }[o.fallback];
  const vars: CiVar[] = [
    {
      name: 'GOPROXY',
      value: goproxy,
      why: token ? `${why}; the token from the CI secret ${TOKEN_SECRET} (store it there, never in this file)` : why,
    },
    {
      name: 'GOSUMDB',
      value: checkGosumdb(o.sumdb),
      why: 'checksum database on; the go command reaches it through godepot (/sumdb/<name>/)',
    },
    {
      name: 'GOFLAGS',
      value: mergeGoflags(o.goflags ?? ''),
      why: `builds never rewrite go.mod or go.sum${(o.goflags ?? '').trim() ? ' (your GOFLAGS kept)' : ''}`,
    },
  ];
  const patterns = privatePatterns(o.private);
  if (patterns !== '') {
    const hits = publicPathsMatched(patterns);
    if (hits.length > 0)
      throw new ConfigError(
        `--private ${patterns} also covers public modules (${hits.slice(0, 3).join(', ')}): their checksums would never be checked; name your private paths, e.g. github.com/yourorg`,
      );
    // Through godepot, private modules are asked of every GOPROXY entry (no GONOPROXY), and '|' moves on
    // whatever godepot answered: a public proxy behind it would learn their paths.
    if (o.privateVia === 'godepot' && o.fallback === 'proxy.golang.org')
      throw new ConfigError(
        `--private-via godepot with --fallback proxy.golang.org would send private module paths to proxy.golang.org whenever godepot does not serve them (down, a Git host outage, a refused token): use --fallback none or direct, or --private-via direct`,
      );
    if (o.privateVia === 'direct') {
      vars.push({
        name: 'GOPRIVATE',
        value: patterns,
        why: 'private modules: fetched from their repositories, not looked up in the checksum database',
      });
      vars.push({ name: 'GONOPROXY', value: patterns, why: 'private modules bypass godepot' });
    }
    const via =
      o.privateVia === 'direct'
        ? ''
        : ' (they come through godepot: give godepot --private with the same patterns and credentials for the Git host; with --auth, the job needs its token in .netrc or GOPROXY=https://USER:TOKEN@host)';
    vars.push({
      name: 'GONOSUMDB',
      value: patterns,
      why: `private modules are never looked up in the public checksum database${via}`,
    });
  }
  return vars;
}

/**
 * The --private patterns as the go command is to read them: entries trimmed
 * (it would take " b.example" as a pattern matching nothing). A malformed one
 * is refused: the go command ignores it, so GOPRIVATE and GONOSUMDB would
 * keep nothing private, as godepot's own --private refuses it.
 */
function privatePatterns(value: string): string {
  try {
    return patternList([value]).join(',');
  } catch (err) {
    if (err instanceof InvalidPatternError)
      throw new ConfigError(
        `invalid --private: ${err.message}; the go command ignores such a pattern, so it would keep nothing private: write a path.Match glob like git.corp.example or *.corp.example`,
      );
    throw err;
  }
}

/**
 * The user's GOFLAGS with -mod=readonly added: every entry kept, except a
 * -mod=mod, which would let a build rewrite go.mod and go.sum (-mod=vendor
 * never does, so it stays).
 */
export function mergeGoflags(existing: string): string {
  const flags = existing.split(/\s+/).filter((f) => f !== '');
  const mod = flags.find((f) => /^--?mod=/.test(f));
  if (mod !== undefined && /=(readonly|vendor)$/.test(mod)) return flags.join(' ');
  return [...flags.filter((f) => f !== mod), '-mod=readonly'].join(' ');
}

export function formatCiEnv(vars: readonly CiVar[], format: CiFormat): string {
  switch (format) {
    case 'shell':
      return vars.map((v) => `# ${v.why}\nexport ${v.name}=${quoted(v.value, format)}`).join('\n') + '\n';
    case 'github':
      return (
        [
          '# GitHub Actions: at workflow or job level',
          'env:',
          ...vars.flatMap((v) => [`  # ${v.why}`, `  ${v.name}: ${quoted(v.value, format)}`]),
        ].join('\n') + '\n'
      );
    case 'gitlab':
      return (
        [
          '# GitLab CI: at top level or in a job',
          'variables:',
          ...vars.flatMap((v) => [`  # ${v.why}`, `  ${v.name}: ${quoted(v.value, format)}`]),
        ].join('\n') + '\n'
      );
  }
}

function choice<T extends string>(name: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`invalid --${name} ${JSON.stringify(value)}: want ${choices.join(', ')}`);
}

export async function ciEnvCommand(args: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  const flags = parseFlags(args, 'ci-env', FLAGS);
  if (flags.help) {
    io.out(CI_ENV_HELP);
    return 0;
  }
  if (flags.positionals.length > 0)
    throw new ConfigError(`unexpected argument ${JSON.stringify(flags.positionals[0])}`);
  const get = (n: string): string =>
    flags.values.get(n)?.at(-1) ?? (FLAGS.find((f) => f.name === n)?.default as string);
  const proxy = get('proxy');
  if (proxy === '') throw new ConfigError("--proxy URL is required (godepot's address as CI jobs reach it)");
  try {
    const vars = ciEnv({
      proxy,
      fallback: choice('fallback', get('fallback'), ['none', 'proxy.golang.org', 'direct'] as const),
      // Patterns add up when --private is repeated, as godepot's own --private does.
      private: splitPatterns(flags.values.get('private') ?? []).join(','),
      privateVia: choice('private-via', get('private-via'), ['direct', 'godepot'] as const),
      sumdb: get('gosumdb'),
      goflags: io.env.GOFLAGS ?? '',
    });
    io.out(formatCiEnv(vars, choice('format', get('format'), ['shell', 'github', 'gitlab'] as const)));
  } catch (err) {
    if (err instanceof ValueError) throw new ConfigError(err.message);
    throw err;
  }
  return 0;
}
