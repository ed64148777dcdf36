// What the two comparisons of the go command's answers share (go-compat: godepot
// against its upstream; go-compat-file: godepot against a file:// proxy): the
// module shape proxies trip over most, and how a run is written down so that two
// runs can be compared as text.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { escapePath, escapeVersion, isPseudoVersion, sortVersions } from '../../src/module/index.js';
import { goEnv, latestVersion, runGo, writeApp, type BuiltModule, type FixtureModule } from '../world/index.js';
import { tempDir } from '../support/godepot.js';

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

/**
 * Writes files as a module in a fresh home (its own GOPATH and caches, pushed on homes for removal) and runs the
 * steps there with GOPROXY proxy and GOSUMDB gosumdb; returns what the user saw, the module's folder and the home.
 */
export async function runInNewHome(
  steps: readonly string[][],
  files: Record<string, string>,
  go: { proxy: string; sumdb: string; extra?: Record<string, string> },
  homes: string[],
): Promise<{ out: string; dir: string; home: string }> {
  const home = await tempDir('godepot-gohome-');
  homes.push(home);
  const dir = join(home, 'work');
  await mkdir(dir);
  await writeApp(dir, { files });
  const env = goEnv({ home, proxy: go.proxy, sumdb: go.sumdb, ...(go.extra ? { extra: go.extra } : {}) });
  return { out: await runSteps(steps, dir, env), dir, home };
}

/** Writes the versions in the GOPROXY layout under dir: list (tags only), .info/.mod/.zip, and @latest. */
export async function writeProxyFolder(dir: string, built: BuiltModule[]): Promise<void> {
  const byPath = new Map<string, BuiltModule[]>();
  for (const m of built) byPath.set(m.path, [...(byPath.get(m.path) ?? []), m]);
  for (const [path, ms] of byPath) {
    const at = join(dir, escapePath(path), '@v');
    await mkdir(at, { recursive: true });
    for (const m of ms) {
      const base = join(at, escapeVersion(m.version));
      await Promise.all([
        writeFile(`${base}.info`, m.info),
        writeFile(`${base}.mod`, m.mod),
        writeFile(`${base}.zip`, m.zip),
      ]);
    }
    const versions = ms.map((m) => m.version);
    const tags = sortVersions(versions.filter((v) => !isPseudoVersion(v)));
    await writeFile(join(at, 'list'), tags.map((v) => `${v}\n`).join(''));
    const latest = ms.find((m) => m.version === latestVersion(versions));
    if (latest) await writeFile(join(dir, escapePath(path), '@latest'), latest.info);
  }
}
