// Filling a godepot through the very path requests take: each module
// version's checksum-database record through the sumdb mirror (verified
// against the signed tree, kept), then its .mod/.info/.zip through
// ModuleService.get (fetched, verified against that record, kept). Nothing
// is stored that serving would not store. Used by warm, import and export.
import { hashGoMod } from '../modzip/index.js';
import { isBlob, isProvisional, type Artifact } from '../proxy/artifact.js';
import { hashArtifact, type ImmutableRequest } from '../proxy/immutable.js';
import type { ImmutableKind } from '../proxy/request.js';
import { hashesFromRecord, policyFor, type GoSumHashes } from '../proxy/verify.js';
import type { ModuleVersion } from '../module/index.js';
import { compose, type ComposeOptions, type Godepot } from '../runtime/compose.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from 'pino';
import { withPrivateNosumdb } from '../runtime/private.js';
import { isReplaced, parseGoMod, type Replaced } from './gofiles.js';
import type { Progress } from './progress.js';
import { proveRecords, type ReadTile } from './sumdb-tiles.js';
import { GO_MOD_ONLY, type TargetSet, type WarmTarget } from './targets.js';
import { Limiter } from '../util/limiter.js';

export interface WarmSink {
  /** Called with each artifact while it is open (export copies it out). */
  artifact?(t: WarmTarget, kind: ImmutableKind, a: Artifact): Promise<void>;
}

export interface WarmRunOptions {
  readonly concurrency: number;
  readonly progress: Progress;
  readonly sink?: WarmSink;
  readonly signal?: AbortSignal;
}

export interface WarmFailure {
  readonly module: string;
  readonly problems: readonly string[];
}

export interface WarmReport {
  /** Module versions tried. */
  modules: number;
  ok: number;
  readonly failures: WarmFailure[];
  /** Artifacts fetched and stored by this run / found already stored. */
  stored: number;
  cached: number;
  bytes: number;
  /** Checksum-database record ids of the primary database, proven and kept. */
  readonly recordIds: Set<number>;
  /** Tiles clients need for those records. */
  tiles: ReadTile[];
  /** Of those records and tiles, how many are in storage (a write behind the answer may have failed: a full disk). */
  recordsKept: number;
  tilesKept: number;
  /** Set when the tiles could not all be had, or records and tiles could not all be stored. */
  tileProblem?: string;
  /**
   * The data tiles around those records (the outage index: they answer lookups of their neighbours while the
   * database is down), when some could not be had: how many of how many, and the first failure.
   */
  dataTilesMissing?: { readonly db: string; readonly missing: number; readonly tiles: number; readonly error?: string };
  interrupted: boolean;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';

interface OneResult {
  readonly problems: string[];
  readonly bytes: number;
  readonly stored: number;
  readonly cached: number;
  readonly graph: ModuleVersion[];
}

function compareSums(t: WarmTarget, kind: 'zip' | 'mod', verified: string | undefined, by: string): string | null {
  const want = t.sums[kind];
  if (want === undefined || verified === undefined || !want.startsWith('h1:') || want === verified) return null;
  return `go.sum (${t.sources[0] ?? '?'}) has ${want} for ${kind === 'mod' ? 'its go.mod' : 'its zip'}, ${by} has ${verified}`;
}

async function warmOne(
  g: Godepot,
  t: WarmTarget,
  sink: WarmSink | undefined,
  proven: (mv: ModuleVersion, id: number) => void,
  signal?: AbortSignal,
): Promise<OneResult> {
  const problems = [...t.conflicts];
  // An interrupt aborts what is under way: said as such, not as the error the abort surfaces as ("internal error").
  const why = (err: unknown): string =>
    signal?.aborted ? 'interrupted before it was finished; run the command again to finish it' : errorText(err);
  const graph: ModuleVersion[] = [];
  let bytes = 0;
  let stored = 0;
  let cached = 0;
  const mirror = g.mirrors[0];
  // Private modules are --nosumdb modules too: they come from their origin, no database can vouch for them.
  const policy = policyFor(t.path, withPrivateNosumdb(g.settings), mirror !== undefined);
  if (mirror && policy !== 'skip') {
    let db: GoSumHashes;
    try {
      const { record } = await mirror.lookup({ path: t.path, version: t.version }, signal);
      proven(t, record.id);
      db = hashesFromRecord(record.text.toString('utf8'), t.path, t.version);
    } catch (err) {
      // Without a verified record nothing would be kept as verified; report it and move on.
      const text = why(err);
      problems.push(signal?.aborted || text.includes(mirror.name) ? text : `checksum database ${mirror.name}: ${text}`);
      return { problems, bytes, stored, cached, graph };
    }
    for (const kind of ['zip', 'mod'] as const) {
      const p = compareSums(t, kind, db[kind], `the checksum database ${mirror.name}`);
      if (p) problems.push(p);
    }
  }
  const kinds: ImmutableKind[] = ['mod', ...(t.info ? (['info'] as const) : []), ...(t.zip ? (['zip'] as const) : [])];
  for (const kind of kinds) {
    const req: ImmutableRequest =
      kind === 'info'
        ? { kind, path: t.path, version: t.version, query: false }
        : { kind, path: t.path, version: t.version };
    let a: Artifact;
    try {
      a = await g.service.get(req, signal);
    } catch (err) {
      problems.push(`.${kind}: ${why(err)}`);
      if (kind === 'mod' || signal?.aborted) break;
      continue;
    }
    try {
      bytes += a.size;
      if (a.cache === 'hit') cached++;
      else stored++;
      if (isProvisional(a.verification)) {
        problems.push(
          `.${kind} could not be verified (checksum database unreachable); it is kept in quarantine until the server re-verifies it`,
        );
      }
      if (a.verification === 'skipped' && kind !== 'info' && t.sums[kind] !== undefined) {
        const h =
          kind === 'mod'
            ? hashGoMod(isBlob(a.body) ? await a.body.read() : a.body)
            : await hashArtifact(req, a.body, signal);
        const p = compareSums(t, kind, h, 'the downloaded file');
        if (p) problems.push(p);
      }
      if (kind === 'mod' && t.graph) {
        try {
          const text = (isBlob(a.body) ? await a.body.read() : a.body).toString('utf8');
          graph.push(...parseGoMod(text, `${t.path}@${t.version}/go.mod`, { lax: true }).requires);
        } catch {
          // A dependency's go.mod the walk cannot read is the go command's business, not warm's.
        }
      }
      await sink?.artifact?.(t, kind, a);
    } catch (err) {
      problems.push(`.${kind}: ${why(err)}`);
    } finally {
      if (isBlob(a.body)) await a.body.close();
    }
  }
  return { problems, bytes, stored, cached, graph };
}

/**
 * Warms every target (and, for targets with `graph`, the go.mod files of
 * their requirements, transitively), at most `concurrency` at a time, then
 * makes sure the tiles clients need for the records are kept.
 */
export async function runWarm(g: Godepot, set: TargetSet, opts: WarmRunOptions): Promise<WarmReport> {
  const report: WarmReport = {
    modules: 0,
    ok: 0,
    failures: [],
    stored: 0,
    cached: 0,
    bytes: 0,
    recordIds: new Set(),
    tiles: [],
    recordsKept: 0,
    tilesKept: 0,
    interrupted: false,
  };
  const looked: ModuleVersion[] = [];
  const proven = (mv: ModuleVersion, id: number): void => {
    report.recordIds.add(id);
    looked.push(mv);
  };
  const targets = set.list();
  opts.progress.addTotal(targets.length);
  // At most `concurrency` at once; the rest wait in the Limiter's queue, in order, those the graph walk adds
  // behind them. After an interrupt the waiting ones are not started (neither done nor failed).
  const slots = new Limiter(opts.concurrency, Number.MAX_SAFE_INTEGER);
  /** Every target's run, those the graph walk adds included (added while earlier ones run). */
  const runs: Array<Promise<void>> = [];
  const start = (t: WarmTarget): void => {
    const label = `${t.path}@${t.version}`;
    let started = false;
    // The interrupt is checked when a target's turn comes, not given to the Limiter: a waiting target would hold a
    // listener on the one signal each (hundreds of thousands), and the interrupt would then look each up.
    const run = slots.run(async () => {
      if (opts.signal?.aborted) throw opts.signal.reason;
      started = true;
      return warmOne(g, t, opts.sink, proven, opts.signal);
    });
    runs.push(
      run.then(
        (r) => {
          report.modules++;
          report.bytes += r.bytes;
          report.stored += r.stored;
          report.cached += r.cached;
          if (r.problems.length === 0) report.ok++;
          else report.failures.push({ module: label, problems: r.problems });
          opts.progress.done(label, r.problems.length === 0, r.bytes, r.problems.join('; ') || undefined);
          if (!t.graph) return;
          t.requires = r.graph;
          // Roots that reached it while it ran are among its roots now.
          for (const root of t.roots) walk(t, root);
        },
        (err: unknown) => {
          if (!started) return;
          report.modules++;
          report.failures.push({ module: label, problems: [errorText(err)] });
          opts.progress.done(label, false, 0, errorText(err));
        },
      ),
    );
  };
  /** Carries a go.mod's graph (root: its replace directives) on to t's requirements. */
  const walk = (t: WarmTarget, root: Replaced): void => {
    for (const mv of t.requires ?? []) {
      if (isReplaced(mv, root)) continue;
      const had = set.get(mv);
      const roots = had?.roots.length ?? 0;
      const next = set.add(mv, { ...GO_MOD_ONLY, graph: root }, `${t.path}@${t.version}/go.mod`);
      if (!had) {
        opts.progress.addTotal(1);
        start(next);
      } else if (next.roots.length > roots && next.requires) {
        // Walked already, for other go.mod files: what this one does not replace may be new to the walk.
        walk(next, root);
      }
    }
  };
  for (const t of targets) start(t);
  for (let i = 0; i < runs.length; i++) await runs[i];
  opts.progress.finish();
  report.interrupted = opts.signal?.aborted ?? false;
  // The data tiles around the records looked up (the outage index) wait for a pause in lookups; the end of
  // a run that prepares for an outage is that pause (close() would drop what still waits). An interrupt
  // ends the wait at once: the caller's close() then stops what is under way.
  if (!report.interrupted) {
    let stop = (): void => undefined;
    const interrupted = new Promise<void>((resolve) => {
      stop = resolve;
      opts.signal?.addEventListener('abort', stop, { once: true });
    });
    try {
      await Promise.race([Promise.all(g.mirrors.map((m) => m.idle())), interrupted]);
    } finally {
      // A long-lived caller's signal (serve's warm-up) must not collect one listener per run.
      opts.signal?.removeEventListener('abort', stop);
    }
    report.interrupted = opts.signal?.aborted ?? false;
  }
  const mirror = g.mirrors[0];
  if (mirror && report.recordIds.size > 0 && !report.interrupted) {
    try {
      report.tiles = await proveRecords(mirror, report.recordIds, !g.settings.offline, opts.signal);
    } catch (err) {
      report.tileProblem = `cannot keep the checksum-database tiles clients need: ${errorText(err)}`;
    }
    // Records and tiles are stored behind the answer, and a failed write is only logged: count what landed.
    await mirror.store.writesSettled();
    const { store } = mirror;
    const held = async (key: string, size = 0): Promise<boolean> =>
      ((await store.storage.stat(key).catch(() => null))?.size ?? -1) >= size;
    // 32 at a time: on an object store each is a request, and a large warm looks up thousands.
    const limit = new Limiter(32, Number.MAX_SAFE_INTEGER);
    const count = async <T>(items: readonly T[], isHeld: (item: T) => Promise<boolean>): Promise<number> =>
      (await Promise.all(items.map((item) => limit.run(() => isHeld(item))))).filter(Boolean).length;
    report.recordsKept = await count(looked, (mv) => held(store.lookupKey(mv.path, mv.version)));
    report.tilesKept = await count(
      report.tiles,
      async ({ tile }) => (await held(store.fullKey(tile))) || held(store.partialKey(tile), tile.w * 32),
    );
    if (report.recordsKept < looked.length || report.tilesKept < report.tiles.length)
      report.tileProblem ??= `${looked.length - report.recordsKept} of ${looked.length} checksum-database records and ${report.tiles.length - report.tilesKept} of ${report.tiles.length} tiles could not be stored in the data folder (the warnings above say why); fix that (a full disk: free space or grow the volume), then run the same command again`;
    // Those indexed in the background are held already; those of records found stored (an earlier run's) and
    // those that failed are asked for now, so that running again is the way to fill what is missing.
    const data = await mirror.keepDataTilesAround(report.recordIds, opts.signal);
    if (data.missing > 0 && !(opts.signal?.aborted ?? false))
      report.dataTilesMissing = {
        db: mirror.name,
        missing: data.missing,
        tiles: data.tiles,
        ...(data.error === undefined ? {} : { error: data.error }),
      };
  }
  return report;
}

/**
 * What the warning about a data tile that could not be had says instead of the server's metric: a command
 * counts them in its summary (formatWarmReport), where running it again is the fix.
 */
const DATA_TILE_FAILURES_COUNTED =
  'further failures are not logged: the summary at the end counts the tiles missing, and running the same command again fetches them';

/**
 * A godepot for a batch command (warm, export, import): no background work, no process metrics, no incident log,
 * and no read-ahead — a batch asks for exactly what its inputs name, and a version needed for its go.mod alone
 * would otherwise cost its .info and zip too.
 */
export function composeBatch(settings: Settings, log: Logger, more: ComposeOptions = {}): Promise<Godepot> {
  return compose(
    { ...settings, readAhead: false },
    {
      log,
      background: false,
      processMetrics: false,
      recordIncidents: false,
      dataTileFailuresCounted: DATA_TILE_FAILURES_COUNTED,
      ...more,
    },
  );
}

/** Exit status of a warm-like run: 0 only when everything was fetched and verified. */
export function warmFailed(r: WarmReport): boolean {
  return r.failures.length > 0 || r.tileProblem !== undefined || r.interrupted;
}
