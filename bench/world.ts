// The benchmark world: the test world's upstream GOPROXY and checksum
// database on loopback, serving the ~60-module app plus modules with
// incompressible payloads (a ~300 KB zip, ~50 MB zips), and a godepot data
// folder warmed with all of them (what the cache-hit, build and start-up
// benchmarks serve; nginx and GOPROXY=file:// serve its mod/ tree).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapePath, escapeVersion } from '../src/module/index.js';
import { buildApp, type FixtureWorld } from '../test/world/app.js';
import { FakeGoProxy } from '../test/world/goproxy.js';
import { buildModules, type BuiltModule, type FixtureModule } from '../test/world/modules.js';
import { FakeSumDb } from '../test/world/sumdb.js';
import { startGodepot } from './procs.js';
import { realShapedModules } from './real-app.js';

const MiB = 1 << 20;

/** A module whose zip is mostly incompressible bytes, in files of at most 1 MiB. */
export function payloadModule(path: string, version: string, bytes: number, fileBytes = MiB): FixtureModule {
  const files: Record<string, string | Buffer> = {
    'go.mod': `module ${path}\n\ngo 1.21\n`,
    'payload.go': 'package payload\n\n// Name identifies the module.\nfunc Name() string { return "payload" }\n',
  };
  for (let i = 0, left = bytes; left > 0; i++, left -= fileBytes) {
    files[`data/blob-${String(i).padStart(3, '0')}.bin`] = randomBytes(Math.min(fileBytes, left));
  }
  return { path, version, files };
}

/** The GOPROXY path of one artifact (escaped, starting with '/'). */
export function artifactPath(m: { path: string; version: string }, ext: 'info' | 'mod' | 'zip'): string {
  return `/${escapePath(m.path)}/@v/${escapeVersion(m.version)}.${ext}`;
}

export interface BenchWorld {
  readonly tmp: string;
  readonly fixture: FixtureWorld;
  readonly upstream: FakeGoProxy;
  readonly sumdb: FakeSumDb;
  /** godepot's --sumdb value for the fake database. */
  readonly sumdbSetting: string;
  /** Every module version the upstream serves (and the database holds). */
  readonly modules: readonly BuiltModule[];
  /** Modules every cache-hit benchmark reads. */
  readonly hot: { readonly small: BuiltModule; readonly zip300k: BuiltModule; readonly zip50m: BuiltModule };
  /** The modules of an app shaped like a real one (bench/real-app.ts), stored like the rest. */
  readonly realApp: readonly BuiltModule[];
  /** A 50 MB module nothing has fetched (the thundering herd). */
  readonly herd: BuiltModule;
  /** Modules nothing has fetched (cold fetches). */
  readonly cold: readonly BuiltModule[];
  /** A data folder holding every module except herd and cold ones, fetched and verified through godepot. */
  readonly warmData: string;
  close(): Promise<void>;
}

export interface WorldOptions {
  readonly coldModules: number;
  readonly say: (line: string) => void;
}

async function pool<T>(items: readonly T[], width: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await job(items[next++] as T);
    }),
  );
}

export async function createWorld(o: WorldOptions): Promise<BenchWorld> {
  const tmp = await mkdtemp(join(tmpdir(), 'godepot-bench-'));
  const fixture = buildApp(60);
  const real = realShapedModules();
  o.say(
    `bench: building the world in ${tmp} (${fixture.modules.length} app module versions, payload modules of 300 KB and 2 × 50 MB, ${real.length} real-shaped modules)`,
  );
  const payload = [
    payloadModule('bench.example/zip300k', 'v1.0.0', 300 * 1024, 300 * 1024),
    payloadModule('bench.example/zip50m', 'v1.0.0', 50 * MiB),
    payloadModule('bench.example/herd50m', 'v1.0.0', 50 * MiB),
  ];
  const colds = Array.from({ length: o.coldModules }, (_, i) =>
    payloadModule(`bench.example/cold/m${String(i).padStart(3, '0')}`, 'v1.0.0', 300 * 1024, 300 * 1024),
  );
  const built = await buildModules([...fixture.modules, ...payload, ...colds, ...real]);
  const find = (path: string): BuiltModule => {
    const m = built.find((b) => b.path === path);
    if (!m) throw new Error(`bench world: no module ${path}`);
    return m;
  };
  const upstream = await FakeGoProxy.start(built);
  const sumdb = await FakeSumDb.start({ records: built });
  const sumdbSetting = `${sumdb.vkey} ${sumdb.url}`;
  const hot = {
    small: find('example.com/major'),
    zip300k: find('bench.example/zip300k'),
    zip50m: find('bench.example/zip50m'),
  };
  const herd = find('bench.example/herd50m');
  const cold = built.filter((b) => b.path.startsWith('bench.example/cold/'));
  const realApp = built.filter((b) => b.path.startsWith('bench.example/real/'));
  const skip = new Set([herd, ...cold]);
  const warm = built.filter((b) => !skip.has(b));

  const warmData = join(tmp, 'warm-data');
  const g = await startGodepot({
    data: warmData,
    upstream: upstream.url,
    sumdb: sumdbSetting,
    logFile: join(tmp, 'warm-godepot.log'),
  });
  try {
    const jobs = warm.flatMap((m) => (['info', 'mod', 'zip'] as const).map((ext) => artifactPath(m, ext)));
    await pool(jobs, 8, async (p) => {
      const r = await fetch(g.url + p);
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`bench world: warming ${p} through godepot answered ${r.status}`);
    });
  } finally {
    await g.stop();
  }
  o.say(`bench: warmed ${warmData} with ${warm.length} module versions through godepot`);
  return {
    tmp,
    fixture,
    upstream,
    sumdb,
    sumdbSetting,
    modules: built,
    hot,
    realApp,
    herd,
    cold,
    warmData,
    async close() {
      await upstream.close();
      await sumdb.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
