// HTTPS for `godepot serve` (--tls-cert/--tls-key): the go command sends
// credentials only over HTTPS, so --auth needs it. The certificate and key
// are re-read when either file changes (rotated certificates); a pair that
// does not load is logged and the previous one stays in use.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createServer, type Server, type ServerOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';

function readPair(tls: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
  } catch (err) {
    throw new ConfigError(`cannot read --tls-cert/--tls-key: ${(err as Error).message}`);
  }
}

/**
 * The certificate and key of --tls-cert/--tls-key, read and checked to make a usable pair; a ConfigError
 * naming the settings otherwise. `serve` checks them before it starts anything (a worker that found them
 * unusable after its background work had started said so and then hung, serving nothing).
 */
export function readTlsPair(tls: { readonly cert: string; readonly key: string }): { cert: Buffer; key: Buffer } {
  const pair = readPair(tls);
  try {
    createSecureContext(pair);
  } catch (err) {
    throw new ConfigError(`--tls-cert/--tls-key do not make a usable certificate and key: ${(err as Error).message}`);
  }
  return pair;
}

export function createTlsServer(
  tls: { readonly cert: string; readonly key: string },
  options: ServerOptions,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  log: Logger,
): Server {
  const server = createServer({ ...options, ...readTlsPair(tls) }, handler);
  const reload = (): void => {
    try {
      server.setSecureContext(readPair(tls));
      log.info({ cert: tls.cert }, 'TLS certificate reloaded');
    } catch (err) {
      log.error(
        { cert: tls.cert, err: (err as Error).message },
        'TLS certificate not reloaded; keeping the previous one',
      );
    }
  };
  for (const f of [tls.cert, tls.key]) watchFile(f, { interval: 1000, persistent: false }, reload);
  server.once('close', () => {
    for (const f of [tls.cert, tls.key]) unwatchFile(f, reload);
  });
  return server;
}
