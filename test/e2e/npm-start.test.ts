// `npm start`, the Quick start's command, as a service manager or `docker
// stop` runs it: a SIGTERM to npm must stop godepot. npm hands the signal to
// the shell running the script; Debian's sh (dash) does not exec the last
// command, so without the script's own `exec` the shell died and godepot
// went on serving, reparented, holding the port (found in a field run).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, removeDir, tempDir, testHome } from '../support/godepot.js';

const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0 ? 'npm' : null;
if (npm === null && process.env.CI === 'true') throw new Error('npm is missing on this CI machine');

let dir: string;
let child: ChildProcess | undefined;
let godepotPid: number | undefined;

beforeAll(async () => {
  dir = await tempDir('godepot-npm-start-');
});

afterAll(async () => {
  for (const pid of [godepotPid, child?.pid]) {
    if (pid === undefined) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already: what the test wants.
    }
  }
  await removeDir(dir);
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it.skipIf(npm === null)(
  'a SIGTERM to `npm start` stops godepot',
  async () => {
    child = spawn(
      'npm',
      // The Quick start's defaults (one worker per core under a primary), only loopback and offline for the test.
      ['start', '--', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--offline'],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: testHome(), npm_config_update_notifier: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    // The primary says it starts its workers; a worker says where godepot listens (its pid, not the primary's).
    const pids = await new Promise<{ primary: number; worker: number }>((resolve, reject) => {
      child?.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const primary = /"pid":(\d+),[^\n]*"msg":"starting workers"/.exec(out);
        const worker = /"pid":(\d+),[^\n]*"url":"http:\/\/127\.0\.0\.1:\d+"/.exec(out);
        // (On a 1-core machine the default is one process: it is both.)
        if (worker) resolve({ primary: Number((primary ?? worker)[1]), worker: Number(worker[1]) });
      });
      child?.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${out}`)));
    });
    godepotPid = pids.primary;
    expect([pids.primary, pids.worker]).not.toContain(child.pid);
    if (availableParallelism() > 1) expect(pids.primary).not.toBe(pids.worker);
    child.kill('SIGTERM');
    // Not a sleep for time to pass: the processes' end is polled, within the drain bound.
    const deadline = Date.now() + 15_000;
    while ((alive(pids.primary) || alive(pids.worker)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect([alive(pids.primary), alive(pids.worker)]).toEqual([false, false]);
  },
  30_000,
);
