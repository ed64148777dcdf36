// A forward HTTP proxy on loopback, as a company network has: it forwards
// absolute-form requests (http URLs) and tunnels CONNECT (https), and it
// resolves only the names it is given, all to 127.0.0.1 — so an answer for
// such a name can only have come through it. It records what it was asked.
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';

export interface ForwardProxy {
  readonly url: string;
  /** "GET http://host:port/path" and "CONNECT host:port", in order. */
  readonly asked: string[];
  close(): Promise<void>;
}

export async function startForwardProxy(names: readonly string[]): Promise<ForwardProxy> {
  const asked: string[] = [];
  const target = (host: string): string => {
    if (!names.includes(host)) throw new Error(`proxy: unknown host ${host}`);
    return '127.0.0.1';
  };
  const server = createServer((req, res) => {
    asked.push(`${req.method ?? ''} ${req.url ?? ''}`);
    try {
      const to = new URL(req.url ?? '');
      const up = request(
        { host: target(to.hostname), port: to.port, path: to.pathname, method: req.method, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    } catch {
      res.writeHead(502).end();
    }
  });
  server.on('connect', (req, socket, head) => {
    asked.push(`CONNECT ${req.url ?? ''}`);
    const [host, p] = (req.url ?? '').split(':');
    socket.on('error', () => socket.destroy());
    let address: string;
    try {
      address = target(host ?? '');
    } catch {
      socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      return;
    }
    const out = connect(Number(p), address, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      out.write(head);
      out.pipe(socket);
      socket.pipe(out);
    });
    out.on('error', () => socket.destroy());
    socket.on('close', () => out.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked,
    close: async () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
