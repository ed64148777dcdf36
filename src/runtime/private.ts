// Wiring of origin fetches (--private, --upstream …,direct): the go-command
// runner, the private ledger, the origin, and the module sources the
// service uses. Kept apart from compose.ts so that the composition root
// only calls it.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Settings } from '../config/settings.js';
import { matchPrefixPatterns } from '../module/index.js';
import type { ModuleSource } from '../proxy/context.js';
import { DirectFallback, OriginSource } from '../proxy/origin-source.js';
import type { ProxyList } from '../upstream/index.js';
import { GoRunner } from '../vcs/gorun.js';
import { PrivateLedger } from '../vcs/ledger.js';
import { openLocalFile, type Storage } from '../storage/index.js';
import { Origin, type TagMovedEvent } from '../vcs/origin.js';
import { OriginBreaker, type OriginBreakerState } from '../vcs/breaker.js';
import type { Clock } from '../util/clock.js';

export interface VcsOptions {
  /** The go binary (default `go` on PATH). */
  readonly go?: string;
  /** The environment of origin fetches (default: godepot's own, process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Told when an origin host's breaker opens or closes (the incident log listens). */
  readonly onOriginState?: (host: string, state: OriginBreakerState, detail: string) => void;
  /** Told when a recorded private version's content changed at its origin (the incident log records it). */
  readonly onTagMoved?: (e: TagMovedEvent) => void;
  /** Origin hosts the breaker follows at most (default ORIGIN_HOSTS). */
  readonly originHosts?: number;
}

export interface PrivateWiring {
  /** The source of public modules: the proxies, then the origin when the list ends in direct. */
  readonly publicSource: ModuleSource;
  /** Private modules: their origin (null without --private). */
  readonly privateSource: OriginSource | null;
  /** The origin publicSource reaches at `direct` (null without direct); the public service stores its go runs. */
  readonly directSource: OriginSource | null;
  readonly isPrivate: (path: string) => boolean;
  readonly ledger: PrivateLedger | null;
  readonly origin: Origin | null;
  /** Settings with the private patterns added to --nosumdb: private paths never reach a checksum database. */
  readonly settings: Settings;
}

/** GOPRIVATE patterns and GONOSUMDB patterns as one list. */
export function withPrivateNosumdb(settings: Settings): Settings {
  if (settings.private === '') return settings;
  const nosumdb = [settings.nosumdb, settings.private].filter((s) => s !== '').join(',');
  return { ...settings, nosumdb };
}

export async function wirePrivate(
  settings: Settings,
  upstream: ProxyList,
  storage: Storage,
  log: Logger,
  registry: Registry,
  shutdown: AbortSignal,
  clock: Clock,
  vcs: VcsOptions = {},
): Promise<PrivateWiring> {
  const patterns = settings.private;
  const isPrivate = (path: string): boolean => patterns !== '' && matchPrefixPatterns(patterns, path);
  const effective = withPrivateNosumdb(settings);
  if (patterns === '' && !settings.upstream.direct) {
    const none = { privateSource: null, directSource: null, ledger: null, origin: null };
    return { ...none, publicSource: upstream, isPrivate, settings: effective };
  }
  const moved = new Counter({
    name: 'godepot_private_tag_moved_total',
    help: 'Private module versions whose content changed at the origin after the ledger recorded them (refused).',
    registers: [registry],
  });
  const ledger =
    patterns === '' ? null : await PrivateLedger.open(storage, settings.data, (fields, msg) => log.warn(fields, msg));
  if (ledger && storage.kind === 's3' && !(await ledger.createHolds()))
    log.warn(
      'the object store does not honour conditional writes (If-None-Match): two nodes fetching a new private version at once could both record it, and the last record would stay; use a store that honours them (AWS S3, MinIO, R2) to pin private versions for every node',
    );
  const runner = new GoRunner({
    go: vcs.go ?? 'go',
    env: vcs.env ?? process.env,
    privatePatterns: patterns,
    workRoot: join(settings.data, 'vcs'),
    concurrency: vcsRunsPerProcess(settings.vcs.concurrency, settings.workers),
    timeoutMs: settings.vcs.timeout,
  });
  // Leftovers of runs that died go a run deadline from now (GoRunner.sweep). Neither the start nor the process waits
  // for it (an unref'd timer), and shutdown calls it off: nothing is removed after godepot closed.
  runner.sweep((ms) => sleep(ms, undefined, { ref: false, signal: shutdown })).catch(() => undefined);
  const breaker = new OriginBreaker({
    failures: settings.breaker.failures,
    halfOpenAfter: settings.breaker.halfOpenAfter,
    // The composition root's clock, as for the incidents the breaker reports and the answers it keeps stale.
    now: () => clock.now(),
    ...(vcs.onOriginState ? { onState: vcs.onOriginState } : {}),
    ...(vcs.originHosts === undefined ? {} : { hosts: vcs.originHosts }),
  });
  const origin = new Origin(
    {
      runner,
      openFile: openLocalFile,
      ledger,
      isPrivate,
      log,
      breaker,
      clock,
      onTagMoved: (e) => {
        moved.inc();
        vcs.onTagMoved?.(e);
      },
    },
    shutdown,
  );
  const direct = settings.upstream.direct ? new OriginSource(origin) : null;
  return {
    publicSource: direct ? new DirectFallback(upstream, direct) : upstream,
    privateSource: patterns === '' ? null : new OriginSource(origin),
    directSource: direct,
    isPrivate,
    ledger,
    origin,
    settings: effective,
  };
}

/**
 * Each process's share of --vcs-concurrency: the limit is the machine's (go and
 * git use its disk and CPU), and every worker runs its own go commands.
 * At least one each.
 */
export function vcsRunsPerProcess(concurrency: number, workers: number): number {
  return Math.max(1, Math.floor(concurrency / Math.max(1, workers)));
}
