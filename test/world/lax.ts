// A hostile, lax front end for a fake GOPROXY, as a misconfigured nginx or
// CDN would be: it percent-decodes the request path again and again (up to
// four times, so %252e becomes '.'), turns '\' into '/', drops ';' parameters
// and normalises dot segments, then serves `/goproxy/…` from the module tree
// behind it and anything else from its own private files. A proxy in front
// of it must never make it serve a private file: `escapes` lists every
// request whose normalised path left the module tree.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { posix } from 'node:path';

export const LAX_PREFIX = '/goproxy';
export const PRIVATE_SECRET = '{"Version":"v6.6.6","Time":"2001-01-01T00:00:00Z","Secret":"private"}';

/** What a lax server makes of a raw request path. */
export function laxNormalise(raw: string): string {
  let p = raw;
  for (let i = 0; i < 4; i++) {
    let next: string;
    try {
      next = decodeURIComponent(p);
    } catch {
      next = unescape(p);
    }
    if (next === p) break;
    p = next;
  }
  p = p.replace(/\\/g, '/').replace(/;[^/]*/g, '');
  return posix.normalize(p);
}

export class LaxFrontend {
  /** Requests as received (raw) with their normalised path. */
  readonly requests: Array<{ raw: string; normalised: string }> = [];
  /** Normalised paths outside the module tree that were asked for. */
  readonly escapes: string[] = [];
  private origin = '';

  private constructor(
    private readonly server: Server,
    private readonly inner: string,
  ) {}

  /** inner: the origin of a FakeGoProxy started with prefix LAX_PREFIX. */
  static async start(innerOrigin: string): Promise<LaxFrontend> {
    const server = createServer();
    const lax = new LaxFrontend(server, innerOrigin);
    server.on('request', (req, res) => {
      const raw = (req.url ?? '/').split('?')[0] ?? '/';
      const normalised = laxNormalise(raw);
      lax.requests.push({ raw, normalised });
      if (!normalised.startsWith(LAX_PREFIX + '/')) {
        lax.escapes.push(normalised);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(PRIVATE_SECRET);
        return;
      }
      const target = new URL(lax.inner);
      const up = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: encodeURI(normalised),
          method: req.method,
          maxHeaderSize: 1 << 20,
        },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end();
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    lax.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return lax;
  }

  /** The GOPROXY URL to give godepot. */
  get url(): string {
    return this.origin + LAX_PREFIX;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    await closed;
  }
}
