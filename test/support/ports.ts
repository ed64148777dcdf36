// Loopback ports and readiness waits for the real components tests start.
import { createServer } from 'node:net';
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
