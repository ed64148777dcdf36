// The mark a cluster leaves on the storage its nodes share. Nodes that
// coordinate through Redis agree there on one single flight and one verified
// tree head; a process that writes to the same storage without --redis (a
// node whose GODEPOT_REDIS was forgotten, a `godepot warm` run from another
// machine) would keep its own beside theirs: fetch what they are fetching,
// and take a tree head it finds stored on the word of whoever stored it
// (TreeState.adoptPersisted), never proven against the cluster's. So a node
// with --redis marks the storage once, and a process that would write to a
// marked storage without --redis refuses to start, saying what to pass.
import { hostname } from 'node:os';
import { ConfigError } from '../config/load.js';
import type { Settings } from '../config/settings.js';
import type { Storage } from '../storage/index.js';

export const CLUSTER_MARK_KEY = 'cluster';

interface ClusterMark {
  readonly coordination: 'redis';
  /** The Redis the marking node used, without credentials: what the refusal tells the operator to pass. */
  readonly redis: string;
  readonly markedBy: string;
  readonly markedAt: string;
}

/** redis://HOST:PORT/DB of url, without user or password. */
export function redisWithoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'redis://…';
  }
}

/**
 * With --redis: marks storage as a cluster's (an existing mark is kept).
 * Without: throws ConfigError when storage carries a mark.
 */
export async function checkClusterMark(
  storage: Storage,
  settings: Settings,
  now: () => number = Date.now,
): Promise<void> {
  if (settings.redis !== '') {
    const mark: ClusterMark = {
      coordination: 'redis',
      redis: redisWithoutCredentials(settings.redis),
      markedBy: settings.nodeName || hostname(),
      markedAt: new Date(now()).toISOString(),
    };
    // A look, then a plain write (not create(): a store without conditional writes must not stop a node's
    // start for this); two nodes marking at once leave one of two equivalent marks.
    if (await storage.stat(CLUSTER_MARK_KEY)) return;
    await storage.put(CLUSTER_MARK_KEY, Buffer.from(JSON.stringify(mark, null, 2) + '\n'));
    return;
  }
  const bytes = await storage.get(CLUSTER_MARK_KEY);
  if (!bytes) return;
  let mark: Partial<ClusterMark> = {};
  try {
    mark = JSON.parse(bytes.toString('utf8')) as Partial<ClusterMark>;
  } catch {
    // Damaged: still a cluster's storage; the message just names less.
  }
  const where = storage.kind === 's3' ? (storage.name ?? 'the bucket') : `the data folder ${settings.data}`;
  const redis = typeof mark.redis === 'string' ? ` ${mark.redis}` : '';
  const since =
    typeof mark.markedBy === 'string' && typeof mark.markedAt === 'string'
      ? ` (marked by ${mark.markedBy} at ${mark.markedAt})`
      : '';
  throw new ConfigError(
    `${where} is shared by godepot nodes that coordinate through Redis${redis}${since}; without --redis this process would keep its own single flight and verified checksum-database tree beside theirs. Pass the cluster's --redis${redis ? ` (${redis.trim()}, with its password if it has one)` : ''} or GODEPOT_REDIS; if no node uses Redis any more, delete "${CLUSTER_MARK_KEY}" from the storage first`,
  );
}
