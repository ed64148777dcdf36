// The table of every setting: its flag, environment variable, config-file key,
// type, default and meaning. Flags, GODEPOT_* variables and the JSON config
// file all use the same names, so one table documents all three.
import { DEFAULT_DATA, DEFAULT_DEADLINES, DEFAULT_LISTEN, DEFAULT_SUMDB, DEFAULT_UPSTREAM } from './settings.js';

export type OptionType = 'string' | 'boolean' | 'duration' | 'size' | 'int' | 'list';

export interface OptionSpec {
  readonly name: string;
  readonly type: OptionType;
  /** Default as it would be written on the command line ('' = none). List defaults are arrays. */
  readonly default: string | readonly string[];
  readonly help: string;
  /** Values an enum-like string option accepts. */
  readonly choices?: readonly string[];
  /**
   * Set where the flag given twice is refused, saying what to write instead.
   * Otherwise a repeated flag takes its last value (a list: every value).
   */
  readonly once?: string;
}

export const VERIFY_MODES = ['strict', 'fallback', 'quorum'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOG_FORMATS = ['auto', 'json', 'text'] as const;

function ms(n: number): string {
  if (n % 60_000 === 0) return `${n / 60_000}m`;
  if (n % 1000 === 0) return `${n / 1000}s`;
  return `${n}ms`;
}

const deadlineOptions: OptionSpec[] = (['metadata', 'zip', 'sumdb'] as const).flatMap((cls) => {
  const d = DEFAULT_DEADLINES[cls];
  const what = { metadata: '.info/.mod/list/@latest', zip: '.zip', sumdb: 'checksum-database' }[cls];
  return [
    {
      name: `${cls}-connect-timeout`,
      type: 'duration',
      default: ms(d.connect),
      help: `Connect deadline of ${what} upstream calls.`,
    },
    {
      name: `${cls}-first-byte-timeout`,
      type: 'duration',
      default: ms(d.firstByte),
      help: `Deadline for the response headers of ${what} upstream calls.`,
    },
    {
      name: `${cls}-idle-timeout`,
      type: 'duration',
      default: ms(d.idle),
      help: `Longest pause inside a ${what} response body.`,
    },
    {
      name: `${cls}-total-timeout`,
      type: 'duration',
      default: ms(d.total),
      help: `Overall deadline of one ${what} fetch, retries included.`,
    },
  ] satisfies OptionSpec[];
});

export const OPTIONS: readonly OptionSpec[] = [
  {
    name: 'listen',
    type: 'string',
    default: DEFAULT_LISTEN,
    help: 'HOST:PORT to serve on (use 0.0.0.0:PORT to serve other machines).',
  },
  {
    name: 'data',
    type: 'string',
    default: DEFAULT_DATA,
    help: 'The data folder (filesystem storage). godepot writes nothing outside it.',
  },
  {
    name: 'upstream',
    type: 'string',
    default: DEFAULT_UPSTREAM,
    // Which separator joins two would say what happens on failure: the user's to write.
    once: 'give one list in GOPROXY syntax, the URLs joined by "," (next on 404/410) or "|" (next on any error)',
    help: 'Upstream module proxies in GOPROXY syntax: URLs joined by "," (next one only on 404/410) or "|" (next one on any error), or "off". Ending in ",direct" fetches what no proxy has from its origin with the go command ("|direct": also what a failing proxy does not serve), still checked against the checksum database.',
  },
  {
    name: 'sumdb',
    type: 'list',
    default: [DEFAULT_SUMDB],
    help: 'A checksum database as in GOSUMDB: "NAME+HASH+KEY", a known name (sum.golang.org, sum.golang.google.cn), optionally followed by " URL[,URL...]" (repeatable; the first verifies modules). Without URLs it is read at its own host and at <upstream>/sumdb/<name>/ of every upstream that supports it; with URLs only there. "off" runs without verification.',
  },
  {
    name: 'nosumdb',
    type: 'list',
    default: [],
    help: 'GONOSUMDB-syntax patterns of module paths never looked up in a checksum database (private modules; comma-separated, repeatable).',
  },
  {
    name: 'offline',
    type: 'boolean',
    default: 'false',
    help: 'Never contact an upstream: serve what is stored; anything else is 404 so clients move on.',
  },
  {
    name: 'verify',
    type: 'string',
    default: 'fallback',
    choices: VERIFY_MODES,
    help: 'When the checksum database cannot be reached: strict refuses, fallback serves marked unverified and checks later, quorum needs two sources to agree (upstream proxies; with `direct`, the origin too).',
  },
  {
    name: 'verify-rule',
    type: 'list',
    default: [],
    help: 'Per-module override "PATTERN=MODE" (GONOSUMDB-syntax pattern; repeatable; first match wins).',
  },
  {
    name: 'list-ttl',
    type: 'duration',
    default: '5m',
    help: 'Age after which @v/list and @latest are refreshed (served stale if the upstream fails).',
  },
  {
    name: 'query-ttl',
    type: 'duration',
    default: '5m',
    help: 'Age after which .info for a branch or commit query is refreshed.',
  },
  {
    name: 'sumdb-ttl',
    type: 'duration',
    default: '1m',
    help: 'Age after which the checksum database tree head is refreshed.',
  },
  { name: 'notfound-ttl', type: 'duration', default: '1m', help: 'How long an upstream 404/410 is remembered.' },
  {
    name: 'stale-grace',
    type: 'duration',
    default: '2s',
    help: 'With a stale copy at hand, how long a refresh may take before the stale copy is served.',
  },
  ...deadlineOptions,
  {
    name: 'retry-attempts',
    type: 'int',
    default: '3',
    help: 'Attempts per upstream call (transient network errors and 5xx only; never after a verification failure).',
  },
  {
    name: 'retry-base-delay',
    type: 'duration',
    default: '200ms',
    help: 'First retry delay; grows exponentially, with jitter; a Retry-After header is honoured.',
  },
  { name: 'retry-max-delay', type: 'duration', default: '5s', help: 'Longest retry delay.' },
  {
    name: 'breaker-failures',
    type: 'int',
    default: '3',
    help: "Failed calls (over 30 s, across at least 3 modules, at least half of all calls) that open an upstream's circuit breaker.",
  },
  {
    name: 'breaker-half-open-after',
    type: 'duration',
    default: '10s',
    help: 'How long an open breaker waits before letting one probe through.',
  },
  {
    name: 'hedge-delay',
    type: 'duration',
    default: '1500ms',
    help: 'When a checksum-database mirror has not answered after this long, the next mirror is asked too.',
  },
  {
    name: 'reverify-interval',
    type: 'duration',
    default: '30s',
    help: 'How often unverified artifacts are checked against the checksum database again.',
  },
  {
    name: 'memory-cache',
    type: 'size',
    default: '32MiB',
    help: 'Memory for small immutable artifacts (.info, .mod, small zips), counting 1 KiB per entry besides its bytes; 0 disables.',
  },
  { name: 'memory-cache-item', type: 'size', default: '512KiB', help: 'Largest artifact kept in the memory cache.' },
  {
    name: 'read-ahead',
    type: 'boolean',
    default: 'true',
    help: "Fetch what the go command asks for next while it waits for the current answer: a version's .info when its .mod is fetched, its .zip when its .info is asked for.",
  },
  {
    name: 'workers',
    type: 'string',
    default: 'auto',
    help: 'Worker processes sharing the listen socket, coordinated by a primary as one small cluster (one fetch per artifact, one breaker state, one tree head; /metrics sums them all). auto: one per CPU core, at most 8; 1: a single process.',
  },
  {
    name: 'log-level',
    type: 'string',
    default: 'info',
    choices: LOG_LEVELS,
    help: 'Log level: fatal, error, warn, info, debug, trace or silent.',
  },
  {
    name: 'log-format',
    type: 'string',
    default: 'auto',
    choices: LOG_FORMATS,
    help: 'json: one JSON object per line (for machines); text: one plain line per message; auto: json for serve, text for the other commands.',
  },
  {
    name: 'access-log',
    type: 'boolean',
    default: 'true',
    help: 'Log one line per request (JSON, or plain with --log-format text).',
  },
  {
    name: 'private',
    type: 'list',
    default: [],
    help: 'GOPRIVATE-syntax patterns of private modules (comma-separated, repeatable): fetched from their version-control origin with the go command, never sent to an upstream proxy or checksum database; their hashes are pinned in the private ledger.',
  },
  {
    name: 'vcs-concurrency',
    type: 'int',
    default: '4',
    help: 'At most this many go commands fetch private modules from version control at once, and as many public ones (direct) in a queue of their own.',
  },
  {
    name: 'vcs-timeout',
    type: 'duration',
    default: '10m',
    help: 'Deadline of one fetch from version control; a stuck go or git is killed after it.',
  },
  {
    name: 'auth',
    type: 'string',
    default: '',
    help: 'A JSON users file ({"users":[{"name","tokenSha256","modules":[patterns]}]}): every module and checksum-database request then needs HTTP basic auth (user, token), and a module matching one of the user\'s patterns. The operator surfaces (/api, /ui, /metrics) name modules of every pattern: they need a user allowed every module ("*" among its patterns). /healthz and /readyz stay open. Re-read when it changes.',
  },
  {
    name: 'tls-cert',
    type: 'string',
    default: '',
    help: 'Serve HTTPS with this PEM certificate (chain); reloaded when it changes.',
  },
  {
    name: 'tls-key',
    type: 'string',
    default: '',
    help: 'The PEM private key of --tls-cert; reloaded when it changes.',
  },
  {
    name: 'insecure-auth',
    type: 'boolean',
    default: 'false',
    help: 'Allow --auth without --tls-cert (only behind a TLS-terminating proxy: tokens otherwise cross the network in clear text).',
  },
  {
    name: 'storage',
    type: 'string',
    default: 'fs',
    help: 'Where artifacts are kept: "fs" (the --data folder) or "s3://BUCKET[/PREFIX]" (any S3-compatible store, shared by several nodes; AWS credential chain and AWS_REGION).',
  },
  {
    name: 's3-endpoint',
    type: 'string',
    default: '',
    help: 'URL of an S3-compatible store (MinIO, Ceph, R2, …), addressed path-style; empty means AWS S3.',
  },
  {
    name: 'storage-timeout',
    type: 'duration',
    default: '5s',
    help: 'Deadline of every object-store call (headers, and any pause inside a body), and of each read, staging write and writability check on the data folder (a disk or network file system that hangs); past it the request fails with 503.',
  },
  {
    name: 'redis',
    type: 'string',
    default: '',
    help: 'redis://[:PASSWORD@]HOST:PORT[/DB] (rediss:// for TLS) that several nodes coordinate through (one fetch per artifact, one verified tree head); empty: this node alone.',
  },
  {
    name: 'node-name',
    type: 'string',
    default: '',
    help: 'This node\'s name in logs, /readyz and as the "node" label of every metric (empty: no label; Prometheus\' instance label tells nodes apart).',
  },
];

export function envName(option: string): string {
  return 'GODEPOT_' + option.toUpperCase().replace(/-/g, '_');
}

export function findOption(name: string): OptionSpec | undefined {
  return OPTIONS.find((o) => o.name === name);
}
