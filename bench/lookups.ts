// Checksum-database lookups on an object store: godepot's mirror (in this
// process) looks up one new module version after another in a database
// whose log holds each of them in its own data tile, keeping what it
// verifies in a MinIO bucket — against the floor of any lookup there: one
// GET of a small object from the same MinIO. A lookup reads the stored
// record (absent), asks the database, and proves the record with hash tiles;
// every storage request on that path is a round trip to the store, so the
// ratio counts them. The database answers on loopback. A second row looks
// up versions published since the previous lookup, so that each lookup
// also proves a new tree head, as on a live log.
import { createHash, randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { findComponent } from '../test/support/components.js';
import { startMinio, useAwsEnv, type RunningMinio } from '../test/support/minio.js';
import { FakeSumDb, type SumRecordInput } from '../test/world/sumdb.js';
import { settingsFrom } from '../test/support/godepot.js';
import { S3Storage } from '../src/storage/s3.js';
import { EndpointRegistry, HttpPools, MirrorSet } from '../src/upstream/index.js';
import { MirrorRemote } from '../src/runtime/mirror-remote.js';
import { SumdbMirror } from '../src/sumdb/index.js';
import { median, type Row } from './report.js';

export interface LookupOptions {
  readonly repeats: number;
  readonly say: (line: string) => void;
  readonly skip: (what: string, why: string) => void;
}

export async function benchLookups(o: LookupOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const minioBin = findComponent('minio');
  if (!minioBin) {
    o.skip('lookups on an object store', 'minio is missing (.ci/run provides it)');
    return { rows: [], notes: [] };
  }
  const h1 = (s: string): string => `h1:${createHash('sha256').update(s).digest('base64')}`;
  const wanted: SumRecordInput[] = [];
  const records: SumRecordInput[] = [];
  for (let i = 0; i < o.repeats; i++) {
    for (let k = 0; k < 255; k++) {
      const path = `filler.example/t${i}/m${k}`;
      records.push({ path, version: 'v1.0.0', h1: h1(`zip ${path}`), goModH1: h1(`mod ${path}`) });
    }
    const m = { path: `bench.example/lookup/m${i}`, version: 'v1.0.0', h1: h1(`zip ${i}`), goModH1: h1(`mod ${i}`) };
    records.push(m);
    wanted.push(m);
  }
  let minio: RunningMinio | undefined;
  let restore = (): void => undefined;
  const settings = settingsFrom({ data: '/nonexistent' });
  const pools = new HttpPools(settings.deadlines);
  try {
    minio = await startMinio(minioBin);
    restore = useAwsEnv({ ...minio.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    await minio.makeBucket('godepot-bench');
    const endpoint = minio.endpoint;
    // Each lookup on a log that holds it from the start, then each on a log that grew by one
    // tile since the previous lookup (a version published just now: its head must be proven too).
    const rows: Row[] = [];
    for (const grows of [false, true]) {
      const db = await FakeSumDb.start({ records: grows ? records.slice(0, 256) : records });
      const storage = await S3Storage.open({
        bucket: 'godepot-bench',
        prefix: `lookups-${randomBytes(4).toString('hex')}`,
        endpoint,
        timeout: 10_000,
      });
      try {
        const mirror = await SumdbMirror.open({
          key: db.vkey,
          remote: new MirrorRemote(new MirrorSet([db.url], new EndpointRegistry(pools, settings), settings.hedgeDelay)),
          storage,
          log: pino({ level: 'silent' }),
          offline: false,
          latestTtl: 60_000,
          staleGrace: 300,
          nosumdb: '',
        });
        const lookups: number[] = [];
        const gets: number[] = [];
        await storage.put('probe', Buffer.from('x'.repeat(200)));
        for (const [i, m] of wanted.entries()) {
          if (grows && i > 0) await db.addAll(records.slice(i * 256, (i + 1) * 256));
          let t = performance.now();
          await mirror.lookup(m);
          lookups.push(performance.now() - t);
          await mirror.idle(); // the writes behind the answer land
          t = performance.now();
          await storage.get('probe');
          gets.push(performance.now() - t);
        }
        await mirror.close();
        // The first lookup also fetches and proves the tree head.
        const l = median(lookups.slice(1));
        const g = median(gets.slice(1));
        const what = grows ? 'published since the previous lookup' : 'in the log from the start';
        o.say(`  lookup on MinIO, ${what}: ${l.toFixed(2)} ms, one GET ${g.toFixed(2)} ms (${(l / g).toFixed(2)}x)`);
        rows.push({
          bench: 'sumdb lookup',
          name: `new module version ${what}, storage on MinIO`,
          unit: 'ms',
          godepot: Number(l.toFixed(2)),
          refName: 'one GET from MinIO',
          reference: Number(g.toFixed(2)),
          detail: `median of ${lookups.length - 1} sequential lookups; one data tile per record`,
          target: { on: 'ratio', op: '<=', value: grows ? 5 : 3 },
          raw: { lookups, gets },
        });
      } finally {
        await storage.close();
        await db.close();
      }
    }
    return { rows, notes: [] };
  } finally {
    restore();
    await pools.close();
    await minio?.stop();
  }
}
