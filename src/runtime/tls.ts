// HTTPS for `godepot serve` (--tls-cert/--tls-key): the go command sends
// credentials only over HTTPS, so --auth needs it. The certificate and key
// are re-read when either file changes (rotated certificates), once both have
// been still for a moment; a pair that does not load is logged and the
// previous one stays in use.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createServer, type Server, type ServerOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import { systemClock, type Clock, type WaitingClock } from '../util/clock.js';
import { saidAt, type SaidAt } from '../util/said-once.js';
import { unreadableFile } from '../util/error-codes.js';

function readPair(tls: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  // Each file read on its own, so that the message names the one that cannot be read.
  const read = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(`cannot read --tls-cert/--tls-key: ${flag} ${file}: ${unreadableFile(err, 'a PEM file')}`);
    }
  };
  return { cert: read('--tls-cert', tls.cert), key: read('--tls-key', tls.key) };
}

/**
 * The certificate and key of --tls-cert/--tls-key, read and checked to make a usable pair; a ConfigError
 * naming the settings otherwise. `serve` checks them before it starts anything (a worker that found them
 * unusable after its background work had started said so and then hung, serving nothing).
 */
export function readTlsPair(tls: { readonly cert: string; readonly key: string }): { cert: Buffer; key: Buffer } {
  const pair = readPair(tls);
  // Files that are not what their flag says (swapped, or another kind of PEM) read in OpenSSL's words as "no start
  // line": said as what they are.
  const CERT = /-----BEGIN CERTIFICATE-----/;
  const KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
  const cert = pair.cert.toString('latin1');
  const key = pair.key.toString('latin1');
  const swapped = KEY.test(cert) && CERT.test(key) ? ': it holds the other one (are the two swapped?)' : '';
  if (!CERT.test(cert))
    throw new ConfigError(`--tls-cert ${tls.cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----)${swapped}`);
  if (!KEY.test(key))
    throw new ConfigError(`--tls-key ${tls.key} holds no PEM private key (-----BEGIN … PRIVATE KEY-----)${swapped}`);
  // OpenSSL says "bad decrypt" (or asks for a passphrase nobody can type).
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: 4,ENCRYPTED/m.test(key))
    throw new ConfigError(
      `--tls-key ${tls.key} is encrypted with a passphrase, which godepot does not take: give it the key decrypted (openssl pkey -in ${tls.key} -out key.pem), readable by godepot only`,
    );
  try {
    createSecureContext(pair);
  } catch (err) {
    const msg = (err as Error).message;
    // OpenSSL's words ("key values mismatch") said as what to do.
    if (!/key values mismatch/.test(msg))
      throw new ConfigError(`--tls-cert/--tls-key do not make a usable certificate and key: ${msg}`);
    const at = positionOfKeysCertificate(cert, pair.key);
    throw new ConfigError(
      at > 0
        ? `--tls-cert ${tls.cert} holds the certificate of --tls-key ${tls.key} in place ${at + 1}, not first: put the server's certificate first, then the intermediates`
        : `--tls-cert/--tls-key do not make a usable certificate and key: --tls-key ${tls.key} is not the private key of the certificate in --tls-cert ${tls.cert}; give the pair that belongs together`,
    );
  }
  return pair;
}

/** Where in the PEM chain `pem` the certificate of `key` is (0: first), or -1. */
function positionOfKeysCertificate(pem: string, key: Buffer): number {
  try {
    const k = createPrivateKey(key);
    const certs = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    return certs.findIndex((c) => new X509Certificate(c).checkPrivateKey(k));
  } catch {
    return -1;
  }
}

/**
 * A warning when the certificate of --tls-cert is expired or not yet valid on `clock`: godepot still starts (a
 * renewed certificate is picked up when the file changes), but every client refuses it until then.
 */
export function certValidityWarning(file: string, cert: Buffer, clock: Clock): string | null {
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch {
    return null; // createSecureContext accepted it; nothing more to say than it did.
  }
  const now = new Date(clock.now());
  const to = new Date(x.validTo);
  const from = new Date(x.validFrom);
  if (now > to)
    return `--tls-cert ${file}: the certificate expired on ${to.toISOString()}; clients refuse it: renew it (godepot reloads the file when it changes)`;
  if (now < from)
    return `--tls-cert ${file}: the certificate is not valid before ${from.toISOString()}; clients refuse it until then: check this machine's clock or the certificate`;
  return null;
}

/**
 * How long both files must stay unchanged before they are read again: renewal tools write the certificate and
 * the key one after the other (certbot's symlinks, a copy of each), or write a file in several goes. Read at the
 * first change, the certificate was taken with the old key (an error logged for a renewal that went well) or
 * half-written (a leaf without its intermediates, loaded and served: every client refused it until the next poll).
 */
export const TLS_SETTLE_MS = 2_000;

export function createTlsServer(
  tls: { readonly cert: string; readonly key: string },
  options: ServerOptions,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  log: Logger,
  /** Every worker reloads the same files: the first says so (util/said-once.ts). */
  level: SaidAt = saidAt(true),
  clock: WaitingClock = systemClock,
): Server & { readonly certificateWarning: () => string | null } {
  let current = readTlsPair(tls);
  const server = createServer({ ...options, ...current }, handler);
  const reload = (): void => {
    try {
      const pair = readTlsPair(tls);
      server.setSecureContext(pair);
      current = pair;
      log[level('info')]({ cert: tls.cert }, 'TLS certificate reloaded');
      const invalid = certValidityWarning(tls.cert, pair.cert, clock);
      if (invalid) log[level('warn')](invalid);
    } catch (err) {
      log[level('error')](
        { cert: tls.cert, err: (err as Error).message },
        'TLS certificate not reloaded; keeping the previous one',
      );
    }
  };
  // Each change starts the wait again: the pair is read once, when neither file has changed for TLS_SETTLE_MS.
  let settling: AbortController | null = null;
  const changed = (): void => {
    settling?.abort();
    const wait = (settling = new AbortController());
    clock.sleep(TLS_SETTLE_MS, wait.signal).then(
      () => {
        settling = null;
        reload();
      },
      () => undefined,
    );
  };
  for (const f of [tls.cert, tls.key]) watchFile(f, { interval: 1000, persistent: false }, changed);
  server.once('close', () => {
    settling?.abort();
    for (const f of [tls.cert, tls.key]) unwatchFile(f, changed);
  });
  /** The served certificate's certValidityWarning now: one that expires while godepot runs is said in /readyz. */
  return Object.assign(server, { certificateWarning: () => certValidityWarning(tls.cert, current.cert, clock) });
}
