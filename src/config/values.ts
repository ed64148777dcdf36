// Parsers for the value syntaxes settings use: durations, byte sizes,
// GOPROXY-style upstream lists, GOSUMDB-style database specs.
// Each throws ValueError with a message that says what is wrong and what is expected.

import { splitCredentials } from '../upstream/credentials.js';
import { redactText } from '../util/redact.js';
import type { UpstreamEntry, UpstreamList, UrlCredential } from '../upstream/types.js';

export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueError';
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The longest duration: Node's timers hold 2^31-1 ms (about 24.8 days) and fire
 * after 1 ms when given more, which would turn a generous deadline into none.
 */
const MAX_DURATION_MS = 2 ** 31 - 1;

/** "250ms", "10s", "5m", "1h30m" or a plain number of milliseconds; at most 596h. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    // 1.5 in a config file may well mean seconds: only whole milliseconds are taken.
    if (!Number.isInteger(input) || input < 0)
      throw new ValueError(`invalid duration ${input}: must be a whole number of milliseconds`);
    return atMostMax(input, input);
  }
  const s = input.trim();
  // A bare number could mean seconds (--list-ttl 300) as well as milliseconds: refused rather than guessed,
  // as the go command refuses it; 0 means the same in every unit. (A config file's JSON number is milliseconds.)
  if (/^\d+$/.test(s)) {
    if (Number(s) === 0) return 0;
    throw new ValueError(`invalid duration ${JSON.stringify(input)}: give a unit, like ${s}s or ${s}ms`);
  }
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    pos = re.lastIndex;
  }
  if (pos !== s.length || s.length === 0) {
    throw new ValueError(
      `invalid duration ${JSON.stringify(input)}: use a number with a unit, like 500ms, 10s, 5m or 1h30m`,
    );
  }
  // "0.4ms" would round to 0, which for most settings means "off": refused rather than turned into its opposite.
  if (total > 0 && Math.round(total) === 0)
    throw new ValueError(`invalid duration ${JSON.stringify(input)}: durations are whole milliseconds, at least 1ms`);
  return atMostMax(Math.round(total), input);
}

function atMostMax(ms: number, input: string | number): number {
  if (ms > MAX_DURATION_MS)
    throw new ValueError(
      `invalid duration ${JSON.stringify(input)}: at most 596h (about 24 days), the longest a timer can wait`,
    );
  return ms;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** "512MiB", "64MB", "1GiB", "32B" or "0"; a JSON number (config file) is bytes; a bare number string is refused. */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isInteger(input) || input < 0)
      throw new ValueError(`invalid size ${input}: must be a whole number of bytes`);
    return atMostMaxSize(input, input);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  // "--memory-cache 32" is far more likely 32 MiB meant than 32 bytes: a unit is asked for, as for durations.
  if (m && m[2] === '' && Number(m[1]) !== 0)
    throw new ValueError(`invalid size ${JSON.stringify(input)}: give a unit, like ${m[1]}MiB (or ${m[1]}B for bytes)`);
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase() || 'b'];
  if (!m || unit === undefined)
    throw new ValueError(
      `invalid size ${JSON.stringify(input)}: use a number with a unit (B, KB, MB, GB, KiB, MiB or GiB), like 256MiB or 1GB`,
    );
  return atMostMaxSize(Math.round(Number(m[1]) * unit), input);
}

/** Beyond 2^53 bytes (8 PiB) a size is no longer exact in a JavaScript number, and is surely a typo. */
function atMostMaxSize(bytes: number, input: string | number): number {
  if (!Number.isSafeInteger(bytes))
    throw new ValueError(`invalid size ${JSON.stringify(input)}: at most 8PiB (9007199254740991 bytes)`);
  return bytes;
}

/** One entry of a GOPROXY list and the separator after it ('|' lets the walk fall through on any error). */
export interface GoproxyToken {
  readonly token: string;
  readonly fallBackOnError: boolean;
  /** The entries after this one, unparsed (the go command ignores what follows direct/off). */
  readonly rest: string;
}

/** Cuts a GOPROXY list at ',' and '|' as the go command's proxyList does; empty entries are skipped. */
export function goproxyTokens(input: string): GoproxyToken[] {
  const out: GoproxyToken[] = [];
  let rest = input;
  while (rest.length > 0) {
    const i = rest.search(/[,|]/);
    const token = (i < 0 ? rest : rest.slice(0, i)).trim();
    const sep = i < 0 ? '' : rest[i];
    rest = i < 0 ? '' : rest.slice(i + 1);
    if (token !== '') out.push({ token, fallBackOnError: sep === '|', rest });
  }
  return out;
}

/** A GOPROXY entry as the go command reads it: a host-like token (no scheme) gets https://. */
export function goproxyEntry(token: string): string {
  return /[.:/]/.test(token) && !token.includes(':/') && !token.startsWith('/') ? 'https://' + token : token;
}

/**
 * Parses a GOPROXY-syntax list the way the go command does (PROTOCOL.md §1.3):
 * ',' falls through only on 404/410, '|' on any error; 'off' ends the list.
 * 'direct' ends the list too: what no proxy has is fetched from its origin
 * (version control) by running the go command.
 *
 * An entry's user:password is sent to it as HTTP Basic authorization, as the
 * go command does, and the entry is named with the password redacted
 * (credentials.ts). An upstream listed twice is refused: the quorum policy
 * counts entries, and one proxy must not count as two.
 */
export function parseUpstreamList(input: string): UpstreamList {
  const entries: UpstreamEntry[] = [];
  const seen = new Set<string>();
  let off = false;
  let direct = false;
  for (const { token, fallBackOnError, rest } of goproxyTokens(input)) {
    if (token === 'off' || token === 'direct') {
      // The go command would silently never ask them; for godepot's own list that is a mistake to say.
      const after = goproxyTokens(rest).map((t) => t.token);
      if (after.length > 0)
        throw new ValueError(
          `upstream list: "${token}" ends it, so ${after.map((t) => JSON.stringify(t)).join(', ')} after it would never be asked; put proxies before "${token}"`,
        );
      if (token === 'off') off = true;
      else direct = true;
      break;
    }
    if (token === 'noproxy') {
      throw new ValueError(`upstream "noproxy" is not supported: list proxy URLs, "direct" or "off"`);
    }
    // As read (a bare host gets https://), so that messages can redact its user:password.
    const entry = goproxyEntry(token);
    const url = httpUrl(entry, 'upstream');
    // The go command cleans the path it asks for (path.Join): https://h/a//b is asked as https://h/a/b/….
    if (/\/\/[^/]/.test(url.pathname))
      throw new ValueError(`invalid upstream URL ${shown(entry)}: its path has an empty element ("//"); write one "/"`);
    const { name, credential } = credentialsOf(url, entry, 'upstream');
    const where = withoutUserinfo(url);
    if (seen.has(where))
      throw new ValueError(
        `upstream ${where} is listed twice: each upstream counts once (for the quorum policy too); remove one`,
      );
    seen.add(where);
    entries.push(credential ? { url: name, fallBackOnError, credential } : { url: name, fallBackOnError });
  }
  if (entries.length === 0 && !off && !direct) {
    throw new ValueError('upstream list is empty: give proxy URLs joined by "," or "|", "direct", or "off"');
  }
  return direct ? { entries, off, direct } : { entries, off };
}

/** A raw URL for an error message: quoted, any credentials in it redacted. */
function shown(raw: string): string {
  return JSON.stringify(redactText(raw));
}

/** An http(s) URL, or a ValueError naming what it is for (upstream, sumdb). */
function httpUrl(token: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(token);
  } catch {
    throw new ValueError(
      `invalid ${what} URL ${shown(token)}: not a URL (want http(s)://HOST[:PORT][/PATH], e.g. https://proxy.golang.org)`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ValueError(`invalid ${what} URL ${shown(token)}: the scheme must be http or https`);
  // The URL parser of browsers reads "https:/host" and "https:///host" as https://host, "\" as "/", and drops tabs
  // and newlines; the go command reads a URL with no host, asks for "%5C", and refuses control characters.
  if (!/^https?:\/\/[^/\\]/i.test(token) || /[\\\x00-\x1f\x7f]/.test(token))
    throw new ValueError(
      `invalid ${what} URL ${shown(token)}: write it as http(s)://HOST[:PORT][/PATH], with "//" before the host and "/" (not "\\") between path elements`,
    );
  // An empty "?" or "#" leaves search and hash empty, yet the path godepot appends would land after it.
  if (url.href.includes('?') || url.href.includes('#'))
    throw new ValueError(
      `invalid ${what} URL ${shown(token)}: no query or fragment allowed; remove the part from "?" or "#"`,
    );
  return url;
}

/** The name a URL is shown by and its credential (credentials.ts); a ValueError for a malformed user:password. */
function credentialsOf(url: URL, token: string, what: string): { name: string; credential?: UrlCredential } {
  try {
    // As the go command's url.Parse: a malformed %-escape there is an error (else it would be sent as written).
    for (const part of [url.username, url.password]) decodeURIComponent(part);
    return splitCredentials(url);
  } catch {
    throw new ValueError(
      `invalid ${what} URL ${shown(token)}: its user:password has a malformed %-escape; write "%" as %25`,
    );
  }
}

/** The URL with no user:password and no trailing slash: what two entries are compared by. */
function withoutUserinfo(url: URL): string {
  const u = new URL(url.toString());
  u.username = '';
  u.password = '';
  return u.toString().replace(/\/+$/, '');
}

export function formatUpstreamList(list: UpstreamList): string {
  const parts = list.entries.map(
    (e, i) => e.url + (i < list.entries.length - 1 || list.off || list.direct ? (e.fallBackOnError ? '|' : ',') : ''),
  );
  return parts.join('') + (list.off ? 'off' : list.direct ? 'direct' : '');
}

export const SUM_GOLANG_ORG_KEY = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';

/** Databases the go command knows by name (its knownGOSUMDB): `--sumdb NAME` means this key. */
const KNOWN_SUMDB_KEYS: Readonly<Record<string, string>> = { 'sum.golang.org': SUM_GOLANG_ORG_KEY };

/** The go command's one alias: sum.golang.google.cn serves sum.golang.org's log. */
const SUMDB_ALIASES: Readonly<Record<string, string>> = {
  'sum.golang.google.cn': 'sum.golang.org https://sum.golang.google.cn',
};

/** The default: the go command's GOSUMDB default, reached at its own host and through the upstream proxies. */
export const DEFAULT_SUMDB = 'sum.golang.org';

/** `--sumdb off`: run without a checksum database (verification off), chosen explicitly. */
export const SUMDB_OFF = 'off';

export interface SumdbSpec {
  /** Database name, e.g. sum.golang.org; the /sumdb/<name>/ prefix it is served under. */
  readonly name: string;
  /** Verifier key name+hash+keydata. */
  readonly key: string;
  /**
   * Where the log is read, all checked against key: the URLs given, or
   * (none given) the database's own host https://<name>.
   */
  readonly urls: readonly string[];
  /**
   * True when no URL was given: like the go command, godepot also reads the
   * log at <upstream>/sumdb/<name>/ of every upstream proxy that says it
   * supports it. Explicit URLs stay explicit.
   */
  readonly viaUpstreams: boolean;
  /** The credentials of URLs given with user:password (urls holds them redacted). */
  readonly credentials: readonly UrlCredential[];
}

/**
 * The go command's GOSUMDB syntax: "KEY", "KEY URL[,URL...]", or a known
 * database's name in place of its key ("sum.golang.org", "sum.golang.org
 * https://…"; "sum.golang.google.cn" is sum.golang.org's log at that host).
 * The key's syntax is checked here; its cryptographic validity by the
 * caller (note.newVerifier).
 */
export function parseSumdbSpec(input: string): SumdbSpec {
  const s = SUMDB_ALIASES[input.trim()] ?? input.trim();
  const fields = s.split(/\s+/);
  if (fields.length > 2 || fields[0] === '') {
    throw new ValueError(`invalid sumdb ${shown(input)}: expected "NAME+HASH+KEY [URL[,URL...]]"`);
  }
  const first = fields[0] as string;
  const key = KNOWN_SUMDB_KEYS[first] ?? first;
  // The key data is base64 and may itself contain '+'.
  const parts = /^([^+]+)\+([0-9a-fA-F]{8})\+(.+)$/.exec(key);
  if (!parts) {
    if (!key.includes('+'))
      throw new ValueError(
        `unknown checksum database ${JSON.stringify(key)}: godepot knows the key of ${Object.keys(KNOWN_SUMDB_KEYS).join(', ')} only (and its mirror ${Object.keys(SUMDB_ALIASES).join(', ')}); give its verifier key as in GOSUMDB, "NAME+HASH+KEY [URL]" (like ${SUM_GOLANG_ORG_KEY})`,
      );
    throw new ValueError(`invalid sumdb key ${JSON.stringify(key)}: expected NAME+HASH+KEY like ${SUM_GOLANG_ORG_KEY}`);
  }
  const name = parts[1] as string;
  checkSumdbName(name);
  const urlField = fields[1];
  if (urlField === undefined) return { name, key, urls: [`https://${name}`], viaUpstreams: true, credentials: [] };
  const urls = urlField.split(',').filter((u) => u !== '');
  if (urls.length === 0) throw new ValueError(`invalid sumdb ${shown(input)}: empty URL list`);
  const named = urls.map((u) => credentialsOf(httpUrl(u, 'sumdb'), u, 'sumdb'));
  return {
    name,
    key,
    urls: named.map((n) => n.name),
    viaUpstreams: false,
    credentials: named.flatMap((n) => (n.credential ? [n.credential] : [])),
  };
}

/** The go command's rule: "https://"+name must parse as host[/path]. */
function checkSumdbName(name: string): void {
  let url: URL | null = null;
  try {
    url = new URL('https://' + name);
  } catch {
    url = null;
  }
  if (
    !url ||
    url.username ||
    url.password ||
    url.search ||
    url.hash ||
    name.endsWith('/') ||
    url.host + (url.pathname === '/' ? '' : url.pathname) !== name
  ) {
    // Host names are read in lower case (the URL parser lowers them): said, rather than "must be host[/path]".
    const lower = name.toLowerCase();
    if (lower !== name && url && url.host + (url.pathname === '/' ? '' : url.pathname) === lower)
      throw new ValueError(`invalid sumdb name ${JSON.stringify(name)}: write its host in lower case (${lower})`);
    throw new ValueError(`invalid sumdb name ${JSON.stringify(name)} (must be host[/path])`);
  }
}

/** The longest --storage prefix: the longest key godepot stores is about 800 bytes (a 512-byte module path, a 250-byte version). */
const MAX_S3_PREFIX = 200;

/** "fs" or "s3://BUCKET[/PREFIX]" (the --storage syntax); the endpoint and deadline come from their own settings. */
export function parseStorage(input: string): { kind: 'fs' } | { kind: 's3'; bucket: string; prefix: string } {
  const s = input.trim();
  if (s === 'fs') return { kind: 'fs' };
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(s);
  if (!m)
    throw new ValueError(
      `${JSON.stringify(input)} is neither "fs" nor "s3://BUCKET/PREFIX" (a bucket name is 3-63 lower-case letters, digits, "." or "-")`,
    );
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && !/^[A-Za-z0-9._~!@+\-/]+$/.test(prefix))
    throw new ValueError(`the prefix ${JSON.stringify(prefix)} may use only letters, digits and ._~!@+-/`);
  // The keys godepot stores under it (storage.ts checkKey's rules) come to about 800 of S3's 1024 bytes; stores
  // refuse '//', '.' and '..' in a key (MinIO), so these would fail every write (a reader: every read) instead.
  if (prefix !== '' && prefix.split('/').some((s) => s === '' || s.startsWith('.')))
    throw new ValueError(
      `the prefix ${JSON.stringify(prefix)} has an empty element or one starting with "."; write it as NAME[/NAME…]`,
    );
  if (prefix.length > MAX_S3_PREFIX)
    throw new ValueError(
      `the prefix is ${prefix.length} characters long; at most ${MAX_S3_PREFIX} leave room for the longest keys godepot stores under it (S3 allows 1024 bytes)`,
    );
  return { kind: 's3', bucket: m[1] as string, prefix };
}

/** "HOST:PORT", ":PORT" (all interfaces) or "[v6]:PORT". */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s.trim());
  const port = Number(m?.[3]);
  // "http://localhost:8080" copied from a GOPROXY line: its two colons are no IPv6 address.
  if (!m && /^[a-z][a-z0-9+.-]*:\/\//i.test(s.trim()))
    throw new ValueError(
      `${JSON.stringify(s)} is not HOST:PORT: give the address without a scheme, like 127.0.0.1:8080`,
    );
  // "::1:8080" cannot be split: which colon starts the port? Go's net.SplitHostPort asks for brackets too.
  if (!m && !s.includes('[') && (s.match(/:/g) ?? []).length > 1)
    throw new ValueError(
      `${JSON.stringify(s)} is not HOST:PORT: an IPv6 address goes in brackets, as in [::1]:8080 or [::]:8080`,
    );
  if (!m) throw new ValueError(`${JSON.stringify(s)} is not HOST:PORT (for example 127.0.0.1:8080 or :8080)`);
  if (port > 65535) throw new ValueError(`${JSON.stringify(s)}: port ${port} is out of range (1–65535, or 0 for any)`);
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : (m[2] as string));
  return { host, port };
}
