// Typed errors of golang.org/x/mod/module. Each carries the data Go's error
// struct carries and, by default, Go's Error() text; a few call sites (the
// unescape functions, module.Check) produce a plain Go error whose text
// differs, and pass that text as `message`.
import { goQuote } from './goquote.js';

export type PathKind = 'module' | 'import' | 'file';

/** A module, import or file path that breaks the naming rules (module.InvalidPathError). */
export class InvalidPathError extends Error {
  override readonly name = 'InvalidPathError';

  /**
   * @param reason why, without the path, e.g. 'missing dot in first path element'
   * @param message overrides the default `malformed <kind> path "<path>": <reason>`
   */
  constructor(
    readonly kind: PathKind,
    readonly path: string,
    readonly reason: string,
    message?: string,
  ) {
    super(message ?? `malformed ${kind} path ${goQuote(path)}: ${reason}`);
  }
}

/** A version that is invalid, on its own or for its module path (module.InvalidVersionError). */
export class InvalidVersionError extends Error {
  override readonly name = 'InvalidVersionError';

  /**
   * @param pseudo whether the version is (meant as) a pseudo-version; only changes the noun
   * @param message overrides the default `<noun> "<version>" invalid: <reason>`
   */
  constructor(
    readonly version: string,
    readonly pseudo: boolean,
    readonly reason: string,
    message?: string,
  ) {
    super(message ?? `${pseudo ? 'pseudo-version' : 'version'} ${goQuote(version)} invalid: ${reason}`);
  }

  /** 'version' or 'pseudo-version'. */
  get noun(): string {
    return this.pseudo ? 'pseudo-version' : 'version';
  }
}

/**
 * An error about one module (module.ModuleError). The message is Go's:
 * `<path>@<version>: invalid <noun>: <reason>` around an InvalidVersionError,
 * else `<path>@<version>: <cause>`, or `module <path>: <cause>` without a version.
 * `reason` is the text after that prefix; the wrapped error is `cause`.
 */
export class ModuleError extends Error {
  override readonly name = 'ModuleError';
  readonly reason: string;

  constructor(
    readonly path: string,
    readonly version: string,
    cause: Error,
    message?: string,
  ) {
    const reason = cause instanceof InvalidVersionError ? `invalid ${cause.noun}: ${cause.reason}` : cause.message;
    let text: string;
    if (cause instanceof InvalidVersionError) text = `${path}@${cause.version}: ${reason}`;
    else if (version !== '') text = `${path}@${version}: ${reason}`;
    else text = `module ${path}: ${reason}`;
    super(message ?? text, { cause });
    this.reason = reason;
  }
}
