// The operator page's words and numbers: pure functions from the JSON the
// API answers to text. A missing or malformed number becomes "—", never
// "NaN" or an exception, so a partial answer still renders.

/** The fields of /api/upstreams the page reads (each may be missing). */
export interface UpstreamView {
  readonly url?: string;
  readonly role?: string;
  readonly db?: string;
  /** A failing checksum-database source another source of that database covers (server/health.ts). */
  readonly covered?: boolean;
  readonly state?: string;
  readonly failingSince?: string;
  /** The state in the server's words (src/upstream/health-words.ts): healthy, failing since …, circuit open, …. */
  readonly health?: string;
  readonly lastFailure?: { readonly class?: string; readonly detail?: string; readonly at?: string };
  readonly requests?: number;
  readonly failures?: number;
  readonly breakerRefusals?: number;
  readonly p50Ms?: number | null;
  readonly p99Ms?: number | null;
}

/** The fields of /api/incidents the page reads. */
export interface IncidentView {
  readonly id?: string;
  readonly upstream?: string;
  readonly start?: string;
  readonly end?: string;
  readonly durationMs?: number;
  /**
   * godepot stopped watching while it was open (it stopped, or forgot an origin host among many failing ones):
   * end is when it last looked (the outage may have gone on).
   */
  readonly endUnknown?: boolean;
  /** Over as it happened (a refused fork, a moved tag): a moment on the timeline, not an outage with a length. */
  readonly event?: boolean;
  readonly failureClass?: string;
  readonly detail?: string;
  readonly servedFromCache?: number;
  readonly servedUnverified?: number;
  readonly failed?: number;
}

export const MISSING = '—';

export function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** ms since epoch of an ISO time, or null. */
export function parseTime(iso: unknown): number | null {
  if (typeof iso !== 'string') return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

/** YYYY-MM-DD HH:MM:SS of ms, in UTC. */
function utc(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');
}

/**
 * HH:MM:SS UTC. The page speaks UTC throughout, as godepot's logs, its API
 * and `godepot incidents` do: an on-call engineer compares them side by side.
 */
export function clock(ms: number | null): string {
  return ms === null ? MISSING : `${utc(ms).slice(11)} UTC`;
}

/** YYYY-MM-DD HH:MM:SS in UTC (tables say "(UTC)" in their heading). */
export function dateTime(ms: number | null): string {
  return ms === null ? MISSING : utc(ms);
}

/** YYYY-MM-DD HH:MM:SSZ in UTC: what the logs, the API and `godepot incidents` say, for a post-mortem. */
export function utcDateTime(ms: number | null): string {
  return ms === null ? MISSING : `${utc(ms)}Z`;
}

/**
 * A duration in words, rounded to the second as `godepot incidents` rounds
 * it (1m20s there is "1 min 20 s" here): "45 s", "12 min", "3 h 5 min", "2 d 4 h".
 */
export function duration(ms: number | null | undefined): string {
  if (!isNumber(ms) || ms < 0) return MISSING;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function count(n: unknown): string {
  return isNumber(n) ? Math.round(n).toLocaleString('en-US') : MISSING;
}

export function millis(n: unknown): string {
  if (!isNumber(n)) return MISSING;
  return n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n).toLocaleString('en-US')} ms`;
}

export function bytes(n: unknown): string {
  if (!isNumber(n) || n < 0) return MISSING;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i] ?? ''}`;
}

export function percent(ratio: unknown): string {
  // A ratio near the largest number is one whose percentage is Infinity.
  const p = isNumber(ratio) ? ratio * 100 : Number.NaN;
  return isNumber(p) ? `${p.toFixed(1)} %` : MISSING;
}

/** The first characters of a base64 root hash. */
export function shortHash(h: unknown): string {
  return typeof h === 'string' && h !== '' ? h.slice(0, 12) + '…' : MISSING;
}

export type StateKind = 'healthy' | 'failing' | 'open' | 'probing' | 'offline' | 'unknown';

/**
 * An upstream's state: its kind (its colour, and whether the headline counts it) from the breaker's state, its
 * words the server's own `health` (src/upstream/health-words.ts), as /readyz, doctor and error messages say them.
 * Not worded again here: the server words them on the clock its times are on, which the browser's may not be.
 */
export function upstreamState(u: UpstreamView, offline: boolean): { kind: StateKind; text: string } {
  if (offline) return { kind: 'offline', text: 'offline (godepot runs with --offline: never contacted)' };
  const text = typeof u.health === 'string' && u.health !== '' ? u.health : MISSING;
  switch (u.state) {
    case 'open':
      return { kind: 'open', text };
    case 'half-open':
      return { kind: 'probing', text };
    case 'closed':
      return { kind: parseTime(u.failingSince) === null ? 'healthy' : 'failing', text };
  }
  return { kind: 'unknown', text: MISSING };
}

/**
 * godepot's own problems in /readyz's answer (its storage, its coordination,
 * nodes that disagree on a database's key): what is wrong with "us".
 */
export function ownProblems(readyz: unknown): string[] {
  const r = (readyz ?? {}) as {
    storage?: { kind?: unknown; writable?: unknown; error?: unknown };
    coordination?: {
      redis?: { state?: unknown };
      workers?: { of?: unknown; down?: Array<{ slot?: unknown; state?: unknown; since?: unknown } | null> };
    };
    sumdb?: Array<{ name?: unknown; status?: unknown } | null>;
  };
  const out: string[] = [];
  if (r.storage?.writable === false)
    out.push(
      `godepot cannot write its storage${typeof r.storage.error === 'string' ? ` (${r.storage.error})` : ''}: new modules fail, what it holds is served`,
    );
  if (r.coordination?.redis?.state === 'down') out.push('Redis is down: this node coordinates alone');
  const workers = r.coordination?.workers;
  // A slot waiting after its workers died young again and again (one starting is no problem: see /readyz).
  for (const d of Array.isArray(workers?.down) ? workers.down : [])
    if (d?.state === 'waiting' && typeof d.slot === 'number') {
      const since = parseTime(d.since);
      const of = typeof workers?.of === 'number' ? ` of ${workers.of}` : '';
      out.push(
        `worker ${d.slot}${of} keeps dying soon after it starts${since === null ? '' : ` (not serving since ${clock(since)})`}: this machine serves with fewer workers; its log says why`,
      );
    }
  for (const d of Array.isArray(r.sumdb) ? r.sumdb : [])
    if (d?.status === 'misconfigured')
      out.push(
        `nodes check checksum database ${String(d.name)} with different keys (give every node the same --sumdb)`,
      );
  return out;
}

/**
 * Which node answered and how it coordinates with the others, from
 * /readyz: behind a load balancer the page is one node's, and its requests
 * and latency are that node's own, beside the cluster's shared state.
 */
export function nodeLine(readyz: unknown): string {
  const r = (readyz !== null && typeof readyz === 'object' ? readyz : {}) as {
    node?: unknown;
    coordination?: {
      kind?: unknown;
      redis?: { state?: unknown; since?: unknown } | null;
      workers?: { of?: unknown; serving?: unknown } | null;
    } | null;
  };
  const parts = typeof r.node === 'string' && r.node !== '' ? [`node ${r.node}`] : [];
  const c = r.coordination !== null && typeof r.coordination === 'object' ? r.coordination : {};
  if (c.kind === 'redis') {
    const state = c.redis?.state === 'up' || c.redis?.state === 'down' ? c.redis.state : MISSING;
    const since = parseTime(c.redis?.since);
    parts.push(
      `Redis ${state}${since === null ? '' : ` since ${clock(since)}`}`,
      "requests and latency are this node's",
    );
  } else if (c.kind === 'workers') {
    const w = c.workers;
    const counted = typeof w?.of === 'number' && typeof w.serving === 'number';
    parts.push(`this machine's workers${counted ? ` (${w.serving} of ${w.of} serving)` : ''}`);
  }
  return parts.join(' · ');
}

/**
 * The page's headline: what is wrong, or that nothing is. A failing source
 * the server marks covered (another source of its checksum database is
 * healthy: the field's outage, sum.golang.org down and proxy.golang.org up)
 * is named as such, not as a problem, as /readyz counts it; a database none
 * of whose sources answers is named (it is what the failing "upstreams"
 * mean: nothing new can be verified), as is --offline, where no upstream is
 * healthy or failing.
 */
export function headline(
  ups: readonly UpstreamView[],
  ongoing: number,
  forks: number,
  offline: boolean,
  /** Artifacts refused since godepot started: an upstream served bytes the checksum database contradicts. */
  refused = 0,
  /** Artifacts served unverified (the database could not vouch for them), awaiting re-verification. */
  unverified = 0,
  /** godepot's own problems (ownProblems of /readyz): first, as they are "us", not "them". */
  own: readonly string[] = [],
): { ok: boolean; text: string } {
  const failing = ups.filter((u) => !['healthy', 'offline'].includes(upstreamState(u, offline).kind));
  const covered = failing.filter((u) => u.covered === true).length;
  const bad = failing.filter((u) => u.covered !== true);
  // Not covered: no other source of that database is healthy (the server's rule).
  const databases = [...new Set(bad.flatMap((u) => (u.role === 'sumdb' && u.db ? [u.db] : [])))];
  const proxies = bad.filter((u) => !(u.role === 'sumdb' && u.db)).length;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const problems = [
    ...own,
    ...(proxies > 0 ? [`${plural(proxies, 'upstream')} failing`] : []),
    ...databases.map((db) => `checksum database ${db} unreachable: no source of it answers`),
    ...(ongoing > 0 ? [plural(ongoing, 'ongoing incident')] : []),
    ...(forks > 0 ? ['a forked checksum-database history was refused'] : []),
    ...(refused > 0
      ? [`${plural(refused, 'artifact')} refused: an upstream served bytes the checksum database contradicts`]
      : []),
    ...(unverified > 0
      ? [
          `${plural(unverified, 'artifact')} served UNVERIFIED (the checksum database could not vouch), re-verified when it can`,
        ]
      : []),
  ];
  const note =
    covered > 0
      ? `${plural(covered, 'checksum-database source')} failing, covered: the log is read through another`
      : '';
  if (problems.length > 0) return { ok: false, text: [...problems, ...(note ? [note] : [])].join(', ') };
  if (offline) return { ok: true, text: 'Offline (--offline): serving what godepot holds, asking no upstream' };
  return { ok: true, text: note ? `Serving normally; ${note}` : 'All upstreams healthy' };
}

const FAILURE_WORDS: Record<string, string> = {
  dns: 'DNS lookup failed',
  connect: 'could not connect',
  tls: 'TLS handshake failed',
  timeout: 'no answer in time',
  status: 'answered with an error status',
  body: 'sent a malformed or cut-off answer',
  breaker_open: 'circuit open',
};

/** The last failure in words, with when it happened. */
export function lastError(u: UpstreamView): string {
  const f = u.lastFailure;
  if (!f) return 'none';
  // Own keys only: a class such as "constructor" would otherwise read as Object's source text.
  const words =
    typeof f.class !== 'string' ? 'failed' : Object.hasOwn(FAILURE_WORDS, f.class) ? FAILURE_WORDS[f.class] : f.class;
  const at = parseTime(f.at);
  return `${words}${f.detail ? `: ${f.detail}` : ''}${at === null ? '' : ` (at ${clock(at)})`}`;
}

/** Whether an incident is still going on (an event never is: it was over as it happened). */
export function ongoing(i: IncidentView): boolean {
  return i.end === undefined && i.event !== true;
}

/** An incident's end: when, "ongoing", or when godepot stopped looking (its end unseen); none for an event. */
export function incidentEnd(i: IncidentView, when: (ms: number | null) => string = dateTime): string {
  if (i.event === true) return MISSING;
  if (i.end === undefined) return 'ongoing';
  return i.endUnknown === true ? `${when(parseTime(i.end))} (no longer watched)` : when(parseTime(i.end));
}

/** An incident's duration: its recorded one (at least, if its end was unseen), or "ongoing" with the time so far. */
export function incidentDuration(i: IncidentView, now: number): string {
  // Its recorded end is its start: "0 s" would read as a blip, not as a fork refused.
  if (i.event === true) return 'event';
  if (i.end !== undefined) {
    const at = i.endUnknown === true ? 'at least ' : '';
    if (isNumber(i.durationMs)) return at + duration(i.durationMs);
    const s = parseTime(i.start);
    const e = parseTime(i.end);
    return s !== null && e !== null ? at + duration(e - s) : MISSING;
  }
  const s = parseTime(i.start);
  return s === null ? MISSING : `${duration(now - s)} so far`;
}

/**
 * Text as one Markdown table cell that reads as that text: an upstream's error or a module path may hold a line
 * break (a lone \r ends a line too), a pipe, or what a renderer takes for a link, HTML, an entity (&lt; would
 * read as "<"), code or emphasis, and must not break the post-mortem's table or put a link in it. Each such
 * character is backslash-escaped, and so are the ":" of "://", the "." of "www." and every "@": GitHub's Markdown
 * (GFM) links a bare https://… or www.… without any bracket, and a bare e-mail address, which is what a
 * module@version ("example.com/m@v1.2.3") or a Git host's "git@host.example" reads as.
 */
function cell(s: unknown): string {
  return String(s)
    .replace(/\r\n|[\r\n]/g, ' ')
    .replace(/[\\`*_~[\]<>|&@]|:(?=\/\/)|(?<=www)\./gi, '\\$&');
}

/** The incident timeline as a Markdown table, ready for a post-mortem. */
export function incidentsMarkdown(incidents: readonly IncidentView[], now: number): string {
  const rows = [
    '| Start (UTC) | End (UTC) | Duration | Upstream | Failure | From cache | Degraded (unverified) | Failed |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const i of incidents) {
    const failure = [i.failureClass, i.detail].filter((x) => x !== undefined && x !== '').join(': ');
    rows.push(
      '| ' +
        [
          // UTC, as the logs and `godepot incidents` say it: pasted beside them, the times agree.
          utcDateTime(parseTime(i.start)),
          // Pasted later, "so far" needs its moment.
          ongoing(i) ? `ongoing (as of ${utcDateTime(now)})` : incidentEnd(i, utcDateTime),
          incidentDuration(i, now),
          i.upstream ?? MISSING,
          failure || MISSING,
          count(i.servedFromCache),
          count(i.servedUnverified),
          count(i.failed),
        ]
          .map(cell)
          .join(' | ') +
        ' |',
    );
  }
  if (incidents.length === 0) rows.push('| (no incidents) | | | | | | | |');
  return rows.join('\n') + '\n';
}

/** What /api/cache says of storage (a count of it, made at scannedAt) and the rest. */
export interface CountedStorage {
  readonly modules?: number;
  readonly versions?: number;
  readonly bytes?: number | null;
  readonly scannedAt?: string;
  readonly artifacts?: { readonly verified?: number; readonly unverified?: number | null; readonly refused?: number };
}

/**
 * got, with the storage count of shown when shown's is newer: with several
 * workers each counts storage on its own, and a refresh answered by one with
 * an older count must not make the page go back in time.
 */
export function newerCount<T extends CountedStorage>(got: T, shown: T | null): T {
  const at = parseTime(got.scannedAt);
  const before = parseTime(shown?.scannedAt);
  if (shown === null || at === null || before === null || at >= before) return got;
  return {
    ...got,
    modules: shown.modules,
    versions: shown.versions,
    bytes: shown.bytes,
    scannedAt: shown.scannedAt,
    artifacts: { ...got.artifacts, verified: shown.artifacts?.verified },
  };
}
