// Fetching modules from their version-control origin by running the go
// command (GOPROXY=direct), so credentials, proxies and GOINSECURE work
// exactly as they do for go itself. What go produced is suspect like any
// upstream answer: the zip goes through godepot's own zip rules and h1:
// hashing, and a private module version's hashes are checked against the
// private ledger (a moved tag is refused). One go process per module
// version at a time (single flight); a finished download is kept briefly,
// because a client asks for .info, .mod and .zip one after another. The zip
// is never read into memory: it is verified and served from the file go
// wrote, through a descriptor held open after the run's folder is removed.
import { readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { hashGoMod, rangedSource, verifyModuleZip, ZipError, MAX_GO_MOD, MAX_ZIP_FILE } from '../modzip/index.js';
import type { OpenBlob } from '../storage/index.js';
import { isCanonicalVersion } from '../module/index.js';
import { systemClock, type Clock } from '../util/clock.js';
import { SAID_EVERY_MS, Spacing } from '../util/spacing.js';
import { SingleFlight } from '../util/singleflight.js';
import { classify, hostOf, OriginError, type OriginFailure } from './errors.js';
import type { OriginBreaker } from './breaker.js';
import { GoMissingError, GoQueueTimeoutError, type GoRunner, type GoRun } from './gorun.js';
import type { PrivateLedger } from './ledger.js';

export interface Download {
  readonly info: Buffer;
  readonly mod: Buffer;
  /** Held for the one who asked: it must stream() it or release() it. */
  readonly zip: HeldZip;
  readonly zipH1: string;
  readonly modH1: string;
}

/**
 * A verified zip on an open descriptor whose file is gone (unlinked with its
 * run's folder: nothing is left behind, even by a crash). Each holder lets go
 * once, by release() or by the end of its stream(); the descriptor closes
 * when the last one has.
 */
export class HeldZip {
  private holders = 1;

  constructor(private readonly blob: OpenBlob) {}

  get size(): number {
    return this.blob.size;
  }

  /** One more holder; false when the last one has let go already (the descriptor is closed). */
  hold(): boolean {
    if (this.holders === 0) return false;
    this.holders++;
    return true;
  }

  release(): void {
    if (this.holders > 0 && --this.holders === 0) void this.blob.close().catch(() => undefined);
  }

  /** The bytes, for a holder: it lets go when the stream closes (ended or destroyed). */
  stream(): Readable {
    const s = this.blob.stream();
    s.once('close', () => this.release());
    return s;
  }
}

export interface TagMovedEvent {
  readonly module: string;
  readonly version: string;
  readonly recordedZip: string;
  readonly currentZip: string;
  readonly recordedMod: string;
  readonly currentMod: string;
}

export interface OriginOptions {
  readonly runner: GoRunner;
  /** Opens a file the go command wrote (the composition root gives storage's openLocalFile). */
  readonly openFile: (path: string) => Promise<OpenBlob>;
  /** The private ledger; null when no private patterns are configured. */
  readonly ledger: PrivateLedger | null;
  readonly isPrivate: (path: string) => boolean;
  readonly log: Logger;
  readonly onTagMoved?: (e: TagMovedEvent) => void;
  /** Fails fast for hosts that are down (optional). */
  readonly breaker?: OriginBreaker;
  /** How long a finished download stays in memory for the next request of the same version (ms). */
  readonly keepMs?: number;
  /** Ages the downloads kept in memory and spaces the failure lines (default: the system clock). */
  readonly clock?: Clock;
}

interface GoModuleJson {
  Path?: string;
  Version?: string;
  Time?: string;
  Versions?: string[];
  Error?: string | { Err?: string };
  Info?: string;
  GoMod?: string;
  Zip?: string;
}

const KEEP_ENTRIES = 32;
/** Bytes of kept zips (on disk, as unlinked files) past which the oldest are let go. */
const KEEP_BYTES = 1 << 30;
/** A turn of the event loop for other requests, taken while a large zip is verified. */
const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Failures that say the origin host is down, not something about the module. */
const OUTAGES = new Set<OriginFailure>(['unreachable', 'timeout', 'tls']);

function parseJson(stdout: string): GoModuleJson {
  try {
    const v: unknown = JSON.parse(stdout);
    return typeof v === 'object' && v !== null ? (v as GoModuleJson) : {};
  } catch {
    return {};
  }
}

function errorText(j: GoModuleJson): string {
  if (typeof j.Error === 'string') return j.Error;
  return j.Error?.Err ?? '';
}

export class Origin {
  /** Runs go for path; a missing go binary becomes an OriginError that says so. */
  private async go<T>(path: string, args: string[], signal: AbortSignal, use: (r: GoRun) => Promise<T>): Promise<T> {
    const host = hostOf(path);
    const breaker = this.opts.breaker;
    const refused = breaker?.refusal(host, path) ?? null;
    if (refused !== null)
      throw new OriginError(
        'unreachable',
        `godepot: cannot fetch ${path} now: ${refused}; stored versions are still served`,
        host,
      );
    try {
      const result = await this.opts.runner.run(args, signal, use, this.opts.isPrivate(path));
      breaker?.succeeded(host);
      return result;
    } catch (err) {
      if (err instanceof GoMissingError) throw new OriginError('failed', `godepot: ${err.message}`, host);
      // Not the origin's failure (the runs ahead were slow, for any host): no breaker is told.
      if (err instanceof GoQueueTimeoutError)
        throw new OriginError(
          'busy',
          `godepot: ${path} was not fetched from its origin: ${err.message}; try again later, or raise --vcs-concurrency or lower --vcs-timeout`,
          host,
        );
      if (err instanceof OriginError) {
        // A public module's failure reaches the client without the go command's words (classify), and some of a
        // private module's (no valid credentials: the fix alone): they are here, with what was fetched
        // (module@version or @query: go's words often name only the repository's URL).
        const output = err.details.output;
        if (output !== undefined) {
          const record = { module: path, fetching: args[args.length - 1], host, failure: err.failure, output };
          // Clients name these modules, without limit: said at info level at most once per kind of failure every
          // SAID_EVERY_MS (with how many more failed since), the others at debug level.
          const which = this.opts.isPrivate(path) ? 'private' : 'public';
          const msg = `fetching a ${which} module from its origin failed`;
          this.failuresSaid.say(this.opts.log, 'info', `${which} ${err.failure}`, record, msg, 'alsoFailedSince');
        }
        if (OUTAGES.has(err.failure)) breaker?.failed(host, err.failure, path);
        else if (err.failure !== 'bad_content') breaker?.succeeded(host);
      }
      throw err;
    } finally {
      breaker?.ended(host);
    }
  }

  private readonly downloads: SingleFlight<Download>;
  private readonly kept = new Map<string, { until: number; download: Download }>();
  private readonly clock: Clock;
  private readonly failuresSaid: Spacing<`${'private' | 'public'} ${OriginFailure}`>;

  constructor(
    private readonly opts: OriginOptions,
    shutdown?: AbortSignal,
  ) {
    this.downloads = new SingleFlight<Download>(shutdown);
    // What is kept goes with godepot (the holders still streaming close theirs).
    shutdown?.addEventListener('abort', () => this.letGoOfExpired(Infinity), { once: true });
    this.clock = opts.clock ?? systemClock;
    this.failuresSaid = new Spacing(SAID_EVERY_MS, () => this.clock.now());
  }

  /**
   * The tagged versions, retracted ones included, as a proxy lists them: the client applies the retractions
   * itself (`go list -m -retracted -versions` shows them, and it reads them from the go.mod of the highest one).
   */
  async list(path: string, signal: AbortSignal): Promise<string[]> {
    return this.go(path, ['list', '-m', '-json', '-retracted', '-versions', path], signal, async (r) => {
      const j = parseJson(r.stdout);
      if (r.code !== 0 || errorText(j) !== '')
        throw classify(
          path,
          `${path} (version list)`,
          `${errorText(j)}\n${r.stderr}`,
          r.timedOut,
          this.opts.isPrivate(path),
        );
      return (j.Versions ?? []).filter(isCanonicalVersion);
    });
  }

  /** Resolves a query (latest, a branch, a commit hash, a version prefix) to {Version, Time}. */
  async query(path: string, query: string, signal: AbortSignal): Promise<{ Version: string; Time?: string }> {
    return this.go(path, ['list', '-m', '-json', `${path}@${query}`], signal, async (r) => {
      const j = parseJson(r.stdout);
      if (r.code !== 0 || errorText(j) !== '' || typeof j.Version !== 'string')
        throw classify(path, `${path}@${query}`, `${errorText(j)}\n${r.stderr}`, r.timedOut, this.opts.isPrivate(path));
      return typeof j.Time === 'string' ? { Version: j.Version, Time: j.Time } : { Version: j.Version };
    });
  }

  /**
   * .info, go.mod and zip of a canonical version, checked (and for private
   * modules, pinned). The zip is held for the caller, who must stream() or
   * release() it.
   */
  async download(path: string, version: string, signal: AbortSignal): Promise<Download> {
    const key = `${path}@${version}`;
    this.letGoOfExpired();
    for (let fetched = 0; ; fetched++) {
      const kept = this.kept.get(key);
      if (kept?.download.zip.hold()) return kept.download;
      // The fetch keeps what it got (keep()); each caller holds it for itself here, in the first turn after it
      // settled. A kept zip let go of before that (a crowd of other downloads in between) is fetched again, once.
      if (fetched === 2)
        throw new OriginError(
          'busy',
          `godepot: ${key} was fetched from its origin twice and let go of before it could be answered each time (too many other fetches at once); try again`,
          hostOf(path),
        );
      const { value } = await this.downloads.do(key, (s) => this.fetch(path, version, s), signal);
      if (value.zip.hold()) return value;
    }
  }

  /** Fetches afresh, bypassing what is kept and the ledger check (for `godepot private verify`). */
  async resolveHashes(path: string, version: string, signal: AbortSignal): Promise<{ zip: string; mod: string }> {
    const d = await this.run(path, version, signal);
    d.zip.release();
    return { zip: d.zipH1, mod: d.modH1 };
  }

  private async fetch(path: string, version: string, signal: AbortSignal): Promise<Download> {
    const d = await this.run(path, version, signal);
    try {
      const ledger = this.opts.ledger;
      if (ledger && this.opts.isPrivate(path)) {
        const c = await ledger.check(path, version, d.zipH1, d.modH1);
        if (c.kind === 'moved') throw this.moved(path, version, c.recorded, d);
        if (c.kind === 'recorded')
          this.opts.log.info(
            { module: path, version, zip: d.zipH1, mod: d.modH1 },
            'private version recorded in the ledger',
          );
      }
    } catch (err) {
      d.zip.release();
      throw err;
    }
    this.keep(`${path}@${version}`, d);
    return d;
  }

  /** Keeps d (its zip's first holder) for the next requests of its version, within KEEP_ENTRIES and KEEP_BYTES. */
  private keep(key: string, d: Download): void {
    this.kept.get(key)?.download.zip.release();
    this.kept.delete(key);
    this.kept.set(key, { until: this.clock.now() + (this.opts.keepMs ?? 120_000), download: d });
    let bytes = 0;
    for (const k of this.kept.values()) bytes += k.download.zip.size;
    for (const [k, v] of this.kept) {
      if (this.kept.size <= KEEP_ENTRIES && bytes <= KEEP_BYTES) break;
      if (k === key) continue;
      this.kept.delete(k);
      bytes -= v.download.zip.size;
      v.download.zip.release();
    }
  }

  /** Lets go of kept downloads past their time at now (the map is in the order they were kept: their expiry's). */
  private letGoOfExpired(now = this.clock.now()): void {
    for (const [k, v] of this.kept) {
      if (v.until > now) break;
      this.kept.delete(k);
      v.download.zip.release();
    }
  }

  private async run(path: string, version: string, signal: AbortSignal): Promise<Download> {
    const what = `${path}@${version}`;
    return this.go(path, ['mod', 'download', '-json', what], signal, async (r) => {
      const j = parseJson(r.stdout);
      if (r.code !== 0 || errorText(j) !== '' || !j.Info || !j.GoMod || !j.Zip)
        throw classify(path, what, `${errorText(j)}\n${r.stderr}`, r.timedOut, this.opts.isPrivate(path));
      if (j.Version !== version)
        throw new OriginError(
          'not_found',
          `${what} does not exist at its origin ${hostOf(path)}: it resolves to ${String(j.Version)}`,
          hostOf(path),
        );
      const [modSize, zipSize] = await Promise.all([stat(j.GoMod), stat(j.Zip)]);
      if (modSize.size > MAX_GO_MOD || zipSize.size > MAX_ZIP_FILE)
        throw new OriginError(
          'bad_content',
          `godepot: ${what} from its origin is larger than the go command's limits`,
          hostOf(path),
        );
      const [info, mod] = await Promise.all([readFile(j.Info), readFile(j.GoMod)]);
      const blob = await this.opts.openFile(j.Zip);
      try {
        const zipH1 = (await verifyModuleZip(rangedSource(blob), { path, version }, { signal, yieldTurn })).h1;
        return { info, mod, zip: new HeldZip(blob), zipH1, modH1: hashGoMod(mod) };
      } catch (err) {
        await blob.close();
        if (!(err instanceof ZipError)) throw err;
        throw new OriginError(
          'bad_content',
          `godepot: the zip the go command made for ${what} breaks the module zip rules: ${err.message}`,
          hostOf(path),
        );
      }
    });
  }

  private moved(
    path: string,
    version: string,
    recorded: { zip: string; mod: string; recorded: string },
    d: Download,
  ): OriginError {
    const e: TagMovedEvent = {
      module: path,
      version,
      recordedZip: recorded.zip,
      currentZip: d.zipH1,
      recordedMod: recorded.mod,
      currentMod: d.modH1,
    };
    this.opts.onTagMoved?.(e);
    this.opts.log.fatal(
      { ...e, recordedAt: recorded.recorded, alert: 'private_tag_moved' },
      'SECURITY: a private module version changed at its origin (a moved tag); refused, the recorded bytes keep being served',
    );
    const which =
      recorded.zip !== d.zipH1
        ? `the ledger recorded ${recorded.zip} on ${recorded.recorded}, the origin now has ${d.zipH1}`
        : `its go.mod: the ledger recorded ${recorded.mod}, the origin now has ${d.modH1}`;
    return new OriginError(
      'moved',
      `godepot: ${path}@${version} changed at its origin ${hostOf(path)} (was the tag moved?): ${which}; refused — tags of released versions must not move, tag a new version instead`,
      hostOf(path),
      { recorded: recorded.zip, current: d.zipH1 },
    );
  }
}
