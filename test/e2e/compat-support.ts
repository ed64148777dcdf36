// What the two comparisons of the go command's answers share (go-compat: godepot
// against its upstream; go-compat-file: godepot against a file:// proxy): the
// module shape proxies trip over most, and how a run is written down so that two
// runs can be compared as text.
import { runGo, type FixtureModule } from '../world/index.js';

/** A version without go.mod: +incompatible from v2 on. */
export const noGoMod = (path: string, version: string): FixtureModule => ({
  path,
  version,
  files: { 'lib.go': `package lib\n\nfunc Name() string { return "${path}@${version}" }\n` },
});

/**
 * The go command looks modules up and downloads them in parallel: a run of its
 * `go: downloading` and `go: finding module for package` lines comes in any order.
 */
function inOrder(stderr: string): string {
  return stderr.replace(
    /(^go: (downloading|finding module for package) .*\n)+/gm,
    (run) => `${run.split('\n').slice(0, -1).sort().join('\n')}\n`,
  );
}

/** Runs each step in dir and writes down what the user saw: the command, its exit code, stdout, stderr. */
export async function runSteps(steps: readonly string[][], dir: string, env: Record<string, string>): Promise<string> {
  let out = '';
  for (const step of steps) {
    const r = await runGo(step, { cwd: dir, env, timeoutMs: 30_000 });
    out += `$ go ${step.join(' ')}\nexit ${String(r.code)}\n${r.stdout}${inOrder(r.stderr)}`;
  }
  return out;
}
