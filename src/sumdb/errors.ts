// Errors of the checksum-database mirror; server/ maps them to statuses.

export type SumdbErrorKind =
  /** Malformed request (400). */
  | 'bad_request'
  /** The database has no such record or tile (404/410 upstream, or beyond the verified tree). */
  | 'not_found'
  /** godepot will not send this module path to a database (--nosumdb): 403. */
  | 'forbidden'
  /** No mirror could answer, or their answers did not verify (502/504). */
  | 'unavailable'
  /** A mirror's answer contradicts the verified history (502). */
  | 'inconsistent';

/**
 * The words of a failure to prove that a tree head extends the verified one (the tiles for it could not be
 * read): `godepot import` looks for them in its report to say which `export --since` gives those tiles.
 */
export const HEAD_UNCHECKED = 'cannot check the tree head';

export class SumdbError extends Error {
  constructor(
    readonly kind: SumdbErrorKind,
    message: string,
    /** Set when a mirror call timed out, so the client gets 504. */
    readonly timeout = false,
    /** Mirrors whose answers failed verification: asking the others may still succeed. */
    readonly suspects: ReadonlySet<string> = new Set(),
    /**
     * The database's sources failed to answer (not this process's storage or
     * coordination): another process asking now would fail the same way.
     */
    readonly fromSources = false,
  ) {
    super(message);
    this.name = 'SumdbError';
  }
}

/**
 * The database answered that it has no record of a module version (its
 * 404/410): not an outage. The go command refuses such a module, so does godepot.
 */
export class NotInLogError extends SumdbError {
  constructor(message: string) {
    super('not_found', message);
    this.name = 'NotInLogError';
  }
}
