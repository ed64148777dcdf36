// The outside programs the benchmarks use (nginx as the reference server,
// wrk as the load generator, go for the build benchmark) and the machine
// description printed with every result.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { findGo } from '../test/world/gocmd.js';
import type { Machine } from './report.js';

const SEARCH = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/sbin', '/bin'];

export function which(name: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH]) {
    const p = `${dir}/${name}`;
    if (existsSync(p)) return p;
  }
  return null;
}

export interface Tools {
  readonly nginx: string | null;
  readonly wrk: string | null;
  readonly go: string | null;
}

/**
 * Finds nginx and wrk; when one is missing and we run as root, installs both
 * with apt-get (saying so), else prints the command to run and carries on
 * without them (the benchmarks that need them are skipped).
 */
export function ensureTools(say: (line: string) => void, allowInstall: boolean): Tools {
  let nginx = which('nginx');
  let wrk = which('wrk');
  if (!nginx || !wrk) {
    const missing = [!nginx && 'nginx', !wrk && 'wrk'].filter(Boolean).join(' and ');
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    if (root && allowInstall && which('apt-get')) {
      say(`bench: ${missing} not found; installing with: apt-get install -y nginx wrk (running as root)`);
      const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      const install =
        update.status === 0
          ? spawnSync('apt-get', ['install', '-y', '-qq', 'nginx', 'wrk'], {
              stdio: 'inherit',
              env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
            })
          : update;
      if (install.status !== 0) say('bench: apt-get failed; benchmarks that need nginx or wrk are skipped');
      nginx = which('nginx');
      wrk = which('wrk');
    } else {
      say(
        `bench: ${missing} not found; install with: sudo apt-get install -y nginx wrk  (benchmarks that need them are skipped)`,
      );
    }
  }
  return { nginx, wrk, go: findGo() };
}

function versionOf(cmd: string | null, args: string[], pattern: RegExp): string | null {
  if (!cmd) return null;
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  return pattern.exec(text)?.[1] ?? null;
}

export function describeMachine(tools: Tools): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpuModel = m[1].trim();
  } catch {
    // not Linux: keep os.cpus()'s name
  }
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // keep os.cpus()
  }
  return {
    cpus: nproc,
    cpuModel,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    go: versionOf(tools.go, ['version'], /^(go version \S+)/m),
    nginx: versionOf(tools.nginx, ['-v'], /nginx\/(\S+)/),
    wrk: versionOf(tools.wrk, ['--version'], /^wrk (\S+)/m),
  };
}
