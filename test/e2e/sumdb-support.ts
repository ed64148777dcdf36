// Shared by the checksum-database end-to-end tests: per-run go homes, the
// go environment with GOSUMDB set to the database key alone (no URL, and
// the key's name does not resolve), so every check goes through godepot's
// /sumdb/<name>/ — and small readers of /metrics (support/metrics.ts) and /readyz.
import { cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { goEnv, type FixtureModule } from '../world/index.js';
import { removeDir, tempDir } from '../support/godepot.js';
export { metric } from '../support/metrics.js';

export class Dirs {
  private readonly all: string[] = [];
  async make(prefix = 'godepot-gohome-'): Promise<string> {
    const d = await tempDir(prefix);
    this.all.push(d);
    return d;
  }
  async removeAll(): Promise<void> {
    for (const d of this.all.splice(0)) await removeDir(d);
  }
}

/** GOSUMDB is the key alone: the go command finds the database at `<proxy>/sumdb/<name>/supported`. */
export function sumdbEnv(
  home: string,
  proxy: string,
  vkey: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return goEnv({ home, proxy, sumdb: vkey, extra });
}

export interface ReadyzSumdb {
  name: string;
  status: string;
  treeSize: number;
  detail?: string;
  sources: Array<{ url: string; via: string; state: string; detail?: string }>;
}

export async function readyz(
  base: string,
): Promise<{ status: string; reasons: string[]; verification: string; sumdb: ReadyzSumdb[] }> {
  const r = await fetch(`${base}/readyz`);
  return (await r.json()) as { status: string; reasons: string[]; verification: string; sumdb: ReadyzSumdb[] };
}

/** A CI checkout of the app: its go.mod and sources, optionally its go.sum. */
export async function checkout(from: string, to: string, withGoSum: boolean): Promise<void> {
  await mkdir(to, { recursive: true });
  await cp(join(from, 'go.mod'), join(to, 'go.mod'));
  await cp(join(from, 'main.go'), join(to, 'main.go'));
  if (withGoSum) await cp(join(from, 'go.sum'), join(to, 'go.sum'));
}

export async function text(file: string): Promise<string> {
  return readFile(file, 'utf8');
}

/** A one-file library module under prefix (example.com/tiles, …): its package is name, with a Name() function. */
export function tinyLib(prefix: string, name: string): FixtureModule {
  return {
    path: `${prefix}/${name}`,
    version: 'v1.0.0',
    files: {
      'go.mod': `module ${prefix}/${name}\n\ngo 1.21\n`,
      [`${name}.go`]: `package ${name}\n\nfunc Name() string { return "${name}" }\n`,
    },
  };
}
