// The verified tree head of one checksum database and the rule that it only
// grows (DESIGN invariant 4): a new signed tree head is accepted only with a
// valid signature and a proof, from tiles, that it extends the verified one.
// Anything else is a fork: refused, logged with both heads, counted, and
// remembered (persisted) for /readyz.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { MalformedNoteError, openNote, type Verifiers } from './note/index.js';
import {
  findFork,
  formatSecurityError,
  hashEqual,
  hashToString,
  InconsistentTileError,
  parseTree,
  tileHashReader,
  type ForkProof,
  type HashReader,
  type Tree,
} from './tlog/index.js';
import { CLOCK_SKEW_MS, passed, systemClock, type Clock } from '../util/clock.js';
import { HEAD_UNCHECKED, SumdbError } from './errors.js';
import { provenHashes } from './proven.js';
import type { SumdbRemote } from './remote.js';
import type { SumdbStore } from './store.js';
import { CandidateTileReader, VerifiedTileReader } from './tiles.js';

export interface VerifiedHead {
  readonly tree: Tree;
  readonly note: Buffer;
  /** When a mirror last confirmed this head (ms since epoch). */
  checkedAt: number;
}

export interface ForkEvidence {
  readonly detectedAt: string;
  readonly from: string;
  readonly verifiedSize: number;
  readonly conflictingSize: number;
  /** The go command's SECURITY ERROR text for this pair of heads. */
  readonly report: string;
  /** Not evidence: whether a fork was recorded could not be told (its record could not be read now). */
  readonly unknown?: true;
}

/**
 * Recorded fork evidence. Evidence that does not read (damaged, edited by
 * hand) is still a fork: only an operator clears one (README, Operations),
 * never a broken file.
 */
function readEvidence(text: string, where: string): ForkEvidence {
  try {
    const v = JSON.parse(text) as Partial<ForkEvidence> | null;
    if (
      v &&
      typeof v.detectedAt === 'string' &&
      typeof v.from === 'string' &&
      typeof v.verifiedSize === 'number' &&
      typeof v.conflictingSize === 'number' &&
      typeof v.report === 'string'
    )
      return v as ForkEvidence;
  } catch {
    // below
  }
  return noEvidence(
    `${where} does not read; it still says a fork was refused`,
    `${where} is damaged; the fork it records stands until an operator clears it`,
  );
}

/** What stands for fork evidence whose record could not be used: why, and no sizes or source known. */
function noEvidence(why: string, report: string, unknown?: true): ForkEvidence {
  return {
    detectedAt: 'an unknown time',
    from: `a source unknown (${why})`,
    verifiedSize: 0,
    conflictingSize: 0,
    report,
    ...(unknown ? { unknown } : {}),
  };
}

export interface TreeEvents {
  /** at: when the head was taken (a head loaded from storage: when it was stored); absent: now. */
  advanced?(name: string, size: number, at?: number): void;
  fork?(name: string, evidence: ForkEvidence): void;
}

/**
 * What the nodes of a cluster share about a database's tree (coord/ has the
 * implementations): the verified head, advanced only by compare-and-set
 * after this node's own proof, and the heads any node refused as forks.
 */
export interface SharedTreeHead {
  head(db: string): Promise<Buffer | null>;
  compareAndSetHead(db: string, expected: Buffer | null, next: Buffer): Promise<boolean>;
  recordFork(db: string, head: string, evidence: string): Promise<void>;
  isRefused(db: string, head: string): Promise<boolean>;
  fork(db: string): Promise<string | null>;
}

/**
 * The head a merge proved against moved before the merge could adopt: a
 * head another process stored was adopted meanwhile (adoptPersisted), or
 * another node advanced the shared head between our read and our
 * compare-and-set. The merge starts over from the head held now.
 */
class HeadMoved extends Error {}

const MERGE_ATTEMPTS = 3;
const FORK_SYNC_MS = 5_000;
/** How often status looks for a newer head another process stored (catchUp). */
const HEAD_SYNC_MS = 5_000;

/**
 * The head only moves forward: it is replaced only by the head of a larger
 * tree that extends it (the same head again only renews checkedAt), so a
 * prefix of the head read at any moment is a prefix of every later one, and
 * a tree that does not extend it extends none of them.
 *
 * Two paths move it. merge() proves a source's head on the network; merges
 * run one at a time (`lock`). adoptPersisted() takes a larger head from
 * storage, which the process that stored it verified (its signature is
 * re-checked, as load() does, and it is proven to extend the head held
 * through the stored tiles), with no network: it takes no lock, so a
 * lookup that needs it never waits behind a merge fetching tiles from a
 * database that hangs. A merge therefore proves against the head it read
 * (`cur`) and adopts only if that is still the head, checked and set with
 * no await in between; if it moved, the merge starts over against the new
 * one (HeadMoved). Its other findings hold for any later head, by the rule
 * above: a fork of cur is a fork of it, a prefix of cur a prefix of it.
 */
export class TreeState {
  head: VerifiedHead | null = null;
  fork: ForkEvidence | null = null;
  /** Set by the composition root when several nodes share this tree (null: this process alone). */
  shared: SharedTreeHead | null = null;
  /**
   * The cluster's head as last seen, when it does not verify under this
   * node's key: a node sharing the coordination checks this database with
   * another key (a configuration mistake). Null once it verifies again.
   */
  foreign: { readonly reason: string; readonly note: Buffer } | null = null;
  private forkSyncedAt = 0;
  /** Heads that did not verify, already reported (by source), so a source repeating one is logged once. */
  private readonly badHeads = new Set<string>();
  /** The last tree head a source sent that did not verify under the configured key (at: this state's clock). */
  lastBadHead: { readonly from: string; readonly why: string; readonly at: number } | null = null;
  /** What knownFork says meanwhile when the stored evidence could not be read at its last look. */
  private forkUnknown: ForkEvidence | null = null;
  /** When knownFork last looked beyond this process. */
  private storedForkAt = -Infinity;
  /** When catchUp last looked for a head another process stored, and the look under way. */
  private storedHeadAt = -Infinity;
  private catching: Promise<void> | null = null;
  /** Conflicting heads already refused (and reported) by this process. */
  private readonly refused = new Set<string>();
  /** The merges, one at a time (each may wait on the network); adoptPersisted does not wait for them. */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly store: SumdbStore,
    private readonly remote: SumdbRemote,
    private readonly verifiers: Verifiers,
    private readonly log: Logger,
    private readonly events: TreeEvents,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Loads the persisted head (re-checking its signature) and any fork evidence. */
  async load(): Promise<void> {
    const blob = await this.store.storage.open(this.store.latestKey());
    if (blob) {
      try {
        const note = await blob.read();
        const tree = parseTree(openNote(note, this.verifiers).text);
        // Dated far ahead of this clock (another writer's clock, an object's metadata), its age would stay
        // negative, the head never refreshed until that date (and a date beyond ±8.64e15 ms made status()
        // throw): storedAt.
        const at = this.storedAt(blob.mtimeMs);
        this.head = { tree, note, checkedAt: at ?? 0 };
        this.events.advanced?.(this.name, tree.n, at);
      } catch (err) {
        this.log.error(
          { db: this.name, err: (err as Error).message },
          'the stored tree head cannot be used (damaged, or not signed with the configured key: see err); starting from an empty tree: the next head a source sends is taken on its signature alone, and nothing stored answers a lookup until then',
        );
      } finally {
        await blob.close();
      }
    }
    this.fork = await this.storedFork();
  }

  /** The fork evidence this or another process sharing the storage recorded; null if none. */
  private async storedFork(): Promise<ForkEvidence | null> {
    const f = await this.store.storage.get(this.store.inconsistentKey());
    return f ? readEvidence(f.toString('utf8'), `the stored ${this.store.inconsistentKey()}`) : null;
  }

  /**
   * Adopts a newer head that another process sharing the data folder (a
   * worker, `godepot warm` or `import`) verified and persisted, trusting the
   * folder as load() does (the signature is re-checked). Needed before
   * serving a record that process stored: its id may lie beyond our head.
   * Storage only, no lock: it never waits behind a merge (see the class).
   */
  async adoptPersisted(): Promise<VerifiedHead | null> {
    const stored = await this.storedHead();
    if (!stored || (this.head && stored.tree.n <= this.head.tree.n)) {
      // Storage holds an older head than the one verified here: another node's slow write of it landed over
      // ours (neither can see that happen). The stored head never moves back, so ours is written again (a
      // no-op when our own write is still on its way: it reads what is stored first).
      if (stored && this.head && stored.tree.n < this.head.tree.n)
        this.store.keepLatest(this.head.note, this.head.tree.n);
      return this.head;
    }
    const { note, tree } = stored;
    // Checked when it was stored (as load() dates it), not now; a date ahead of this clock is no date.
    // (Its time is read apart from its bytes, a whole read: another writer may replace it in between.)
    const mtimeMs = (await this.store.storage.stat(this.store.latestKey()).catch(() => null))?.mtimeMs;
    // Again after that read: a merge may have moved the head meanwhile, and it never moves back.
    if (this.head && tree.n <= this.head.tree.n) return this.head;
    // Signed is not enough: it must extend the head held (another process may have taken another history at its
    // first contact, or started over a damaged head). Proven through the stored tiles, asking no source; until
    // they prove it (its tiles land after it), it is not adopted. A proven fork is refused as merge() refuses one.
    const cur = this.head;
    if (cur && cur.tree.n > 0) {
      if (this.refused.has(headKey(tree))) return cur;
      const from = 'the tree head another godepot process stored';
      const proof = await findFork(cur.tree, tree, tileHashReader(tree, this.verifiedReader(false))).catch(
        () => undefined,
      );
      if (proof) await this.refuse(cur, tree, note, proof, from, true);
      if (proof !== null || this.head !== cur) return this.head;
    }
    const at = mtimeMs === undefined ? undefined : this.storedAt(mtimeMs);
    this.head = { tree, note, checkedAt: at ?? 0 };
    this.events.advanced?.(this.name, tree.n, at);
    return this.head;
  }

  /**
   * For status (/readyz, /api/sumdb): adopts the newer head another process
   * sharing the storage verified (adoptPersisted), at most every
   * HEAD_SYNC_MS, so every worker and node shows the tree they share, not
   * the one its own last lookup left it with.
   */
  async catchUp(): Promise<void> {
    // A status asked while a catch-up runs answers after it, with what it found.
    if (this.catching) return this.catching;
    const now = this.clock.now();
    if (!passed(this.storedHeadAt, HEAD_SYNC_MS, now)) return;
    this.storedHeadAt = now;
    this.catching = this.adoptPersisted()
      .then(() => undefined)
      .finally(() => (this.catching = null));
    return this.catching;
  }

  /**
   * When a stored head was checked: its write time, on another writer's clock
   * (a worker's, another node's, an object's metadata), so up to a minute
   * ahead of this one is taken as now; beyond that, or at or before 1970, it
   * is no date (undefined: due for a refresh at once).
   */
  private storedAt(mtimeMs: number): number | undefined {
    const now = this.clock.now();
    return mtimeMs > 0 && mtimeMs <= now + CLOCK_SKEW_MS ? Math.min(mtimeMs, now) : undefined;
  }

  /** A reader of the verified tree's tiles, fetching what storage lacks through `remote` (default: every mirror). */
  verifiedReader(network: boolean, signal?: AbortSignal, remote: SumdbRemote = this.remote): VerifiedTileReader {
    return new VerifiedTileReader(this.store, remote, {
      network,
      ...(signal ? { signal } : {}),
      replaced: (tiles) =>
        this.log.warn(
          { db: this.name, tiles },
          'stored checksum-database hash tiles no longer proved the verified tree (disk damage, or changed by hand): replaced by copies from the sources, verified against it',
        ),
    });
  }

  /** Opens a signed note with the database key; throws SumdbError('unavailable') when it does not verify. */
  openHead(noteBytes: Buffer, from: string): Tree {
    // Every lookup answer carries the current head: the very bytes verified when it was adopted need no
    // second check of the signature (~110 µs each, twice per lookup).
    const cur = this.head;
    if (cur?.note.equals(noteBytes)) return cur.tree;
    const checked = checkedTree(noteBytes, this.verifiers);
    if (!(checked instanceof Error)) return checked;
    // Not a signed note at all (a login page, another service's answer): a broken source, not a forgery and not a
    // sign of a wrong key. Refused all the same.
    if (checked instanceof MalformedNoteError)
      throw new SumdbError(
        'unavailable',
        `checksum database ${this.name}: ${from} sent something that is not a signed tree head (${checked.message}: ${JSON.stringify(noteBytes.subarray(0, 40).toString('utf8'))}${noteBytes.length > 40 ? '…' : ''}): that source is broken or is not ${this.name}; refused`,
      );
    this.reportBadHead(noteBytes, from, checked.message);
    throw new SumdbError(
      'unavailable',
      `checksum database ${this.name}: ${from} sent a tree head that does not verify: ${checked.message} (a forged head, or the wrong key for this database in --sumdb; refused — never turn verification off for it)`,
    );
  }

  /** A head that does not verify is a security event (forged, or a wrong key): logged once per head and source. */
  private reportBadHead(note: Buffer, from: string, why: string): void {
    this.lastBadHead = { from, why, at: this.clock.now() };
    const id = `${from} ${createHash('sha256').update(note).digest('base64')}`;
    if (this.badHeads.has(id)) return;
    if (this.badHeads.size >= 100) this.badHeads.clear();
    this.badHeads.add(id);
    this.log.error(
      { db: this.name, from, err: why, alert: 'sumdb_bad_signature' },
      `SECURITY: ${from} sent a tree head for ${this.name} that does not verify under the configured key: refused (forged, or the wrong key in --sumdb)`,
    );
  }

  /**
   * Merges a signed tree head seen from a mirror. Resolves with the verified
   * head afterwards (the new one if it extended the old). Throws SumdbError:
   * 'unavailable' when it cannot be checked now (with `suspects` when tiles
   * a mirror served do not match the signed head), 'inconsistent' for a fork.
   * Tiles are fetched through `remote` (default: every mirror).
   */
  merge(
    noteBytes: Buffer,
    from: string,
    signal?: AbortSignal,
    remote: SumdbRemote = this.remote,
  ): Promise<VerifiedHead> {
    const run = this.lock.then(() => this.mergeAttempts(noteBytes, from, signal, remote));
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Starts over (a few times) when the head a merge proved against moved before it could adopt (HeadMoved). */
  private async mergeAttempts(
    noteBytes: Buffer,
    from: string,
    signal: AbortSignal | undefined,
    remote: SumdbRemote,
  ): Promise<VerifiedHead> {
    for (let attempt = 0; attempt < MERGE_ATTEMPTS; attempt++) {
      try {
        return this.shared
          ? await this.mergeShared(this.shared, noteBytes, from, signal, remote)
          : await this.mergeLocked(noteBytes, from, signal, remote);
      } catch (err) {
        if (!(err instanceof HeadMoved)) throw err;
      }
    }
    throw new SumdbError(
      'unavailable',
      this.shared
        ? `checksum database ${this.name}: the tree head from ${from} could not be published to the cluster (other nodes or processes kept moving the verified head, or the coordination did not answer); try again`
        : `checksum database ${this.name}: the tree head from ${from} could not be adopted (other godepot processes sharing the storage kept moving the verified head meanwhile); try again`,
    );
  }

  /**
   * With a shared tree: first proves the heads other nodes verified against
   * ours (a node never accepts a head that does not extend one another node
   * verified), then merges the new one and publishes it by compare-and-set;
   * when another node moved the shared head meanwhile, throws HeadMoved (the
   * merge starts over).
   *
   * The head in shared storage is the durable one: the coordinator's may be
   * lost (a Redis restarted without persistence, flushed, or failed over to a
   * replica behind), so it is merged first, and a coordinator behind this
   * node's head is brought up to it. A compare-and-set from a head the
   * coordinator lost meanwhile fails (HeadMoved), so the stored head, which
   * another node may have moved just before, is read again. A node never
   * publishes a head smaller than, or not extending, the stored one, and the
   * shared head never moves back.
   */
  private async mergeShared(
    shared: SharedTreeHead,
    noteBytes: Buffer,
    from: string,
    signal: AbortSignal | undefined,
    remote: SumdbRemote,
  ): Promise<VerifiedHead> {
    const cur = this.head;
    const tree = this.openHead(noteBytes, from);
    if (cur && cur.tree.n > 0 && tree.n === cur.tree.n && hashEqual(tree.hash, cur.tree.hash)) {
      cur.checkedAt = this.clock.now();
      await this.syncFork(shared);
      return cur;
    }
    let clusterHead = await shared.head(this.name);
    // Another log's head (another key) proves nothing about ours: it is published over, and said.
    const foreign = clusterHead !== null && !this.head?.note.equals(clusterHead) && this.sawForeign(clusterHead);
    if (!foreign) this.foreign = null;
    // Their tiles may come from any mirror (not only the one that sent the new head).
    const stored = (await this.storedHead())?.note;
    if (stored && !this.head?.note.equals(stored))
      await this.mergeLocked(stored, 'the tree head in shared storage', signal, this.remote);
    if (clusterHead && !foreign && !this.head?.note.equals(clusterHead))
      await this.mergeLocked(clusterHead, 'the head another godepot node verified', signal, this.remote);
    // Our head now extends the cluster's (or the cluster's is foreign); it only grows from here (see the class),
    // so a head proven against it later extends the one published here too.
    const ours = this.head;
    if (ours && (!clusterHead || foreign || this.openHead(clusterHead, 'the coordinator').n < ours.tree.n)) {
      if (!(await shared.compareAndSetHead(this.name, clusterHead, ours.note))) throw new HeadMoved();
      clusterHead = ours.note;
    }
    return this.mergeLocked(noteBytes, from, signal, remote, clusterHead);
  }

  /**
   * Whether note, the cluster's head, fails to verify under this node's key;
   * if so it is remembered for /readyz and logged (once per head).
   */
  private sawForeign(note: Buffer): boolean {
    const checked = checkedTree(note, this.verifiers);
    if (!(checked instanceof Error)) return false;
    const reason = checked.message;
    if (!this.foreign?.note.equals(note))
      this.log.error(
        { db: this.name, err: reason },
        `the cluster's tree head for ${this.name} does not verify under this node's key: a node sharing this Redis and store checks ${this.name} with another key; give every node the same --sumdb (this node keeps its own verified head and publishes it over that one)`,
      );
    this.foreign = { reason, note };
    return true;
  }

  /** The head in storage, or null when there is none or it does not verify under the key (load() logged that). */
  private async storedHead(): Promise<{ readonly note: Buffer; readonly tree: Tree } | null> {
    const note = await this.store.storage.get(this.store.latestKey());
    const tree = note ? signedTree(note, this.verifiers) : null;
    return note && tree ? { note, tree } : null;
  }

  /**
   * With a shared tree, learns a fork another node recorded (syncFork); /readyz asks before it answers. Redis may
   * have lost its record (flushed, restarted empty, failed over to a replica behind): the one in shared storage
   * stands, as it does for a node started since (knownFork looks there at most every FORK_SYNC_MS).
   */
  async learnFork(): Promise<void> {
    if (!this.shared) return;
    await this.syncFork(this.shared, true);
    await this.knownFork();
  }

  /**
   * The fork refused here, by another worker or node (through the cluster),
   * or recorded in storage (shared by every process that shares it): looked
   * for at most every FORK_SYNC_MS.
   */
  async knownFork(): Promise<ForkEvidence | null> {
    if (this.fork) return this.fork;
    const now = this.clock.now();
    if (!passed(this.storedForkAt, FORK_SYNC_MS, now)) return this.forkUnknown;
    this.storedForkAt = now;
    if (this.shared) await this.syncFork(this.shared, true).catch(() => undefined);
    if (this.fork) return this.fork;
    try {
      this.fork = await this.storedFork();
      this.forkUnknown = null;
    } catch (err) {
      // Whether a fork is recorded cannot be told now: not "no fork" (that would let these calls serve on an
      // upstream's word alone); asked again after the usual pause.
      return (this.forkUnknown = noEvidence(
        `the stored fork evidence could not be read: ${(err as Error).message}`,
        'the stored fork evidence could not be read',
        true,
      ));
    }
    return this.fork;
  }

  /**
   * Learns a fork another node recorded: when merging, at most every few
   * seconds (always: each time, as /readyz does): /readyz shows it on every node.
   */
  private async syncFork(shared: SharedTreeHead, always = false): Promise<void> {
    const now = this.clock.now();
    if (this.fork || (!always && !passed(this.forkSyncedAt, FORK_SYNC_MS, now))) return;
    this.forkSyncedAt = now;
    const f = await shared.fork(this.name);
    if (f) this.fork = readEvidence(f, "the cluster's fork record");
  }

  /**
   * publishAfter: with a shared tree, the cluster's head this merge started
   * from (null: none yet); a new head is published by compare-and-set
   * against it. Undefined: not published (this process alone, or adopting
   * the cluster's own head).
   */
  private async mergeLocked(
    noteBytes: Buffer,
    from: string,
    signal: AbortSignal | undefined,
    remote: SumdbRemote,
    publishAfter?: Buffer | null,
  ): Promise<VerifiedHead> {
    const tree = this.openHead(noteBytes, from);
    // What this merge proves against; the head may move forward meanwhile (adoptPersisted: see the class).
    const cur = this.head;
    if (!cur || cur.tree.n === 0) return this.adopt(cur, tree, noteBytes, publishAfter);
    if (tree.n === cur.tree.n && hashEqual(tree.hash, cur.tree.hash)) {
      // The same tree again (every lookup answer carries the current head): nothing to prove, no tile to read.
      cur.checkedAt = this.clock.now();
      return cur;
    }
    const refusedHere = this.refused.has(headKey(tree));
    if (refusedHere || (await this.shared?.isRefused(this.name, headKey(tree)))) {
      if (!refusedHere && this.shared) {
        this.forkSyncedAt = 0;
        await this.syncFork(this.shared);
        this.log.error(
          { db: this.name, from, conflictingSize: tree.n, alert: 'sumdb_inconsistent_tree' },
          'refused a tree head that another godepot node proved inconsistent with the verified one',
        );
      }
      throw new SumdbError(
        'inconsistent',
        `godepot: checksum database ${this.name} (${from}) still serves the tree head of size ${tree.n} that was refused as inconsistent with the verified one`,
      );
    }
    if (tree.n <= cur.tree.n) {
      // An older head must be a prefix of ours (one of our size with another hash is a fork); checked through our
      // stored tiles, proven as every read of the verified tree is (a stored one that no longer fits is replaced
      // once the sources' copies prove it).
      const reader = this.verifiedReader(true, signal, remote);
      const hashes: HashReader = {
        readHashes: (indexes) =>
          provenHashes(this.name, cur, reader, [...indexes], `${HEAD_UNCHECKED} from ${from} against the verified one`),
      };
      const proof = await this.check(() => findFork(tree, cur.tree, hashes), from, reader.sources);
      if (proof) throw await this.refuse(cur, tree, noteBytes, proof, from, false);
      // A prefix of cur is a prefix of the head held now, which extends cur.
      return this.head ?? cur;
    }
    const candidate = new CandidateTileReader(remote, signal);
    const proof = await this.check(
      () => findFork(cur.tree, tree, tileHashReader(tree, candidate)),
      from,
      candidate.sources,
    );
    // Not extending cur, it extends no head that replaced cur either: a fork whatever the head is now.
    if (proof) throw await this.refuse(cur, tree, noteBytes, proof, from, true);
    return this.adopt(cur, tree, noteBytes, publishAfter, candidate);
  }

  private async check(
    f: () => Promise<ForkProof | null>,
    from: string,
    sources: ReadonlySet<string>,
  ): Promise<ForkProof | null> {
    try {
      return await f();
    } catch (err) {
      // provenHashes said what failed, and whom it suspects.
      if (err instanceof SumdbError) throw err;
      const bad = err instanceof InconsistentTileError;
      const why = bad
        ? `tiles from ${[...sources].join(', ') || 'storage'} do not match the signed tree head`
        : (err as Error).message;
      throw new SumdbError(
        'unavailable',
        `checksum database ${this.name}: ${HEAD_UNCHECKED} from ${from} against the verified one: ${why}`,
        false,
        bad ? sources : undefined,
      );
    }
  }

  /**
   * Adopts a head proven to extend `cur` (published first when publishAfter
   * is set), then keeps it and the candidate tiles that proved it. Throws
   * HeadMoved when cur is no longer the head: the proof says nothing about
   * the one that replaced it.
   */
  private async adopt(
    cur: VerifiedHead | null,
    tree: Tree,
    note: Buffer,
    publishAfter?: Buffer | null,
    candidate?: CandidateTileReader,
  ): Promise<VerifiedHead> {
    if (this.head !== cur) throw new HeadMoved();
    if (
      publishAfter !== undefined &&
      this.shared &&
      !(await this.shared.compareAndSetHead(this.name, publishAfter, note))
    )
      throw new HeadMoved();
    // Again after the compare-and-set, with no await from here to the assignment. (Published meanwhile, the new
    // head is proven against ours by the next attempt, as every head another node verified is.)
    if (this.head !== cur) throw new HeadMoved();
    // Not before: full tiles are never replaced, and a head the cluster did not take may be a fork of the one it has.
    this.store.keepLatest(note, tree.n);
    candidate?.commit(this.store);
    const head: VerifiedHead = { tree, note, checkedAt: this.clock.now() };
    this.head = head;
    this.events.advanced?.(this.name, tree.n);
    return head;
  }

  private async refuse(
    cur: VerifiedHead,
    tree: Tree,
    note: Buffer,
    proof: ForkProof,
    from: string,
    newerIsCandidate: boolean,
  ): Promise<SumdbError> {
    const error = new SumdbError(
      'inconsistent',
      `godepot: checksum database ${this.name} (${from}) served a tree head of size ${tree.n} that is inconsistent with the verified one of size ${cur.tree.n}; refused (see the godepot log for the evidence)`,
    );
    // One alert per conflicting head: mergeLocked refuses it at once, quietly, from now on. Another proof of it may
    // have ended meanwhile (adoptPersisted takes no lock: lookups at once, or beside a merge): that one reported it.
    if (this.refused.has(headKey(tree))) return error;
    this.refused.add(headKey(tree));
    const report = newerIsCandidate
      ? formatSecurityError(cur.note, note, proof)
      : formatSecurityError(note, cur.note, proof);
    const evidence: ForkEvidence = {
      detectedAt: new Date(this.clock.now()).toISOString(),
      from,
      verifiedSize: cur.tree.n,
      conflictingSize: tree.n,
      report,
    };
    this.fork = evidence;
    this.log.fatal(
      {
        db: this.name,
        from,
        verifiedSize: cur.tree.n,
        conflictingSize: tree.n,
        verifiedHead: cur.note.toString('utf8'),
        conflictingHead: note.toString('utf8'),
        report,
        alert: 'sumdb_inconsistent_tree',
      },
      'SECURITY: checksum database served a history that does not extend the verified one; refused, still serving the verified history',
    );
    this.events.fork?.(this.name, evidence);
    try {
      await this.shared?.recordFork(this.name, headKey(tree), JSON.stringify(evidence));
    } catch (err) {
      this.log.error({ db: this.name, err: (err as Error).message }, 'cannot share fork evidence with the other nodes');
    }
    try {
      await this.store.storage.put(this.store.inconsistentKey(), Buffer.from(JSON.stringify(evidence, null, 2)));
    } catch (err) {
      this.log.error({ db: this.name, err: (err as Error).message }, 'cannot persist fork evidence');
    }
    return error;
  }
}

function headKey(tree: Tree): string {
  return `${tree.n}:${hashToString(tree.hash)}`;
}

/** The tree a signed head names when it verifies under the database key, else null. */
export function signedTree(note: Buffer, verifiers: Verifiers): Tree | null {
  const t = checkedTree(note, verifiers);
  return t instanceof Error ? null : t;
}

/** The tree a signed head names, or why it does not verify under the database key. */
function checkedTree(note: Buffer, verifiers: Verifiers): Tree | Error {
  try {
    return parseTree(openNote(note, verifiers).text);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
