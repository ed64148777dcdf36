// What a node says of its Redis (HA field run): its gauges when its workers
// each hold a connection (/metrics adds the workers' series up, and a node
// with two workers said godepot_coordination_redis_up 2, the README says 1
// or 0, and counted one outage twice), and a --redis database that server
// does not have (ioredis went on in database 0, reporting Redis up).
import { afterAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { AggregatorRegistry, Registry } from 'prom-client';
import { loadSettings } from '../../src/config/load.js';
import { RedisCoord, type Coordination } from '../../src/coord/index.js';
import { openCoord } from '../../src/runtime/stores.js';
import { saidAt } from '../../src/util/said-once.js';
import { findComponent } from '../support/components.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { waitFor } from '../support/ports.js';

const redisBinary = findComponent('redis-server');
let redis: RunningRedis | null = null;
const open: Coordination[] = [];

afterAll(async () => {
  for (const c of open) await c.close();
  await redis?.stop();
});

it.skipIf(redisBinary === null)('two workers up: the node reports Redis up once, not twice', async () => {
  redis = await startRedis(redisBinary as string);
  const settings = loadSettings(['--redis', redis.url, '--data', '/nonexistent/godepot-metrics', '--offline'], {});
  const registries = [new Registry(), new Registry()];
  for (const r of registries) open.push(await openCoord(settings, pino({ level: 'silent' }), r));
  const node = AggregatorRegistry.aggregate(await Promise.all(registries.map((r) => r.getMetricsAsJSON())));
  const text = await node.metrics();
  expect(text).toMatch(/^godepot_coordination_redis_up 1$/m);
  expect(text).toMatch(/^godepot_coordination_redis_outages 0$/m);
});

it.skipIf(redisBinary === null)(
  'a --redis database the server does not have is refused at start, not used as 0',
  async () => {
    // ioredis goes on in database 0 when SELECT fails: a node that shared nothing with the others, "up" everywhere.
    redis ??= await startRedis(redisBinary as string);
    const settings = loadSettings(['--redis', `${redis.url}/99`, '--data', '/nonexistent/godepot-db', '--offline'], {});
    await expect(openCoord(settings, pino({ level: 'silent' }), new Registry())).rejects.toThrow(
      /that Redis has no database 99 \(ERR DB index is out of range\); use one it has, like \/0, the same on every node/,
    );
  },
);

it.skipIf(redisBinary === null)(
  "a node's outage is logged once, by one of its workers (the others at debug)",
  async () => {
    const own = await startRedis(redisBinary as string);
    const lines: Array<{ level: number; msg: string }> = [];
    const log = pino(
      { level: 'debug' },
      { write: (l: string) => void lines.push(JSON.parse(l) as { level: number; msg: string }) },
    );
    const down: boolean[] = [];
    const workers = await Promise.all(
      [true, false].map((speaks) =>
        RedisCoord.connect({
          url: own.url,
          namespace: 'quiet',
          log,
          level: saidAt(speaks),
          onState: (up) => !up && down.push(up),
        }),
      ),
    );
    try {
      await own.kill();
      await waitFor(async () => down.length === 2, 10_000, 'both workers did not see Redis go');
      const warned = lines.filter((l) => l.level >= 40 && /Redis is unreachable/.test(l.msg));
      expect(warned).toHaveLength(1);
      expect(lines.filter((l) => l.level === 20 && /Redis is unreachable/.test(l.msg))).toHaveLength(1);
    } finally {
      for (const w of workers) await w.close();
    }
  },
  20_000,
);
