// A self-signed certificate for tests that speak TLS on loopback, made with
// the openssl command (skip such tests when `hasOpenssl` is false); and a
// throwaway certificate authority with a server certificate it signed.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

export interface TestCert {
  readonly certFile: string;
  readonly keyFile: string;
  /** The certificate, PEM. */
  readonly cert: string;
  /** The private key, PEM. */
  readonly key: string;
}

/**
 * Writes an EC key and a self-signed certificate for `name` into dir
 * (name.crt, name.key), valid for 2 days; `san` is its subjectAltName, e.g.
 * "IP:127.0.0.1" or "DNS:mirror.corp.example".
 */
export function selfSignedCert(dir: string, name: string, san?: string): TestCert {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const r = spawnSync('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`],
    ...(san === undefined ? [] : ['-addext', `subjectAltName=${san}`]),
  ]);
  if (r.status !== 0) throw new Error(`openssl could not make a certificate: ${r.stderr.toString()}`);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

export interface TestCa {
  /** The authority's certificate, PEM, in caFile (what SSL_CERT_FILE or GIT_SSL_CAINFO name). */
  readonly caFile: string;
  readonly ca: string;
  /** A server certificate the authority signed, and its key. */
  readonly cert: string;
  readonly key: string;
}

/**
 * Writes a throwaway certificate authority into dir (ca.crt) and a server certificate it signed for `san`
 * (e.g. "DNS:corp.example,IP:127.0.0.1"), both valid for 2 days: a host whose certificate a client trusts only
 * when given the authority.
 */
export function testCa(dir: string, san: string): TestCa {
  const f = (name: string): string => join(dir, name);
  const run = (args: string[]): void => {
    const r = spawnSync('openssl', args);
    if (r.status !== 0) throw new Error(`openssl ${args[0] ?? ''} failed: ${r.stderr.toString()}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=godepot test CA',
  ]);
  run(['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=godepot test host']);
  const ext = f('server.ext');
  writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  run([
    ...['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial'],
    ...['-out', f('server.crt'), '-days', '2', '-extfile', ext],
  ]);
  return {
    caFile: f('ca.crt'),
    ca: readFileSync(f('ca.crt'), 'utf8'),
    cert: readFileSync(f('server.crt'), 'utf8'),
    key: readFileSync(f('server.key'), 'utf8'),
  };
}
