// The request gate of --auth (DESIGN invariant 12). One decision per
// request, made before anything else looks at it:
//
//   /healthz, /readyz              open (probes carry no credentials)
//   anything else                  needs HTTP basic auth: a user of the file and its token → else 401
//   /<module>/@v/…, /<module>/@latest,
//   /sumdb/<db>/lookup/<module>@…  the module must match one of the user's patterns → else 403
//   /api/…, /ui/…, /metrics        the operator surfaces: only a user allowed every module
//                                  ("*" among its patterns) → else 403. They name modules
//                                  (incidents name private module@versions), so a user
//                                  allowed some modules must not learn the others there.
//
// Tokens are compared as SHA-256 digests in constant time, and an unknown
// user costs the same comparison as a known one. Failures are counted and
// logged with the user name (when the file knows it) and the reason, never the token.
import { timingSafeEqual } from 'node:crypto';
import { matchPrefixPatterns, unescapePath } from '../module/index.js';
import { hashToken, type User } from './users.js';

export type GateDecision =
  | { readonly allow: true; readonly user: string | null }
  | {
      readonly allow: false;
      readonly status: 401 | 403;
      readonly reason: GateRefusal;
      readonly user: string | null;
      readonly message: string;
    };

export const REFUSALS = ['no_credentials', 'bad_credentials', 'module_not_allowed', 'operator_only'] as const;
export type GateRefusal = (typeof REFUSALS)[number];

const OPEN_PATHS = new Set(['/healthz', '/readyz']);
const NOBODY = Buffer.alloc(32);

/** The operator page, its JSON API and the metrics: paths that show what godepot holds across modules. */
function isOperatorPath(path: string): boolean {
  return path === '/metrics' || /^\/(api|ui)(\/|$)/.test(path);
}

/** True when the user may read every module: "*" is among its patterns (it matches any path). */
function allowedEveryModule(user: User): boolean {
  return user.modules.split(',').includes('*');
}

/** The module a request path (already %-decoded, no query) is about; null when it names none. */
export function moduleOfPath(path: string): string | null {
  let escaped: string | null = null;
  const lookup = /^\/sumdb\/.+?\/lookup\/(.+)@[^@/]+$/.exec(path);
  if (lookup) escaped = lookup[1] ?? null;
  else {
    const v = path.indexOf('/@v/');
    const latest = path.endsWith('/@latest') ? path.length - '/@latest'.length : -1;
    const end = v >= 0 ? v : latest;
    if (end > 1) escaped = path.slice(1, end);
  }
  if (escaped === null) return null;
  try {
    return unescapePath(escaped);
  } catch {
    // Not a module path at all: the gate still requires a user; the router answers 400.
    return null;
  }
}

/** Padded standard base64: the only form Go's net/http Request.BasicAuth accepts. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * user:password of a Basic authorization header, read as Go's Request.BasicAuth reads it (Buffer's base64
 * decoding would skip what is not base64 and take a missing padding), the token as its bytes: read as UTF-8,
 * bytes that are not would all become U+FFFD, and a wrong token would match. null when absent or malformed.
 */
export function basicCredentials(header: string | undefined): { user: string; token: Buffer } | null {
  if (header === undefined || !/^basic /i.test(header) || !BASE64.test(header.slice(6))) return null;
  const decoded = Buffer.from(header.slice(6), 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon <= 0) return null;
  return { user: decoded.subarray(0, colon).toString('utf8'), token: decoded.subarray(colon + 1) };
}

/**
 * Decides one request. users: the current users file; path: the decoded
 * request path; authorization: the request's Authorization header.
 */
export function decide(users: readonly User[], path: string, authorization: string | undefined): GateDecision {
  if (OPEN_PATHS.has(path)) return { allow: true, user: null };
  const creds = basicCredentials(authorization);
  if (creds === null) {
    return {
      allow: false,
      status: 401,
      reason: 'no_credentials',
      user: null,
      message:
        'godepot: authentication required: send your user name and token (GOPROXY=https://USER:TOKEN@host, a .netrc entry, or GOAUTH)',
    };
  }
  const user = users.find((u) => u.name === creds.user);
  const given = hashToken(creds.token);
  const matches = timingSafeEqual(given, user ? user.tokenSha256 : NOBODY) && user !== undefined;
  if (!matches || !user) {
    return {
      allow: false,
      status: 401,
      reason: 'bad_credentials',
      // Only a name the file knows: an unknown one is often the token itself (GOPROXY=https://TOKEN@host).
      user: user ? user.name : null,
      message: 'godepot: authentication failed: unknown user or wrong token',
    };
  }
  if (isOperatorPath(path) && !allowedEveryModule(user)) {
    return {
      allow: false,
      status: 403,
      reason: 'operator_only',
      user: user.name,
      message: `godepot: user ${user.name} may not read the operator pages (/api, /ui, /metrics): they name modules of every pattern, so they need a user allowed every module ("*" among its module patterns in godepot's auth file); ask its administrator`,
    };
  }
  const module = moduleOfPath(path);
  if (module !== null && !matchPrefixPatterns(user.modules, module)) {
    return {
      allow: false,
      status: 403,
      reason: 'module_not_allowed',
      user: user.name,
      message: `godepot: user ${user.name} may not read ${module}: it matches none of the module patterns this user is allowed in godepot's auth file; ask its administrator to extend them`,
    };
  }
  return { allow: true, user: user.name };
}
