// A zip with many entries (300,000 small files, within Go's limits): peak
// resident memory and the worst /healthz latency of a godepot verifying it
// on a cold fetch, against the same server idle. Several of these at once
// must not grow memory without bound: extra requests beyond the
// verification queue are answered 503, never queued forever.
import { mkdtemp, rm } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeGoProxy } from '../test/world/goproxy.js';
import { hashFiles, hashGoMod } from '../src/modzip/index.js';
import type { BuiltModule } from '../test/world/modules.js';
import { FakeSumDb } from '../test/world/sumdb.js';
import { peakRss, startGodepot } from './procs.js';
import { type Row } from './report.js';
import { artifactPath } from './world.js';

export interface ManyEntriesOptions {
  readonly entries: number;
  /** Cold fetches of distinct copies at once (each its own module path). */
  readonly parallel: number;
  readonly say: (line: string) => void;
}

/**
 * A module of `entries` small files, its zip written directly (stored
 * entries, as a hostile upstream would send them): building it through the
 * test world's Create takes minutes at this size.
 */
export function manyEntryModule(path: string, entries: number): BuiltModule {
  const version = 'v1.0.0';
  const goMod = `module ${path}\n\ngo 1.21\n`;
  const files: Array<{ name: string; data: Buffer }> = [{ name: 'go.mod', data: Buffer.from(goMod) }];
  for (let i = 1; i < entries; i++)
    files.push({ name: `d${i % 100}/f${i}.go`, data: Buffer.from(`package d${i % 100}\n`) });
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(`${path}@${version}/${f.name}`);
    const crc = crc32(f.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(f.data.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(f.data.length, 20);
    cd.writeUInt32LE(f.data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    locals.push(local, name, f.data);
    central.push(cd, name);
    offset += 30 + name.length + f.data.length;
  }
  const cdBytes = Buffer.concat(central);
  // ZIP64 end records: more than 65,535 entries.
  const z64 = Buffer.alloc(56 + 20 + 22);
  z64.writeUInt32LE(0x06064b50, 0);
  z64.writeBigUInt64LE(44n, 4);
  z64.writeUInt16LE(45, 12);
  z64.writeUInt16LE(45, 14);
  z64.writeBigUInt64LE(BigInt(files.length), 24);
  z64.writeBigUInt64LE(BigInt(files.length), 32);
  z64.writeBigUInt64LE(BigInt(cdBytes.length), 40);
  z64.writeBigUInt64LE(BigInt(offset), 48);
  z64.writeUInt32LE(0x07064b50, 56);
  z64.writeBigUInt64LE(BigInt(offset + cdBytes.length), 64);
  z64.writeUInt32LE(1, 72);
  z64.writeUInt32LE(0x06054b50, 76);
  z64.writeUInt16LE(0xffff, 84);
  z64.writeUInt16LE(0xffff, 86);
  z64.writeUInt32LE(Math.min(cdBytes.length, 0xffffffff), 88);
  z64.writeUInt32LE(Math.min(offset, 0xffffffff), 92);
  const zip = Buffer.concat([...locals, cdBytes, z64]);
  const h1 = hashFiles(files.map((f) => ({ name: `${path}@${version}/${f.name}`, data: f.data })));
  const mod = Buffer.from(goMod);
  const goModH1 = hashGoMod(mod);
  const time = '2023-01-01T00:00:00Z';
  return {
    path,
    version,
    time,
    info: Buffer.from(JSON.stringify({ Version: version, Time: time })),
    mod,
    zip,
    zipEntries: files.map((f) => `${path}@${version}/${f.name}`),
    h1,
    goModH1,
    goSum: `${path} ${version} ${h1}\n${path} ${version}/go.mod ${goModH1}\n`,
    fixture: { path, version, files: {} },
  };
}

/** Polls /healthz back to back until stopped; returns the worst latency seen (ms). */
function watchHealth(url: string): { stop: () => Promise<{ worst: number; probes: number }> } {
  let running = true;
  let worst = 0;
  let probes = 0;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      const r = await fetch(`${url}/healthz`);
      await r.arrayBuffer();
      worst = Math.max(worst, performance.now() - t);
      probes++;
      await new Promise((res) => setTimeout(res, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { worst, probes };
    },
  };
}

export async function benchManyEntries(o: ManyEntriesOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const tmp = await mkdtemp(join(tmpdir(), 'godepot-bench-many-'));
  const t0 = performance.now();
  const built = Array.from({ length: o.parallel }, (_, k) => manyEntryModule(`bench.example/many${k}`, o.entries));
  const zipBytes = built[0]?.zip.length ?? 0;
  o.say(
    `  built ${o.parallel} zip(s) of ${o.entries} entries, ${(zipBytes / 1e6).toFixed(1)} MB each, in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  const upstream = await FakeGoProxy.start(built);
  const sumdb = await FakeSumDb.start({ records: built });
  const g = await startGodepot({
    data: join(tmp, 'data'),
    upstream: upstream.url,
    sumdb: `${sumdb.vkey} ${sumdb.url}`,
    logFile: join(tmp, 'godepot.log'),
  });
  try {
    const idle = watchHealth(g.url);
    await new Promise((res) => setTimeout(res, 1000));
    const idleStats = await idle.stop();
    const rssIdle = peakRss(g.pid);
    const busy = watchHealth(g.url);
    const t = performance.now();
    const statuses = await Promise.all(
      built.map(async (m) => {
        const r = await fetch(g.url + artifactPath(m, 'zip'));
        await r.arrayBuffer();
        return r.status;
      }),
    );
    const ms = performance.now() - t;
    const busyStats = await busy.stop();
    const rss = peakRss(g.pid);
    const what = `${o.entries.toLocaleString('en')}-entry zip${o.parallel > 1 ? ` × ${o.parallel} at once` : ''}`;
    o.say(
      `  ${what}: statuses ${statuses.join(',')} in ${(ms / 1000).toFixed(1)} s; peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB (idle ${(rssIdle / 2 ** 20).toFixed(0)} MiB); worst /healthz ${busyStats.worst.toFixed(0)} ms (idle ${idleStats.worst.toFixed(0)} ms, ${busyStats.probes} probes)`,
    );
    const detail = `statuses ${statuses.join(',')}, ${(ms / 1000).toFixed(1)} s for the cold fetch(es)`;
    return {
      rows: [
        {
          bench: 'many entries',
          name: `peak RSS verifying a ${what}`,
          unit: 'MiB',
          godepot: rss / 2 ** 20,
          refName: 'same server idle',
          reference: rssIdle / 2 ** 20,
          detail,
          raw: { statuses, ms, rss, rssIdle },
        },
        {
          bench: 'many entries',
          name: `worst /healthz latency verifying a ${what}`,
          unit: 'ms',
          godepot: busyStats.worst,
          refName: 'same server idle',
          reference: idleStats.worst,
          detail: `${busyStats.probes} probes while verifying, ${idleStats.probes} idle`,
          raw: { busy: busyStats, idle: idleStats },
        },
      ],
      notes: [],
    };
  } finally {
    await g.stop();
    await upstream.close();
    await sumdb.close();
    await rm(tmp, { recursive: true, force: true });
  }
}
