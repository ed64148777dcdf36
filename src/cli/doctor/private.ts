// `godepot doctor --module PATH`: why a (private) module does not come
// through godepot. Asks the first proxy for the module's version list and
// reads the answer: the client's credentials for godepot (401, 403),
// godepot's credentials for the Git host, the network between godepot and
// the Git host, or configuration (the path is wrong, or godepot does not
// know the module is private).
import { request } from 'undici';
import { escapePath } from '../../module/index.js';
import type { Finding } from './config-check.js';
import { goTrustOptions, type TrustOptions } from '../../upstream/roots.js';
import { withCredentials } from './probes.js';
import { connectingAgent } from '../../upstream/http.js';
import { shorten } from '../../util/shorten.js';

/** The most of godepot's answer a finding quotes (characters): its messages fit, a stranger's page does not. */
const SAID_MAX = 600;

export interface ModuleAnswer {
  readonly status: number;
  readonly body: string;
  /** No answer (status 0) because godepot took the request and did not answer in time: the path to it works. */
  readonly waited?: boolean;
}

/** A finding for a failed fetch of module from proxy (redacted URL); null when it came through. */
export function diagnoseModuleFetch(module: string, proxy: string, a: ModuleAnswer): Finding | null {
  if (a.status === 200) return null;
  // Read whole, shown shortened: godepot's answer ends with what to do, and names the module and URLs whole.
  const said = a.body.trim().split('\n')[0] ?? '';
  const problem = (kind: Finding['kind'], message: string, fix: string): Finding => ({
    kind,
    severity: 'problem',
    subject: module,
    message: `${module} through ${proxy}: ${message} (${a.status}: ${shorten(said, SAID_MAX)})`,
    fix,
  });
  // godepot took the request and said nothing in time: it is still fetching from the origin, which is slow or hangs.
  if (a.status === 0 && a.waited)
    return problem(
      'network',
      'godepot took the request but gave no answer in time: it is still waiting for the Git host (or its upstream)',
      "check the path from godepot to the module's Git host, which is slow or hangs (godepot's log names the host; builds of stored versions keep working meanwhile), or give the doctor a longer --timeout for a large repository",
    );
  // No answer at all (status 0): the path from here to godepot is broken, not godepot's to the Git host.
  if (a.status === 0)
    return problem(
      'network',
      'this machine cannot reach godepot',
      "the proxy's checks above say where the path breaks (DNS, TCP, TLS); fix that first",
    );
  if (a.status === 401)
    return problem(
      'config',
      'credentials: godepot wants a user and token',
      `put your godepot token in GOPROXY (https://USER:TOKEN@host) or in a .netrc entry for godepot's host (or GOAUTH)`,
    );
  if (a.status === 403)
    return problem(
      'config',
      'credentials: your godepot user may not read this module',
      'ask for its module patterns in the auth file to be extended',
    );
  // What godepot's host lacks (credentials, GOVCS, --private) is godepot's configuration, not the client's Go
  // settings: a service answering with an error, its fix on godepot's host.
  if (/no valid credentials for/.test(said))
    return problem(
      'service',
      "credentials: godepot's own credentials for the Git host are missing or wrong",
      'on the godepot host, add (or correct) the .netrc entry (or a git credential helper) for the user godepot runs as',
    );
  if (/cannot reach|timed out|TLS failure/.test(said))
    return problem(
      'network',
      'godepot cannot reach the Git host',
      'check DNS, firewalls, HTTP(S)_PROXY and certificates between godepot and the Git host; builds of stored versions keep working meanwhile',
    );
  // godepot's answer for a public module in hg, svn, …: public fetches are git only, whatever its GOVCS says.
  if (/fetches public modules with git only/.test(said))
    return problem(
      'service',
      'godepot fetches public modules with git only, and this one is kept in another version-control system',
      "get it through an upstream proxy that has it; if it is private, add it to godepot's --private",
    );
  if (/GOVCS/.test(said))
    return problem('service', "godepot's GOVCS forbids this host", 'set GOVCS for the user godepot runs as');
  if (a.status === 404 || a.status === 410)
    return problem(
      'config',
      'not found',
      'check the module path; if it is private, godepot needs it in --private (and the client in GONOSUMDB)',
    );
  return problem('service', 'godepot failed', "check godepot's log and /readyz");
}

/**
 * GET <proxy>/<module>/@v/list as the go command would: credentials from
 * the proxy URL's userinfo, else from .netrc (`ambientAuth`), through the
 * HTTP proxy it would use, trusting what it trusts.
 */
export async function fetchModuleList(
  proxyUrl: string,
  module: string,
  timeoutMs: number,
  via: {
    readonly httpProxy?: string | undefined;
    readonly ambientAuth?: (url: string) => string | undefined;
    readonly trust?: TrustOptions;
  } = {},
): Promise<ModuleAnswer> {
  const { target, authorization } = withCredentials(proxyUrl, via.ambientAuth);
  const base = target.toString().replace(/\/+$/, '');
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  const agent = connectingAgent({ timeout: timeoutMs, ...(via.trust ?? goTrustOptions()) }, via.httpProxy);
  try {
    const res = await request(`${base}/${escapePath(module)}/@v/list`, {
      dispatcher: agent,
      headers,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs * 2),
    });
    return { status: res.statusCode, body: (await res.body.text()).slice(0, 4096) };
  } finally {
    await agent.close().catch(() => undefined);
  }
}
