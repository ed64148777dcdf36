// The storage and the coordination a godepot runs on, from its settings:
// the data folder or an S3-compatible bucket; this process alone, the
// workers of one machine (through their primary: cluster-coord.ts), or
// several nodes through Redis. Kept apart from compose.ts so that the composition
// root stays one readable page.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Settings } from '../config/settings.js';
import { LocalCoord, RedisCoord, type Coordination } from '../coord/index.js';
import type { FetchLeases, NotFoundCache } from '../proxy/context.js';
import { FsStorage, S3Storage, type Storage } from '../storage/index.js';
import { trustOptions } from '../upstream/roots.js';
import type { SaidAt } from '../util/said-once.js';
import { checkClusterMark } from './cluster-mark.js';

/**
 * Opens the configured storage; an S3 bucket that is missing or unreachable
 * fails here, with a clear message. writes: this process stores artifacts
 * (serve's workers, warm, import, export): an object store's scratch files go
 * in the data folder (`<data>/s3-staging/`), not outside it, and a bucket it
 * may not write to fails here too ('check': only that, for serve's primary
 * before its workers start), as does one that nodes coordinated through
 * Redis share when this process has no --redis (cluster-mark.ts).
 */
export async function openStorage(settings: Settings, writes: boolean | 'check' = false): Promise<Storage> {
  const storage = await openBackend(settings, writes);
  if (writes === false) return storage;
  try {
    await checkClusterMark(storage, settings);
  } catch (err) {
    await storage.close();
    throw err;
  }
  return storage;
}

function openBackend(settings: Settings, writes: boolean | 'check'): Promise<Storage> {
  const s = settings.storage;
  if (s.kind === 'fs') return FsStorage.open(settings.data, { timeout: s.timeout });
  return S3Storage.open({
    bucket: s.bucket,
    prefix: s.prefix,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    timeout: s.timeout,
    trust: trustOptions(),
    writable: writes !== false,
    ...(writes === true ? { scratchRoot: join(resolve(settings.data), 's3-staging') } : {}),
  });
}

/**
 * This godepot's name in the Via header of its upstream calls (loop check):
 * the same for its workers and for the nodes that share its store (asking
 * one of them could only find what the store has), another godepot's
 * differs — on another machine even with the same data path.
 */
export function selfTag(settings: Settings): string {
  const s = settings.storage;
  const store =
    s.kind === 's3' ? `s3:${s.endpoint ?? ''}/${s.bucket}/${s.prefix}` : `fs:${hostname()}:${resolve(settings.data)}`;
  return 'godepot-' + createHash('sha256').update(store).digest('hex').slice(0, 12);
}

/**
 * The module service's share of the coordination: fetch leases and the
 * not-found cache, keyed also by where this node fetches modules from
 * (--upstream, --private). Nodes configured with other upstreams (a
 * mistake, or a rollout half done) then neither take each other's 404s nor
 * wait on each other's fetches; they still share the store.
 */
export function moduleCoordination(
  coord: Coordination,
  settings: Settings,
): { readonly leases?: FetchLeases; readonly notFound: NotFoundCache } {
  const tag =
    createHash('sha256')
      .update(JSON.stringify([settings.upstream, settings.private]))
      .digest('hex')
      .slice(0, 12) + ':';
  const leases = coord.leases;
  return {
    ...(leases ? { leases: { acquire: (key, signal) => leases.acquire(tag + key, signal) } } : {}),
    notFound: {
      notFound: (key) => coord.notFound(tag + key),
      rememberNotFound: (key, entry, ttlMs) => coord.rememberNotFound(tag + key, entry, ttlMs),
      forgetNotFound: (key) => coord.forgetNotFound(tag + key),
    },
  };
}

/** The Redis key namespace of the nodes that share this store (two clusters may share one Redis). */
function coordNamespace(settings: Settings): string {
  const s = settings.storage;
  return s.kind === 's3' ? `godepot:s3:${s.bucket}/${s.prefix}` : `godepot:fs:${resolve(settings.data)}`;
}

/**
 * The coordination of this process: Redis when configured (a Redis that is
 * away at start-up makes a degraded node, not a failed start), else the
 * machine's (`group`: the workers' coordination through their primary), else
 * this process alone. With Redis, `group` is what coordinates while Redis is away.
 */
export async function openCoord(
  settings: Settings,
  log: Logger,
  registry: Registry,
  group?: Coordination,
  now: () => number = Date.now,
  /** The level of the lines about Redis going and coming back (see RedisCoordOptions.level). */
  level?: SaidAt,
): Promise<Coordination> {
  if (settings.redis === '') return group ?? new LocalCoord(now);
  // Here, not at the top: the primary of --workers N opens its storage through this module without metrics.
  const { Gauge } = await import('prom-client');
  const up = new Gauge({
    name: 'godepot_coordination_redis_up',
    help: '1 while Redis answers; 0 while this node coordinates locally (degraded: other nodes may fetch the same artifacts).',
    registers: [registry],
    // With --workers N each worker has its own connection: the node is up only if every one is (not their sum).
    aggregator: 'min',
  });
  const outages = new Gauge({
    name: 'godepot_coordination_redis_outages',
    help: 'Times this node lost Redis since it started.',
    registers: [registry],
    // Every worker sees the same outage: the most any of them counted, not their sum.
    aggregator: 'max',
  });
  up.set(0);
  outages.set(0);
  return RedisCoord.connect({
    url: settings.redis,
    namespace: coordNamespace(settings),
    log,
    now,
    trust: trustOptions(),
    ...(level ? { level } : {}),
    ...(group ? { fallback: group } : {}),
    onState: (ok) => {
      up.set(ok ? 1 : 0);
      if (!ok) outages.inc();
    },
  });
}
