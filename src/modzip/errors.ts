// Limits and the error type of module zips (golang.org/x/mod/zip).

/** Largest module zip, and largest total uncompressed content: 500 MiB. */
export const MAX_ZIP_FILE = 500 << 20;
/** Largest root go.mod inside a module zip: 16 MiB. */
export const MAX_GO_MOD = 16 << 20;
/** Largest root LICENSE inside a module zip: 16 MiB. */
export const MAX_LICENSE = 16 << 20;

/** One file that is invalid or left out, with Go's reason text. */
export interface FileProblem {
  path: string;
  reason: string;
}

/**
 * A module zip (or a set of files meant for one) breaks the module zip
 * rules, or the zip itself is malformed. `file` names the entry or path at
 * fault when there is one; `reason` is Go's text for the problem. The
 * message is Go's FileError form `<file>: <reason>`, or just the reason.
 */
export class ZipError extends Error {
  override readonly name = 'ZipError';
  readonly file?: string;
  readonly reason: string;

  constructor(reason: string, file?: string, options?: { cause?: unknown; message?: string }) {
    super(options?.message ?? (file === undefined ? reason : `${file}: ${reason}`), { cause: options?.cause });
    this.reason = reason;
    if (file !== undefined) this.file = file;
  }
}

/** An entry inflates past its declared size (a zip bomb, or a lying header): no second read can change that. */
export class OversizeError extends ZipError {
  constructor(file: string, declared: number) {
    super(`uncompressed size of file ${file} is larger than declared size (${declared} bytes)`, file);
  }
}
