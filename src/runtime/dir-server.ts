// A private loopback HTTP server over a folder in GOPROXY layout (a Go
// installation's $GOMODCACHE/cache/download, or what `godepot export`
// writes): module files at /<escpath>/@v/<escver>.{info,mod,zip}, and each
// database's lookups and tiles under /sumdb/<name>/{lookup,tile}/…. import
// points a godepot at it as an upstream and a database mirror, so what the
// folder holds goes through the same verification as anything fetched.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { decodeRequestPath } from '../proxy/request.js';

export interface DirServer {
  readonly url: string;
  /** Requests answered / answered 404 (for the report). */
  readonly counts: { served: number; missing: number };
  close(): Promise<void>;
}

/**
 * The file a request path names inside root, or null for anything that
 * could escape it or that the go command's cache keeps for itself.
 */
export function fileFor(root: string, rawPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeRequestPath(rawPath.split('?')[0] ?? '');
  } catch {
    return null;
  }
  const rel = decoded.slice(1);
  if (rel === '' || /(^|\/)\./.test(rel) || /\.(lock|partial|tmp|ziphash)$/.test(rel)) return null;
  const abs = resolve(root, ...rel.split('/'));
  return abs.startsWith(resolve(root) + sep) ? abs : null;
}

export async function startDirServer(root: string, databases: readonly string[]): Promise<DirServer> {
  const counts = { served: 0, missing: 0 };
  const realRoot = await realpath(resolve(root));
  // The report shows these words ("checksum database …: not found" alone does not say that the folder lacks the
  // record): a file the folder does not hold is named, relative to it.
  const notFound = (res: import('node:http').ServerResponse, file?: string | null): void => {
    counts.missing++;
    const rel = file ? relative(resolve(root), file).split(sep).join('/') : '';
    res
      .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      .end(rel === '' ? 'not found\n' : `not found: the folder holds no ${rel}\n`);
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return notFound(res);
      const url = req.url ?? '/';
      // The go command probes <proxy>/sumdb/<name>/supported; answer for the databases the folder has.
      const supported = databases.find((name) => url === `/sumdb/${name}/supported`);
      if (supported !== undefined) {
        const has = await lstat(join(root, 'sumdb', ...supported.split('/'))).catch(() => null);
        if (has?.isDirectory()) {
          counts.served++;
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end();
          return;
        }
        return notFound(res);
      }
      const file = fileFor(root, url);
      // lstat: a link in a carried-over folder may point anywhere on this machine; only regular files are served,
      // and only where they are (a linked folder on the way, sumdb/x -> /home/…, leads out of the folder too).
      const st = file ? await lstat(file).catch(() => null) : null;
      // The go command treats an empty cache file as missing; so do we.
      if (!file || !st?.isFile() || st.size === 0) return notFound(res, file);
      const real = await realpath(file).catch(() => '');
      if (!real.startsWith(realRoot + sep)) return notFound(res);
      counts.served++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(st.size) });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file)
        .on('error', () => res.destroy())
        .pipe(res);
    })().catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('loopback server has no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    counts,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
