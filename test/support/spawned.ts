// Servers a test file started as child processes and has not stopped. A test
// that times out never reaches its own stop (vitest abandons it), and a fork
// that ends runs no exit hook: kill-spawned.ts (a setup file) kills what is
// left after each file, so nothing holds ports, folders or CPU after the run.
import type { ChildProcess } from 'node:child_process';

const spawned = new Set<ChildProcess>();

/** Keeps child in the list until it exits. */
export function track(child: ChildProcess): void {
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
}

/** Kills every tracked child still running (SIGCONT first: a test may have stopped one). */
export function killSpawned(): void {
  for (const c of spawned) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
  spawned.clear();
}
