// Cold fetches: what godepot adds (fetch, checksum-database lookup, h1
// verification, atomic store) over fetching the same artifact straight from
// the test upstream. Each module is asked for once, one request at a time,
// from an empty data folder, with read-ahead off: each row is what one miss
// costs (with it on, the .info would start the zip, which would then run
// beside the .mod and be a hit itself; the cold fill below measures that).
import { join } from 'node:path';
import { startGodepot } from './procs.js';
import { median, type Row } from './report.js';
import { artifactPath, type BenchWorld } from './world.js';

export interface ColdOptions {
  readonly world: BenchWorld;
  readonly say: (line: string) => void;
}

async function timedGet(url: string): Promise<number> {
  const t = performance.now();
  const r = await fetch(url);
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`cold fetch: ${url} answered ${r.status}`);
  return performance.now() - t;
}

export async function benchColdFetch(o: ColdOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const { world } = o;
  const g = await startGodepot({
    data: join(world.tmp, 'cold-data'),
    upstream: world.upstream.url,
    sumdb: world.sumdbSetting,
    logFile: join(world.tmp, 'cold-godepot.log'),
    extra: ['--read-ahead=false'],
  });
  const kinds = ['info', 'mod', 'zip'] as const;
  const direct: Record<string, number[]> = { info: [], mod: [], zip: [] };
  const through: Record<string, number[]> = { info: [], mod: [], zip: [] };
  try {
    for (const m of world.cold) {
      for (const kind of kinds) {
        const p = artifactPath(m, kind);
        direct[kind]?.push(await timedGet(world.upstream.url + p));
        through[kind]?.push(await timedGet(g.url + p));
      }
    }
  } finally {
    await g.stop();
  }
  const rows: Row[] = kinds.map((kind) => {
    const gs = through[kind] ?? [];
    const ds = direct[kind] ?? [];
    const gm = median(gs);
    const dm = median(ds);
    const added = gs.map((x, i) => x - (ds[i] ?? 0));
    o.say(
      `  cold .${kind}: godepot ${gm.toFixed(2)} ms, direct ${dm.toFixed(2)} ms, added ${median(added).toFixed(2)} ms (median of ${gs.length})`,
    );
    return {
      bench: 'cold fetch',
      name: `.${kind}${kind === 'zip' ? ' (300 KB)' : ''}, ${gs.length} modules one at a time`,
      unit: 'ms',
      godepot: gm,
      refName: 'upstream direct',
      reference: dm,
      detail: `added latency: median ${median(added).toFixed(2)} ms, max ${Math.max(...added).toFixed(1)} ms (first request includes the checksum-database tree fetch)`,
      raw: { godepotMs: gs, directMs: ds },
    } satisfies Row;
  });
  return { rows, notes: [] };
}
