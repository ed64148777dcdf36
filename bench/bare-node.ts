// The Node floor for cache hits: a bare node:http server answering GET with
// the bytes of a file under ROOT (read once, then kept in memory), nothing
// else — no routing, no logging, no metrics. With WORKERS > 1 it forks that
// many processes that accept connections themselves, as godepot's workers
// do. What godepot's hits cost above it is godepot's; what it shares with it
// is Node's (and the kernel's).
//
//   node bare-node.js ROOT PORT WORKERS
import cluster from 'node:cluster';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';

const [root = '.', port = '0', workers = '1'] = process.argv.slice(2);
const types: Record<string, string> = { info: 'application/json', mod: 'text/plain', zip: 'application/zip' };

if (cluster.isPrimary && Number(workers) > 1) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < Number(workers); i++) cluster.fork();
} else {
  const files = new Map<string, Buffer | null>();
  createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0] as string));
    const send = (body: Buffer | null): void => {
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      const ext = path.slice(path.lastIndexOf('.') + 1);
      res.writeHead(200, { 'Content-Type': types[ext] ?? 'text/plain', 'Content-Length': body.length });
      res.end(body);
    };
    const known = files.get(path);
    if (known !== undefined) return send(known);
    readFile(join(root, path)).then(
      (b) => {
        files.set(path, b);
        send(b);
      },
      () => send(null),
    );
  }).listen(Number(port), '127.0.0.1');
}
