// The upstream client against tiny loopback servers: GOPROXY-list
// fall-through, failure classes, retries (and Retry-After), the breaker's
// half-open probe, hedged mirrors, request dedupe and aborts.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import {
  EndpointRegistry,
  HttpPools,
  hedged,
  MirrorSet,
  NotFoundError,
  ProxyList,
  readLimited,
  UpstreamError,
  type EndpointEvent,
  type HealthNews,
} from '../../src/upstream/index.js';
import { SingleFlight } from '../../src/util/singleflight.js';
import { REPROBE_PATH, reprobeFailing } from '../../src/runtime/probe.js';
import { parseUpstreamList } from '../../src/config/values.js';
import { DEFAULT_DEADLINES, type Deadlines } from '../../src/config/settings.js';
import type { WaitingClock as Clock } from '../../src/util/clock.js';
import { FakeClock, OffsetClock } from '../support/clock.js';
import { dependantSignals } from '../support/signals.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
async function serve(handler: Handler): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const s = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  servers.push(s);
  const a = s.address();
  if (!a || typeof a === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${a.port}`, hits };
}
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

const fast: Deadlines = { connect: 500, firstByte: 300, idle: 300, total: 2_000 };
function registry(
  opts: {
    attempts?: number;
    failures?: number;
    halfOpenAfter?: number;
    events?: EndpointEvent[];
    deadlines?: Deadlines;
    clock?: Clock;
    news?: (n: HealthNews) => void;
    random?: () => number;
  } = {},
) {
  const d = opts.deadlines ?? fast;
  const deadlines = { metadata: d, zip: d, sumdb: d } as typeof DEFAULT_DEADLINES;
  const pools = new HttpPools(deadlines);
  pools_.push(pools);
  return new EndpointRegistry(
    pools,
    {
      deadlines,
      retry: { attempts: opts.attempts ?? 3, baseDelay: 5, maxDelay: 20 },
      breaker: { failures: opts.failures ?? 100, halfOpenAfter: opts.halfOpenAfter ?? 60_000 },
    },
    { onCall: (e) => opts.events?.push(e), ...(opts.news ? { onHealthNews: opts.news } : {}) },
    opts.clock,
    opts.random,
  );
}
const pools_: HttpPools[] = [];

/** The outcome of a call whose retry pauses run on a fake clock: moves the clock until it settles (bounded). */
async function settle(clock: FakeClock, call: Promise<unknown>): Promise<unknown> {
  let done = false;
  const outcome = call.then(
    (v) => v,
    (e: unknown) => e,
  );
  void outcome.finally(() => (done = true));
  for (let i = 0; i < 1_000 && !done; i++) {
    await new Promise((r) => setTimeout(r, 10));
    await clock.advance(25);
  }
  if (!done) throw new Error('call did not settle');
  return outcome;
}
afterEach(async () => {
  for (const p of pools_.splice(0)) await p.close();
});

const text =
  (body: string, status = 200): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(body);
  };
const read = readLimited(1 << 20);

describe('ProxyList (GOPROXY walk)', () => {
  it("after ',' only 404/410 falls through; after '|' any error does", async () => {
    const notFound = await serve(text('not found: nope', 404));
    const broken = await serve(text('boom', 500));
    const good = await serve(text('v1.0.0\n'));
    const r = registry({ attempts: 1 });
    const comma = new ProxyList(parseUpstreamList(`${notFound.url},${good.url}`), r);
    expect((await comma.get('/m/@v/list', 'list', 'metadata', read)).value.toString()).toBe('v1.0.0\n');
    const stops = new ProxyList(parseUpstreamList(`${broken.url},${good.url}`), r);
    await expect(stops.get('/m/@v/list', 'list', 'metadata', read)).rejects.toMatchObject({
      failure: 'status',
      status: 500,
      upstream: broken.url,
    });
    const pipe = new ProxyList(parseUpstreamList(`${broken.url}|${good.url}`), r);
    expect((await pipe.get('/m/@v/list', 'list', 'metadata', read)).meta.upstream).toBe(good.url);
    const alsoNotFound = await serve(text('not found: nope', 404));
    const allMissing = new ProxyList(parseUpstreamList(`${notFound.url},${alsoNotFound.url}`), r);
    const err = await allMissing.get('/m/@v/list', 'list', 'metadata', read).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).detail).toBe('not found: nope');
    // A failure outranks "not found" in what is reported.
    const mixed = new ProxyList(parseUpstreamList(`${broken.url}|${notFound.url}`), r);
    await expect(mixed.get('/m/@v/list', 'list', 'metadata', read)).rejects.toBeInstanceOf(UpstreamError);
  });
});

describe('Endpoint: failure classes, retries, breaker', () => {
  it('names DNS, connect, time-out and status failures', async () => {
    const r = registry({ attempts: 1 });
    const dns = await r
      .get('http://no-such-host.invalid')
      .get('/x', 'info', 'metadata', read)
      .catch((e: unknown) => e);
    expect(dns).toMatchObject({ failure: 'dns' });
    const closed = await serve(text(''));
    const port = new URL(closed.url).port;
    const s = servers.pop() as Server;
    s.close();
    await once(s, 'close');
    const refused = await r
      .get(`http://127.0.0.1:${port}`)
      .get('/x', 'info', 'metadata', read)
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ failure: 'connect', detail: 'connection refused' });
    const hang = await serve(() => undefined);
    const t = await r
      .get(hang.url)
      .get('/x', 'info', 'metadata', read)
      .catch((e: unknown) => e);
    expect(t).toMatchObject({ failure: 'timeout' });
    expect((t as UpstreamError).describe()).toMatch(/time-out/);
    // A plain-http server asked over https (a URL written without its scheme means https://).
    const plain = await serve(text('v1.0.0\n'));
    const tls = await r
      .get(plain.url.replace('http://', 'https://'))
      .get('/x', 'info', 'metadata', read)
      .catch((e: unknown) => e);
    expect(tls).toMatchObject({ failure: 'tls' });
    expect((tls as UpstreamError).detail).toMatch(/^the server answered in plain HTTP, not TLS: .*http:\/\//);
  });

  it('retries transient failures after the pause a Retry-After asks for (fake time), and never retries a 4xx', async () => {
    let n = 0;
    const flaky = await serve((req, res) => {
      n++;
      if (n === 1) {
        res.writeHead(503, { 'retry-after': '3' });
        res.end('busy');
      } else text('ok')(req, res);
    });
    const clock = new FakeClock();
    const r = registry({ attempts: 3, clock, deadlines: { ...fast, total: 10_000 } });
    const call = r.get(flaky.url).get('/x', 'info', 'metadata', read);
    // Sleeping for the 3s asked (plus the call's own deadline timer).
    await clock.until(() => flaky.hits.length === 1 && clock.pending === 2, 'the retry pause');
    await clock.advance(2_900);
    expect(flaky.hits).toHaveLength(1);
    await clock.advance(100);
    expect((await call).found).toBe(true);
    expect(flaky.hits).toHaveLength(2);
    const forbidden = await serve(text('no', 403));
    await expect(r.get(forbidden.url).get('/x', 'info', 'metadata', read)).rejects.toMatchObject({ status: 403 });
    expect(forbidden.hits).toHaveLength(1);
  });

  it('a Retry-After beyond the deadline (seconds or HTTP-date) fails the call at once, saying when to retry', async () => {
    const clock = new FakeClock();
    const r = registry({ attempts: 3, clock, deadlines: { ...fast, total: 13_000 } });
    // Seconds, and the three forms of an HTTP-date (the RFC 850 and asctime ones are obsolete, but still read).
    const inAnHour = new Date(clock.now() + 3_600_000).toUTCString();
    expect(inAnHour).toBe('Thu, 01 Jan 2026 01:00:00 GMT');
    for (const after of ['3600', inAnHour, 'Thursday, 01-Jan-26 01:00:00 GMT', 'Thu Jan  1 01:00:00 2026']) {
      const busy = await serve((_req, res) => {
        res.writeHead(503, { 'retry-after': after });
        res.end('come back later');
      });
      // No time passes on the fake clock: the call must not wait at all.
      const err = await r
        .get(busy.url)
        .get('/x', 'info', 'metadata', read)
        .catch((e: unknown) => e);
      expect(err, after).toBeInstanceOf(UpstreamError);
      expect(err, after).toMatchObject({ failure: 'status', status: 503, retryAfterMs: 3_600_000 });
      expect((err as UpstreamError).detail, after).toMatch(
        /asks to be retried after 3600s \(at 2026-01-01T01:00:00.000Z\), beyond this call's deadline/,
      );
      expect(busy.hits, after).toHaveLength(1);
    }
  });

  it('a retry pause ends as soon as the caller goes away', async () => {
    const busy = await serve((_req, res) => {
      res.writeHead(503, { 'retry-after': '5' });
      res.end('busy');
    });
    const clock = new FakeClock();
    const r = registry({ attempts: 3, clock, deadlines: { ...fast, total: 60_000 } });
    const ctl = new AbortController();
    const call = r.get(busy.url).get('/x', 'info', 'metadata', read, ctl.signal);
    await clock.until(() => busy.hits.length === 1 && clock.pending === 2, 'the retry pause');
    ctl.abort(new Error('client went away'));
    await expect(call).rejects.toThrow('client went away');
    expect(busy.hits).toHaveLength(1);
  });

  it('follows another process: its opening makes this one fail fast with its "failing since", its closing reopens the way', async () => {
    let healthy = false;
    const up = await serve((req, res) => (healthy ? text('ok')(req, res) : text('down', 500)(req, res)));
    const clock = new FakeClock();
    // Two processes that talk to one upstream; what one shares, the other follows (coord/ carries it between them).
    const sharedA: HealthNews[] = [];
    const sharedB: HealthNews[] = [];
    const a = registry({ attempts: 1, failures: 3, halfOpenAfter: 10_000, clock, news: (n) => sharedA.push(n) });
    const b = registry({ attempts: 1, failures: 3, halfOpenAfter: 10_000, clock, news: (n) => sharedB.push(n) });
    const epA = a.get(up.url);
    const epB = b.get(up.url);
    for (const m of ['a', 'b', 'c'])
      await epA.get(`/example.com/${m}/@v/list`, 'list', 'metadata', read).catch(() => 0);
    expect(epA.state).toBe('open');
    // The streak's start was news (B shows it failing), then the opening.
    expect(sharedA).toEqual([
      expect.objectContaining({ upstream: up.url, state: 'failing', failure: 'status' }),
      expect.objectContaining({ upstream: up.url, state: 'open', failure: 'status' }),
    ]);
    const since = sharedA[1]?.since;
    expect(since).toBe(clock.now());
    await clock.advance(1_000);
    for (const n of sharedA) b.follow(n);
    // B never asked the upstream, yet fails fast, for any module, reporting A's failure and its start.
    const fast = await epB.get('/example.com/new/@v/list', 'list', 'metadata', read).catch((e: unknown) => e);
    expect(fast).toMatchObject({ breakerOpen: true, failure: 'status', since });
    expect(up.hits).toHaveLength(3);
    expect(epB.status().failingSince).toBe(new Date(since ?? 0).toISOString());
    // Following is not news: B shares nothing of it, so news never echoes between processes.
    expect(sharedB).toEqual([]);
    // Old news never undoes a newer state.
    b.follow({ upstream: up.url, state: 'closed', at: (sharedA[1]?.at ?? 0) - 1 });
    expect(epB.state).toBe('open');
    // Past the half-open time B probes for itself; the upstream is back, so B closes and says so.
    healthy = true;
    await clock.advance(10_000);
    await expect(epB.get('/example.com/new/@v/list', 'list', 'metadata', read)).resolves.toMatchObject({ found: true });
    expect(sharedB).toEqual([expect.objectContaining({ state: 'closed', at: clock.now() })]);
    for (const n of sharedB) a.follow(n);
    expect(epA.state).toBe('closed');
    expect(up.hits).toHaveLength(4);
  });

  it('a failure streak that ends before the breaker opens ends in every process (/readyz alike in all)', async () => {
    let healthy = false;
    const up = await serve((req, res) => (healthy ? text('ok')(req, res) : text('down', 500)(req, res)));
    const clock = new FakeClock();
    const sharedA: HealthNews[] = [];
    const sharedB: HealthNews[] = [];
    const a = registry({ attempts: 1, failures: 3, clock, news: (n) => sharedA.push(n) });
    const b = registry({ attempts: 1, failures: 3, clock, news: (n) => sharedB.push(n) });
    const epA = a.get(up.url);
    const epB = b.get(up.url);
    // Both saw a failure (A's start-up probe, B's first request): both are failing, breakers closed.
    await epA.get('/example.com/a/@v/list', 'list', 'metadata', read).catch(() => 0);
    await epB.get('/example.com/b/@v/list', 'list', 'metadata', read).catch(() => 0);
    expect([epA.state, epB.state]).toEqual(['closed', 'closed']);
    expect(epB.status().failingSince).toBeDefined();
    await clock.advance(1_000);
    // The upstream is back; only A asks it. B, told, is no longer failing either.
    healthy = true;
    await epA.get('/example.com/a/@v/list', 'list', 'metadata', read);
    const ended = (news: HealthNews[]): HealthNews[] => news.filter((n) => n.state === 'closed');
    expect(ended(sharedA)).toEqual([{ upstream: up.url, state: 'closed', at: clock.now() }]);
    for (const n of ended(sharedA)) b.follow(n);
    expect(epB.status().failingSince).toBeUndefined();
    expect(ended(sharedB)).toEqual([]);
    // News older than a streak does not end it.
    healthy = false;
    await clock.advance(1_000);
    await epB.get('/example.com/b/@v/list', 'list', 'metadata', read).catch(() => 0);
    b.follow({ upstream: up.url, state: 'closed', at: clock.now() - 500 });
    expect(epB.status().failingSince).toBeDefined();
  });

  it('a failure streak that begins in one process shows in the others, breakers closed, with its start and words', async () => {
    const up = await serve(text('down', 503));
    const clock = new FakeClock();
    const sharedA: HealthNews[] = [];
    const a = registry({ attempts: 1, failures: 3, clock, news: (n) => sharedA.push(n) });
    const b = registry({ attempts: 1, failures: 3, clock, news: () => undefined });
    const started = clock.now();
    await a
      .get(up.url)
      .get('/example.com/a/@v/list', 'list', 'metadata', read)
      .catch(() => 0);
    await clock.advance(1_000);
    await a
      .get(up.url)
      .get('/example.com/a/@v/list', 'list', 'metadata', read)
      .catch(() => 0);
    // Said once, when the streak began, with its start and its failure.
    expect(sharedA).toEqual([
      { upstream: up.url, state: 'failing', at: started, since: started, failure: 'status', detail: '503: down' },
    ]);
    const seen = b.get(up.url);
    for (const n of sharedA) b.follow(n);
    expect(seen.state).toBe('closed');
    expect(seen.status()).toMatchObject({
      failingSince: new Date(started).toISOString(),
      lastFailure: { class: 'status', detail: '503: down' },
    });
  });

  it('a failure streak over which the wall clock stepped back is failing since now, never since a time to come', async () => {
    // Kept as it was, /readyz, the operator page and every refused client said "failing since" an hour ahead
    // ("(0s)"), for the hour the clock took to catch up.
    const up = await serve(text('down', 503));
    const clock = new OffsetClock();
    const ep = registry({ attempts: 1, failures: 2, halfOpenAfter: 60_000, clock }).get(up.url);
    await ep.get('/example.com/a/@v/list', 'list', 'metadata', read).catch(() => 0);
    clock.skip(-3600_000);
    const stepped = clock.now();
    expect(Date.parse(ep.status().failingSince ?? '')).toBeLessThanOrEqual(stepped + 1_000);
    await ep.get('/example.com/b/@v/list', 'list', 'metadata', read).catch(() => 0);
    expect(ep.state).toBe('open');
    const since = Date.parse(ep.status().failingSince ?? '');
    expect(since).toBeGreaterThanOrEqual(stepped);
    expect(since).toBeLessThanOrEqual(clock.now());
    const refused = await ep.get('/example.com/b/@v/list', 'list', 'metadata', read).catch((e: unknown) => e);
    expect(refused).toMatchObject({ breakerOpen: true, since });
  });

  it('opens when several modules fail, fails fast while open, lets one probe through half-open (fake time)', async () => {
    let healthy = false;
    const up = await serve((req, res) => (healthy ? text('ok')(req, res) : text('down', 500)(req, res)));
    const events: EndpointEvent[] = [];
    const clock = new FakeClock();
    const r = registry({ attempts: 1, failures: 3, halfOpenAfter: 10_000, events, clock });
    const ep = r.get(up.url);
    for (const m of ['a', 'b', 'c']) await ep.get(`/example.com/${m}/@v/list`, 'list', 'metadata', read).catch(() => 0);
    expect(ep.state).toBe('open');
    const open = await ep.get('/example.com/a/@v/list', 'list', 'metadata', read).catch((e: unknown) => e);
    expect(open).toMatchObject({ breakerOpen: true, failure: 'status' });
    expect((open as UpstreamError).describe(clock.now())).toMatch(/; circuit open, next probe in 10s; failing since /);
    expect(up.hits).toHaveLength(3);
    // A module that has not failed is let through as a probe; it fails too, so the breaker stays open.
    await expect(ep.get('/example.com/d/@v/list', 'list', 'metadata', read)).rejects.toMatchObject({ status: 500 });
    expect(up.hits).toHaveLength(4);
    // After a failed probe every call fails fast, new modules included, until the half-open time.
    for (const m of ['d', 'f'])
      await expect(ep.get(`/example.com/${m}/@v/list`, 'list', 'metadata', read)).rejects.toMatchObject({
        breakerOpen: true,
      });
    expect(up.hits).toHaveLength(4);
    await clock.advance(9_999);
    expect(ep.status().health).toMatch(/^circuit open, next probe in 1s; failing since /);
    await clock.advance(1);
    expect(ep.state).toBe('open');
    expect(ep.status().health).toMatch(/^circuit open, next probe due now; failing since /);
    healthy = true;
    const [probe, other] = await Promise.allSettled([
      ep.get('/example.com/d/@v/list', 'list', 'metadata', read),
      ep.get('/example.com/e/@v/list', 'list', 'metadata', read),
    ]);
    expect(probe.status).toBe('fulfilled');
    expect(other.status).toBe('rejected');
    expect(ep.state).toBe('closed');
    expect(up.hits).toHaveLength(5);
    expect(events.filter((e) => e.outcome === 'breaker_open')).toHaveLength(4);
  });

  it('passes on a 4xx answer in the words the go command would show: every line to the first blank one, non-ASCII kept', async () => {
    const detail = async (body: string, status: number): Promise<string> => {
      const ep = registry({ attempts: 1 }).get((await serve(text(body, status))).url);
      try {
        const r = await ep.get('/example.com/m/@v/list', 'list', 'metadata', read);
        if (r.found) throw new Error(`a ${status} read as found`);
        return r.notFound.detail;
      } catch (err) {
        if (err instanceof UpstreamError) return err.detail;
        throw err;
      }
    };
    // proxy.golang.org's answer for a module it cannot fetch from its origin: why is under the first line.
    const said = [
      'not found: example.com/m@v1.0.0: invalid version: git ls-remote -q origin in /tmp/vcs/0f: exit status 128:',
      "\tfatal: could not read Username for 'https://example.com': terminal prompts disabled",
      'Confirm the import path was typed correctly.',
      'If this is a private repository, see https://golang.org/doc/faq#git_https for additional information.',
    ];
    expect(await detail(`\n${said.join('\n')}\n\nnot shown\n`, 410)).toBe(said.map((l) => l.trim()).join(' '));
    // Letters need not be ASCII; control and format characters (a terminal escape, a right-to-left override) are
    // not shown: the go command would show nothing of a body holding them.
    expect(await detail('zurückgezogen: auf Wunsch des Autors’\u001b[31m \u202eok\n', 403)).toBe(
      '403: zurückgezogen: auf Wunsch des Autors’?[31m ?ok',
    );
    // At most 8 lines, as the go command shows.
    const twelve = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`).join('\n');
    expect(await detail(twelve, 404)).toBe('line 1 line 2 line 3 line 4 line 5 line 6 line 7 line 8');
  });

  it("quotes a long error answer's first line shortened at word boundaries, its start and end kept", async () => {
    const said = `proxy error: ${'the backend did not answer, '.repeat(30)}retry after maintenance`;
    const up = await serve(text(`${said}\nsecond line`, 503));
    const ep = registry({ attempts: 1, failures: 3, clock: new FakeClock() }).get(up.url);
    const e = (await ep
      .get('/example.com/a/@latest', 'latest', 'metadata', read)
      .catch((x: unknown) => x)) as UpstreamError;
    expect(e.detail.length).toBeLessThanOrEqual('503: '.length + 300);
    // Cut at 300 characters it ended in "the bac", a word cut in two, and its end was gone.
    expect(e.detail).toMatch(/^503: proxy error: the backend did not answer, .* … .*retry after maintenance$/);
  });

  it("a call refused while open says the earlier answer's status, not its words (they named another module)", async () => {
    const up = await serve(text('error fetching corp.example/merger-plans@v1.0.0', 503));
    const ep = registry({ attempts: 1, failures: 2, halfOpenAfter: 60_000, clock: new FakeClock() }).get(up.url);
    for (const m of ['a', 'b']) await ep.get(`/example.com/${m}/@latest`, 'latest', 'metadata', read).catch(() => 0);
    expect(ep.state).toBe('open');
    const open = (await ep
      .get('/example.com/a/@latest', 'latest', 'metadata', read)
      .catch((e: unknown) => e)) as UpstreamError;
    expect(open).toMatchObject({ breakerOpen: true, failure: 'status' });
    expect(open.describe()).toContain('503 to an earlier request');
    expect(open.describe()).not.toContain('merger-plans');
    // The operator still reads the upstream's words.
    expect(ep.status().lastFailure?.detail).toContain('merger-plans');
  });

  it('nor the words a time-out quoted from its last attempt', async () => {
    // The upstream's words name the module each request asked for.
    const up = await serve((req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end(`error fetching ${req.url ?? ''}`);
    });
    const clock = new FakeClock();
    // No jitter: the first retry pause is 5 ms, and the total deadline (3 ms, on the fake clock) ends in it.
    const deadlines = { connect: 500, firstByte: 300, idle: 300, total: 3 };
    const ep = registry({ attempts: 5, failures: 2, halfOpenAfter: 60_000, clock, deadlines, random: () => 1 }).get(
      up.url,
    );
    for (const m of ['merger-plans', 'merger-dates']) {
      const call = ep.get(`/corp.example/${m}/@latest`, 'latest', 'metadata', read).catch((e: unknown) => e);
      await clock.until(() => clock.pending >= 2, 'the retry pause');
      await clock.advance(3);
      const e = (await call) as UpstreamError;
      expect(e).toMatchObject({ failure: 'timeout' });
      // To the one who asked, the words about its own request.
      expect(e.describe()).toContain(`last attempt: 503: error fetching /corp.example/${m}/@latest`);
    }
    expect(ep.state).toBe('open');
    // Another client asking for the first module is refused by the open breaker, without the second's words.
    const open = (await ep
      .get('/corp.example/merger-plans/@latest', 'latest', 'metadata', read)
      .catch((e: unknown) => e)) as UpstreamError;
    expect(open).toMatchObject({ breakerOpen: true, failure: 'timeout' });
    expect(open.describe()).toContain('an earlier request got no complete answer in time');
    expect(open.describe()).not.toContain('merger-dates');
  });

  it('a failed probe opens the breaker again for another half-open period', async () => {
    const up = await serve(text('down', 500));
    const clock = new FakeClock();
    const ep = registry({ attempts: 1, failures: 2, halfOpenAfter: 1_000, clock }).get(up.url);
    for (const m of ['a', 'b']) await ep.get(`/example.com/${m}/@latest`, 'latest', 'metadata', read).catch(() => 0);
    expect(ep.state).toBe('open');
    await clock.advance(1_000);
    await ep.get('/example.com/a/@latest', 'latest', 'metadata', read).catch(() => 0);
    expect(ep.state).toBe('open');
    expect(up.hits).toHaveLength(3);
    await clock.advance(999);
    expect(ep.state).toBe('open');
    await expect(ep.get('/example.com/a/@latest', 'latest', 'metadata', read)).rejects.toMatchObject({
      breakerOpen: true,
    });
    expect(up.hits).toHaveLength(3);
  });

  it('one module that always times out (or sends an oversized header) never opens the breaker for the others', async () => {
    const up = await serve((req, res) => {
      if (req.url?.includes('/slow/')) return; // never answers: a first-byte time-out every time
      if (req.url?.includes('/bighead/')) {
        res.writeHead(200, { 'x-filler': 'x'.repeat(100_000) });
        res.end('ok');
        return;
      }
      text('ok')(req, res);
    });
    const clock = new FakeClock();
    const ep = registry({ attempts: 3, failures: 3, clock, deadlines: { ...fast, total: 60_000 } }).get(up.url);
    for (let i = 0; i < 2; i++) {
      for (const m of ['slow', 'bighead']) {
        // Each attempt really fails (a first-byte time-out, a header overflow); retry pauses pass on the fake clock.
        const err = await settle(clock, ep.get(`/example.com/${m}/@v/v1.0.0.info`, 'info', 'metadata', read));
        expect(err).toBeInstanceOf(UpstreamError);
      }
    }
    // The first call tries 3 times; the second starts with the upstream failing already: one try.
    expect(up.hits.filter((h) => h.includes('/slow/'))).toHaveLength(4);
    expect(ep.state).toBe('closed');
    expect((await ep.get('/example.com/fine/@v/v1.0.0.info', 'info', 'metadata', read)).found).toBe(true);
  });

  it('a hung upstream costs a request one deadline once it is known to be failing, not one per attempt', async () => {
    // Field run: with the only upstream hung, a build needing one module waited 13 s per .mod and 51 s per
    // .zip (3 attempts of 15 s) although godepot already said "failing since …".
    const up = await serve(() => undefined);
    const clock = new FakeClock();
    const ep = registry({ attempts: 3, failures: 3, clock, deadlines: { ...fast, total: 60_000 } }).get(up.url);
    expect(await settle(clock, ep.get('/example.com/a/@v/v1.0.0.info', 'info', 'metadata', read))).toBeInstanceOf(
      UpstreamError,
    );
    expect(up.hits).toHaveLength(3);
    const second = await settle(clock, ep.get('/example.com/b/@v/v1.0.0.info', 'info', 'metadata', read));
    expect(second).toMatchObject({ failure: 'timeout' });
    // Which deadline ran out, and how long it was: the setting to look at (it said "the first-byte deadline").
    expect((second as UpstreamError).detail).toBe(
      `no response within the first-byte deadline of ${fast.firstByte / 1000}s`,
    );
    expect(up.hits).toHaveLength(4);
    expect(ep.state).toBe('closed');
  });

  it('modules an attacker made fail open the breaker, but the next other module is probed and closes it', async () => {
    const up = await serve((req, res) =>
      req.url?.includes('/bad') ? text('down', 500)(req, res) : text('ok')(req, res),
    );
    const clock = new FakeClock();
    const ep = registry({ attempts: 1, failures: 3, clock }).get(up.url);
    for (const m of ['bad1', 'bad2', 'bad3'])
      await ep.get(`/example.com/${m}/@latest`, 'latest', 'metadata', read).catch(() => 0);
    expect(ep.state).toBe('open');
    expect((await ep.get('/example.com/fine/@latest', 'latest', 'metadata', read)).found).toBe(true);
    expect(ep.state).toBe('closed');
  });

  it('a definite 4xx answer (e.g. "module host not permitted") never opens the breaker', async () => {
    const policy = await serve(text('Go module host not permitted', 400));
    const r = registry({ attempts: 1, failures: 2 });
    const ep = r.get(policy.url);
    for (let i = 0; i < 5; i++)
      await expect(ep.get('/x', 'info', 'metadata', read)).rejects.toMatchObject({ status: 400, breakerOpen: false });
    expect(ep.state).toBe('closed');
    expect(ep.status().failingSince).toBeUndefined();
    expect(policy.hits).toHaveLength(5);
  });

  it('a failing upstream is asked again in the background (reprobeFailing): back, its streak ends with no request', async () => {
    let down = true;
    const probes: string[] = [];
    const flaky = await serve((req, res) => {
      // As Athens or a proxy without a database answers: /sumdb/… is 404 whether modules are served or not.
      if (req.url?.startsWith('/sumdb/')) return void res.writeHead(404).end('not found');
      probes.push(req.url ?? '');
      res.writeHead(down ? 503 : 404).end(down ? 'down' : 'not found');
    });
    const healthy = await serve(text('', 404));
    const r = registry({ attempts: 1 });
    await expect(r.get(flaky.url).get('/x/@v/list', 'list', 'metadata', read)).rejects.toMatchObject({ status: 503 });
    expect(r.get(flaky.url).status().failingSince).toBeDefined();
    probes.length = 0;
    const targets = { upstreams: [flaky.url, healthy.url], endpoints: r };
    await reprobeFailing(targets, new AbortController().signal);
    // Still failing for modules: a probe must not end the streak on some other path's answer.
    expect(r.get(flaky.url).status().failingSince).toBeDefined();
    down = false;
    await reprobeFailing(targets, new AbortController().signal);
    expect(r.get(flaky.url).status().failingSince).toBeUndefined();
    expect(probes).toEqual([REPROBE_PATH, REPROBE_PATH]);
    // A healthy upstream is not asked.
    expect(healthy.hits).toEqual([]);

    // A checksum database's source is asked for its /latest.
    let dbDown = true;
    const db = await serve((_req, res) =>
      res.writeHead(dbDown ? 503 : 200).end(dbDown ? 'down' : 'go.sum database tree\n'),
    );
    await expect(r.get(db.url).get('/lookup/x@v1.0.0', 'sumdb-lookup', 'sumdb', read)).rejects.toMatchObject({
      status: 503,
    });
    const withDb = { upstreams: [], databaseSources: [db.url], endpoints: r };
    await reprobeFailing(withDb, new AbortController().signal);
    expect(r.get(db.url).status().failingSince).toBeDefined();
    dbDown = false;
    await reprobeFailing(withDb, new AbortController().signal);
    expect(r.get(db.url).status().failingSince).toBeUndefined();
    expect(db.hits.slice(-2)).toEqual(['/latest', '/latest']);
  });

  it('reprobing an upstream down for many rounds leaves nothing on the shutdown signal the rounds run under', async () => {
    const down = await serve(text('down', 503));
    const r = registry({ attempts: 1 });
    await expect(r.get(down.url).get('/x/@v/list', 'list', 'metadata', read)).rejects.toMatchObject({ status: 503 });
    const shutdown = new AbortController();
    for (let round = 0; round < 20; round++)
      await reprobeFailing({ upstreams: [down.url], endpoints: r }, shutdown.signal);
    expect(down.hits.filter((h) => h === REPROBE_PATH)).toHaveLength(20);
    // Node 20 kept one entry per probe on it (AbortSignal.any) for as long as godepot ran: a round every 10 s of an outage.
    expect(dependantSignals(shutdown.signal)).toBe(0);
  });

  it('aborts a pending call when the caller goes away', async () => {
    let arrived!: () => void;
    const asked = new Promise<void>((res) => (arrived = res));
    let closed!: () => void;
    const gone = new Promise<void>((res) => (closed = res));
    const hang = await serve((req) => {
      req.socket.on('close', closed);
      arrived();
    });
    // Deadlines far beyond the test's: only the abort can end the call.
    const slow = { connect: 60_000, firstByte: 60_000, idle: 60_000, total: 60_000 };
    const r = registry({ deadlines: slow });
    const ctl = new AbortController();
    const p = r.get(hang.url).get('/x', 'info', 'metadata', read, ctl.signal);
    await asked;
    ctl.abort(new Error('client went away'));
    await expect(p).rejects.toThrow();
    // The upstream connection is closed too (else this waits out the test's time-out).
    await gone;
  });
});

describe('hedged mirrors', () => {
  it('asks the next mirror after the hedge delay when the first hangs; the first answer wins', async () => {
    const hang = await serve(() => undefined);
    const good = await serve(text('tree'));
    // The hanging mirror would not time out before the test does: only the hedge can answer in time.
    const r = registry({ deadlines: { connect: 60_000, firstByte: 60_000, idle: 60_000, total: 120_000 } });
    const f = await new MirrorSet([hang.url, good.url], r, 100).get('/latest', 'sumdb-latest', read);
    expect(f.meta.upstream).toBe(good.url);
    expect(hang.hits).toHaveLength(1);
  });

  it('asks the mirror that answered last first, so a hanging primary costs the hedge delay once', async () => {
    const hang = await serve(() => undefined);
    const good = await serve(text('tree'));
    const r = registry({ deadlines: { connect: 5_000, firstByte: 5_000, idle: 5_000, total: 10_000 } });
    const set = new MirrorSet([hang.url, good.url], r, 100);
    expect((await set.get('/latest', 'sumdb-latest', read)).meta.upstream).toBe(good.url);
    expect(hang.hits).toHaveLength(1);
    for (let i = 0; i < 3; i++)
      expect((await set.without(new Set()).get('/latest', 'sumdb-latest', read)).meta.upstream).toBe(good.url);
    // The primary was not asked again: the preferred mirror answered before the hedge delay.
    expect(hang.hits).toHaveLength(1);
    expect(good.hits).toHaveLength(4);
  });

  it('moves on at once when a mirror fails or its body is refused', async () => {
    const bad = await serve(text('forged'));
    const good = await serve(text('genuine'));
    const calls: string[] = [];
    const f = await hedged([bad.url, good.url], 10_000, async (url, signal) => {
      calls.push(url);
      const res = await registry({ attempts: 1 })
        .get(url)
        .get(
          '/latest',
          'x',
          'sumdb',
          async (body, meta) => {
            const b = await read(body, meta);
            if (b.toString() === 'forged')
              throw new UpstreamError({ upstream: url, failure: 'body', detail: 'bad signature', transient: false });
            return b;
          },
          signal,
        );
      return res;
    });
    expect(f.value.toString()).toBe('genuine');
    expect(calls).toEqual([bad.url, good.url]);
  });
});

describe('SingleFlight', () => {
  it('shares one execution; aborts it only when every waiter has gone', async () => {
    const sf = new SingleFlight<number>();
    let runs = 0;
    let aborted = false;
    const work = (signal: AbortSignal): Promise<number> =>
      new Promise((resolve, reject) => {
        runs++;
        const t = setTimeout(() => resolve(42), 200);
        signal.addEventListener('abort', () => {
          aborted = true;
          clearTimeout(t);
          reject(signal.reason);
        });
      });
    const a = new AbortController();
    const b = new AbortController();
    const pa = sf.do('k', work, a.signal);
    const pb = sf.do('k', work, b.signal);
    a.abort(new Error('a left'));
    await expect(pa).rejects.toThrow('a left');
    expect(aborted).toBe(false);
    expect(await pb).toEqual({ value: 42, shared: true });
    expect(runs).toBe(1);
    const c = new AbortController();
    const pc = sf.do('k2', work, c.signal);
    c.abort(new Error('c left'));
    await expect(pc).rejects.toThrow('c left');
    expect(aborted).toBe(true);
  });

  it('holdUntil: after the answer, callers share it until the held work settles, and settled() waits for it', async () => {
    let release!: (v: boolean) => void;
    const writeBehind = new Promise<boolean>((r) => (release = r));
    const sf = new SingleFlight<{ n: number; stored: Promise<boolean> }>(undefined, (v) => v.stored);
    let runs = 0;
    const work = async (): Promise<{ n: number; stored: Promise<boolean> }> => ({ n: ++runs, stored: writeBehind });
    const first = await sf.do('k', work);
    expect(first.value.n).toBe(1);
    // Answered, still held: a caller now shares that answer instead of running the work again.
    const second = await sf.do('k', work, new AbortController().signal);
    expect(second).toMatchObject({ value: { n: 1 }, shared: true });
    expect(sf.size).toBe(1);
    let settled = false;
    const waiting = sf.settled().then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    release(true);
    await waiting;
    expect(sf.size).toBe(0);
    // Released: the next caller runs the work afresh.
    expect((await sf.do('k', work)).value.n).toBe(2);
  });
});
