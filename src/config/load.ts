// Settings from flags, then GODEPOT_* environment variables, then a JSON
// config file (--config), then defaults — in that order of precedence —
// validated once at start by one schema (schema.ts) with a message that
// names the bad setting and where its value came from.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { envName, findOption, OPTIONS, type OptionSpec } from './options.js';
import { SETTINGS_SCHEMA } from './schema.js';
import { nearestName } from './go-env.js';
import type { Settings } from './settings.js';
import { unreadableFile } from '../util/error-codes.js';

export { autoWorkers } from './schema.js';
export { parseListen } from './values.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ParsedArgs {
  /** Every occurrence of each flag given, by name. */
  values: Map<string, string[]>;
  positionals: string[];
  configFile?: string;
  help: boolean;
}

/**
 * Parses `--name value`, `--name=value` and bare boolean `--name` flags
 * against flags (with --config FILE and -h/--help), refusing any other.
 * parseArgs's own strict mode would also refuse `--access-log=false`, the
 * only way to turn a default-on boolean off, so its tokens are checked here.
 */
export function parseFlags(
  args: readonly string[],
  command: string,
  flags: readonly OptionSpec[] = OPTIONS,
): ParsedArgs {
  const specs = new Map(flags.map((f) => [f.name, f]));
  for (const a of args) {
    if (a === '--') break;
    // Go's flag package takes -listen; parseArgs would read it as -l -i -s …
    const single = /^-([a-z][a-z0-9-]+)(=.*)?$/.exec(a);
    if (single) {
      const name = single[1] as string;
      throw new ConfigError(
        specs.has(name) || name === 'config' || name === 'help'
          ? `unknown flag ${a.split('=')[0]}: godepot's flags take two dashes (--${name}); see godepot ${command} --help`
          : `unknown flag ${a.split('=')[0]}${didYouMean(name, flags)}; see godepot ${command} --help`,
      );
    }
  }
  const options = Object.fromEntries(
    flags.map((f) => [f.name, { type: f.type === 'boolean' ? ('boolean' as const) : ('string' as const) }]),
  );
  const { tokens } = parseArgs({
    args: [...args],
    options: { ...options, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const parsed: ParsedArgs = { values: new Map(), positionals: [], help: false };
  // A boolean flag given without "=": the word after it would be read as an argument.
  let bareBoolean: string | null = null;
  for (const t of tokens) {
    if (t.kind === 'positional') {
      if (bareBoolean !== null && /^(true|false|yes|no|on|off|1|0)$/i.test(t.value))
        throw new ConfigError(
          `${bareBoolean} ${t.value}: a boolean flag takes its value after "=": ${bareBoolean}=${t.value}`,
        );
      parsed.positionals.push(t.value);
    }
    bareBoolean = null;
    if (t.kind !== 'option') continue;
    if (t.name === 'help') {
      parsed.help = true;
      continue;
    }
    const spec = specs.get(t.name);
    if (!spec && t.name !== 'config')
      throw new ConfigError(`unknown flag ${t.rawName}${didYouMean(t.name, flags)}; see godepot ${command} --help`);
    const value = t.value ?? (spec?.type === 'boolean' ? 'true' : undefined);
    if (t.value === undefined && spec?.type === 'boolean') bareBoolean = t.rawName;
    if (value === undefined) throw new ConfigError(`${t.rawName} needs a value`);
    if (t.name === 'config') parsed.configFile = value;
    else parsed.values.set(t.name, [...(parsed.values.get(t.name) ?? []), value]);
  }
  return parsed;
}

/** " (did you mean --workers?)" for a name two edits or fewer from a known one, spelled by spell; else "". */
function didYouMean(name: string, flags: readonly OptionSpec[], spell = (n: string): string => `--${n}`): string {
  const near = nearestName(
    name,
    flags.map((f) => f.name),
  );
  return near === undefined ? '' : ` (did you mean ${spell(near)}?)`;
}

/** Raw settings by name, and where each came from (absent: a flag) for messages. */
export interface RawSettings {
  readonly values: Record<string, unknown>;
  readonly from: Record<string, string>;
}

/** Settings for `godepot serve`: flags > environment > config file > defaults. */
export function loadSettings(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Settings {
  return buildSettings(serveValues(args, env));
}

/** The raw values of `godepot serve`'s flags, environment and config file (what was given, before defaults). */
export function serveValues(args: readonly string[], env: NodeJS.ProcessEnv = process.env): RawSettings {
  const flags = parseFlags(args, 'serve');
  if (flags.positionals.length > 0)
    throw new ConfigError(`unexpected argument ${JSON.stringify(flags.positionals[0])}`);
  return layeredValues(flags, env);
}

/** The raw settings of parsed flags over the environment over the config file (--config, else GODEPOT_CONFIG). */
export function layeredValues(flags: ParsedArgs, env: NodeJS.ProcessEnv): RawSettings {
  const raw: RawSettings = { values: {}, from: {} };
  // --config "$UNSET_VARIABLE": every setting of the file meant would be left at its default without a word.
  if (flags.configFile?.trim() === '')
    throw new ConfigError('--config is empty: name a JSON config file, or leave the flag out');
  const file = flags.configFile ?? env.GODEPOT_CONFIG;
  if (file) {
    // A GODEPOT_CONFIG left in the environment is easily forgotten: its problems name it.
    const named =
      flags.configFile === undefined ? `config file ${file} (named by GODEPOT_CONFIG)` : `config file ${file}`;
    for (const [name, value] of Object.entries(readConfigFile(file, named))) {
      raw.values[name] = value;
      raw.from[name] = `config file ${file}`;
    }
  }
  for (const o of OPTIONS) {
    const v = env[envName(o.name)];
    if (v === undefined) continue;
    // A list's entries are separated by ';' (they may contain ',' and spaces).
    raw.values[o.name] =
      o.type === 'list'
        ? v
            .split(';')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : v;
    raw.from[o.name] = envName(o.name);
  }
  for (const o of OPTIONS) {
    const v = flags.values.get(o.name);
    if (v === undefined) continue;
    // A setting given twice takes the last value, as the go command's flags do (a wrapper's default, then the
    // user's); a list (--sumdb, --verify-rule, the patterns of --private and --nosumdb) takes them all.
    if (v.length > 1 && o.once !== undefined)
      throw new ConfigError(`--${o.name} is given ${v.length} times: ${o.once}`);
    raw.values[o.name] = o.type === 'list' ? v : v.at(-1);
    delete raw.from[o.name];
  }
  return raw;
}

/** The settings of a JSON config file; named is how messages call it ("config file FILE"). */
function readConfigFile(file: string, named: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${named}: ${unreadableFile(err, 'a JSON file')}`);
  }
  // Windows editors save UTF-8 with a byte-order mark, which JSON.parse refuses.
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${named} is not valid JSON (${jsonProblem(text, (err as Error).message)}): ${NOT_JSON}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ConfigError(`${named}: expected a JSON object of settings, like {"listen": ":8080"}`);
  const unknown = Object.keys(json).find((k) => !findOption(k));
  if (unknown !== undefined)
    throw new ConfigError(
      `${named}: unknown setting ${JSON.stringify(unknown)}${didYouMean(unknown, OPTIONS, (n) => JSON.stringify(n))} (see godepot serve --help)`,
    );
  return json as Record<string, unknown>;
}

const NOT_JSON = 'write it as one JSON object, like {"listen": ":8080"} (no comments, no YAML)';

/**
 * JSON.parse's reason, with where it stopped as "line L, column C". The text
 * it quotes is left out: for a short file that is the whole file, newlines
 * (a second log line) and any password in it included.
 */
function jsonProblem(text: string, message: string): string {
  const reason = message.replace(/, ".*is not valid JSON$/s, '');
  const at = /^(.*) in JSON at position (\d+)/s.exec(reason);
  if (!at) return reason;
  const before = text.slice(0, Number(at[2])).split('\n');
  return `${at[1]} at line ${before.length}, column ${(before.at(-1) as string).length + 1}`;
}

/** Checks raw settings (missing ones take their defaults) and resolves them into Settings. */
export function buildSettings(raw: RawSettings): Settings {
  const defaults = Object.fromEntries(OPTIONS.map((o) => [o.name, o.default]));
  const result = SETTINGS_SCHEMA.safeParse({ ...defaults, ...raw.values });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const [name, index] = issue?.path ?? [];
  if (issue === undefined || typeof name !== 'string')
    throw new ConfigError(`invalid settings: ${result.error.message}`);
  const entry = typeof index === 'number' ? ` #${index + 1}` : '';
  const from = !(name in raw.values) ? ' (the default)' : raw.from[name] ? ` (from ${raw.from[name]})` : '';
  throw new ConfigError(`invalid --${name}${entry}: ${issue.message}${from}`);
}
