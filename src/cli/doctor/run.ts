// The doctor's walk: each proxy in GOPROXY order (connection, then the
// /sumdb/<name>/supported probe the go command itself makes), the database
// the go command would end up using (through a proxy, or directly), its
// signed tree head checked with the configured key; then findings that say,
// for every failed step, whether the network or the service is at fault.
import {
  openNote,
  Verifiers,
  newVerifier,
  UnverifiedNoteError,
  InvalidSignatureError,
  UnknownVerifierError,
} from '../../sumdb/note/index.js';
import { parseTree } from '../../sumdb/tlog/index.js';
import { analyzeConfig, type Finding, type GoConfig, type SumdbConfig } from './config-check.js';
import { redactText } from '../../util/redact.js';
import { classify, httpGet, probeConnection, type Step, type StepFailure } from './probes.js';
import { NO_PROXY_RULES, type ProxyRules } from '../../upstream/env-proxy.js';
import { goTrustOptions, type TrustOptions } from '../../upstream/roots.js';
import { firstLine } from '../../util/shorten.js';

export interface Target {
  readonly role: 'proxy' | 'database';
  readonly url: string;
  readonly note?: string;
  readonly steps: Step[];
}

export interface DoctorReport {
  readonly source: string;
  readonly config: GoConfig;
  readonly targets: Target[];
  readonly findings: Finding[];
  readonly ok: boolean;
}

const NETWORK_FIX: Record<StepFailure, string> = {
  dns: "check the host name in the setting and this machine's DNS (resolv.conf, VPN, split-horizon DNS)",
  refused: 'nothing listens there: is the service running, on that port? (firewalls that reject also look like this)',
  connect: 'check routing and firewalls between this machine and the host',
  timeout: "packets are dropped or the service hangs: check firewalls, proxies (HTTPS_PROXY) and the service's health",
  tls: 'check the certificate (expired, wrong name, private CA: give Go the CA via SSL_CERT_FILE or SSL_CERT_DIR; it does not read NODE_EXTRA_CA_CERTS) and any TLS-intercepting proxy',
  'plain-http':
    'the URL says https (an entry without a scheme means https://, as for the go command) but the server speaks plain HTTP: write its URL with http://, or serve TLS there (godepot: --tls-cert, --tls-key)',
  status: 'the service answers with an error: check its logs and health (for godepot: /readyz, godepot incidents)',
  auth: 'the credentials the go command sends are missing or refused: check the user and token in GOPROXY (https://USER:TOKEN@host), the .netrc entry for the host, or GOAUTH',
  body: 'the service answered something unexpected: is this URL really a module proxy / checksum database?',
  key: 'use the key the database publishes (godepot mirrors a database under its own key; for sum.golang.org just GOSUMDB=sum.golang.org)',
  unhealthy:
    "godepot's reasons above say what and where; meanwhile it serves what it has verified (builds with a complete go.sum keep working): see /ui/ and godepot incidents on its host",
};

const KIND_OF: Record<StepFailure, Finding['kind']> = {
  dns: 'network',
  refused: 'network',
  connect: 'network',
  timeout: 'network',
  tls: 'network',
  'plain-http': 'config',
  status: 'service',
  auth: 'config',
  body: 'service',
  key: 'config',
  unhealthy: 'service',
};

const WORDS: Record<StepFailure, string> = {
  dns: 'DNS: name does not resolve',
  refused: 'connection refused',
  connect: 'cannot connect',
  timeout: 'time-out',
  tls: 'TLS failure',
  'plain-http': 'https to a plain-HTTP server',
  status: 'HTTP error',
  auth: 'credentials missing or refused',
  body: 'unexpected answer',
  key: 'key does not match its database',
  unhealthy: 'godepot reports a problem',
};

/** A URL for output: its password (or a lone user name, often a token) shown as xxxxx, as everywhere in godepot. */
export function redact(url: string): string {
  return redactText(url);
}

export function findingFor(target: Target, step: Step): Finding {
  const f = step.failure ?? 'connect';
  return {
    kind: KIND_OF[f],
    severity: 'problem',
    subject: target.url,
    message: `${target.role} ${target.url}: ${WORDS[f]} (${step.detail})`,
    fix: step.fix ?? NETWORK_FIX[f],
  };
}

/** The first line of an error answer, for its step's line: what the service said went wrong. */
function answerSaid(body: Buffer | undefined): string {
  const line = firstLine(body?.toString('utf8') ?? '', 600);
  // An HTML error page's first line is markup, not words.
  if (line === '' || line.startsWith('<')) return '';
  return `: ${line}`;
}

async function httpStep(
  url: string,
  timeoutMs: number,
  what: string,
  proxy: string | undefined,
  trust: TrustOptions,
  ambientAuth?: (url: string) => string | undefined,
): Promise<{ step: Step; status?: number; body?: Buffer }> {
  const started = performance.now();
  try {
    const r = await httpGet(url, timeoutMs, proxy, trust, ambientAuth);
    // A refusal of the credentials is the go command's next request refused too. The go command takes only 200
    // (404/410: not there): any other answer fails its request, a redirect it would not follow included.
    const failure = [401, 403, 407].includes(r.status)
      ? 'auth'
      : [200, 404, 410].includes(r.status)
        ? undefined
        : 'status';
    return {
      step: {
        name: 'http',
        ok: failure === undefined,
        ms: r.ms,
        detail: `GET ${what} → ${r.status}${failure === undefined ? '' : answerSaid(r.body)}`,
        ...(failure ? { failure } : {}),
        ...(failure === 'auth' ? { fix: authFix(new URL(url)) } : {}),
      },
      status: r.status,
      body: r.body,
    };
  } catch (err) {
    const failure = classify(err, 'connect');
    return {
      step: {
        name: 'http',
        ok: false,
        ms: Math.round(performance.now() - started),
        failure,
        detail: `GET ${what}: ${(err as Error).message}`,
      },
    };
  }
}

/**
 * What to do about refused credentials at u: over https, where the go command looks them up (.netrc by the URL's
 * host and port, as written); over http it sends none at all.
 */
function authFix(u: URL): string {
  if (u.protocol !== 'https:')
    return `the go command sends credentials over https only, never to an http:// URL: serve it over https (godepot: --tls-cert, --tls-key) and give the https:// URL with USER:TOKEN@ or a .netrc entry`;
  return `the credentials the go command sends are missing or refused: check the user and token in GOPROXY (https://USER:TOKEN@${u.host}), the .netrc entry "machine ${u.host}" (the go command matches the host and port exactly as the URL has them), or GOAUTH`;
}

/** Checks a tree head against the key: ok, or a 'key' failure when another key signed it. */
export function checkTreeHead(body: Buffer, key: string, ms: number): Step {
  try {
    const note = openNote(body, new Verifiers(newVerifier(key)));
    const tree = parseTree(note.text);
    return {
      name: 'key',
      ok: true,
      ms,
      detail: `signed tree head of ${tree.n} records verifies with ${key.split('+').slice(0, 2).join('+')}`,
    };
  } catch (err) {
    if (
      err instanceof UnverifiedNoteError ||
      err instanceof InvalidSignatureError ||
      err instanceof UnknownVerifierError
    ) {
      const signers = body
        .toString('utf8')
        .split('\n')
        .filter((l) => l.startsWith('— '))
        .map((l) => {
          const [, name, sig] = l.split(' ');
          return `${name ?? '?'}+${Buffer.from(sig ?? '', 'base64')
            .subarray(0, 4)
            .toString('hex')}`;
        });
      return {
        name: 'key',
        ok: false,
        ms,
        failure: 'key',
        detail: `the tree head is signed by ${signers.join(', ') || 'an unknown key'}, not by ${key.split('+').slice(0, 2).join('+')}: ${(err as Error).message}`,
      };
    }
    return { name: 'key', ok: false, ms, failure: 'body', detail: `not a signed tree head: ${(err as Error).message}` };
  }
}

interface ReadyzSource {
  url?: string;
  via?: string;
  state?: string;
  detail?: string;
}

/**
 * What to do about one database, from where godepot reads its log (readyz sources): a note when another
 * source covers a failing one; when none answers, what is wrong and the fix.
 */
export function sourceAdvice(
  name: string,
  sources: readonly ReadyzSource[],
): { ok: boolean; text: string; fix?: string } | null {
  const ok = sources.filter((s) => s.state === 'ok');
  const failing = sources.filter((s) => s.state === 'failing');
  const said = (s: ReadyzSource): string => `${s.url ?? '?'}${s.detail ? ` (${s.detail})` : ''}`;
  if (failing.length === 0) return null;
  if (ok.length > 0)
    return {
      ok: true,
      text: `database ${name}: ${failing.map(said).join(', ')} does not answer, but godepot reads the log through ${ok.map((s) => s.url ?? '?').join(', ')}: no action needed`,
    };
  // Only URLs given in --sumdb are read: the upstream proxies that may serve the log are not asked. Otherwise
  // (the database's own host and the upstreams that serve it), the path to one of them is the fix — unless each
  // answered with an error, which is no network path's fault.
  const onlyGiven = sources.every((s) => s.via === 'mirror');
  const unreached = failing.filter((s) => !/^(status|body)\b/.test(s.detail ?? ''));
  return {
    ok: false,
    text: `database ${name}: no source answers: ${failing.map(said).join('; ')}`,
    fix: !onlyGiven
      ? unreached.length > 0
        ? `fix the network path from godepot to ${unreached.map((s) => s.url ?? '?').join(' or ')}`
        : `each source answers with an error (the network path works): nothing to fix on godepot's side; it reads the log again once one recovers`
      : `if godepot's upstream proxy serves the log (as proxy.golang.org serves sum.golang.org), give godepot --sumdb without URLs (--sumdb ${name === 'sum.golang.org' ? name : 'NAME+HASH+KEY'}) so it is read there too, or add <upstream>/sumdb/${name} to its URLs`,
  };
}

/** A godepot answers /readyz with its readiness JSON; anything else is not a godepot (no line). */
async function godepotStep(
  base: string,
  timeoutMs: number,
  proxy: string | undefined,
  trust: TrustOptions,
  ambientAuth?: (url: string) => string | undefined,
): Promise<Step | null> {
  try {
    const r = await httpGet(`${base}/readyz`, timeoutMs, proxy, trust, ambientAuth);
    const j = JSON.parse(r.body.toString('utf8')) as {
      status?: unknown;
      reasons?: unknown;
      verification?: unknown;
      upstreams?: Array<{ url?: string; state?: string; failingSince?: string }>;
      sumdb?: Array<{ name?: string; status?: string; sources?: ReadyzSource[] }>;
      storage?: { writable?: unknown };
    };
    if (typeof j.status !== 'string' || !Array.isArray(j.upstreams)) return null;
    const dbs = j.sumdb ?? [];
    const advice = dbs.flatMap((d) => {
      const a = sourceAdvice(d.name ?? '?', d.sources ?? []);
      return a ? [a] : [];
    });
    const reasons = Array.isArray(j.reasons) ? j.reasons.filter((x): x is string => typeof x === 'string') : [];
    const off = j.verification === 'off' ? '; checksum verification is OFF (--sumdb off): modules are not checked' : '';
    // A database no source of which answers is among the reasons already: its advice adds the fix, not the words.
    const notes = advice.filter((a) => a.ok || reasons.length === 0);
    const detail = `godepot is ${j.status}${reasons.length ? `: ${reasons.join('; ')}` : ''}${off}${notes.map((a) => `; ${a.text}`).join('')}`;
    const noSource = advice.flatMap((a) => (a.ok || a.fix === undefined ? [] : [a.fix]));
    // Database sources are judged by the advice (one may fail while another covers it); a module proxy failing,
    // a store that takes no writes, a fork or a key mismatch between nodes is godepot's problem to report.
    const dbSources = new Set(dbs.flatMap((d) => (d.sources ?? []).map((s) => s.url)));
    const proxyFailing = j.upstreams.some(
      (u) => !dbSources.has(u.url) && (u.state !== 'closed' || u.failingSince !== undefined),
    );
    const dbWrong = dbs.some((d) => d.status === 'inconsistent' || d.status === 'misconfigured');
    const otherwise = proxyFailing || dbWrong || j.status === 'not-ready';
    // /readyz answered: the godepot is reachable and says what is wrong (it read as "HTTP error"), and a database
    // no source of which answers has a fix of its own.
    if (noSource.length > 0)
      return {
        name: 'godepot',
        ok: false,
        failure: 'unhealthy',
        fix: `on godepot's host: ${noSource.join('; ')}${otherwise ? "; godepot's other reasons above say what else fails, and where" : ''}; meanwhile it serves what it has verified (builds with a complete go.sum keep working)`,
        ms: r.ms,
        detail,
      };
    // A store that takes no writes keeps nothing new: the fix is on the disk or the bucket, not in the incidents.
    if (j.storage?.writable === false)
      return {
        name: 'godepot',
        ok: false,
        failure: 'unhealthy',
        fix: "on godepot's host: make its storage writable again, as the reason above says (free space on the disk of --data, the folder's owner and permissions, or the object store's bucket and credentials); until then it keeps nothing new and its /readyz answers 503, so load balancers take it out",
        ms: r.ms,
        detail,
      };
    if (otherwise) return { name: 'godepot', ok: false, failure: 'unhealthy', ms: r.ms, detail };
    return { name: 'godepot', ok: true, note: j.status !== 'ok' || off !== '', ms: r.ms, detail };
  } catch {
    return null;
  }
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly source: string;
  /** The HTTP proxies the go command would use here (HTTPS_PROXY…; default: none). */
  readonly proxies?: ProxyRules;
  /** The certificate authorities the go command trusts here (default: this process's, roots.ts goTrustOptions). */
  readonly trust?: TrustOptions;
  /** The credentials the go command would send a URL without its own (.netrc under GOAUTH; default: none). */
  readonly ambientAuth?: (url: string) => string | undefined;
}

/**
 * The connection to url's host, or, when the go command would go through an
 * HTTP proxy, to that proxy (its steps say so): a network that allows only
 * the proxy is not a broken path.
 */
async function connection(
  url: string,
  timeoutMs: number,
  proxies: ProxyRules,
  trust: TrustOptions,
): Promise<{ steps: Step[]; ok: boolean; proxy?: string }> {
  const proxy = proxies.proxyFor(new URL(url));
  if (proxy === undefined) return probeConnection(url, timeoutMs, trust);
  const c = await probeConnection(proxy, timeoutMs, trust);
  return {
    ok: c.ok,
    proxy,
    steps: c.steps.map((s) => ({ ...s, detail: `HTTP proxy ${redact(proxy).replace(/\/$/, '')}: ${s.detail}` })),
  };
}

export async function runDoctor(config: GoConfig, opts: RunOptions): Promise<DoctorReport> {
  const proxies = opts.proxies ?? NO_PROXY_RULES;
  const trust = opts.trust ?? goTrustOptions();
  const analysis = analyzeConfig(config);
  const findings = [...analysis.findings];
  const targets: Target[] = [];
  const db: SumdbConfig = analysis.sumdb;
  const dbName = db.off || db.error ? undefined : db.name;
  const probeName = dbName ?? 'sum.golang.org';
  let dbBase: string | undefined = db.url;
  let dbVia: string | undefined;
  let dbBlocked: string | undefined;
  let blockedBeforeNext = false;
  for (const entry of analysis.proxies) {
    if (entry.kind !== 'url') {
      if (!dbBase && !dbBlocked && dbName) {
        dbBase = `https://${dbName}`;
        dbVia = `directly (GOPROXY reached "${entry.kind}")`;
      }
      break;
    }
    if (entry.url.startsWith('file:')) {
      targets.push({ role: 'proxy', url: entry.url, note: 'a local folder: not checked', steps: [] });
      continue;
    }
    const t: Target = { role: 'proxy', url: redact(entry.url), steps: [] };
    targets.push(t);
    const conn = await connection(entry.url, opts.timeoutMs, proxies, trust);
    t.steps.push(...conn.steps);
    let supported: number | undefined;
    if (conn.ok) {
      const h = await httpStep(
        `${entry.url}/sumdb/${probeName}/supported`,
        opts.timeoutMs,
        `/sumdb/${probeName}/supported`,
        conn.proxy,
        trust,
        opts.ambientAuth,
      );
      supported = h.status;
      const serves =
        h.status === 200
          ? `: serves checksum database ${probeName}`
          : h.status === 404 || h.status === 410
            ? `: does not serve ${probeName}`
            : '';
      t.steps.push({ ...h.step, detail: h.step.detail + serves });
      // A host that let the probe time out would hold /readyz as long: the deadline is not spent twice.
      const gd =
        h.step.failure === 'timeout'
          ? null
          : await godepotStep(entry.url, opts.timeoutMs, conn.proxy, trust, opts.ambientAuth);
      if (gd) t.steps.push(gd);
    }
    for (const s of t.steps) if (!s.ok) findings.push(findingFor(t, s));
    // The go command's own choice of database path (PROTOCOL.md §2.2).
    if (dbName && !dbBase && !dbBlocked) {
      if (supported === 200) {
        dbBase = `${entry.url}/sumdb/${dbName}`;
        dbVia = `through ${redact(entry.url)}`;
      } else if (supported !== 404 && supported !== 410 && !entry.fallBackOnError) {
        dbBlocked = entry.url;
        blockedBeforeNext = analysis.proxies.indexOf(entry) < analysis.proxies.length - 1;
      }
    }
  }
  if (dbName && !dbBase && !dbBlocked) {
    dbBase = `https://${dbName}`;
    dbVia = 'directly (no proxy serves it)';
  }
  if (dbBlocked && blockedBeforeNext) {
    // A consequence of the failure above (reported there), worth knowing: the next entry is not even asked.
    findings.push({
      kind: 'config',
      severity: 'warning',
      subject: 'GOPROXY',
      message: `the go command finds checksum database ${dbName ?? ''} by asking ${dbBlocked}/sumdb/${dbName ?? ''}/supported; that failed and "," after it stops the search, so every checksum lookup fails`,
      fix: `fix ${dbBlocked} (see above), or use "|" after it so the next entry is asked`,
    });
  }
  if (dbBase && dbName && db.key) {
    const t: Target = {
      role: 'database',
      url: redact(dbBase),
      ...(dbVia ? { note: dbVia } : db.url ? { note: 'directly (URL in GOSUMDB)' } : {}),
      steps: [],
    };
    targets.push(t);
    const viaProxy = analysis.proxies.some((x) => x.kind === 'url' && dbBase.startsWith(x.url + '/'));
    const conn = viaProxy
      ? { steps: [], ok: true, proxy: proxies.proxyFor(new URL(dbBase)) }
      : await connection(dbBase, opts.timeoutMs, proxies, trust);
    t.steps.push(...conn.steps);
    if (conn.ok) {
      const h = await httpStep(`${dbBase}/latest`, opts.timeoutMs, '/latest', conn.proxy, trust, opts.ambientAuth);
      t.steps.push(h.step);
      if (h.status === 200 && h.body) t.steps.push(checkTreeHead(h.body, db.key, h.step.ms));
      else if (h.status === 404 || h.status === 410)
        t.steps.push({
          name: 'key',
          ok: true,
          note: true,
          ms: 0,
          detail: 'no /latest here, so the key cannot be checked',
        });
    }
    for (const s of t.steps) if (!s.ok) findings.push(findingFor(t, s));
  }
  return { source: opts.source, config, targets, findings, ok: !findings.some((f) => f.severity === 'problem') };
}
