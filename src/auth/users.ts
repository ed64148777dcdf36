// The users file of --auth: who may read which modules. It holds only the
// SHA-256 of each token, never a token:
//
//   {"users": [{"name": "ci", "tokenSha256": "<64 hex digits>", "modules": ["*"]}]}
//
// `modules` are GOPRIVATE-style patterns (comma lists allowed in each entry);
// "*" allows every module. A file that does not parse is refused as a whole.
import { createHash, randomBytes } from 'node:crypto';
import { InvalidPatternError, patternList } from '../module/index.js';

export interface User {
  readonly name: string;
  /** SHA-256 of the token (32 bytes). */
  readonly tokenSha256: Buffer;
  /** GOPRIVATE-style patterns, comma-joined. */
  readonly modules: string;
}

export class UsersFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsersFileError';
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** SHA-256 of a token: of its UTF-8 bytes when given as a string. */
export function hashToken(token: string | Uint8Array): Buffer {
  return createHash('sha256')
    .update(typeof token === 'string' ? Buffer.from(token, 'utf8') : token)
    .digest();
}

/**
 * SHA-256 of an empty token, and of one newline (`echo "$TOKEN" | sha256sum`): what a hand-made entry holds
 * when the variable with the token was unset. Such an entry would let anyone in as that user with no token.
 */
const EMPTY_TOKEN_HASHES = new Set([hashToken('').toString('hex'), hashToken('\n').toString('hex')]);

/** A new random token: 32 bytes, base64url (43 characters, safe in URLs and .netrc). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Comma-joined patterns, each checked to be a valid path.Match pattern. */
export function checkPatterns(patterns: readonly string[]): string {
  try {
    return patternList(patterns).join(',');
  } catch (err) {
    if (err instanceof InvalidPatternError) throw new UsersFileError(`invalid module ${err.message}`);
    throw err;
  }
}

/** Parses the users file's text; throws UsersFileError naming what is wrong. */
export function parseUsers(text: string): User[] {
  let json: unknown;
  try {
    // Windows editors save UTF-8 with a byte-order mark, which JSON.parse refuses (as for the config file).
    json = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch {
    throw new UsersFileError('not JSON');
  }
  const users = (json as { users?: unknown } | null)?.users;
  if (!Array.isArray(users)) throw new UsersFileError('expected {"users": [...]}');
  const out: User[] = [];
  const names = new Set<string>();
  for (const [i, u] of users.entries()) {
    const { name, tokenSha256, modules } = (u ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || !NAME.test(name))
      throw new UsersFileError(`user #${i + 1}: "name" must be letters, digits, ".", "_" or "-"`);
    if (names.has(name)) throw new UsersFileError(`user ${name} appears twice`);
    names.add(name);
    if (typeof tokenSha256 !== 'string' || !HEX64.test(tokenSha256.toLowerCase()))
      throw new UsersFileError(`user ${name}: "tokenSha256" must be the 64 hex digits of the token's SHA-256`);
    if (EMPTY_TOKEN_HASHES.has(tokenSha256.toLowerCase()))
      throw new UsersFileError(
        `user ${name}: "tokenSha256" is the SHA-256 of an empty token, which anyone could send; give the user a token with \`godepot auth add ${name}\``,
      );
    if (!Array.isArray(modules) || modules.some((m) => typeof m !== 'string'))
      throw new UsersFileError(`user ${name}: "modules" must be a list of patterns ("*" for all)`);
    out.push({
      name,
      tokenSha256: Buffer.from(tokenSha256.toLowerCase(), 'hex'),
      modules: checkPatterns(modules as string[]),
    });
  }
  return out;
}

/** The users file's text with user name set to (token hash, patterns), replacing an existing entry. */
export function withUser(text: string | null, name: string, tokenSha256: Buffer, modules: string): string {
  if (!NAME.test(name)) throw new UsersFileError(`invalid user name ${JSON.stringify(name)}`);
  const current = text === null ? [] : parseUsers(text);
  const entries = current
    .filter((u) => u.name !== name)
    .map((u) => ({ name: u.name, tokenSha256: u.tokenSha256.toString('hex'), modules: u.modules.split(',') }));
  entries.push({ name, tokenSha256: tokenSha256.toString('hex'), modules: checkPatterns([modules]).split(',') });
  return JSON.stringify({ users: entries }, null, 2) + '\n';
}
