// Loopback ports and readiness waits for the real components tests start.
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';

/** A loopback TCP port free right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/**
 * Polls ready() until it is true (a component starting up: this waits for a
 * state, not for time to pass); throws `what` after limitMs.
 */
export async function waitFor(ready: () => Promise<boolean>, limitMs: number, what: string): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await ready())) {
    if (Date.now() > until) throw new Error(`${what} within ${limitMs / 1000} s`);
    await delay(50);
  }
}

/**
 * Starts server (a relay) on a free loopback port: its URL, and a close() that
 * first ends the connections in sockets (which the relay keeps, both ends), as
 * server.close() waits for them.
 */
export async function listenLoopback(
  server: Server,
  sockets: Set<Socket>,
): Promise<{ readonly url: string; close(): Promise<void> }> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
