// What the go command in godepot's own environment would do differently.
// godepot takes its upstream and checksum database from its own settings
// (--upstream, --sumdb), not from GOPROXY and GOSUMDB. Where those say
// otherwise — GOPROXY=https://goproxy.cn,direct on a network that cannot
// reach proxy.golang.org, say — a godepot left at its defaults fails where
// `go` works. It does not adopt them silently (a GOPROXY that names godepot
// itself would make it its own upstream): it says so at start, with the
// setting that does what `go` does.
import { DEFAULT_SUMDB, DEFAULT_UPSTREAM } from './settings.js';
import type { RawSettings } from './load.js';
import { goproxyEntry, goproxyTokens } from './values.js';
import { envName, OPTIONS } from './options.js';
import { WORKER_SLOT } from '../runtime/cluster-ipc.js';
import { redactText } from '../util/redact.js';

/** A GOPROXY entry as a URL, read as the go command reads it (goproxyEntry), or null. */
function entryUrl(token: string): URL | null {
  try {
    return new URL(goproxyEntry(token));
  } catch {
    return null;
  }
}

/** Whether a GOPROXY entry names a server on this machine at godepot's own port (the developer's GOPROXY to godepot). */
function namesItself(u: URL, port: number): boolean {
  const p = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  return p === port && /^(localhost|127\.[\d.]+|\[::1\]|0\.0\.0\.0)$/i.test(u.hostname);
}

/**
 * One warning for each of GOPROXY, GOSUMDB and GOPRIVATE that is set in
 * env, differs from what godepot uses, and whose godepot setting was left at
 * its default.
 */
export function goEnvHints(raw: RawSettings, env: NodeJS.ProcessEnv, port: number): string[] {
  const out: string[] = [];
  const goproxy = env.GOPROXY?.trim() ?? '';
  // The proxies it lists ("direct" and "off" are not); none of them godepot itself or godepot's default.
  const proxies = goproxyTokens(goproxy)
    .map((t) => t.token)
    .filter((t) => t !== 'direct' && t !== 'off')
    .map(entryUrl);
  const defaultUrl = new URL(DEFAULT_UPSTREAM).href;
  if (
    raw.values.upstream === undefined &&
    proxies.length > 0 &&
    !proxies.some((u) => u !== null && (namesItself(u, port) || u.href === defaultUrl))
  )
    out.push(
      `GOPROXY in godepot's environment is "${goproxy}", but godepot fetches from its --upstream, left at ${DEFAULT_UPSTREAM}; if that cannot be reached from here, start godepot with --upstream '${goproxy}' (or GODEPOT_UPSTREAM) to fetch as the go command here does`,
    );
  const gosumdb = env.GOSUMDB?.trim() ?? '';
  if (raw.values.sumdb === undefined && gosumdb !== '' && gosumdb !== 'off' && gosumdb !== DEFAULT_SUMDB)
    out.push(
      `GOSUMDB in godepot's environment is "${gosumdb}", but godepot verifies against its --sumdb, left at ${DEFAULT_SUMDB}; to use the database the go command here uses, start godepot with --sumdb '${gosumdb}' (or GODEPOT_SUMDB)`,
    );
  out.push(...unknownGodepotVariables(env));
  const goprivate = env.GOPRIVATE?.trim() ?? '';
  if (raw.values.private === undefined && raw.values.nosumdb === undefined && goprivate !== '')
    out.push(
      `GOPRIVATE in godepot's environment is "${goprivate}", but godepot's --private is empty: a module matching it that a client asks godepot for is fetched from the upstream proxies and looked up in the checksum database, which learn its path; start godepot with --private '${goprivate}' (or GODEPOT_PRIVATE) to fetch such modules from their origin and keep their paths private`,
    );
  const gonosumdb = env.GONOSUMDB?.trim() ?? '';
  if (raw.values.private === undefined && raw.values.nosumdb === undefined && goprivate === '' && gonosumdb !== '')
    out.push(
      `GONOSUMDB in godepot's environment is "${gonosumdb}", but godepot's --nosumdb is empty: a module matching it that a client asks godepot for is looked up in the checksum database, which learns its path; start godepot with --nosumdb '${gonosumdb}' (or GODEPOT_NOSUMDB) to keep such paths out of it`,
    );
  // A GOPROXY or GOSUMDB URL may carry user:password: the log must not.
  return out.map(redactText);
}

/** GODEPOT_ variables that are not a setting, besides the config file's and the workers' own. */
const OTHER_VARIABLES = new Set(['GODEPOT_CONFIG', WORKER_SLOT]);

/**
 * A warning for each GODEPOT_ variable that names no setting: a mistyped flag
 * is refused, a mistyped variable would otherwise be ignored without a word.
 */
export function unknownGodepotVariables(env: NodeJS.ProcessEnv): string[] {
  const known = OPTIONS.map((o) => envName(o.name));
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('GODEPOT_') || OTHER_VARIABLES.has(name) || known.includes(name)) continue;
    const near = nearestName(name, known);
    out.push(
      `${name} in godepot's environment is not a godepot setting and is ignored${near ? ` (did you mean ${near}?)` : ''}; see godepot serve --help`,
    );
  }
  return out;
}

/** The known name within two edits of a mistyped one (the closest), for "did you mean". */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(k, name);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = cur;
  }
  return prev[b.length] as number;
}
