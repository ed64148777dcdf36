// The codes an error carries, wherever Node and its libraries put them: on
// the error, on its causes, or on each error of an AggregateError (undici's
// connect errors, happy eyeballs).

/** Error codes (and names) of err, its causes and an AggregateError's errors. */
export function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const o = e as { code?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
    if (typeof o.code === 'string') codes.push(o.code);
    if (typeof o.name === 'string') codes.push(o.name);
    if (Array.isArray(o.errors)) for (const inner of o.errors) codes.push(...codesOf(inner));
    e = o.cause;
  }
  return codes;
}

/**
 * Why a file a setting names cannot be read, in words ("no such file", not
 * Node's "ENOENT: no such file or directory, open '…'"); expected is what the
 * file should be ("a JSON file").
 */
export function unreadableFile(err: unknown, expected: string): string {
  switch ((err as { code?: unknown }).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return `a folder, not ${expected}`;
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (not readable by this user)';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
