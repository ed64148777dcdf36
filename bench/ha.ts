// Two nodes on one object store: cache-hit throughput through two godepot
// nodes sharing a MinIO bucket and a Redis (wrk on each node, half the
// connections each, requests/s summed) against one node on the filesystem
// with all the connections, measured alternately in the same run. On one
// machine both nodes and wrk share the CPU, so this shows what the shared
// store costs on the hit path (hits are answered from each node's memory
// and, past it, from the bucket), not what a second machine would add.
import { join } from 'node:path';
import { findComponent } from '../test/support/components.js';
import { startMinio, type RunningMinio } from '../test/support/minio.js';
import { startRedis, type RunningRedis } from '../test/support/redis.js';
import { median, type Row } from './report.js';
import { startGodepot, type Child } from './procs.js';
import { artifactPath, type BenchWorld } from './world.js';
import { runWrk, writeWrkScript } from './wrk.js';

export interface TwoNodeOptions {
  readonly world: BenchWorld;
  readonly wrk: string;
  readonly seconds: number;
  readonly rounds: number;
  readonly connections: readonly number[];
  readonly say: (line: string) => void;
  readonly skip: (what: string, why: string) => void;
}

export async function benchTwoNodes(o: TwoNodeOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const minioBin = findComponent('minio');
  const redisBin = findComponent('redis-server');
  if (!minioBin || !redisBin) {
    o.skip('two nodes', 'minio or redis-server is missing (.ci/run provides both)');
    return { rows: [], notes: [] };
  }
  const { world } = o;
  const script = await writeWrkScript(world.tmp);
  const rows: Row[] = [];
  let minio: RunningMinio | undefined;
  let redis: RunningRedis | undefined;
  const nodes: Child[] = [];
  try {
    minio = await startMinio(minioBin);
    await minio.makeBucket('godepot-bench');
    redis = await startRedis(redisBin);
    const env = { ...minio.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    for (const name of ['a', 'b']) {
      nodes.push(
        await startGodepot({
          data: join(world.tmp, `ha-${name}`),
          upstream: world.upstream.url,
          sumdb: world.sumdbSetting,
          logFile: join(world.tmp, `ha-godepot-${name}.log`),
          extra: [
            '--storage',
            's3://godepot-bench/hits',
            '--s3-endpoint',
            minio.endpoint,
            '--redis',
            redis.url,
            '--node-name',
            name,
            '--access-log=false',
          ],
          env,
        }),
      );
    }
    const single = await startGodepot({
      data: world.warmData,
      upstream: world.upstream.url,
      sumdb: world.sumdbSetting,
      logFile: join(world.tmp, 'ha-godepot-fs.log'),
      extra: ['--access-log=false'],
    });
    nodes.push(single);
    const [a, b] = nodes as [Child, Child, Child];
    const artifacts: Array<[string, string]> = [
      ['.mod', artifactPath(world.hot.small, 'mod')],
      ['300 KB .zip', artifactPath(world.hot.zip300k, 'zip')],
    ];
    for (const [label, path] of artifacts) {
      // The first request fills the bucket (one upstream fetch), the rest warm each node.
      for (const n of [a, b, single]) {
        const r = await fetch(n.url + path);
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`two nodes: ${n.url + path} answered ${r.status}`);
      }
      for (const c of o.connections) {
        const two: number[] = [];
        const one: number[] = [];
        for (let i = 0; i < o.rounds; i++) {
          const runTwo = async (): Promise<void> => {
            const [ra, rb] = await Promise.all(
              [a, b].map((n) =>
                runWrk({
                  binary: o.wrk,
                  script,
                  url: n.url + path,
                  connections: Math.max(1, Math.floor(c / 2)),
                  seconds: o.seconds,
                }),
              ),
            );
            two.push((ra?.rps ?? 0) + (rb?.rps ?? 0));
          };
          const runOne = async (): Promise<void> => {
            one.push(
              (await runWrk({ binary: o.wrk, script, url: single.url + path, connections: c, seconds: o.seconds })).rps,
            );
          };
          if (i % 2 === 0) {
            await runTwo();
            await runOne();
          } else {
            await runOne();
            await runTwo();
          }
        }
        const row: Row = {
          bench: 'two nodes',
          name: `${label}, ${c} conn, 2 nodes on MinIO + Redis`,
          unit: 'req/s',
          godepot: median(two),
          refName: 'one node on fs',
          reference: median(one),
          detail: `${o.rounds > 1 ? `median of ${o.rounds} × ${o.seconds} s` : `${o.seconds} s`}; wrk ${Math.max(1, Math.floor(c / 2))} conn on each node, summed`,
          raw: { two, one, connections: c, artifact: label },
        };
        rows.push(row);
        o.say(
          `  ${row.name}: ${Math.round(row.godepot)} req/s vs ${Math.round(row.reference ?? 0)} req/s (one node on fs)`,
        );
      }
    }
  } finally {
    for (const n of nodes) await n.stop();
    await redis?.stop();
    await minio?.stop();
  }
  return { rows, notes: ['two nodes: both nodes, MinIO, Redis and wrk share this machine'] };
}
