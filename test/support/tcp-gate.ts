// A TCP relay on loopback that stops a connection the moment a request
// matching a pattern passes through it: its bytes go no further (the server
// never sees that request), so the client waits mid-call for as long as the
// test likes. For freezing a godepot node in the middle of one step of a
// longer exchange (one part of a multipart upload to MinIO), so that it can
// be killed exactly there.
import { connect, createServer, type Socket } from 'node:net';
import { listenLoopback } from './ports.js';

export interface TcpGate {
  readonly url: string;
  /** Resolves once a request matched (and was stopped). */
  readonly held: Promise<void>;
  /** Lets the held request (and what followed it on its connection) go on to the server. */
  release(): void;
  close(): Promise<void>;
}

/** Relays 127.0.0.1:<port> to target (http://127.0.0.1:PORT) until a request's bytes match hold. */
export async function startTcpGate(target: string, hold: RegExp): Promise<TcpGate> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  let onHold: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (onHold = resolve));
  const releases: Array<() => void> = [];
  let released = false;
  const server = createServer((client) => {
    const server = connect(Number(to.port), to.hostname);
    for (const s of [client, server]) {
      sockets.add(s);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        server.destroy();
      });
      s.on('error', () => undefined);
    }
    // A request line split across two chunks still matches.
    let tail = '';
    let stopped = false;
    const kept: Buffer[] = [];
    client.on('data', (chunk: Buffer) => {
      if (stopped) {
        kept.push(chunk);
        return;
      }
      const text = tail + chunk.toString('latin1');
      if (!released && hold.test(text)) {
        stopped = true;
        kept.push(chunk);
        releases.push(() => {
          stopped = false;
          for (const c of kept.splice(0)) server.write(c);
        });
        onHold();
        return;
      }
      tail = text.slice(-256);
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => client.write(chunk));
  });
  const release = (): void => {
    released = true;
    for (const r of releases.splice(0)) r();
  };
  return { ...(await listenLoopback(server, sockets)), held, release };
}
