// A real redis-server for the tests: a free loopback port, a temp folder, no
// persistence. kill() and start() let a test take Redis away and bring it back.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { freePort, waitFor } from './ports.js';
import type { TestCert } from './tls.js';

export interface RunningRedis {
  readonly url: string;
  readonly port: number;
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function pong(port: number, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s: Socket = ca === undefined ? connect(port, '127.0.0.1') : tlsConnect({ port, host: '127.0.0.1', ca });
    let got = '';
    s.setTimeout(1000, () => s.destroy());
    s.on(ca === undefined ? 'connect' : 'secureConnect', () => s.write('PING\r\n'));
    s.on('data', (b) => {
      got += b.toString('utf8');
      if (got.includes('\r\n')) s.end();
    });
    // With requirepass (as a test of the password's handling runs it), the answer is NOAUTH: it is up.
    s.on('close', () => resolve(got.startsWith('+PONG') || got.startsWith('-NOAUTH')));
    s.on('error', () => resolve(false));
  });
}

/**
 * Starts redis-server on loopback; with `tls` (a certificate for
 * IP:127.0.0.1) it speaks TLS only (rediss://), as a managed Redis does.
 */
export async function startRedis(
  binary: string,
  /** args: more redis-server options, as an operator's configuration has them (--rename-command EVAL ''). */
  opts: { tls?: TestCert; args?: readonly string[] } = {},
): Promise<RunningRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'godepot-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  let out = '';
  const start = async (): Promise<void> => {
    const c = spawn(
      binary,
      [
        ...(opts.tls
          ? ['--port', '0', '--tls-port', String(port), '--tls-auth-clients', 'no']
          : ['--port', String(port)]),
        ...(opts.tls ? ['--tls-cert-file', opts.tls.certFile, '--tls-key-file', opts.tls.keyFile] : []),
        ...(opts.tls ? ['--tls-ca-cert-file', opts.tls.certFile] : []),
        ...['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        ...(opts.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    c.stdout?.on('data', (b: Buffer) => (out += b.toString('utf8')));
    c.stderr?.on('data', (b: Buffer) => (out += b.toString('utf8')));
    await waitFor(
      async () => {
        if (c.exitCode !== null) throw new Error(`redis-server exited with ${c.exitCode}:\n${out}`);
        return pong(port, opts.tls?.cert);
      },
      15_000,
      `redis-server did not answer on port ${port}`,
    );
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGKILL');
    await once(c, 'exit');
  };
  await start();
  return {
    url: `${opts.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    port,
    kill,
    start,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
