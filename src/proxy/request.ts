// Parsing a GOPROXY request path into a typed request, once, at the edge.
// Everything after this holds a valid module path and version, never raw
// URL text. Malformed input becomes a 400 with a reason (never a crash).
import {
  checkVersionOf,
  escapedLengthProblem,
  escapePath,
  escapeVersion,
  isCanonicalVersion,
  canonicalVersion,
  queryVersionProblem,
  unescapePath,
  unescapeVersion,
} from '../module/index.js';
import { badRequest, GodepotError } from './errors.js';

export type ImmutableKind = 'info' | 'mod' | 'zip';
export type ArtifactKind = 'list' | 'latest' | ImmutableKind;

export type ProxyRequest =
  | { readonly kind: 'list' | 'latest'; readonly path: string }
  /**
   * `query` is true for .info of a branch or commit name, or of a version another major version's than the
   * path's: the upstream resolves it (or says it does not exist), and its answer can change, so it is cached
   * with a TTL.
   */
  | { readonly kind: 'info'; readonly path: string; readonly version: string; readonly query: boolean }
  | { readonly kind: 'mod' | 'zip'; readonly path: string; readonly version: string };

/** Longest request path accepted (raw, before decoding). Real module paths are far shorter. */
const MAX_PATH_LENGTH = 2048;

/**
 * Percent-decodes a raw URL path the way a GOPROXY server must (PROTOCOL.md
 * §1.1): %21 and ! are both accepted, '+' stays '+', and anything that could
 * change the path's structure once decoded (%2F, backslashes, NUL, control
 * characters, dot segments) is refused.
 */
export function decodeRequestPath(raw: string): string {
  if (raw.length > MAX_PATH_LENGTH)
    throw new GodepotError('uri_too_long', `godepot: request path longer than ${MAX_PATH_LENGTH} bytes`);
  if (/%(2f|5c|00)/i.test(raw)) throw badRequest('godepot: encoded "/", "\\" or NUL in the request path');
  let decoded = raw;
  if (raw.includes('%')) {
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      throw badRequest('godepot: malformed percent-encoding in the request path');
    }
  }
  if (/[\x00-\x1f\x7f\\]/.test(decoded))
    throw badRequest('godepot: control character or backslash in the request path');
  if (!decoded.startsWith('/')) throw badRequest('godepot: request path must start with "/"');
  if (/\/\.\.?(\/|$)/.test(decoded)) throw badRequest('godepot: "." or ".." in the request path');
  return decoded;
}

function moduleFrom(escaped: string): string {
  const long = escapedLengthProblem(escaped);
  if (long !== null) throw badRequest(`godepot: ${long}`);
  try {
    return unescapePath(escaped);
  } catch (err) {
    throw badRequest(`godepot: invalid module path: ${(err as Error).message}`);
  }
}

function versionFrom(
  path: string,
  escapedPath: string,
  escaped: string,
  kind: ImmutableKind,
): { version: string; query: boolean } {
  const long = escapedLengthProblem(escapedPath, escaped);
  if (long !== null) throw badRequest(`godepot: ${long}`);
  let version: string;
  try {
    version = unescapeVersion(escaped);
  } catch (err) {
    throw badRequest(`godepot: invalid version: ${(err as Error).message}`);
  }
  const canonical = isCanonicalVersion(version);
  if (!canonical && kind !== 'info') {
    const c = canonicalVersion(version);
    throw badRequest(
      `godepot: ${kind === 'mod' ? '.mod' : '.zip'} is served for canonical versions only: ${JSON.stringify(version)} is not canonical${c ? ` (use ${c})` : ''}`,
    );
  }
  if (!canonical) {
    const problem = queryVersionProblem(version);
    if (problem !== null) throw badRequest(`godepot: invalid version query ${JSON.stringify(version)}: ${problem}`);
    return { version, query: true };
  }
  try {
    checkVersionOf(path, version); // moduleFrom checked the path
  } catch (err) {
    // v2.0.0 of example.com/m, or v1.0.0 of example.com/m/v2, is no version of that module, but the go command
    // asks for its .info: to resolve `go get example.com/m@v2.0.0` (a proxy answers v2.0.0+incompatible when
    // that tag has no go.mod, as proxy.golang.org does for github.com/docker/docker@v20.10.24), and for each
    // prefix of a package path (`go install example.com/m/v2/cmd/x@v2.1.0` asks example.com/m/v2/cmd/x and
    // example.com/m/v2/cmd too), where only a 404 lets it go on to the module that has it. A query, then:
    // the upstream says which. Its .mod and .zip are never asked for.
    if (kind === 'info') return { version, query: true };
    throw badRequest(`godepot: ${(err as Error).message}`);
  }
  return { version, query: false };
}

/** Parses a decoded request path (from decodeRequestPath). Returns null for paths outside the protocol. */
export function parseProxyPath(path: string): ProxyRequest | null {
  const body = path.slice(1);
  if (body.endsWith('/@latest')) {
    return { kind: 'latest', path: moduleFrom(body.slice(0, -'/@latest'.length)) };
  }
  const at = body.indexOf('/@v/');
  if (at < 0) return null;
  const mod = moduleFrom(body.slice(0, at));
  const rest = body.slice(at + '/@v/'.length);
  if (rest === 'list') return { kind: 'list', path: mod };
  const m = /^([^/]+)\.(info|mod|zip)$/.exec(rest);
  if (!m)
    throw badRequest(
      `godepot: unknown request ${JSON.stringify(rest.slice(0, 100))} under /@v/ (expected list, <version>.info, .mod or .zip)`,
    );
  const kind = m[2] as ImmutableKind;
  const { version, query } = versionFrom(mod, body.slice(0, at), m[1] as string, kind);
  if (kind === 'info') return { kind, path: mod, version, query };
  return { kind, path: mod, version };
}

/**
 * The request's GOPROXY path, escaped, relative to a proxy base URL (starts
 * with '/'). Built only from validated parts: a query version that could mean
 * something else to a lax server never gets here (parseProxyPath refuses it),
 * and is refused again here in case a request was made some other way.
 */
export function upstreamPath(req: ProxyRequest): string {
  // A canonical version (a query only when it is not the path's) is made of [0-9A-Za-z.+-] only.
  if (req.kind === 'info' && req.query && !isCanonicalVersion(req.version)) {
    const problem = queryVersionProblem(req.version);
    if (problem !== null) throw badRequest(`godepot: invalid version query ${JSON.stringify(req.version)}: ${problem}`);
  }
  const p = '/' + escapePath(req.path);
  switch (req.kind) {
    case 'list':
      return `${p}/@v/list`;
    case 'latest':
      return `${p}/@latest`;
    default:
      return `${p}/@v/${escapeVersion(req.version)}.${req.kind}`;
  }
}

/** Where a verified (or, with area 'unverified', a quarantined) artifact is stored. */
export function storageKey(req: ProxyRequest, area: 'mod' | 'unverified' = 'mod'): string {
  if (req.kind === 'info' && req.query) return `query${upstreamPath(req)}`;
  return `${area}${upstreamPath(req)}`;
}

export function describeRequest(req: ProxyRequest): string {
  switch (req.kind) {
    case 'list':
      return `${req.path} version list`;
    case 'latest':
      return `${req.path}@latest`;
    default:
      return `${req.path}@${req.version} .${req.kind}`;
  }
}
