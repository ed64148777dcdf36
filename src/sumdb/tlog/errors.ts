// Typed errors of the tlog package. Messages match golang.org/x/mod/sumdb/tlog
// where Go has a fixed text, so logs and client-facing errors read the same.

/** A hash string that is not standard base64 of exactly 32 bytes. */
export class MalformedHashError extends Error {
  constructor(readonly input: string) {
    super('malformed hash');
    this.name = 'MalformedHashError';
  }
}

/** A HashReader broke its contract (wrong count, or a hash of the wrong size). */
export class HashReaderError extends Error {
  constructor(
    readonly want: number,
    readonly got: number,
    message = `tlog: ReadHashes(${want} indexes) = ${got} hashes`,
  ) {
    super(message);
    this.name = 'HashReaderError';
  }
}

/** Arguments to a proof function that describe no valid proof (e.g. n >= t). */
export class InvalidInputsError extends Error {
  constructor(
    readonly operation: 'ProveRecord' | 'CheckRecord' | 'ProveTree' | 'CheckTree',
    readonly treeSize: number,
    readonly n: number,
  ) {
    super(`tlog: invalid inputs in ${operation}`);
    this.name = 'InvalidInputsError';
  }
}

/** A record or tree proof that does not prove what it claims. */
export class ProofError extends Error {
  constructor() {
    super('invalid transparency proof');
    this.name = 'ProofError';
  }
}

/** A tile path that ParseTilePath rejects (including non-canonical spellings). */
export class BadTilePathError extends Error {
  constructor(readonly path: string) {
    super(`malformed tile path ${goQuote(path)}`);
    this.name = 'BadTilePathError';
  }
}

/** A tile that cannot serve the requested hash, or tile data of the wrong size. */
export class TileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TileError';
  }
}

/**
 * Downloaded tiles that do not hash to the signed tree hash or to their parent
 * tile. At least one tile is wrong; which one cannot be known.
 */
export class InconsistentTileError extends Error {
  constructor(readonly treeSize: number) {
    super('downloaded inconsistent tile');
    this.name = 'InconsistentTileError';
  }
}

/** A stored-hash index at or beyond the end of the tree being read. */
export class IndexNotInTreeError extends Error {
  constructor(
    readonly index: number,
    readonly treeSize: number,
  ) {
    super('indexes not in tree');
    this.name = 'IndexNotInTreeError';
  }
}

/** A tree note text that ParseTree rejects. */
export class MalformedTreeError extends Error {
  constructor() {
    super('malformed tree note');
    this.name = 'MalformedTreeError';
  }
}

/** Record text or a lookup body that FormatRecord/ParseRecord reject. */
export class MalformedRecordError extends Error {
  constructor() {
    super('malformed record data');
    this.name = 'MalformedRecordError';
  }
}

/** A broken invariant inside tlog's index arithmetic (Go panics here). */
export class TlogInternalError extends Error {
  constructor(message: string) {
    super(`tlog: ${message}`);
    this.name = 'TlogInternalError';
  }
}

/** Go's %q for the printable-ASCII-or-UTF-8 strings that reach error messages. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}
