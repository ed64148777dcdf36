// The thundering herd's client, run as its own process so its CPU and memory
// are not the server's: N simultaneous GETs of one URL, each on its own
// connection; bodies are counted and dropped. Prints one JSON line.
import { Agent, get } from 'node:http';

interface One {
  status: number;
  bytes: number;
  firstByteMs: number;
  lastByteMs: number;
  error?: string;
}

async function herd(url: string, n: number): Promise<void> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const started = performance.now();
  const one = (): Promise<One> =>
    new Promise<One>((resolve) => {
      const failed = (e: Error): void =>
        resolve({ status: 0, bytes: 0, firstByteMs: 0, lastByteMs: performance.now() - started, error: e.message });
      const req = get(url, { agent }, (res) => {
        const firstByteMs = performance.now() - started;
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, bytes, firstByteMs, lastByteMs: performance.now() - started }),
        );
        res.on('error', failed);
      });
      req.on('error', failed);
    });
  const all = await Promise.all(Array.from({ length: n }, one));
  const statuses: Record<string, number> = {};
  for (const r of all) statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
  const errors = all.filter((r) => r.error).map((r) => r.error);
  process.stdout.write(
    'HERDJSON ' +
      JSON.stringify({
        requests: n,
        statuses,
        errors: errors.slice(0, 5),
        errorCount: errors.length,
        bytes: all.reduce((s, r) => s + r.bytes, 0),
        minBytes: Math.min(...all.map((r) => r.bytes)),
        firstByteMaxMs: Math.max(...all.map((r) => r.firstByteMs)),
        lastByteMs: Math.max(...all.map((r) => r.lastByteMs)),
      }) +
      '\n',
  );
}

const [url, count] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: herd-client URL [N]\n');
  process.exit(2);
}
await herd(url, Number(count ?? 500));
