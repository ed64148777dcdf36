// What a failed origin fetch means, in one line a person can act on. The go
// command's own messages are long and name git's internals; the client gets
// the class (not found, credentials, unreachable, TLS, GOVCS, time-out), the
// module, the host and the fix. Credentials never appear: URLs have them
// redacted before any text leaves this file.
import { redactText } from '../util/redact.js';
import { shorten } from '../util/shorten.js';

export type OriginFailure =
  | 'not_found'
  | 'gone'
  | 'auth'
  | 'unreachable'
  | 'tls'
  | 'govcs'
  | 'timeout'
  | 'toolchain'
  | 'moved'
  | 'bad_content'
  | 'busy'
  | 'failed';

export class OriginError extends Error {
  constructor(
    readonly failure: OriginFailure,
    message: string,
    /** The origin host (first element of the module path). */
    readonly host: string,
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'OriginError';
  }
}

/** The host a module path names: its first element. */
export function hostOf(modulePath: string): string {
  const slash = modulePath.indexOf('/');
  return slash < 0 ? modulePath : modulePath.slice(0, slash);
}

/**
 * Redacts the credentials of URLs and of token or password parameters (util/redact.ts, as everywhere in godepot;
 * the userinfo runs to the last '@' before the host, as git reads it).
 */
export function scrub(text: string): string {
  return redactText(text);
}

/**
 * How much of one line of the go command's output is looked at. The output is an origin's words too (git's
 * "remote:" lines), up to 16 MiB (gorun.ts), and scrub's URL pattern takes time that grows with the square of
 * a line without spaces: a whole page of it held the event loop for hours.
 */
const MAX_LINE = 2_000;

/** stderr's lines, trimmed, blank ones left out, each cut to MAX_LINE (at a space: not in a URL's credentials). */
function linesOf(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => (l.length <= MAX_LINE ? l : `${l.slice(0, Math.max(0, l.lastIndexOf(' ', MAX_LINE)))} …`));
}

/**
 * The go command's error, cut to its most telling line (git's "fatal:" line when there is one), scrubbed, as
 * one line with no control or format characters (terminal escapes, direction overrides): it is quoted in an
 * answer's body and in the log.
 */
function essence(stderr: string): string {
  const lines = linesOf(stderr);
  const fatal = lines.find((l) => /fatal:|error:/.test(l) && !/^go: downloading/.test(l));
  const line = fatal ?? lines[lines.length - 1] ?? 'no error output';
  return shorten(scrub(line), 300).replace(/[\p{Cc}\p{Cf}]/gu, '?');
}

const AUTH =
  /terminal prompts disabled|could not read (Username|Password)|Authentication failed|authentication required|HTTP Basic: Access denied|401 Unauthorized|403 Forbidden|returned error: 40[13]|Permission denied \(publickey/i;
// ssh (a url.<base>.insteadOf that sends git over ssh): a key the host refused, or a host key ssh cannot check.
const SSH_KEY = /Permission denied \(publickey/;
const HOST_KEY = /Host key verification failed/;
// git had credentials (from a credential helper, or a user:token in a URL rewrite) and the host refused them. With
// none, or only .netrc's (which curl sends before git asks for any), git says it could not read a user name.
const REFUSED = /Authentication failed for/;

/** The fix for a refusal, for the mechanism git's words show (the user godepot runs as holds the credentials). */
function authFix(said: string, host: string): string {
  if (HOST_KEY.test(said))
    return `ssh cannot verify the host key of ${host}: add it to ~/.ssh/known_hosts of the user godepot runs as (ssh-keyscan ${host})`;
  if (SSH_KEY.test(said))
    return `${host} refused the SSH key of the user godepot runs as (git goes over ssh, through a url.<base>.insteadOf rewrite or a go-import tag): give that user a key the host accepts (~/.ssh, SSH_AUTH_SOCK or GIT_SSH_COMMAND)`;
  if (REFUSED.test(said))
    return `${host} refused the credentials git gave it (a git credential helper's, or a user:token in a url.<base>.insteadOf rewrite, of the user godepot runs as): renew the token there`;
  // curl sends .netrc's credentials before git asks for any: a wrong password there reads as none at all.
  return `add (or correct) the .netrc entry (machine ${host} login USER password TOKEN) of the user godepot runs as, or set GOAUTH or a git credential helper`;
}

// Whole words and git's or Go's fixed phrases only: what is left of client-chosen text must not match.
const TLS = /\bx509:|\bcertificate\b|\btls:|\bSSL\b|\bSSL_|gnutls/i;
const GOVCS = /disallowed by GOVCS|GOVCS/;
// The go command's TooNewError: it makes no zip of a module whose go.mod asks for a newer Go than its own.
const TOO_NEW = /requires go >= ([0-9][0-9a-z.]*) \(running go ([0-9][0-9a-z.]*)/;
// An HTTP(S)_PROXY that cannot reach the host refuses the CONNECT: Go then says its status text alone after the
// URL (`Get "https://…": Bad Gateway`), git its code.
const UNREACHABLE =
  /no such host|connection refused|connection reset|Could not resolve|Failed to connect|network is unreachable|i\/o timeout|proxyconnect|returned error: 5\d\d|Empty reply from server|Recv failure|\b50[234] (Bad Gateway|Service Unavailable|Gateway Timeout)|": (Bad Gateway|Service Unavailable|Gateway Timeout)\b|HTTP code 50[234] from proxy after CONNECT|(: |\bunexpected |\bearly )EOF\b|remote end hung up/i;
/**
 * Whether a fetch's error text (git's, the go command's, or an upstream
 * proxy passing them on) says the origin could not be read as an anonymous
 * client: credentials wanted, or a host the fetcher cannot reach.
 */
export function originOutOfReach(text: string): boolean {
  return AUTH.test(text) || UNREACHABLE.test(text) || /unrecognized import path/i.test(text);
}

// Literal phrases (git's "repository '…' not found" is a "not found"): a `.*` ran to the line's end from each
// of its words, in time the square of the line (the origin's words).
// The go command takes a path it cannot map to a repository (a host's root page without go-import tags, a
// github.com path without owner and repository) as one that does not exist (modfetch's lookupDirect), and so
// goes on to the other prefixes of a package path: the network failures said that way are classified above.
const NOT_FOUND =
  /unknown revision|invalid version|no matching versions|no existing version is required|not found|does not exist|does not contain package|no tags|disallowed version string|malformed module path|cannot find module|unrecognized import path|invalid \S+ import path/i;

/**
 * Classifies a failed go run for path (what: "corp.example/lib@v1.0.0", …).
 * timedOut: the run hit its deadline and was killed. credentials: the run
 * had godepot's credentials (a private module's: gorun.ts).
 */
export function classify(
  path: string,
  what: string,
  stderr: string,
  timedOut: boolean,
  credentials = true,
): OriginError {
  const host = hostOf(path);
  // A public module's run went wherever its host's go-import tag sent it, an internal host included: what the go
  // command said may quote that host's answer (go's "server response:", git's "remote:" lines). It goes to
  // godepot's log (details.output, logged by Origin); the client gets the kind of failure only. A private
  // module's words are logged too: some answers (no valid credentials) give the fix alone, not what git said.
  const output = essence(stderr);
  const why = credentials ? output : "the go command's words are in godepot's log";
  const details: Record<string, string> = { output };
  // Classified without the module path and version the client chose: a version named ssl1 or a module named
  // …/geofence must not read as a TLS failure or an EOF, and open the host's breaker for everyone.
  const said = withoutClientWords(stderr, path, what);
  if (timedOut) {
    return new OriginError(
      'timeout',
      `godepot: fetching ${what} from its origin ${host} timed out (the git host hangs or is very slow); stored versions are still served — try again later or raise --vcs-timeout`,
      host,
      details,
    );
  }
  // godepot's go is too old for this version (GOTOOLCHAIN=local): not the origin's failure, and not an outage.
  const tooNew = TOO_NEW.exec(linesOf(stderr).join('\n'));
  if (tooNew) {
    const [, need, have] = tooNew;
    return new OriginError(
      'toolchain',
      `godepot: ${what} requires go >= ${need}, and the go command godepot fetches with is go ${have}; install Go ${need} or later on the godepot host (godepot runs go with GOTOOLCHAIN=local: it never downloads a toolchain)`,
      host,
      details,
    );
  }
  if (GOVCS.test(said)) {
    return new OriginError(
      'govcs',
      credentials
        ? `godepot: fetching ${what} from ${host} is not allowed by GOVCS in godepot's environment; set GOVCS (for example GOVCS=${host}:git) for the user godepot runs as (${why})`
        : // Public runs have GOVCS=*:git whatever godepot's environment says (gorun.ts).
          `godepot: ${what} is not kept in git at ${host}, and godepot fetches public modules with git only; get it through an upstream proxy that has it, or if ${path} is private, add it to --private (${why})`,
      host,
      details,
    );
  }
  if (AUTH.test(said) && !credentials) {
    return new OriginError(
      'auth',
      `godepot: the origin of ${what} asks for credentials, and godepot fetches public modules without any (only modules matching --private get its .netrc, GOAUTH and Git credential helpers); if ${path} is private, add it to --private`,
      host,
      details,
    );
  }
  if (AUTH.test(said) || HOST_KEY.test(said)) {
    return new OriginError(
      'auth',
      `godepot: no valid credentials for ${host} to fetch ${what}: ${authFix(said, host)}`,
      host,
      details,
    );
  }
  // Git answered (it lists no such revision): whatever else the output says, the version is not there. Not go's
  // "invalid version:" alone: it prefixes whatever failed while looking for a version (a host answering 503, a
  // reset, a bad certificate), and those are said below.
  if (/unknown revision/.test(said)) {
    return new OriginError('not_found', `${what} does not exist at its origin ${host}: ${why}`, host, details);
  }
  if (TLS.test(said)) {
    // A public module's run reads no Git configuration (gorun.ts publicEnvironment): http.sslCAInfo is no fix there.
    const gitCa = credentials ? "GIT_SSL_CAINFO (or git's http.sslCAInfo)" : 'GIT_SSL_CAINFO';
    return new OriginError(
      'tls',
      `godepot: TLS failure talking to ${host} for ${what}: ${why}; give godepot's go runs the CA of ${host}: SSL_CERT_FILE for the go command, and ${gitCa} for git, which does not read SSL_CERT_FILE`,
      host,
      details,
    );
  }
  if (UNREACHABLE.test(said)) {
    return new OriginError(
      'unreachable',
      `godepot: cannot reach ${host} to fetch ${what}: ${why}; check the network, DNS and HTTP(S)_PROXY of godepot's environment (stored versions are still served)`,
      host,
      details,
    );
  }
  if (NOT_FOUND.test(said)) {
    return new OriginError('not_found', `${what} does not exist at its origin ${host}: ${why}`, host, details);
  }
  return new OriginError('failed', `godepot: fetching ${what} from ${host} failed: ${why}`, host, details);
}

/**
 * text with the words the client chose replaced by neutral ones: the module
 * path, its host (a --private pattern like *.corp.example lets the client
 * name that too), the version or query asked for, and every URL and file
 * path (git names the repository by its URL, and the run by its folder).
 */
function withoutClientWords(text: string, path: string, what: string): string {
  const version = what.startsWith(path + '@') ? what.slice(path.length + 1) : '';
  let out = text
    // A scheme starts where a run of scheme characters starts (as in redactText): from every word of "a.a.a…"
    // (a whole stderr, an origin's words) the scheme ran to the run's end, in time the square of the run.
    .replace(/(?<![a-z0-9+.-])[a-z0-9+.-]+:\/\/[^\s"'`<>]+/gi, 'URL')
    .replace(/(^|[\s"'`(=])\/[^\s"'`:)]+/g, '$1PATH');
  out = out.split(path).join('MODULE').split(hostOf(path)).join('HOST');
  if (version !== '') out = out.split(version).join('VERSION');
  return out;
}
