// The private checksum ledger: what sum.golang.org is for public modules,
// kept by godepot for private ones. The first time any godepot process or
// node fetches a private module version it records the h1: hashes of its zip
// and go.mod; a later fetch with other hashes (a tag moved to other code) is
// refused. Each version's record is one small object in godepot's storage —
// the data folder, or the object store every node shares — under
// ledger/modules/<escaped path>/@v/<escaped version>.json, apart from the
// artifact cache (deleting mod/ does not forget it). A record is written with
// create, which writes only where no record is: of concurrent first fetches
// (two workers, two nodes) exactly one record is written, every one of them
// compares with that one, and no record is ever rewritten.
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { escapePath, escapeVersion } from '../module/index.js';
import { Limiter } from '../util/limiter.js';
import type { Storage } from '../storage/index.js';

export interface LedgerEntry {
  readonly module: string;
  readonly version: string;
  /** h1: of the module zip. */
  readonly zip: string;
  /** h1: of the go.mod file. */
  readonly mod: string;
  /** When it was recorded (RFC 3339). */
  readonly recorded: string;
}

export type LedgerCheck =
  | { readonly kind: 'recorded' }
  | { readonly kind: 'match' }
  | { readonly kind: 'moved'; readonly recorded: LedgerEntry };

const PREFIX = 'ledger/modules/';

/** The ledger before 2026-12-06: one append-only file of JSON lines in the data folder (imported at open). */
export function legacyLedgerFile(dataDir: string): string {
  return join(dataDir, 'ledger', 'private.jsonl');
}

/** The first record of each version in a ledger file of the old layout (none when there is no file). */
async function readLegacy(file: string, skipped?: (lines: number[]) => void): Promise<LedgerEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const seen = new Set<string>();
  const out: LedgerEntry[] = [];
  const bad: number[] = [];
  text.split('\n').forEach((line, i) => {
    const e = parseEntry(line);
    if (!e) {
      if (line.trim() !== '') bad.push(i + 1);
      return;
    }
    if (seen.has(ledgerKey(e.module, e.version))) return;
    seen.add(ledgerKey(e.module, e.version));
    out.push(e);
  });
  if (bad.length > 0) skipped?.(bad);
  return out;
}

/** The records of dataDir's ledger file of the old layout that are not among recorded (read, not imported). */
export async function legacyEntries(dataDir: string, recorded: readonly LedgerEntry[]): Promise<LedgerEntry[]> {
  const have = new Set(recorded.map((e) => ledgerKey(e.module, e.version)));
  return (await readLegacy(legacyLedgerFile(dataDir))).filter((e) => !have.has(ledgerKey(e.module, e.version)));
}

export function ledgerKey(module: string, version: string): string {
  return `${PREFIX}${escapePath(module)}/@v/${escapeVersion(version)}.json`;
}

function parseEntry(text: string): LedgerEntry | null {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    const { module, version, zip, mod, recorded } = v;
    if (
      typeof module !== 'string' ||
      typeof version !== 'string' ||
      typeof zip !== 'string' ||
      typeof mod !== 'string' ||
      typeof recorded !== 'string'
    )
      return null;
    return { module, version, zip, mod, recorded };
  } catch {
    return null;
  }
}

function encode(e: LedgerEntry): Buffer {
  return Buffer.from(JSON.stringify(e) + '\n');
}

/** Records kept in memory at most (~300 bytes each): beyond that the oldest seen is read from storage again. */
const MAX_KNOWN = 10_000;

export class PrivateLedger {
  /** Records read or written: a record never changes, so what was seen once is kept (the last MAX_KNOWN). */
  private readonly known = new Map<string, LedgerEntry>();

  private constructor(private readonly storage: Storage) {}

  /**
   * The ledger in storage. With dataDir, a ledger file of the old layout
   * there is imported first (its first record of each version; a version
   * already recorded in storage keeps that record) and then renamed
   * private.jsonl.imported (private.jsonl.imported-<time> if that is taken).
   */
  static async open(
    storage: Storage,
    dataDir?: string,
    warn?: (fields: object, msg: string) => void,
  ): Promise<PrivateLedger> {
    const l = new PrivateLedger(storage);
    if (dataDir !== undefined) await l.importLegacy(legacyLedgerFile(dataDir), warn);
    return l;
  }

  private async importLegacy(file: string, warn?: (fields: object, msg: string) => void): Promise<void> {
    // A file imported before is kept: an older godepot run on this folder in between (a downgrade, then the
    // upgrade again) starts a new private.jsonl, and renaming that onto the first would lose the first.
    const kept = (await stat(`${file}.imported`).catch(() => null))
      ? `${file}.imported-${new Date().toISOString().replace(/[:.]/g, '-')}`
      : `${file}.imported`;
    // A line that does not read (torn by a crash while it was appended, or damaged) records nothing: its version
    // is recorded afresh at its next fetch. Said, with the lines, so that one in the middle is looked at.
    const skipped = (lines: number[]): void =>
      warn?.(
        { file, lines: lines.slice(0, 100) },
        `lines of the old private ledger file do not read and were not imported: those versions are recorded afresh at their next fetch (the file is kept as ${kept})`,
      );
    for (const e of await readLegacy(file, skipped))
      await this.storage.create(ledgerKey(e.module, e.version), encode(e), {
        mtimeMs: Date.parse(e.recorded) || undefined,
      });
    // Every worker imports at its start: the first to finish renames the file, the others find it gone.
    await rename(file, kept).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /**
   * Whether the storage keeps a record from being rewritten: false for an
   * object store that ignores conditional writes (If-None-Match), where two
   * nodes recording one version at once could both write it.
   */
  async createHolds(): Promise<boolean> {
    const key = `ledger/probe/${randomBytes(8).toString('hex')}`;
    try {
      await this.storage.create(key, Buffer.from('1'));
      const second = await this.storage.create(key, Buffer.from('2'));
      // An object store that refused the conditional write (S3Storage looked first instead) holds no better.
      return !second && (this.storage as { conditionalWrites?: boolean }).conditionalWrites !== false;
    } finally {
      await this.storage.delete(key).catch(() => undefined);
    }
  }

  /** Every recorded version, oldest record first; a record that does not read is given to damaged (else thrown). */
  async list(damaged?: (key: string, why: string) => void): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    const keys = (await this.storage.list(PREFIX)).filter((key) => key.endsWith('.json'));
    // Sixteen reads at a time: one after the other, a ledger of thousands of versions took as many round trips in
    // a row (seconds on a disk, minutes on an object store) for `godepot private ls` and `verify`.
    const reads = new Limiter(16, keys.length);
    const read = await Promise.all(
      keys.map((key) =>
        reads.run(() =>
          this.read(key).then(
            (e) => ({ key, e }),
            (err: unknown) => ({ key, err }),
          ),
        ),
      ),
    );
    for (const r of read) {
      if ('e' in r) out.push(r.e);
      else if (!damaged) throw r.err;
      else damaged(r.key, (r.err as Error).message);
    }
    return out.sort((a, b) => a.recorded.localeCompare(b.recorded) || a.module.localeCompare(b.module));
  }

  async get(module: string, version: string): Promise<LedgerEntry | undefined> {
    const key = ledgerKey(module, version);
    if (this.known.has(key)) return this.known.get(key);
    return (await this.storage.stat(key)) ? this.read(key) : undefined;
  }

  /** Compares hashes with the record; records them when the version is new. */
  async check(module: string, version: string, zip: string, mod: string, now = new Date()): Promise<LedgerCheck> {
    const key = ledgerKey(module, version);
    let had = await this.get(module, version);
    if (!had) {
      const entry: LedgerEntry = { module, version, zip, mod, recorded: now.toISOString() };
      if (await this.storage.create(key, encode(entry), { mtimeMs: now.getTime() })) {
        this.remember(key, entry);
        return { kind: 'recorded' };
      }
      // Another process or node recorded it first: its record is the record.
      had = await this.read(key);
    }
    return had.zip === zip && had.mod === mod ? { kind: 'match' } : { kind: 'moved', recorded: had };
  }

  /** A stored record; one that does not parse is an error, never "not recorded" (that would let it be replaced). */
  private async read(key: string): Promise<LedgerEntry> {
    const known = this.known.get(key);
    if (known) return known;
    const bytes = await this.storage.get(key);
    const e = bytes ? parseEntry(bytes.toString('utf8')) : null;
    if (!e || ledgerKey(e.module, e.version) !== key)
      throw new Error(
        `the private ledger's record ${key} is ${bytes ? 'damaged' : 'missing'}; remove it (godepot then records the version afresh at its next fetch) or restore it from a backup`,
      );
    this.remember(key, e);
    return e;
  }

  private remember(key: string, e: LedgerEntry): void {
    if (this.known.size >= MAX_KNOWN) {
      const oldest = this.known.keys().next();
      if (oldest.done !== true) this.known.delete(oldest.value);
    }
    this.known.set(key, e);
  }

  /** Records held in memory now (for tests). */
  get held(): number {
    return this.known.size;
  }
}
