// A self-signed certificate for tests that speak TLS on loopback, made with
// the openssl command (skip such tests when `hasOpenssl` is false).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
