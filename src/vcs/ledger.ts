// The private checksum ledger: what sum.golang.org is for public modules,
// kept locally for private ones. The first time godepot fetches a private
// module version it records the h1: hashes of its zip and go.mod; a later
// fetch with other hashes (a tag moved to other code) is refused. The ledger
// is one append-only file of JSON lines under <data>/ledger/, apart from the
// artifact cache, so deleting the cache does not forget what was recorded.
// Lines are only ever appended (O_APPEND, fsync); the first record of a
// version wins, so a torn last line or a concurrent append cannot rewrite
// history.
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

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

export function ledgerFile(dataDir: string): string {
  return join(dataDir, 'ledger', 'private.jsonl');
}

function keyOf(module: string, version: string): string {
  return `${module}@${version}`;
}

function parseLine(line: string): LedgerEntry | null {
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
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

export class PrivateLedger {
  private readonly entries = new Map<string, LedgerEntry>();
  private appending: Promise<void> = Promise.resolve();

  private constructor(readonly file: string) {}

  static async open(dataDir: string): Promise<PrivateLedger> {
    const l = new PrivateLedger(ledgerFile(dataDir));
    await l.reload();
    return l;
  }

  /** Reads the file again (another process sharing the data folder may have appended). */
  async reload(): Promise<void> {
    let text = '';
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) {
      const e = parseLine(line);
      if (e && !this.entries.has(keyOf(e.module, e.version))) this.entries.set(keyOf(e.module, e.version), e);
    }
  }

  /** Every recorded version, in the order recorded. */
  list(): LedgerEntry[] {
    return [...this.entries.values()];
  }

  get(module: string, version: string): LedgerEntry | undefined {
    return this.entries.get(keyOf(module, version));
  }

  /** Compares hashes with the record; records them when the version is new. */
  async check(module: string, version: string, zip: string, mod: string, now = new Date()): Promise<LedgerCheck> {
    if (!this.entries.has(keyOf(module, version))) await this.reload();
    const had = this.entries.get(keyOf(module, version));
    if (had) return had.zip === zip && had.mod === mod ? { kind: 'match' } : { kind: 'moved', recorded: had };
    const entry: LedgerEntry = { module, version, zip, mod, recorded: now.toISOString() };
    this.entries.set(keyOf(module, version), entry);
    const line = JSON.stringify(entry) + '\n';
    const append = this.appending.then(async () => {
      await mkdir(dirname(this.file), { recursive: true });
      const fh = await open(this.file, 'a+', 0o644);
      try {
        // A line torn by a crash would swallow this record: it starts on a line of its own.
        const { size } = await fh.stat();
        const last = Buffer.alloc(1);
        if (size > 0) await fh.read(last, 0, 1, size - 1);
        await fh.appendFile(size > 0 && last[0] !== 0x0a ? '\n' + line : line);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    this.appending = append.catch(() => undefined);
    try {
      await append;
    } catch (err) {
      // Not recorded: the next fetch records it (a version that only seems recorded would never be pinned).
      if (this.entries.get(keyOf(module, version)) === entry) this.entries.delete(keyOf(module, version));
      throw err;
    }
    // Another process sharing the folder (a worker fetching the version's other artifact) may have appended
    // its own first record meanwhile: the first line in the file is the record, for both and after a restart.
    const first = (await this.firstInFile(keyOf(module, version))) ?? entry;
    this.entries.set(keyOf(module, version), first);
    if (first.zip !== zip || first.mod !== mod) return { kind: 'moved', recorded: first };
    return first.recorded === entry.recorded ? { kind: 'recorded' } : { kind: 'match' };
  }

  /** The first record of key in the file. */
  private async firstInFile(key: string): Promise<LedgerEntry | undefined> {
    for (const line of (await readFile(this.file, 'utf8')).split('\n')) {
      const e = parseLine(line);
      if (e && keyOf(e.module, e.version) === key) return e;
    }
    return undefined;
  }
}
