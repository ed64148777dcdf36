// Start-up: from spawning `node bin/godepot.js serve` (warm data folder) to
// the first 200 from /readyz, against the floor for any Node server: a bare
// node:http server answering its first request.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, GODEPOT_BIN, waitFor } from './procs.js';
import { median, type Row } from './report.js';
import type { BenchWorld } from './world.js';

export interface StartupOptions {
  readonly world: BenchWorld;
  readonly repeats: number;
  readonly say: (line: string) => void;
}

async function timeToReady(args: (port: number) => string[], path: string, logFile: string): Promise<number> {
  const port = await freePort();
  const log = openSync(logFile, 'a');
  const started = performance.now();
  const child = spawn(process.execPath, args(port), {
    stdio: ['ignore', log, log],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
  });
  closeSync(log);
  try {
    await waitFor(`http://127.0.0.1:${port}${path}`, 30_000, child);
    return performance.now() - started;
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
}

const BARE = "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.argv[1]), '127.0.0.1')";

export async function benchStartup(o: StartupOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const { world } = o;
  const godepot: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < o.repeats; i++) {
    bare.push(await timeToReady((port) => ['-e', BARE, String(port)], '/', join(world.tmp, 'startup-bare.log')));
    godepot.push(
      await timeToReady(
        (port) => [
          GODEPOT_BIN,
          'serve',
          '--listen',
          `127.0.0.1:${port}`,
          '--data',
          world.warmData,
          '--upstream',
          world.upstream.url,
          '--sumdb',
          world.sumdbSetting,
        ],
        '/readyz',
        join(world.tmp, 'startup-godepot.log'),
      ),
    );
  }
  const gm = median(godepot);
  const bm = median(bare);
  o.say(`  godepot ${gm.toFixed(0)} ms to /readyz, bare node:http ${bm.toFixed(0)} ms`);
  return {
    rows: [
      {
        bench: 'start-up',
        name: 'spawn to first 200 from /readyz (warm data folder)',
        unit: 'ms',
        godepot: gm,
        refName: 'bare node:http server',
        reference: bm,
        detail: `median of ${o.repeats}; godepot ${godepot.map((x) => x.toFixed(0)).join(', ')} ms`,
        raw: { godepot, bare },
      },
    ],
    notes: [],
  };
}
