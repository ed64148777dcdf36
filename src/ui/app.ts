// The operator page: polls godepot's JSON API every few seconds and renders
// each section from it. Elements are built with textContent only (what an
// upstream sent never becomes markup). A section whose answer is missing or
// malformed keeps its last view; the header says when the page last heard
// from godepot.
import { drawCharts, type SeriesView } from './charts.js';
import {
  bytes,
  clock,
  count,
  dateTime,
  headline,
  incidentDuration,
  incidentEnd,
  incidentsMarkdown,
  isNumber,
  lastError,
  millis,
  MISSING,
  newerCount,
  nodeLine,
  ongoing,
  ownProblems,
  parseTime,
  percent,
  shortHash,
  upstreamState,
  type IncidentView,
  type UpstreamView,
} from './format.js';

const POLL_MS = 2_000;
const FETCH_TIMEOUT_MS = 5_000;

interface TreeView {
  readonly name?: string;
  readonly size?: number;
  readonly rootHash?: string | null;
  readonly status?: string;
  readonly detail?: string;
  readonly headTakenAt?: string | null;
  readonly lastCheckedAt?: string | null;
  readonly fork?: {
    readonly detectedAt?: string;
    readonly from?: string;
    readonly verifiedSize?: number;
    readonly conflictingSize?: number;
    readonly report?: string;
  } | null;
}

interface RefusedView {
  readonly at?: string;
  readonly module?: string;
  readonly version?: string;
  readonly kind?: string;
  readonly expected?: string;
  readonly received?: string;
  readonly upstream?: string;
}

interface CacheView {
  readonly modules?: number;
  readonly versions?: number;
  readonly files?: number;
  readonly bytes?: number | null;
  readonly hitRatio?: number | null;
  readonly scannedAt?: string;
  readonly artifacts?: { readonly verified?: number; readonly unverified?: number | null; readonly refused?: number };
  readonly refused?: RefusedView[];
}

type Child = Node | string;

function h(tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}

/**
 * Makes parent's children read as fresh ones, replacing only those that
 * differ: text an operator selected to copy (a hash, an error, the fork's
 * evidence) survives the refresh every 2 s unless it changed. An element
 * that differs only inside (same tag and attributes, element children
 * alone, as many) is gone into; anything else is replaced whole.
 */
function sync(parent: Element, fresh: readonly Element[]): void {
  const old = [...parent.children];
  if (old.length !== fresh.length || parent.childNodes.length !== old.length) {
    parent.replaceChildren(...fresh);
    return;
  }
  fresh.forEach((f, i) => {
    const o = old[i] as Element;
    if (o.isEqualNode(f)) return;
    const shell = (e: Element): string => (e.cloneNode(false) as Element).outerHTML;
    const inner = (e: Element): boolean => e.children.length > 0 && e.childNodes.length === e.children.length;
    if (shell(o) === shell(f) && inner(o) && inner(f)) sync(o, [...f.children]);
    else o.replaceWith(f);
  });
}

/** Sets an element's text only when it changes: a live region re-read every 2 s says nothing new. */
function say(el: HTMLElement, text: string, className?: string): void {
  if (el.textContent !== text) el.textContent = text;
  if (className !== undefined && el.className !== className) el.className = className;
}

function rows(tbody: HTMLElement, trs: HTMLElement[], empty: string, cols: number): void {
  // Each cell carries its column's name: a phone shows a row as a card of labelled values (style.css).
  const names = [...(tbody.closest('table')?.querySelectorAll('thead th') ?? [])].map((th) => th.textContent ?? '');
  for (const tr of trs) [...tr.children].forEach((td, i) => td.setAttribute('data-label', names[i] ?? ''));
  sync(tbody, trs.length > 0 ? trs : [h('tr', {}, h('td', { colspan: String(cols), class: 'muted' }, empty))]);
}

function facts(dl: HTMLElement, items: Array<[string, Child]>): void {
  sync(
    dl,
    items.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  );
}

/**
 * godepot's refusal of this page's credentials (401, 403 under --auth: a
 * token changed or removed, a user no longer allowed every module), or 0.
 * It is no outage, and asking again every 2 s would only be refused,
 * logged and counted as failed authentication: the page stops asking.
 */
let refusedWith = 0;

async function getJson(path: string): Promise<unknown> {
  const r = await fetch(path, {
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    headers: { accept: 'application/json' },
  });
  if (r.status === 401 || r.status === 403) refusedWith = r.status;
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

/** The objects of an array answer (or of its field): an entry that is not one (null, a number) is left out. */
function list<T>(v: unknown, field?: string): T[] {
  const x = field !== undefined && v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[field] : v;
  return Array.isArray(x) ? (x.filter((e) => e !== null && typeof e === 'object' && !Array.isArray(e)) as T[]) : [];
}

let incidents: IncidentView[] = [];

/** The last answers the headline is made from (a section that did not answer keeps its last view). */
let upstreams: UpstreamView[] = [];
let offline = false;
let trees: TreeView[] = [];

function renderUpstreams(v: unknown): void {
  offline = v !== null && typeof v === 'object' && (v as { offline?: unknown }).offline === true;
  upstreams = list<UpstreamView>(v, 'upstreams');
  const trs = upstreams.map((u) => {
    const s = upstreamState(u, offline);
    const role = u.role === 'sumdb' ? `checksum database${u.db ? ` ${u.db}` : ''}` : 'module proxy';
    const refusals =
      isNumber(u.breakerRefusals) && u.breakerRefusals > 0
        ? `, ${count(u.breakerRefusals)} refused by the open circuit`
        : '';
    return h(
      'tr',
      { 'data-url': u.url ?? '' },
      h('td', { class: 'url' }, h('code', {}, u.url ?? MISSING)),
      h('td', {}, role),
      h('td', {}, h('span', { class: `state state-${s.kind}` }, s.text)),
      h('td', {}, lastError(u)),
      h('td', { class: 'num' }, `${millis(u.p50Ms)} / ${millis(u.p99Ms)}`),
      h('td', { class: 'num' }, `${count(u.requests)} / ${count(u.failures)}${refusals}`),
    );
  });
  rows(byId('upstream-rows'), trs, 'No upstreams configured.', 6);
}

/** The first fork the page was told of, per database: each worker (or node) dates its own detection. */
const firstForks = new Map<string, NonNullable<TreeView['fork']>>();

function renderTrees(v: unknown, now: number): void {
  trees = list<TreeView>(v, 'trees').map((t) => {
    if (!t.fork || t.name === undefined) return t;
    const seen = firstForks.get(t.name);
    const at = parseTime(t.fork.detectedAt);
    if (seen === undefined || (at !== null && at < (parseTime(seen.detectedAt) ?? Infinity))) {
      firstForks.set(t.name, t.fork);
      return t;
    }
    return { ...t, fork: seen };
  });
  const age = (iso: string | null | undefined): string => {
    const t = parseTime(iso);
    return t === null
      ? MISSING
      : `${clock(t)} (${Math.max(0, Math.round((now - t) / 1000)).toLocaleString('en-US')} s ago)`;
  };
  sync(
    byId('trees'),
    trees.length > 0
      ? trees.map((t) => {
          const dl = h('dl', { class: 'facts' });
          facts(dl, [
            ['Name', h('code', {}, t.name ?? MISSING)],
            ['Verified size', h('span', { class: 'tree-size' }, count(t.size))],
            ['Root hash', h('code', { title: t.rootHash ?? '' }, shortHash(t.rootHash))],
            ['State', `${t.status ?? MISSING}${t.detail ? ` — ${t.detail}` : ''}`],
            ['Signed head taken', age(t.headTakenAt)],
            ['Last successful consistency check', age(t.lastCheckedAt)],
          ]);
          return h('div', { class: 'tree' }, dl);
        })
      : [
          h(
            'p',
            { class: 'muted' },
            'No checksum database configured (--sumdb off): what godepot serves is not checked against one.',
          ),
        ],
  );
  const forks = trees.filter((t) => t.fork);
  const banner = byId('fork');
  banner.hidden = forks.length === 0;
  sync(
    banner,
    forks.flatMap((t) => [
      h(
        'h2',
        {},
        `Fork refused: checksum database ${t.name ?? ''} served a history that does not extend the verified one`,
      ),
      h(
        'p',
        {},
        `At ${dateTime(parseTime(t.fork?.detectedAt))} from ${t.fork?.from ?? MISSING}: verified size ${count(t.fork?.verifiedSize)}, conflicting size ${count(t.fork?.conflictingSize)}. godepot still serves only the verified history.`,
      ),
      h('pre', {}, t.fork?.report ?? ''),
    ]),
  );
}

function renderIncidents(v: unknown, now: number): void {
  incidents = list<IncidentView>(v);
  const trs = incidents.map((i) => {
    const failure = [i.failureClass, i.detail].filter((x) => x !== undefined && x !== '').join(': ');
    return h(
      'tr',
      { class: ongoing(i) ? 'incident incident-ongoing' : 'incident' },
      h('td', {}, dateTime(parseTime(i.start))),
      h('td', {}, ongoing(i) ? h('span', { class: 'ongoing' }, 'ongoing') : incidentEnd(i)),
      h('td', {}, incidentDuration(i, now)),
      h('td', { class: 'url' }, h('code', {}, i.upstream ?? MISSING)),
      h('td', {}, failure || MISSING),
      h('td', { class: 'num' }, count(i.servedFromCache)),
      h('td', { class: 'num' }, count(i.servedUnverified)),
      h('td', { class: 'num' }, count(i.failed)),
    );
  });
  rows(byId('incident-rows'), trs, 'No incidents recorded.', 8);
}

/** Refused artifacts since godepot started, for the headline (a section that did not answer keeps its last). */
let refusedCount = 0;
let unverifiedCount = 0;

/** The newest storage count shown: with several workers, each counts on its own, at its own time. */
let newestScan: CacheView | null = null;

function renderCache(v: unknown): void {
  // Counts never go back to an older scan because this refresh reached another worker.
  const c = newerCount((v !== null && typeof v === 'object' ? v : {}) as CacheView, newestScan);
  newestScan = c;
  refusedCount = isNumber(c.artifacts?.refused) ? c.artifacts.refused : refusedCount;
  unverifiedCount = isNumber(c.artifacts?.unverified) ? c.artifacts.unverified : unverifiedCount;
  facts(byId('cache-facts'), [
    ['Modules stored', count(c.modules)],
    ['Versions stored', count(c.versions)],
    ['Bytes stored', bytes(c.bytes)],
    ['Hit ratio (since start)', percent(c.hitRatio)],
    ['Verified artifacts (.mod, .zip)', count(c.artifacts?.verified)],
    ['Unverified, quarantined until re-verified', count(c.artifacts?.unverified)],
    ['Refused (contradict the checksum database)', h('span', { class: 'refused-count' }, count(c.artifacts?.refused))],
    ['Storage counted at', clock(parseTime(c.scannedAt))],
  ]);
  const trs = list<RefusedView>(c.refused).map((r) =>
    h(
      'tr',
      { class: 'refused' },
      h('td', {}, dateTime(parseTime(r.at))),
      h('td', {}, h('code', {}, r.module ?? MISSING)),
      h('td', {}, h('code', {}, r.version ?? MISSING)),
      h('td', {}, r.kind === 'mod' ? 'go.mod' : r.kind === 'zip' ? '.zip' : (r.kind ?? MISSING)),
      h('td', {}, h('code', {}, r.expected ?? MISSING)),
      h('td', {}, h('code', {}, r.received ?? MISSING)),
      h('td', {}, h('code', {}, r.upstream ?? MISSING)),
    ),
  );
  rows(byId('refused-rows'), trs, 'None refused since godepot started.', 7);
}

let lastHeard = 0;

/** Whether an answer has the shape its section reads (an array, or an object with an array field): else it is no answer. */
function shaped(v: unknown, field?: string): boolean {
  if (field === undefined) return Array.isArray(v);
  return v !== null && typeof v === 'object' && Array.isArray((v as Record<string, unknown>)[field]);
}

let unreachableSince = 0;

/** --node-name, as /readyz last said it: in the title, so that tabs on several nodes are told apart. */
let nodeName = '';

async function refresh(): Promise<void> {
  // undefined: that answer did not arrive this time (or not in its shape: an empty or garbled answer must not
  // read as "nothing is wrong"); its section keeps its last view.
  const get = (path: string, field?: string): Promise<unknown> =>
    getJson(path).then(
      (v) => (shaped(v, field) ? v : undefined),
      () => undefined,
    );
  const [ups, sumdb, incs, cache, series, ready] = await Promise.all([
    get('/api/upstreams', 'upstreams'),
    get('/api/sumdb', 'trees'),
    get('/api/incidents'),
    get('/api/cache', 'refused'),
    getJson('/api/series').catch(() => undefined),
    // Its 503 (not ready: storage) is an answer too.
    fetch('/readyz', { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } })
      .then((r) => r.json() as Promise<unknown>)
      .catch(() => undefined),
  ]);
  const now = Date.now();
  const heard = ups !== undefined;
  // Each section on its own: one that cannot be drawn from its answer keeps its last view (and is said below),
  // never leaving the headline and the other sections as they were.
  const drawn = (path: string, v: unknown, render: (v: unknown) => void): unknown => {
    if (v === undefined) return undefined;
    try {
      render(v);
      return v;
    } catch (err) {
      console.warn(`godepot operator page: could not show ${path}:`, err);
      return undefined;
    }
  };
  drawn('/api/upstreams', ups, renderUpstreams);
  const shown = {
    sumdb: drawn('/api/sumdb', sumdb, (v) => renderTrees(v, now)),
    incs: drawn('/api/incidents', incs, (v) => renderIncidents(v, now)),
    cache: drawn('/api/cache', cache, renderCache),
  };
  if (series !== null && typeof series === 'object') drawn('/api/series', series, (v) => drawCharts(v as SeriesView));
  if (heard) lastHeard = now;
  // Kept while /readyz does not answer: the page is still that node's.
  if (ready !== undefined) {
    say(byId('node'), nodeLine(ready));
    const n = ready !== null && typeof ready === 'object' ? (ready as { node?: unknown }).node : undefined;
    nodeName = typeof n === 'string' ? n : '';
  }
  const title = `godepot${nodeName === '' ? '' : ` ${nodeName}`} — operator page`;
  const summary = byId('summary');
  const updated = byId('updated');
  if (refusedWith !== 0) {
    say(
      summary,
      refusedWith === 401
        ? 'godepot no longer accepts the credentials this page signed in with (HTTP 401: a token changed or was removed); reload the page to sign in again'
        : // A 403 asks for no other credentials: the browser sends the same ones until it is closed, a reload too.
          'godepot refuses this user the operator page (HTTP 403: it needs a user allowed every module); open it in a new private window to sign in as one, or ask godepot\'s administrator to allow this user "*"',
      'bad',
    );
    document.title = `(!) ${title}`;
    updated.textContent = `${lastHeard === 0 ? '' : `updated ${clock(lastHeard)} — `}stopped refreshing`;
    updated.className = 'stale';
    return;
  }
  if (heard) {
    unreachableSince = 0;
    const forks = trees.filter((t) => t.fork).length;
    const open = incidents.filter(ongoing).length;
    // A section godepot did not answer (or answered garbled) keeps its last view: said, not shown as normal.
    const unanswered = (
      [
        ['/api/sumdb', shown.sumdb],
        ['/api/incidents', shown.incs],
        ['/api/cache', shown.cache],
      ] as const
    )
      .filter(([, v]) => v === undefined)
      .map(([path]) => path);
    const own = [
      ...ownProblems(ready),
      ...(unanswered.length > 0
        ? [`godepot did not answer ${unanswered.join(', ')}: those sections show their last state`]
        : []),
    ];
    const head = headline(upstreams, open, forks, offline, refusedCount, unverifiedCount, own);
    say(summary, head.text, head.ok ? 'ok' : 'bad');
    document.title = `${head.ok ? '' : '(!) '}${title}`;
  } else {
    // Is it us: the page cannot read godepot, whatever the last view said.
    // Since its last answer: that is when "us" went quiet.
    unreachableSince ||= lastHeard || now;
    say(summary, `Cannot reach godepot since ${clock(unreachableSince)}: below is the last state it reported`, 'bad');
    document.title = `(!) ${title}`;
  }
  updated.textContent =
    lastHeard === 0
      ? 'cannot reach godepot'
      : `updated ${clock(lastHeard)}${heard ? '' : ' — cannot reach godepot now'}`;
  updated.className = heard ? 'muted' : 'stale';
}

async function copyMarkdown(): Promise<void> {
  const md = incidentsMarkdown(incidents, Date.now());
  const area = byId('md') as HTMLTextAreaElement;
  const status = byId('copy-status');
  area.value = md;
  try {
    await navigator.clipboard.writeText(md);
    area.hidden = true;
    status.textContent = 'Copied the incident table as Markdown.';
  } catch {
    // No clipboard (plain http on a remote host): show it selected for Ctrl+C.
    area.hidden = false;
    area.focus();
    area.select();
    status.textContent = 'Press Ctrl+C to copy the selected Markdown.';
  }
}

function loop(): void {
  void refresh()
    .catch(() => undefined)
    .finally(() => {
      if (refusedWith === 0) setTimeout(loop, POLL_MS);
    });
}

byId('copy-md').addEventListener('click', () => void copyMarkdown());
loop();
