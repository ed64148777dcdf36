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
}

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
    help: 'Upstream module proxies in GOPROXY syntax: URLs joined by "," (next one only on 404/410) or "|" (next one on any error), or "off".',
  },
  {
    name: 'sumdb',
    type: 'list',
    default: [DEFAULT_SUMDB],
    help: 'A checksum database "NAME+HASH+KEY URL[,URL...]" (repeatable; the URLs are mirrors of one log). The first one verifies modules.',
  },
  {
    name: 'nosumdb',
    type: 'string',
    default: '',
    help: 'GONOSUMDB-syntax patterns of module paths never looked up in a checksum database (private modules).',
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
    choices: ['strict', 'fallback', 'quorum'],
    help: 'When the checksum database cannot be reached: strict refuses, fallback serves marked unverified and checks later, quorum needs two proxies to agree.',
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
    default: '256MiB',
    help: 'Memory for small immutable artifacts (.info, .mod, small zips); 0 disables.',
  },
  { name: 'memory-cache-item', type: 'size', default: '1MiB', help: 'Largest artifact kept in the memory cache.' },
  {
    name: 'workers',
    type: 'int',
    default: '1',
    help: 'Worker processes sharing the listen socket and the data folder (one at a time fetches a given artifact; /metrics sums them all).',
  },
  {
    name: 'log-level',
    type: 'string',
    default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    help: 'Log level.',
  },
  { name: 'access-log', type: 'boolean', default: 'true', help: 'Log one JSON line per request.' },
];

export function envName(option: string): string {
  return 'GODEPOT_' + option.toUpperCase().replace(/-/g, '_');
}

export function findOption(name: string): OptionSpec | undefined {
  return OPTIONS.find((o) => o.name === name);
}
