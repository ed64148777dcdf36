// What a Go client's settings mean, without touching the network: the
// GOPROXY list as the go command parses it (PROTOCOL.md §1.3), the GOSUMDB
// spec (§2.2), and the configuration mistakes that switch verification off
// or make fallback impossible, each with its fix. Pure.
import { goproxyEntry, goproxyTokens, SUM_GOLANG_ORG_KEY } from '../../config/values.js';
import { matchPrefixPatterns } from '../../module/index.js';
import { newVerifier } from '../../sumdb/note/index.js';

export const GO_VARS = [
  'GOPROXY',
  'GOSUMDB',
  'GONOSUMDB',
  'GONOPROXY',
  'GOPRIVATE',
  'GOFLAGS',
  'GOINSECURE',
  'GOAUTH',
] as const;
export type GoVar = (typeof GO_VARS)[number];
export type GoConfig = Record<GoVar, string>;

export interface Finding {
  /** network: the path to a service; service: it answers, wrongly; config: the client's settings. */
  readonly kind: 'network' | 'service' | 'config';
  readonly severity: 'problem' | 'warning' | 'info';
  readonly subject: string;
  readonly message: string;
  readonly fix?: string;
}

export interface ProxyEntry {
  readonly kind: 'url' | 'direct' | 'off';
  readonly url: string;
  /** The separator after this entry is '|': the next entry is tried on any error, not only 404/410. */
  readonly fallBackOnError: boolean;
}

export interface SumdbConfig {
  readonly off: boolean;
  readonly name?: string;
  readonly key?: string;
  /** An explicit URL: the go command uses it directly, bypassing the proxies. */
  readonly url?: string;
  readonly error?: string;
}

/** The GOPROXY list, as the go command reads it; entries after direct/off are returned in `ignored`. */
export function parseGoproxy(value: string): { entries: ProxyEntry[]; ignored: string[]; errors: string[] } {
  const entries: ProxyEntry[] = [];
  const errors: string[] = [];
  let ignored: string[] = [];
  for (const { token, fallBackOnError, rest } of goproxyTokens(value)) {
    if (token === 'off' || token === 'direct') {
      entries.push({ kind: token, url: token, fallBackOnError: false });
      ignored = goproxyTokens(rest).map((t) => t.token);
      break;
    }
    const raw = goproxyEntry(token);
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      errors.push(`invalid proxy URL ${JSON.stringify(token)}`);
      continue;
    }
    if (!['http:', 'https:', 'file:'].includes(url.protocol)) {
      errors.push(`invalid proxy URL ${JSON.stringify(token)}: the scheme must be https, http or file`);
      continue;
    }
    entries.push({ kind: 'url', url: raw.replace(/\/+$/, ''), fallBackOnError });
  }
  if (entries.length === 0 && errors.length === 0)
    errors.push(
      value.trim() === '' ? 'GOPROXY is empty' : 'GOPROXY list is not the empty string, but contains no entries',
    );
  return { entries, ignored, errors };
}

/** The GOSUMDB spec, as the go command reads it. */
export function parseGosumdb(value: string): SumdbConfig {
  let v = value.trim();
  if (v === '') v = 'sum.golang.org';
  if (v === 'off') return { off: true };
  if (v === 'sum.golang.google.cn') v = 'sum.golang.org https://sum.golang.google.cn';
  const f = v.split(/\s+/);
  if (f.length > 2) return { off: false, error: 'invalid GOSUMDB: too many fields' };
  let key = f[0] as string;
  if (key === 'sum.golang.org') key = SUM_GOLANG_ORG_KEY;
  let name: string;
  try {
    name = newVerifier(key).name;
  } catch (err) {
    const known = !key.includes('+')
      ? ` (the go command knows the key of sum.golang.org only; give NAME+HASH+KEY for ${key})`
      : '';
    return { off: false, error: `invalid GOSUMDB: ${(err as Error).message}${known}` };
  }
  const url = f[1];
  return { off: false, name, key, ...(url === undefined ? {} : { url: url.replace(/\/+$/, '') }) };
}

/** Public module paths standing for the public ecosystem (orgs on code hosts are placeholders). */
const PUBLIC_SAMPLES = [
  'github.com/public-org-sample/repo',
  'gitlab.com/public-org-sample/repo',
  'bitbucket.org/public-org-sample/repo',
  'golang.org/x/text',
  'google.golang.org/protobuf',
  'gopkg.in/yaml.v3',
  'go.uber.org/zap',
  'k8s.io/api',
  'cloud.google.com/go',
  'go.opentelemetry.io/otel',
];

/** The sample public paths the GOPRIVATE-style patterns match (empty: the patterns stay private). */
export function publicPathsMatched(patterns: string): string[] {
  if (patterns.trim() === '') return [];
  return PUBLIC_SAMPLES.filter((p) => matchPrefixPatterns(patterns, p));
}

function hasInsecureFlag(goflags: string): boolean {
  return goflags.split(/\s+/).some((t) => /^--?insecure(=(?!false$|0$).*)?$/i.test(t));
}

/** The GOFLAGS words the go command refuses outright ("go: parsing $GOFLAGS: non-flag"), stopping every command. */
function nonFlags(goflags: string): string[] {
  return goflags.split(/\s+/).filter((t) => t !== '' && (!/^-/.test(t) || /^(-|--|---.*|--?=.*)$/.test(t)));
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1';
}

function checkProxies(cfg: GoConfig, out: Finding[]): ReturnType<typeof parseGoproxy> {
  const list = parseGoproxy(cfg.GOPROXY);
  for (const e of list.errors)
    out.push({
      kind: 'config',
      severity: 'problem',
      subject: 'GOPROXY',
      message: e,
      fix: 'write GOPROXY as URLs joined by "|" (fall back on any error) or "," (only on 404/410), e.g. GOPROXY=https://godepot.internal|https://proxy.golang.org',
    });
  const urls = list.entries.filter((e) => e.kind === 'url');
  list.entries.forEach((e, i) => {
    const next = list.entries[i + 1];
    if (e.kind === 'url' && next?.kind === 'url' && !e.fallBackOnError) {
      out.push({
        kind: 'config',
        severity: 'problem',
        subject: 'GOPROXY',
        message: `"${e.url},${next.url}": when ${e.url} is down or failing (refused, time-out, 5xx) the go command stops instead of trying ${next.url}; "," falls through only on 404/410`,
        fix: `use "${e.url}|${next.url}" so any failure falls back (or list ${e.url} alone if every module must come through it)`,
      });
    }
    if (e.kind === 'url') {
      const u = new URL(e.url);
      if (u.protocol === 'http:' && (u.username || u.password)) {
        out.push({
          kind: 'config',
          severity: 'problem',
          subject: 'GOPROXY',
          message: `${u.host}: credentials in a plain-http URL; the go command refuses to send them`,
          fix: 'serve the proxy over https, or drop the credentials',
        });
      } else if (u.protocol === 'http:' && !isLoopback(u.hostname)) {
        out.push({
          kind: 'config',
          severity: 'info',
          subject: 'GOPROXY',
          message: `${u.host} is plain http: fine on a trusted network (the checksum database still checks every module)`,
        });
      }
    }
  });
  if (list.ignored.length > 0) {
    const stop = list.entries[list.entries.length - 1]?.kind ?? 'direct';
    out.push({
      kind: 'config',
      severity: 'problem',
      subject: 'GOPROXY',
      message: `entries after "${stop}" are never used: ${list.ignored.join(', ')}`,
      fix: `move them before "${stop}"`,
    });
  }
  const only = list.entries[0];
  if (list.entries.length === 1 && only?.kind === 'direct') {
    out.push({
      kind: 'config',
      severity: 'warning',
      subject: 'GOPROXY',
      message:
        'GOPROXY=direct: modules come straight from their repositories; no cache keeps builds going in an outage',
      fix: 'put godepot first: GOPROXY=https://godepot.internal|direct',
    });
  } else if (only?.kind === 'off') {
    out.push({
      kind: 'config',
      severity: 'warning',
      subject: 'GOPROXY',
      message: 'GOPROXY=off: module downloads are disabled (fine only with a vendor folder or a full module cache)',
    });
  } else if (urls.length === 1 && list.entries.length === 1 && only) {
    out.push({
      kind: 'config',
      severity: 'info',
      subject: 'GOPROXY',
      message: `only ${only.url}, no fallback: if it is down, builds stop. ${
        only.url.replace(/\/+$/, '') === 'https://proxy.golang.org'
          ? 'A godepot in front of it (GOPROXY=https://godepot.internal|https://proxy.golang.org) keeps builds going in its outages'
          : 'Right when every module must come through it; otherwise add "|https://proxy.golang.org"'
      }`,
    });
  }
  return list;
}

export interface ConfigAnalysis {
  readonly findings: Finding[];
  readonly proxies: ProxyEntry[];
  readonly sumdb: SumdbConfig;
}

export function analyzeConfig(cfg: GoConfig): ConfigAnalysis {
  const out: Finding[] = [];
  const list = checkProxies(cfg, out);
  const sumdb = parseGosumdb(cfg.GOSUMDB);
  if (sumdb.off) {
    out.push({
      kind: 'config',
      severity: 'problem',
      subject: 'GOSUMDB',
      message: 'GOSUMDB=off: checksum verification is disabled; no download is checked against the checksum database',
      fix: 'unset GOSUMDB (or GOSUMDB=sum.golang.org); the go command reaches the database through godepot at <godepot>/sumdb/<name>/. For private modules use GONOSUMDB=<your paths> instead',
    });
  } else if (sumdb.error) {
    out.push({
      kind: 'config',
      severity: 'problem',
      subject: 'GOSUMDB',
      message: sumdb.error,
      fix: 'GOSUMDB=sum.golang.org, or NAME+HASH+KEY of your database',
    });
  } else if (sumdb.url) {
    out.push({
      kind: 'config',
      severity: 'info',
      subject: 'GOSUMDB',
      message: `the go command talks to ${sumdb.url} directly, not through the proxies`,
    });
  }
  if (hasInsecureFlag(cfg.GOFLAGS)) {
    out.push({
      kind: 'config',
      severity: 'problem',
      subject: 'GOFLAGS',
      message: `GOFLAGS=${cfg.GOFLAGS.trim()}: -insecure turned off HTTPS and checksum verification in old go commands, and makes 'go get' fail in current ones ("-insecure flag is no longer supported")`,
      fix: 'remove -insecure from GOFLAGS; for private modules set GOPRIVATE (or GONOSUMDB) to their paths, for plain-http repositories GOINSECURE',
    });
  }
  const bad = nonFlags(cfg.GOFLAGS);
  if (bad.length > 0) {
    out.push({
      kind: 'config',
      severity: 'problem',
      subject: 'GOFLAGS',
      message: `GOFLAGS=${cfg.GOFLAGS.trim()}: ${JSON.stringify(bad[0])} is not a flag, so every go command stops with "go: parsing $GOFLAGS: non-flag ${JSON.stringify(bad[0])}"`,
      fix: 'write each flag as one word, its value after "=" (GOFLAGS=-mod=vendor, not "-mod vendor"), or unset GOFLAGS',
    });
  }
  // go env shows an unset GONOSUMDB or GONOPROXY as GOPRIVATE's value: GOPRIVATE is then the setting to change.
  const named = (name: 'GONOSUMDB' | 'GONOPROXY') =>
    cfg[name].trim() !== '' && cfg[name] !== cfg.GOPRIVATE
      ? { name, v: cfg[name] }
      : { name: 'GOPRIVATE', v: cfg.GOPRIVATE };
  const nosumdb = named('GONOSUMDB');
  const noproxy = named('GONOPROXY');
  const unchecked = publicPathsMatched(nosumdb.v);
  if (unchecked.length > 0) {
    const alsoBypass = noproxy.name === nosumdb.name ? ', and they bypass the proxy and its cache' : '';
    out.push({
      kind: 'config',
      severity: 'problem',
      subject: nosumdb.name,
      message: `${nosumdb.name}=${nosumdb.v} covers public modules (${unchecked.slice(0, 3).join(', ')}${unchecked.length > 3 ? ', …' : ''}): their checksums are never checked${alsoBypass}`,
      fix: `list only your private module paths, e.g. ${nosumdb.name}=github.com/yourorg,git.internal.example`,
    });
  }
  const bypass = publicPathsMatched(noproxy.v);
  if (bypass.length > 0 && noproxy.name !== nosumdb.name) {
    out.push({
      kind: 'config',
      severity: 'problem',
      subject: noproxy.name,
      message: `${noproxy.name}=${noproxy.v} covers public modules (${bypass.slice(0, 3).join(', ')}${bypass.length > 3 ? ', …' : ''}): they bypass the proxy and its cache`,
      fix: `list only your private module paths in ${noproxy.name}`,
    });
  }
  const insecure = publicPathsMatched(cfg.GOINSECURE);
  if (insecure.length > 0) {
    out.push({
      kind: 'config',
      severity: 'warning',
      subject: 'GOINSECURE',
      message: `GOINSECURE=${cfg.GOINSECURE} covers public modules: direct fetches of them may use plain http or unchecked certificates`,
      fix: 'list only the private hosts that lack valid https',
    });
  }
  const auth = cfg.GOAUTH.split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (auth.includes('off') && auth.length > 1) {
    out.push({
      kind: 'config',
      severity: 'problem',
      subject: 'GOAUTH',
      message: 'GOAUTH=off cannot be combined with other authentication commands',
      fix: 'GOAUTH=off alone, or drop off',
    });
  }
  return { findings: out, proxies: list.entries, sumdb };
}
