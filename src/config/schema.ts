// The one schema of every setting: it turns each raw value — the text of a
// flag or of a GODEPOT_* variable, or a JSON value from the config file —
// into the Settings type, checking every value and the rules that tie
// settings together. Each issue's path starts with the setting's name (then
// the index of a list entry), which load.ts turns into "invalid --NAME: …".
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { patternList } from '../module/index.js';
import { KeyFormatError, newVerifier } from '../sumdb/note/index.js';
import { redactText } from '../util/redact.js';
import { LOG_FORMATS, LOG_LEVELS, VERIFY_MODES } from './options.js';
import type { CallClass, Deadlines, Settings, VerifyMode } from './settings.js';
import {
  DEFAULT_SUMDB,
  parseDuration,
  parseListen,
  parseSize,
  parseStorage,
  parseSumdbSpec,
  parseUpstreamList,
  SUM_GOLANG_ORG_KEY,
  SUMDB_OFF,
} from './values.js';

/** How a config file's value that does not fit is named in a message. */
function given(v: unknown): string {
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? 'a list' : `a JSON ${typeof v}`;
}

/**
 * One value as text: a flag's, a variable's, or a JSON string in the config
 * file. A JSON number or true/false is refused where it has no meaning (a
 * URL, a pattern, a name) rather than read as its text.
 */
const one = z.string({ error: (i) => `expected a string, not ${given(i.input)}` });
/** One value, or a JSON number in the config file (`number` says what it counts). */
const oneOrNumber = (number: string) =>
  z.union([z.string(), z.number()], { error: (i) => `expected a string or ${number}, not ${given(i.input)}` });

/** Every occurrence of a repeatable setting (the config file may give one string instead of a list). */
const many = z.union([z.string().transform((s) => [s]), z.array(z.string())], {
  error: (i) => `expected a string or a list of strings, not ${given(i.input)}`,
});

/** A value read by a parser that throws an Error saying what is wrong. */
function parsed<I, T>(value: z.ZodType<I>, parse: (v: I) => T) {
  return value.transform((v, ctx) => {
    try {
      return parse(v);
    } catch (err) {
      ctx.addIssue((err as Error).message);
      return z.NEVER;
    }
  });
}

const text = one.transform((s) => s.trim());
// A JSON number is milliseconds, or bytes (parseDuration, parseSize); a flag's bare number is refused there.
const duration = parsed(oneOrNumber('a number of milliseconds'), parseDuration);
const size = parsed(oneOrNumber('a number of bytes'), parseSize);
function wholeNumber(v: string | number, min: number, max: number): number {
  if (typeof v === 'number' ? !Number.isInteger(v) : !/^\d+$/.test(v.trim()))
    throw new Error(`${JSON.stringify(v)} is not a whole number`);
  const n = Number(v);
  if (n < min || n > max) throw new Error(`${n} is out of range ${min}..${max}`);
  return n;
}
const int = (min: number, max: number) => parsed(oneOrNumber('a whole number'), (v) => wholeNumber(v, min, max));
const bool = parsed(
  z.union([z.string(), z.boolean()], { error: (i) => `expected true or false, not ${given(i.input)}` }),
  (v) => {
    if (typeof v === 'boolean') return v;
    const w = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(w)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(w)) return false;
    throw new Error(`${JSON.stringify(v)} is not true or false (true/false, yes/no, on/off, 1/0)`);
  },
);
const choice = <const T extends readonly [string, ...string[]]>(choices: T) =>
  text.pipe(z.enum(choices, { error: (i) => `${JSON.stringify(i.input)} is not one of ${choices.join(', ')}` }));
/**
 * An optional URL of the shape re (described by want): one that passes re but
 * is no URL (a port above 65535) is refused here too. A refused value is
 * shown with any user:password in it redacted.
 */
const optionalUrl = (re: RegExp, want: string) =>
  text.refine((s) => s === '' || (re.test(s) && URL.canParse(s)), {
    error: (i) => `${JSON.stringify(redactText(String(i.input)))} is not ${want}`,
  });

const sumdb = many.transform((given, ctx) => {
  const specs = given.map((s) => s.trim());
  if (specs.length === 0 || specs.includes('')) {
    ctx.addIssue(
      `empty; name a checksum database (the default is ${DEFAULT_SUMDB}), or say --sumdb ${SUMDB_OFF} to run without verification`,
    );
    return z.NEVER;
  }
  if (specs.includes(SUMDB_OFF)) {
    if (specs.length > 1) ctx.addIssue(`"${SUMDB_OFF}" cannot be combined with databases`);
    return [];
  }
  const out = specs.flatMap((spec, i) => {
    try {
      const parsed = parseSumdbSpec(spec);
      newVerifier(parsed.key);
      return [parsed];
    } catch (err) {
      // Go's words alone ("malformed verifier id") do not say what to do.
      const why =
        err instanceof KeyFormatError
          ? `not a usable verifier key (${err.message}): copy the database's NAME+HASH+KEY whole, as for GOSUMDB (sum.golang.org's is ${SUM_GOLANG_ORG_KEY})`
          : (err as Error).message;
      ctx.addIssue({ code: 'custom', path: [i], message: `${JSON.stringify(redactText(spec))}: ${why}` });
      return [];
    }
  });
  const twice = out.find((s, i) => out.findIndex((t) => t.name === s.name) < i);
  if (twice) ctx.addIssue(`database ${twice.name} is configured twice; list its mirrors as URL,URL in one entry`);
  return out;
});

const verifyRules = many.transform((given, ctx) =>
  given.map((r) => {
    const eq = r.lastIndexOf('=');
    const pattern = r.slice(0, eq).trim();
    const mode = r.slice(eq + 1).trim();
    if (eq <= 0 || pattern === '' || !(VERIFY_MODES as readonly string[]).includes(mode))
      ctx.addIssue(`${JSON.stringify(r)} is not PATTERN=${VERIFY_MODES.join('|')}`);
    else checkPatterns([pattern], ctx);
    return { pattern, mode: mode as VerifyMode };
  }),
);

/**
 * Comma-separated pattern lists joined into one (entries trimmed, empty ones
 * dropped); each pattern must be a valid path.Match glob. The go command
 * ignores one that is not, so it matches nothing: a path meant to stay out of
 * the checksum database (--nosumdb) or away from the upstreams (--private)
 * would then be sent there without a word. Refused at start instead.
 */
const patternLists = many.transform((given, ctx) => checkPatterns(given, ctx)?.join(',') ?? z.NEVER);

function checkPatterns(given: readonly string[], ctx: { addIssue(message: string): void }): string[] | undefined {
  try {
    return patternList(given);
  } catch (err) {
    ctx.addIssue((err as Error).message);
    return undefined;
  }
}

/** `--workers auto`: one per core the process may use, at most AUTO_WORKERS_MAX. */
export function autoWorkers(cores = availableParallelism()): number {
  return Math.max(1, Math.min(AUTO_WORKERS_MAX, cores));
}
/** Past this, the primary's accept and IPC and each worker's memory cache cost more than another core gives. */
const AUTO_WORKERS_MAX = 8;

const CLASSES = ['metadata', 'zip', 'sumdb'] as const;
const DEADLINES = { connect: 'connect', firstByte: 'first-byte', idle: 'idle', total: 'total' } as const;
type DeadlineKey = `${CallClass}-${(typeof DEADLINES)[keyof Deadlines]}-timeout`;
const deadlineFields = Object.fromEntries(
  CLASSES.flatMap((cls) => Object.values(DEADLINES).map((d) => [`${cls}-${d}-timeout`, duration])),
) as Record<DeadlineKey, typeof duration>;

/** Every setting by its name in OPTIONS (options.ts); a test checks that the two list the same names. */
export const SETTINGS_SCHEMA = z
  .strictObject({
    listen: parsed(one, parseListen),
    data: text.refine((s) => s !== '', 'empty folder name'),
    // A list in the config file: its separators say what happens on failure, so they are the user's to write.
    upstream: z
      .unknown()
      .refine((v) => !Array.isArray(v), {
        error: 'give one string in GOPROXY syntax: the URLs joined by "," (next on 404/410) or "|" (next on any error)',
      })
      .pipe(parsed(one, parseUpstreamList)),
    sumdb,
    nosumdb: patternLists,
    offline: bool,
    verify: choice(VERIFY_MODES),
    'verify-rule': verifyRules,
    'list-ttl': duration,
    'query-ttl': duration,
    'sumdb-ttl': duration,
    'notfound-ttl': duration,
    'stale-grace': duration,
    ...deadlineFields,
    'retry-attempts': int(1, 10),
    'retry-base-delay': duration,
    'retry-max-delay': duration,
    'breaker-failures': int(1, 1000),
    'breaker-half-open-after': duration,
    'hedge-delay': duration,
    'reverify-interval': duration,
    'memory-cache': size,
    'memory-cache-item': size,
    'read-ahead': bool,
    workers: parsed(oneOrNumber('a whole number'), (v) => {
      if (typeof v === 'string' && v.trim() === 'auto') return autoWorkers();
      if (typeof v === 'string' && !/^\d+$/.test(v.trim()))
        throw new Error(`${JSON.stringify(v)} is neither auto nor a whole number`);
      return wholeNumber(v, 1, 64);
    }),
    'log-level': choice(LOG_LEVELS),
    'log-format': choice(LOG_FORMATS),
    'access-log': bool,
    private: patternLists,
    'vcs-concurrency': int(1, 64),
    'vcs-timeout': duration,
    auth: text,
    'tls-cert': text,
    'tls-key': text,
    'insecure-auth': bool,
    storage: parsed(one, parseStorage),
    's3-endpoint': optionalUrl(/^https?:\/\/[^/]+\/?$/, 'http(s)://HOST[:PORT]').refine(
      // The AWS chain signs every request: credentials here would go unused, and be shown wherever the store is named.
      (s) => !/^https?:\/\/[^/]*@/.test(s),
      {
        error: (i) =>
          `${JSON.stringify(redactText(String(i.input)))} carries credentials (user:password@): give them as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) instead, and the endpoint as http(s)://HOST[:PORT]`,
      },
    ),
    'storage-timeout': duration,
    redis: optionalUrl(/^rediss?:\/\/[^\s]+$/, 'redis://[:PASSWORD@]HOST:PORT[/DB]'),
    'node-name': text,
  })
  .transform((v, ctx): Settings => {
    const problem = (setting: string, message: string) => ctx.addIssue({ code: 'custom', path: [setting], message });
    const deadlines = Object.fromEntries(
      CLASSES.map((cls): [CallClass, Deadlines] => {
        const d = (k: keyof Deadlines) => v[`${cls}-${DEADLINES[k]}-timeout`];
        if (d('total') < d('firstByte'))
          problem(`${cls}-total-timeout`, `it must be at least --${cls}-first-byte-timeout`);
        return [cls, { connect: d('connect'), firstByte: d('firstByte'), idle: d('idle'), total: d('total') }];
      }),
    ) as Record<CallClass, Deadlines>;
    const tls = v['tls-cert'] === '' ? null : { cert: v['tls-cert'], key: v['tls-key'] };
    if ((tls === null) !== (v['tls-key'] === ''))
      problem(
        tls ? 'tls-cert' : 'tls-key',
        'give both the certificate (--tls-cert) and its key (--tls-key), or neither',
      );
    if (v.auth !== '' && !tls && !v['insecure-auth'])
      problem(
        'auth',
        'tokens would cross the network in clear text; serve HTTPS with --tls-cert and --tls-key, or set --insecure-auth when a TLS-terminating proxy is in front',
      );
    const credentials = [
      ...v.upstream.entries.flatMap((e) => (e.credential ? [e.credential] : [])),
      ...v.sumdb.flatMap((s) => s.credentials),
    ];
    const clash = credentials.find((c, i) =>
      credentials.some((d, j) => j < i && d.url === c.url && d.authorization !== c.authorization),
    );
    if (clash)
      problem('sumdb', `${clash.url} is given twice with different passwords (in --upstream or --sumdb); give it one`);
    const store = v.storage;
    return {
      listen: v.listen,
      data: v.data,
      upstream: v.upstream,
      sumdb: v.sumdb,
      credentials,
      nosumdb: v.nosumdb,
      offline: v.offline,
      verify: { mode: v.verify, rules: v['verify-rule'] },
      ttl: { list: v['list-ttl'], query: v['query-ttl'], sumdbLatest: v['sumdb-ttl'], notFound: v['notfound-ttl'] },
      staleGrace: v['stale-grace'],
      deadlines,
      retry: { attempts: v['retry-attempts'], baseDelay: v['retry-base-delay'], maxDelay: v['retry-max-delay'] },
      breaker: { failures: v['breaker-failures'], halfOpenAfter: v['breaker-half-open-after'] },
      hedgeDelay: v['hedge-delay'],
      reverifyInterval: v['reverify-interval'],
      memoryCache: v['memory-cache'],
      memoryCacheItem: v['memory-cache-item'],
      readAhead: v['read-ahead'],
      workers: v.workers,
      logLevel: v['log-level'],
      logFormat: v['log-format'],
      accessLog: v['access-log'],
      private: v.private,
      vcs: { concurrency: v['vcs-concurrency'], timeout: v['vcs-timeout'] },
      auth: v.auth,
      tls,
      insecureAuth: v['insecure-auth'],
      storage:
        store.kind === 'fs'
          ? { ...store, timeout: v['storage-timeout'] }
          : { ...store, endpoint: v['s3-endpoint'].replace(/\/$/, ''), timeout: v['storage-timeout'] },
      redis: v.redis,
      nodeName: v['node-name'],
    };
  });
