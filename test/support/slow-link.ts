// A TCP relay on loopback that carries what each client sends at a fixed
// rate (bytes per second, per connection), and what the server answers at
// full speed: an object store reached over a thin line, or one that takes
// each request's bytes no faster. The bytes keep moving, a slice every few
// milliseconds, so nothing ever pauses for long.
import { connect, createServer, type Socket } from 'node:net';
import { listenLoopback } from './ports.js';

export interface SlowLink {
  readonly url: string;
  close(): Promise<void>;
}

const TICK_MS = 10;
/** A client is paused while this much of what it sent waits for the link. */
const QUEUED_LIMIT = 256 << 10;

/** Relays 127.0.0.1:<port> to target (http://127.0.0.1:PORT), each connection's client bytes at bytesPerSecond. */
export async function startSlowLink(target: string, bytesPerSecond: number): Promise<SlowLink> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(to.port), to.hostname);
    // What the client sent, waiting for the link.
    const queue: Buffer[] = [];
    let queued = 0;
    const tick = setInterval(() => {
      let budget = (bytesPerSecond * TICK_MS) / 1000;
      while (budget > 0 && queue.length > 0) {
        const bytes = queue[0] as Buffer;
        const n = Math.min(budget, bytes.length);
        upstream.write(bytes.subarray(0, n));
        budget -= n;
        queued -= n;
        if (n === bytes.length) queue.shift();
        else queue[0] = bytes.subarray(n);
      }
      if (queued < QUEUED_LIMIT && client.isPaused()) client.resume();
    }, TICK_MS);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => {
        sockets.delete(s);
        clearInterval(tick);
        client.destroy();
        upstream.destroy();
      });
      s.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      queue.push(chunk);
      queued += chunk.length;
      if (queued >= QUEUED_LIMIT) client.pause();
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
  });
  return listenLoopback(server, sockets);
}
