// The certificate authorities godepot trusts for https upstreams and
// checksum databases: the go command's, plus Node's own.
//
// Node trusts its bundled Mozilla list (and NODE_EXTRA_CA_CERTS); the go
// command trusts the system's. On a network whose TLS-intercepting proxy has
// its CA in the system store (common in companies), `go` reaches
// proxy.golang.org and godepot did not: "self-signed certificate in
// certificate chain" (seen on 2026-12-05). So on Linux godepot also loads
// the certificates the go command loads (crypto/x509, root_unix.go and
// root_linux.go):
//
//   - SSL_CERT_FILE if set, else the first of the distributions' bundles
//     below that can be read;
//   - every file in each folder of SSL_CERT_DIR (colon-separated) if set,
//     else in /etc/ssl/certs and /etc/pki/tls/certs, leaving out symlinks
//     to a file of the same folder (the hash-named links c_rehash makes:
//     readUniqueDirectoryEntries), which would read each certificate twice.
//
// Elsewhere (macOS, Windows) the go command asks the platform, which Node
// cannot: Node's own list stays (set NODE_EXTRA_CA_CERTS for a private CA).
import { readdirSync, readFileSync, readlinkSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { TrustOptions } from '../util/trust.js';

const CERT_FILES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Gentoo…
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL 6
  '/etc/ssl/ca-bundle.pem', // OpenSUSE
  '/etc/pki/tls/cacert.pem', // OpenELEC
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // CentOS, RHEL 7
  '/etc/ssl/cert.pem', // Alpine
];
const CERT_DIRS = ['/etc/ssl/certs', '/etc/pki/tls/certs'];

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** A symlink whose target has no "/": another entry of the same folder (Go's isSameDirSymlink). */
function sameFolderLink(dir: string, e: Dirent): boolean {
  if (!e.isSymbolicLink()) return false;
  try {
    return !readlinkSync(join(dir, e.name)).includes('/');
  } catch {
    return false;
  }
}

/** The certificates the go command would load on this Linux system, as PEM blocks (unchecked). */
export function goCertificates(env: NodeJS.ProcessEnv = process.env): string[] {
  const pems: string[] = [];
  const add = (text: string | null): void => {
    if (text !== null) pems.push(...(text.match(PEM_BLOCK) ?? []));
  };
  const files = env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : CERT_FILES;
  for (const f of files) {
    const text = readText(f);
    if (text !== null) {
      add(text);
      break;
    }
  }
  const dirs = env.SSL_CERT_DIR ? env.SSL_CERT_DIR.split(':').filter(Boolean) : CERT_DIRS;
  for (const d of dirs) {
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (!sameFolderLink(d, e)) add(readText(join(d, e.name)));
  }
  return pems;
}

/**
 * Node's trusted certificates (its bundled list and NODE_EXTRA_CA_CERTS)
 * plus the go command's (Linux), each once; certificates that do not parse
 * are left out. Undefined when the go command's add nothing: Node's
 * defaults then apply unchanged.
 */
export function trustedCertificates(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string[] | undefined {
  if (platform !== 'linux') return undefined;
  const own = new Set(rootCertificates.map(normalise));
  const extra = env.NODE_EXTRA_CA_CERTS ? (readText(env.NODE_EXTRA_CA_CERTS)?.match(PEM_BLOCK) ?? []) : [];
  const added = new Map<string, string>();
  for (const pem of [...extra, ...goCertificates(env)]) {
    const key = normalise(pem);
    if (own.has(key) || added.has(key)) continue;
    try {
      new X509Certificate(pem);
    } catch {
      continue;
    }
    added.set(key, pem);
  }
  if (added.size === 0) return undefined;
  return [...rootCertificates, ...added.values()];
}

function normalise(pem: string): string {
  return pem.replace(/\s+/g, '');
}

let made: SecureContext | null | undefined;

/**
 * One TLS context trusting trustedCertificates(), made on first use and
 * shared by every https connection (a context per connection would parse
 * the list each time); undefined when Node's defaults apply.
 */
function trustedContext(): SecureContext | undefined {
  if (made === undefined) {
    const ca = trustedCertificates();
    made = ca ? createSecureContext({ ca }) : null;
  }
  return made ?? undefined;
}

export type { TrustOptions };

/**
 * TrustOptions for this process's environment (made once), or for another
 * environment (a command given one, such as doctor's: made each call).
 */
export function trustOptions(env: NodeJS.ProcessEnv = process.env): TrustOptions {
  let secureContext: SecureContext | undefined;
  if (env === process.env) secureContext = trustedContext();
  else {
    const ca = trustedCertificates(env);
    secureContext = ca ? createSecureContext({ ca }) : undefined;
  }
  return secureContext ? { secureContext } : {};
}

/**
 * TrustOptions of the go command itself in env, for `godepot doctor`: on Linux the certificates goCertificates()
 * finds and nothing else (not Node's bundled list, not NODE_EXTRA_CA_CERTS, which the go command never reads; none
 * found: nothing is trusted, as for the go command); elsewhere, where Go asks the platform, trustOptions(env).
 */
export function goTrustOptions(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): TrustOptions {
  if (platform !== 'linux') return trustOptions(env);
  const ca = goCertificates(env).filter((pem) => {
    try {
      new X509Certificate(pem);
      return true;
    } catch {
      return false;
    }
  });
  // An empty ca replaces the defaults with nothing (Node adds its own roots only when ca is not given).
  return { secureContext: createSecureContext({ ca }) };
}
