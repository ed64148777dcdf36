// Loopback upstreams and endpoint registries with short deadlines, for the
// tests of how godepot takes an upstream's answers. Each call of the
// factories belongs to the test file that made it: its servers are closed
// after the file's tests, its connection pools after each test.
import { afterAll, afterEach } from 'vitest';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { SecureContext } from 'node:tls';
import { EndpointRegistry, HttpPools, type UrlCredential } from '../../src/upstream/index.js';
import type { DEFAULT_DEADLINES, Deadlines } from '../../src/config/settings.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * serve(handler) starts a loopback HTTP server and gives its URL; keep(s)
 * takes a server started otherwise (https) into the same clean-up.
 */
export function loopbackServers(): {
  serve(handler: Handler): Promise<string>;
  keep(s: Server | HttpsServer): void;
} {
  const servers: (Server | HttpsServer)[] = [];
  afterAll(() => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });
  return {
    async serve(handler) {
      const s = createServer(handler);
      s.listen(0, '127.0.0.1');
      await once(s, 'listening');
      servers.push(s);
      const a = s.address();
      if (!a || typeof a === 'string') throw new Error('no address');
      return `http://127.0.0.1:${a.port}`;
    },
    keep: (s) => void servers.push(s),
  };
}

export interface RegistryOptions {
  readonly attempts?: number;
  readonly credentials?: UrlCredential[];
  readonly connect?: { secureContext: SecureContext };
}

/** Short deadlines (0.5 s to the first byte and between bytes, 2 s in all): a stall fails fast. */
export const SHORT: Deadlines = { connect: 500, firstByte: 500, idle: 500, total: 2_000 };

/** A factory of registries (one attempt unless told, a breaker that never opens) over pools closed after each test. */
export function shortRegistries(d: Deadlines = SHORT): (opts?: RegistryOptions) => EndpointRegistry {
  const pools: HttpPools[] = [];
  afterEach(async () => {
    for (const p of pools.splice(0)) await p.close();
  });
  return (opts = {}) => {
    const deadlines = { metadata: d, zip: d, sumdb: d } as typeof DEFAULT_DEADLINES;
    const p = new HttpPools(deadlines, opts.connect);
    pools.push(p);
    return new EndpointRegistry(p, {
      deadlines,
      retry: { attempts: opts.attempts ?? 1, baseDelay: 5, maxDelay: 20 },
      breaker: { failures: 100, halfOpenAfter: 60_000 },
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
    });
  };
}
