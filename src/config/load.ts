// Settings from flags, then GODEPOT_* environment variables, then a JSON
// config file (--config), then defaults — in that order of precedence —
// validated once at start with a message that names the bad setting.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { pathMatch } from '../module/index.js';
import { newVerifier } from '../sumdb/note/index.js';
import { envName, findOption, OPTIONS, type OptionSpec } from './options.js';
import type { CallClass, Deadlines, Settings, VerifyMode } from './settings.js';
import {
  DEFAULT_SUMDB,
  parseDuration,
  parseSize,
  parseStorage,
  parseSumdbSpec,
  parseUpstreamList,
  SUMDB_OFF,
  ValueError,
} from './values.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Raw values by option name; lists hold every occurrence. */
type RawValues = Map<string, string[]>;

export interface ParsedArgs {
  values: RawValues;
  positionals: string[];
  configFile?: string;
  help: boolean;
}

/** Parses `--name value`, `--name=value` and bare boolean `--name` flags against OPTIONS. */
export function parseFlags(args: readonly string[], extra: readonly OptionSpec[] = []): ParsedArgs {
  const values: RawValues = new Map();
  const positionals: string[] = [];
  let configFile: string | undefined;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (name === 'config') {
      value ??= args[++i];
      if (value === undefined) throw new ConfigError('--config needs a file name');
      configFile = value;
      continue;
    }
    const spec = findOption(name) ?? extra.find((o) => o.name === name);
    if (!spec) throw new ConfigError(`unknown flag --${name} (see --help)`);
    if (value === undefined) {
      if (spec.type === 'boolean') value = 'true';
      else {
        value = args[++i];
        if (value === undefined) throw new ConfigError(`--${name} needs a value`);
      }
    }
    const prev = values.get(name);
    if (prev && spec.type === 'list') prev.push(value);
    else values.set(name, [value]);
  }
  return { values, positionals, help, ...(configFile === undefined ? {} : { configFile }) };
}

const fileValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);

function readConfigFile(file: string): RawValues {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const shape = Object.fromEntries(OPTIONS.map((o) => [o.name, fileValue.optional()]));
  const parsed = z.object(shape).strict().safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(top level)';
    const what =
      issue?.code === 'unrecognized_keys'
        ? `unknown setting ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`
        : issue?.message;
    throw new ConfigError(`config file ${file}: ${where}: ${what}`);
  }
  const out: RawValues = new Map();
  for (const [k, v] of Object.entries(parsed.data)) {
    if (v === undefined) continue;
    out.set(k, Array.isArray(v) ? v.map(String) : [String(v)]);
  }
  return out;
}

function readEnv(env: NodeJS.ProcessEnv): RawValues {
  const out: RawValues = new Map();
  for (const o of OPTIONS) {
    const v = env[envName(o.name)];
    if (v === undefined) continue;
    out.set(
      o.name,
      o.type === 'list'
        ? v
            .split(';')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : [v],
    );
  }
  return out;
}

/** Settings for `godepot serve`: flags > environment > config file > defaults. */
export function loadSettings(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Settings {
  const flags = parseFlags(args);
  if (flags.positionals.length > 0)
    throw new ConfigError(`unexpected argument ${JSON.stringify(flags.positionals[0])}`);
  return buildSettings(layeredValues(flags, env));
}

/** The raw settings of parsed flags over the environment over the config file (--config, else GODEPOT_CONFIG). */
export function layeredValues(flags: ParsedArgs, env: NodeJS.ProcessEnv): RawValues {
  const configFile = flags.configFile ?? env.GODEPOT_CONFIG;
  const layers = [configFile ? readConfigFile(configFile) : new Map<string, string[]>(), readEnv(env), flags.values];
  const raw: RawValues = new Map();
  for (const layer of layers) for (const [k, v] of layer) raw.set(k, v);
  return raw;
}

/** `--workers auto`: one per core the process may use, at most AUTO_WORKERS_MAX. */
export function autoWorkers(cores = availableParallelism()): number {
  return Math.max(1, Math.min(AUTO_WORKERS_MAX, cores));
}
/** Past this, the primary's accept and IPC and each worker's memory cache cost more than another core gives. */
const AUTO_WORKERS_MAX = 8;

export function buildSettings(raw: RawValues): Settings {
  const get = (name: string): string[] => {
    const spec = findOption(name);
    if (!spec) throw new Error(`internal: no option ${name}`);
    const v = raw.get(name);
    if (v !== undefined) return v;
    return typeof spec.default === 'string' ? [spec.default] : [...spec.default];
  };
  const one = (name: string): string => get(name)[0] ?? '';
  const wrap = <T>(name: string, f: (s: string) => T): T => {
    try {
      return f(one(name));
    } catch (err) {
      const source = raw.has(name) ? '' : ' (default)';
      throw new ConfigError(`invalid --${name}${source}: ${(err as Error).message}`);
    }
  };
  const duration = (name: string): number => wrap(name, parseDuration);
  const size = (name: string): number => wrap(name, parseSize);
  const int = (name: string, min: number, max: number): number =>
    wrap(name, (s) => {
      if (!/^\d+$/.test(s.trim())) throw new ValueError(`${JSON.stringify(s)} is not a whole number`);
      const n = Number(s);
      if (n < min || n > max) throw new ValueError(`${n} is out of range ${min}..${max}`);
      return n;
    });
  const bool = (name: string): boolean =>
    wrap(name, (s) => {
      const v = s.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      throw new ValueError(`${JSON.stringify(s)} is not true or false`);
    });
  const choice = <T extends string>(name: string): T =>
    wrap(name, (s) => {
      const choices = findOption(name)?.choices ?? [];
      if (!choices.includes(s)) throw new ValueError(`${JSON.stringify(s)} is not one of ${choices.join(', ')}`);
      return s as T;
    });

  const listen = wrap('listen', parseListen);
  const upstream = wrap('upstream', parseUpstreamList);
  const sumdbRaw = get('sumdb').map((v) => v.trim());
  if (sumdbRaw.length === 0 || sumdbRaw.includes(''))
    throw new ConfigError(
      `invalid --sumdb: empty; name a checksum database (the default is ${DEFAULT_SUMDB}), or say --sumdb ${SUMDB_OFF} to run without verification`,
    );
  if (sumdbRaw.includes(SUMDB_OFF) && sumdbRaw.length > 1)
    throw new ConfigError(`invalid --sumdb: "${SUMDB_OFF}" cannot be combined with databases`);
  const sumdbSpecs = sumdbRaw[0] === SUMDB_OFF ? [] : sumdbRaw;
  const sumdb = sumdbSpecs.map((spec, i) => {
    try {
      const parsed = parseSumdbSpec(spec);
      newVerifier(parsed.key);
      return parsed;
    } catch (err) {
      throw new ConfigError(`invalid --sumdb #${i + 1} ${JSON.stringify(spec)}: ${(err as Error).message}`);
    }
  });
  const names = new Set<string>();
  for (const s of sumdb) {
    if (names.has(s.name))
      throw new ConfigError(
        `--sumdb: database ${s.name} is configured twice; list its mirrors as URL,URL in one entry`,
      );
    names.add(s.name);
  }
  const rules = get('verify-rule').map((r) => {
    const eq = r.lastIndexOf('=');
    const pattern = r.slice(0, eq).trim();
    const mode = r.slice(eq + 1).trim();
    if (eq <= 0 || pattern === '' || !['strict', 'fallback', 'quorum'].includes(mode)) {
      throw new ConfigError(`invalid --verify-rule ${JSON.stringify(r)}: expected PATTERN=strict|fallback|quorum`);
    }
    return { pattern, mode: mode as VerifyMode };
  });
  const deadlines = Object.fromEntries(
    (['metadata', 'zip', 'sumdb'] as const).map((cls): [CallClass, Deadlines] => [
      cls,
      {
        connect: duration(`${cls}-connect-timeout`),
        firstByte: duration(`${cls}-first-byte-timeout`),
        idle: duration(`${cls}-idle-timeout`),
        total: duration(`${cls}-total-timeout`),
      },
    ]),
  ) as Record<CallClass, Deadlines>;
  for (const [cls, d] of Object.entries(deadlines)) {
    if (d.total < d.firstByte)
      throw new ConfigError(`invalid --${cls}-total-timeout: it must be at least --${cls}-first-byte-timeout`);
  }
  const data = one('data').trim();
  if (data === '') throw new ConfigError('invalid --data: empty folder name');
  const privateModules = privatePatterns(get('private'));
  const tlsCert = one('tls-cert').trim();
  const tlsKey = one('tls-key').trim();
  if ((tlsCert === '') !== (tlsKey === ''))
    throw new ConfigError('invalid --tls-cert/--tls-key: give both the certificate and its key, or neither');
  const auth = one('auth').trim();
  const insecureAuth = bool('insecure-auth');
  if (auth !== '' && tlsCert === '' && !insecureAuth)
    throw new ConfigError(
      'invalid --auth: tokens would cross the network in clear text; serve HTTPS with --tls-cert and --tls-key, or set --insecure-auth when a TLS-terminating proxy is in front',
    );
  const store = wrap('storage', parseStorage);
  const s3Endpoint = one('s3-endpoint').trim();
  if (s3Endpoint !== '' && !/^https?:\/\/[^/]+\/?$/.test(s3Endpoint))
    throw new ConfigError(`invalid --s3-endpoint ${JSON.stringify(s3Endpoint)}: expected http(s)://HOST[:PORT]`);
  const redis = one('redis').trim();
  if (redis !== '' && !/^rediss?:\/\/[^\s]+$/.test(redis))
    throw new ConfigError(`invalid --redis ${JSON.stringify(redis)}: expected redis://HOST:PORT[/DB]`);
  return {
    listen,
    data,
    upstream,
    sumdb,
    nosumdb: one('nosumdb'),
    offline: bool('offline'),
    verify: { mode: choice<VerifyMode>('verify'), rules },
    ttl: {
      list: duration('list-ttl'),
      query: duration('query-ttl'),
      sumdbLatest: duration('sumdb-ttl'),
      notFound: duration('notfound-ttl'),
    },
    staleGrace: duration('stale-grace'),
    deadlines,
    retry: {
      attempts: int('retry-attempts', 1, 10),
      baseDelay: duration('retry-base-delay'),
      maxDelay: duration('retry-max-delay'),
    },
    breaker: { failures: int('breaker-failures', 1, 1000), halfOpenAfter: duration('breaker-half-open-after') },
    hedgeDelay: duration('hedge-delay'),
    reverifyInterval: duration('reverify-interval'),
    memoryCache: size('memory-cache'),
    memoryCacheItem: size('memory-cache-item'),
    workers: get('workers')[0]?.trim() === 'auto' ? autoWorkers() : int('workers', 1, 64),
    logLevel: choice<Settings['logLevel']>('log-level'),
    logFormat: choice<Settings['logFormat']>('log-format'),
    accessLog: bool('access-log'),
    private: privateModules,
    vcs: { concurrency: int('vcs-concurrency', 1, 64), timeout: duration('vcs-timeout') },
    auth,
    tls: tlsCert === '' ? null : { cert: tlsCert, key: tlsKey },
    insecureAuth,
    storage:
      store.kind === 'fs'
        ? store
        : { ...store, endpoint: s3Endpoint.replace(/\/$/, ''), timeout: duration('storage-timeout') },
    redis,
    nodeName: one('node-name').trim(),
  };
}

/** --private values joined into one GOPRIVATE list; each pattern must be a valid path.Match pattern. */
function privatePatterns(values: readonly string[]): string {
  const patterns = values
    .flatMap((v) => v.split(','))
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const p of patterns) {
    try {
      pathMatch(p, '');
    } catch (err) {
      throw new ConfigError(`invalid --private pattern ${JSON.stringify(p)}: ${(err as Error).message}`);
    }
  }
  return patterns.join(',');
}

/** "HOST:PORT", ":PORT" (all interfaces) or "[v6]:PORT". */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535)
    throw new ValueError(`${JSON.stringify(s)} is not HOST:PORT (for example 127.0.0.1:8080 or :8080)`);
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : (m[2] as string));
  return { host, port };
}
