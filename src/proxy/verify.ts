// Checking fetched modules against the checksum database (DESIGN invariant 3),
// and the per-module policy for when the database cannot be reached.
import { matchPrefixPatterns } from '../module/index.js';

/** What to do when the checksum database cannot vouch for a module. */
export type VerifyMode = 'strict' | 'fallback' | 'quorum';

/** The go.sum hashes a checksum database holds for one module version. */
export interface GoSumHashes {
  /** h1: of the module zip, if the record has it. */
  readonly zip?: string;
  /** h1: of the go.mod file, if the record has it. */
  readonly mod?: string;
}

/**
 * What the database's sources said when they did not vouch for a module, if
 * they answered at all: 'not_in_log', it has no record (its 404/410);
 * 'inconsistent', what they served contradicts the verified tree (a fork, or
 * a record the tree does not prove). Neither is an outage. 'undecidable':
 * whether a fork was recorded cannot be told now (its evidence could not be
 * read), so no policy may fall back either.
 */
export type DatabaseAnswer = 'not_in_log' | 'inconsistent' | 'undecidable';

/** What forked() says: a fork not cleared ('inconsistent'), or no telling whether there is one ('undecidable'). */
export interface KnownFork {
  readonly text: string;
  readonly answer: Extract<DatabaseAnswer, 'inconsistent' | 'undecidable'>;
}

/** The database could not vouch for a module: unreachable, not in the log, or its answer did not verify. */
export class ChecksumUnavailableError extends Error {
  constructor(
    readonly database: string,
    readonly reason: string,
    /** Set when the sources answered and the answer refuses the module; unset when they failed (an outage). */
    readonly answer?: DatabaseAnswer,
  ) {
    // The mirror's own messages already name the database; say it once.
    const prefix = `checksum database ${database}: `;
    super(reason.startsWith(prefix) ? reason : prefix + reason);
    this.name = 'ChecksumUnavailableError';
  }
}

/** Where module hashes come from: godepot's own verifying mirror of the primary database. */
export interface ChecksumSource {
  readonly name: string;
  /** Hashes for path@version, proven to be in the database's verified tree. Throws ChecksumUnavailableError. */
  lookup(path: string, version: string, signal?: AbortSignal): Promise<GoSumHashes>;
  /** The hashes of a record godepot holds for path@version and has proven, without asking the database; null if none. */
  held(path: string, version: string, signal?: AbortSignal): Promise<GoSumHashes | null>;
  /**
   * A fork of the database that is not cleared (in words), or null; answer
   * 'undecidable' when whether there is one cannot be told now (its recorded
   * evidence could not be read): nothing is served on an upstream's word
   * alone meanwhile either.
   */
  forked(): Promise<KnownFork | null>;
}

export type Policy = 'skip' | VerifyMode;

export interface PolicySettings {
  readonly nosumdb: string;
  readonly verify: {
    readonly mode: VerifyMode;
    readonly rules: ReadonlyArray<{ readonly pattern: string; readonly mode: VerifyMode }>;
  };
}

/** 'skip' for modules never looked up (private, --nosumdb); otherwise the first matching rule's mode, else the default. */
export function policyFor(path: string, s: PolicySettings, hasDatabase: boolean): Policy {
  if (!hasDatabase) return 'skip';
  if (s.nosumdb !== '' && matchPrefixPatterns(s.nosumdb, path)) return 'skip';
  for (const r of s.verify.rules) if (matchPrefixPatterns(r.pattern, path)) return r.mode;
  return s.verify.mode;
}

/**
 * The h1: hashes a database record gives path@version, read as the go command
 * reads them (PROTOCOL.md §2.1): the first line that starts "path version h1:"
 * decides, its whole rest being the hash (a line with more after the hash then
 * mismatches rather than being skipped); lines of other hash kinds are ignored.
 */
export function hashesFromRecord(recordText: string, path: string, version: string): GoSumHashes {
  const zipLine = `${path} ${version} `;
  const modLine = `${path} ${version}/go.mod `;
  let zip: string | undefined;
  let mod: string | undefined;
  for (const line of recordText.split('\n')) {
    if (zip === undefined && line.startsWith(zipLine + 'h1:')) zip = line.slice(zipLine.length);
    else if (mod === undefined && line.startsWith(modLine + 'h1:')) mod = line.slice(modLine.length);
  }
  return { ...(zip === undefined ? {} : { zip }), ...(mod === undefined ? {} : { mod }) };
}
