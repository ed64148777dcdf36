// HTTPS for `godepot serve` (--tls-cert/--tls-key): the go command sends
// credentials only over HTTPS, so --auth needs it. The certificate and key
// are re-read when either file changes (rotated certificates); a pair that
// does not load is logged and the previous one stays in use.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createServer, type Server, type ServerOptions } from 'node:https';
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

export function createTlsServer(
  tls: { readonly cert: string; readonly key: string },
  options: ServerOptions,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  log: Logger,
): Server {
  let server: Server;
  try {
    server = createServer({ ...options, ...readPair(tls) }, handler);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`--tls-cert/--tls-key do not make a usable certificate and key: ${(err as Error).message}`);
  }
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
