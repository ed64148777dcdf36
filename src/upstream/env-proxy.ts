// Which upstream calls go through an HTTP proxy: the go command's rules, so
// that where `go` reaches a proxy through a company's HTTP proxy, godepot
// does too (golang.org/x/net/http/httpproxy, FromEnvironment and
// proxyForURL, which net/http's ProxyFromEnvironment uses):
//
//   - HTTPS_PROXY (or https_proxy) for https URLs, HTTP_PROXY (or
//     http_proxy) for http URLs; an http, https or socks5 proxy; a value
//     without a scheme means http://;
//   - never for localhost or a loopback address;
//   - not for hosts NO_PROXY (or no_proxy) names: "*" (all), an IP address,
//     a CIDR block, or a domain — "example.com" matches it and its
//     subdomains, ".example.com" and "*.example.com" only the subdomains —
//     each optionally with ":port".
import { BlockList, isIP } from 'node:net';

export interface ProxyRules {
  /** The proxy URL for a call to url, or undefined to connect directly. */
  proxyFor(url: URL): string | undefined;
  /** Whether any proxy is configured at all. */
  readonly any: boolean;
  /** For the log: which proxy serves which scheme, credentials hidden. */
  describe(): string;
}

interface HostRule {
  /** ".example.com": the domain with a leading dot. */
  readonly suffix: string;
  /** Whether the domain itself matches too (the entry had no leading dot or "*."). */
  readonly exact: boolean;
  readonly port: string;
}

interface IpRule {
  readonly block: BlockList;
  readonly port: string;
}

function first(env: NodeJS.ProcessEnv, ...names: string[]): string {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== '') return v;
  }
  return '';
}

function parseProxy(value: string): string | undefined {
  if (value === '') return undefined;
  try {
    const u = new URL(value);
    if (u.host !== '' && /^(https?|socks5?):$/.test(u.protocol)) return u.href;
  } catch {
    // tried again with http:// below, as the go command does
  }
  try {
    return new URL(`http://${value}`).href;
  } catch {
    return undefined;
  }
}

function ipType(ip: string): 'ipv4' | 'ipv6' {
  return isIP(ip) === 6 ? 'ipv6' : 'ipv4';
}

/** Splits "host:port" / "[v6]:port" / "host"; the port is '' when absent. */
function splitHostPort(s: string): [string, string] {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return [v6[1] as string, v6[2] ?? ''];
  const m = /^([^:]+):(\d+)$/.exec(s);
  return m ? [m[1] as string, m[2] as string] : [s, ''];
}

function isLoopback(ip: string): boolean {
  const t = isIP(ip);
  if (t === 4) return ip.startsWith('127.');
  if (t === 6) return LOOPBACK6.check(ip, 'ipv6') || /^::ffff:127\./i.test(ip);
  return false;
}

const LOOPBACK6 = new BlockList();
LOOPBACK6.addAddress('::1', 'ipv6');

/** The rules the go command would follow in this environment. */
export function proxyRules(env: NodeJS.ProcessEnv = process.env): ProxyRules {
  const httpProxy = parseProxy(first(env, 'HTTP_PROXY', 'http_proxy'));
  const httpsProxy = parseProxy(first(env, 'HTTPS_PROXY', 'https_proxy'));
  let all = false;
  const hosts: HostRule[] = [];
  const ips: IpRule[] = [];
  for (const raw of first(env, 'NO_PROXY', 'no_proxy').split(',')) {
    const p = raw.trim().toLowerCase();
    if (p === '') continue;
    if (p === '*') {
      all = true;
      break;
    }
    const cidr = /^(.+)\/(\d{1,3})$/.exec(p);
    if (cidr && isIP(cidr[1] as string) !== 0) {
      const block = new BlockList();
      try {
        block.addSubnet(cidr[1] as string, Number(cidr[2]), ipType(cidr[1] as string));
        ips.push({ block, port: '' });
      } catch {
        // not a valid block: ignored, as the go command ignores what it cannot parse
      }
      continue;
    }
    const [host, port] = splitHostPort(p);
    if (host === '') continue;
    if (isIP(host) !== 0) {
      const block = new BlockList();
      block.addAddress(host, ipType(host));
      ips.push({ block, port });
      continue;
    }
    const name = host.startsWith('*.') ? host.slice(1) : host;
    hosts.push({ suffix: name.startsWith('.') ? name : `.${name}`, exact: !name.startsWith('.'), port });
  }
  const useProxy = (url: URL): boolean => {
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
    if (host === 'localhost' || isLoopback(host)) return false;
    if (all) return false;
    if (isIP(host) !== 0) {
      const type = ipType(host);
      if (ips.some((r) => r.block.check(host, type) && (r.port === '' || r.port === port))) return false;
    }
    return !hosts.some(
      (r) => (host.endsWith(r.suffix) || (r.exact && host === r.suffix.slice(1))) && (r.port === '' || r.port === port),
    );
  };
  const noProxy = first(env, 'NO_PROXY', 'no_proxy');
  return {
    any: httpProxy !== undefined || httpsProxy !== undefined,
    describe: () =>
      [
        httpsProxy && `https URLs through ${redactProxy(httpsProxy)} (HTTPS_PROXY)`,
        httpProxy && `http URLs through ${redactProxy(httpProxy)} (HTTP_PROXY)`,
        `never for loopback${noProxy ? ` or NO_PROXY=${noProxy}` : ''}`,
      ]
        .filter(Boolean)
        .join('; '),
    proxyFor(url: URL): string | undefined {
      const proxy = url.protocol === 'https:' ? httpsProxy : url.protocol === 'http:' ? httpProxy : undefined;
      if (proxy === undefined || !useProxy(url)) return undefined;
      return proxy;
    },
  };
}

/** A proxy URL for messages and logs: its password hidden. */
export function redactProxy(url: string): string {
  const u = new URL(url);
  if (u.password !== '') u.password = 'xxxxx';
  return u.href.replace(/\/$/, '');
}

/** Rules that never proxy (tests, and callers that decide for themselves). */
export const NO_PROXY_RULES: ProxyRules = { any: false, proxyFor: () => undefined, describe: () => 'no HTTP proxy' };
