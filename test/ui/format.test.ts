// The operator page's words and numbers (src/ui/format.ts): missing data
// reads "—", states read as the issue names them, and the incident table
// copies as Markdown a post-mortem can paste.
import { describe, expect, it } from 'vitest';
import {
  bytes,
  count,
  duration,
  headline,
  incidentDuration,
  incidentEnd,
  incidentsMarkdown,
  lastError,
  millis,
  MISSING,
  newerCount,
  nodeLine,
  ongoing,
  percent,
  shortHash,
  upstreamState,
  ownProblems,
} from '../../src/ui/format.js';

const NOW = Date.parse('2026-03-01T12:10:00Z');

describe('operator page formatting', () => {
  it('never prints NaN or undefined for a missing number', () => {
    for (const f of [count, millis, bytes, percent])
      for (const v of [undefined, null, Number.NaN, 'x', Infinity]) expect(f(v)).toBe(MISSING);
    // The largest numbers (a garbled answer) print as numbers or "—", never as Infinity or NaN.
    for (const f of [count, millis, bytes, percent, duration])
      for (const v of [Number.MAX_VALUE, -Number.MAX_VALUE]) expect(f(v)).not.toMatch(/Infinity|NaN/);
    for (const v of [undefined, null, '', 42]) expect(shortHash(v)).toBe(MISSING);
    expect(shortHash('0HWfD+SFLTzBxxxx')).toBe('0HWfD+SFLTzB…');
    expect(duration(undefined)).toBe(MISSING);
    expect(duration(-1)).toBe(MISSING);
    expect(count(1234567)).toBe('1,234,567');
    expect(millis(3.25)).toBe('3.3 ms');
    expect(millis(1234.4)).toBe('1,234 ms');
    expect(bytes(512)).toBe('512 B');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(percent(0.5)).toBe('50.0 %');
    expect(duration(45_000)).toBe('45 s');
    expect(duration(12 * 60_000)).toBe('12 min');
    expect(duration(3 * 3600_000 + 5 * 60_000)).toBe('3 h 5 min');
    // Rounded as `godepot incidents` rounds (80.4 s is its 1m20s, 35.5 s its 36s), seconds kept within the hour.
    expect(duration(80_400)).toBe('1 min 20 s');
    expect(duration(35_500)).toBe('36 s');
  });

  it("colours the state by the breaker and words it in the server's own words (its `health`), offline aside", () => {
    const since = new Date(NOW - 7 * 60_000).toISOString();
    // As the server words them (src/upstream/health-words.ts), on its clock: shown as they are, not worded again.
    const failing = 'failing since 2026-03-01T12:03:00.000Z (7m00s)';
    expect(upstreamState({ state: 'closed', health: 'healthy' }, false)).toEqual({ kind: 'healthy', text: 'healthy' });
    expect(upstreamState({ state: 'closed', failingSince: since, health: failing }, false)).toEqual({
      kind: 'failing',
      text: failing,
    });
    const open = `circuit open, next probe in 8s; ${failing}`;
    expect(upstreamState({ state: 'open', failingSince: since, health: open }, false)).toEqual({
      kind: 'open',
      text: open,
    });
    const probing = `half-open: probing; ${failing}`;
    expect(upstreamState({ state: 'half-open', failingSince: since, health: probing }, false)).toEqual({
      kind: 'probing',
      text: probing,
    });
    expect(upstreamState({ state: 'open', health: open }, true)).toEqual({
      kind: 'offline',
      text: 'offline (godepot runs with --offline: never contacted)',
    });
    // No words from the server: a dash, never "undefined"; its state still coloured.
    expect(upstreamState({ state: 'open' }, false)).toEqual({ kind: 'open', text: MISSING });
    expect(upstreamState({ state: 'closed', health: '' }, false)).toEqual({ kind: 'healthy', text: MISSING });
    expect(upstreamState({ health: 'healthy' }, false)).toEqual({ kind: 'unknown', text: MISSING });
    expect(upstreamState({}, false)).toEqual({ kind: 'unknown', text: MISSING });
    expect(lastError({})).toBe('none');
    expect(lastError({ lastFailure: { class: 'timeout', detail: 'no answer within 1s' } })).toBe(
      'no answer in time: no answer within 1s',
    );
    expect(lastError({ lastFailure: { class: 'constructor' } })).toBe('constructor');
    expect(lastError({ lastFailure: { class: 7 as unknown as string } })).toBe('failed');
  });

  it('copies incidents as a Markdown table, ongoing ones included', () => {
    const md = incidentsMarkdown(
      [
        {
          upstream: 'https://proxy.example|x',
          start: '2026-03-01T12:00:00Z',
          failureClass: 'timeout',
          detail: 'no answer\nat all',
          servedFromCache: 12,
          servedUnverified: 3,
          failed: 1,
        },
        {
          upstream: 'https://sum.example',
          start: '2026-03-01T10:00:00Z',
          end: '2026-03-01T10:30:00Z',
          durationMs: 30 * 60_000,
          failureClass: 'connect',
          servedFromCache: 0,
          servedUnverified: 0,
          failed: 0,
        },
      ],
      NOW,
    );
    const lines = md.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(
      '| Start (UTC) | End (UTC) | Duration | Upstream | Failure | From cache | Degraded (unverified) | Failed |',
    );
    // Pasted into a post-mortem later, "so far" says as of when.
    expect(lines[2]).toContain(
      '| ongoing (as of 2026-03-01 12:10:00Z) | 10 min so far | https\\://proxy.example\\|x | timeout: no answer at all | 12 | 3 | 1 |',
    );
    expect(lines[3]).toContain('| 30 min | https\\://sum.example | connect | 0 | 0 | 0 |');
    expect(lines[3]).toContain('| 2026-03-01 10:00:00Z | 2026-03-01 10:30:00Z | 30 min |');
    expect(incidentDuration({ start: 'garbage' }, NOW)).toBe(MISSING);
    // godepot stopped while it was open: not an end anyone saw.
    const unseen = {
      start: '2026-03-01T10:00:00Z',
      end: '2026-03-01T10:30:00Z',
      durationMs: 30 * 60_000,
      endUnknown: true,
    };
    expect(incidentDuration(unseen, NOW)).toBe('at least 30 min');
    expect(incidentsMarkdown([unseen], NOW)).toContain('(no longer watched) | at least 30 min |');
    expect(incidentsMarkdown([], NOW)).toContain('(no incidents)');
    // A field of another type (an older or newer godepot, a proxy rewriting JSON) is copied as the page shows it.
    expect(incidentsMarkdown([{ upstream: 5 as unknown as string, start: '2026-03-01T12:00:00Z' }], NOW)).toContain(
      '| 10 min so far | 5 | — |',
    );
  });

  it('copies hostile text (an error body from upstream, a module path) as text: no link, no HTML, no broken table', () => {
    const md = incidentsMarkdown(
      [
        {
          upstream: 'https://proxy.example/<img src=x onerror=alert(1)>',
          start: '2026-03-01T12:00:00Z',
          failureClass: 'status',
          detail:
            'see [the fix](javascript:alert(1)) or <javascript:alert(2)>\r| 1 | 2 |\rnext `code` *bold* \\| ~~x~~ &lt;b&gt;',
        },
      ],
      NOW,
    );
    const lines = md.trimEnd().split(/\r\n|\r|\n/);
    // A lone carriage return ends a line in Markdown too: the row would split, its rest a table row of its own.
    expect(lines).toHaveLength(3);
    const row = lines[2] ?? '';
    // Eight cells: nine pipes that no backslash escapes (a backslash escaped itself, "\\|", is no escape).
    expect(row.match(/(?<!\\)(?:\\\\)*\|/g)).toHaveLength(9);
    // Nothing a renderer reads as a link, an autolink, HTML, an entity, code or emphasis: each such character escaped.
    expect(row).not.toMatch(/(?<!\\)(?:\\\\)*[[\]<>`*~&]/);
    expect(row).toContain(
      'status: see \\[the fix\\](javascript:alert(1)) or \\<javascript:alert(2)\\> \\| 1 \\| 2 \\| next \\`code\\` \\*bold\\* \\\\\\| \\~\\~x\\~\\~ \\&lt;b\\&gt;',
    );
    // GitHub's Markdown links a bare URL or www. host with no bracket at all: an upstream's error page saying
    // "log in at https://…" would be a link in the post-mortem.
    const bare = incidentsMarkdown(
      [
        {
          start: '2026-03-01T12:00:00Z',
          detail: 'log in at https://evil.example/login, ftp://x.example or WWW.evil.example',
        },
      ],
      NOW,
    );
    expect(bare).not.toMatch(/(?<!\\):\/\/|www\./i);
    expect(bare).toContain('log in at https\\://evil.example/login, ftp\\://x.example or WWW\\.evil.example');
    // And a bare e-mail address: a module@version in an error ("example.com/m@v1.2.3" reads as one), a Git host's
    // "git@host", an upstream's "write to ops@evil.example" would each be a mailto: link.
    const mail = incidentsMarkdown(
      [
        {
          start: '2026-03-01T12:00:00Z',
          detail: 'example.com/m@v1.2.3: git@git.example refused; mailto:ops@evil.example',
        },
      ],
      NOW,
    );
    expect(mail).not.toMatch(/(?<!\\)@/);
    expect(mail).toContain('example.com/m\\@v1.2.3: git\\@git.example refused; mailto:ops\\@evil.example');
  });

  it('shows an event (a refused fork) as a moment, not as an outage of 0 s, and never as ongoing', () => {
    const fork = {
      upstream: 'checksum database sum.example',
      start: '2026-03-01T11:00:00Z',
      end: '2026-03-01T11:00:00Z',
      durationMs: 0,
      failureClass: 'fork',
      detail: 'refused a tree head of size 6',
      event: true,
    };
    expect(incidentEnd(fork)).toBe(MISSING);
    expect(incidentDuration(fork, NOW)).toBe('event');
    expect(ongoing(fork)).toBe(false);
    // An event recorded without an end is still no outage going on.
    expect(ongoing({ ...fork, end: undefined })).toBe(false);
    expect(ongoing({ start: '2026-03-01T11:00:00Z' })).toBe(true);
    expect(incidentsMarkdown([fork], NOW)).toContain(
      '| 2026-03-01 11:00:00Z | — | event | checksum database sum.example | fork: refused a tree head of size 6 |',
    );
  });
});

describe('headline', () => {
  const since = new Date(NOW - 5 * 60_000).toISOString();
  const proxy = { url: 'https://proxy.example', role: 'proxy', state: 'closed' };
  const viaProxy = {
    url: 'https://proxy.example/sumdb/sum.example',
    role: 'sumdb',
    db: 'sum.example',
    state: 'closed',
  };
  const dbHost = { url: 'https://sum.example', role: 'sumdb', db: 'sum.example', state: 'open', failingSince: since };

  it('is not red for a failing source the server marks covered', () => {
    expect(headline([proxy, viaProxy, { ...dbHost, covered: true }], 0, 0, false)).toEqual({
      ok: true,
      text: 'Serving normally; 1 checksum-database source failing, covered: the log is read through another',
    });
    expect(headline([proxy, viaProxy], 0, 0, false)).toEqual({ ok: true, text: 'All upstreams healthy' });
  });

  it('says godepot is offline, not that its upstreams are healthy, when it asks none', () => {
    expect(headline([{ ...proxy, state: 'open' }], 0, 0, true)).toEqual({
      ok: true,
      text: 'Offline (--offline): serving what godepot holds, asking no upstream',
    });
    // What is wrong still comes first.
    expect(headline([proxy], 0, 0, true, 1).ok).toBe(false);
  });

  it('is red for failing upstreams not covered, ongoing incidents and a refused fork', () => {
    const viaDown = { ...viaProxy, state: 'open', failingSince: since };
    // No source of the database answers: named, for what it means (nothing new verifies), not as 2 upstreams.
    expect(headline([proxy, viaDown, dbHost], 1, 0, false)).toEqual({
      ok: false,
      text: 'checksum database sum.example unreachable: no source of it answers, 1 ongoing incident',
    });
    const proxyFailing = { ...proxy, failingSince: since };
    expect(
      headline([proxyFailing, { ...proxy, url: 'https://b.example', state: 'open' }, viaProxy], 0, 0, false),
    ).toEqual({
      ok: false,
      text: '2 upstreams failing',
    });
    const proxyDown = { ...proxy, state: 'open', failingSince: since };
    expect(headline([proxyDown, viaProxy, { ...dbHost, covered: true }], 0, 1, false)).toEqual({
      ok: false,
      text: '1 upstream failing, a forked checksum-database history was refused, 1 checksum-database source failing, covered: the log is read through another',
    });
    // A refused artifact is a tampered or corrupt upstream answer: the headline says it, not only a table below.
    expect(headline([proxy, viaProxy], 0, 0, false, 2)).toEqual({
      ok: false,
      text: '2 artifacts refused: an upstream served bytes the checksum database contradicts',
    });
    // What is served degraded, in the headline: not only a count far below.
    expect(headline([proxy, viaProxy], 0, 0, false, 0, 8)).toEqual({
      ok: false,
      text: '8 artifacts served UNVERIFIED (the checksum database could not vouch), re-verified when it can',
    });
  });

  it("puts godepot's own problems first: storage it cannot write, Redis down, nodes that disagree on a key", () => {
    const ready = {
      status: 'not-ready',
      storage: { kind: 'fs', writable: false, error: 'ENOSPC: no space left on device' },
      coordination: { redis: { state: 'down' } },
      sumdb: [
        { name: 'sum.example', status: 'misconfigured' },
        { name: 'other.example', status: 'ok' },
      ],
    };
    const own = ownProblems(ready);
    expect(own).toEqual([
      'godepot cannot write its storage (ENOSPC: no space left on device): new modules fail, what it holds is served',
      'Redis is down: this node coordinates alone',
      'nodes check checksum database sum.example with different keys (give every node the same --sumdb)',
    ]);
    const proxyDown = { ...proxy, state: 'open', failingSince: since };
    const head = headline([proxyDown, viaProxy], 0, 0, false, 0, 0, own);
    expect(head.ok).toBe(false);
    expect(head.text.startsWith('godepot cannot write its storage')).toBe(true);
    expect(head.text).toContain('1 upstream failing');
    // A worker slot in a crash loop is ours too; one starting is not.
    const since2 = '2026-03-01T12:03:00Z';
    expect(
      ownProblems({
        coordination: {
          kind: 'workers',
          workers: {
            of: 2,
            serving: 0,
            down: [
              { slot: 1, state: 'starting', since: since2 },
              { slot: 2, state: 'waiting', since: since2, youngDeaths: 3 },
              null,
              { slot: 'x', state: 'waiting' },
            ],
          },
        },
      }),
    ).toEqual([
      'worker 2 of 2 keeps dying soon after it starts (not serving since 12:03:00 UTC): this machine serves with fewer workers; its log says why',
    ]);
    // A healthy or absent answer adds nothing.
    expect(ownProblems({ status: 'ok', storage: { kind: 'fs', writable: true }, sumdb: [] })).toEqual([]);
    expect(ownProblems(undefined)).toEqual([]);
    expect(ownProblems('garbled')).toEqual([]);
    // A null entry (a proxy in front rewrote the JSON) is skipped: throwing here froze the page's headline.
    expect(ownProblems({ sumdb: [null, 5, { name: 'sum.example', status: 'misconfigured' }] })).toEqual([
      'nodes check checksum database sum.example with different keys (give every node the same --sumdb)',
    ]);
  });
});

describe('nodeLine', () => {
  it('names the node that answered and its Redis, and nothing it was not told', () => {
    const since = '2026-03-01T12:03:00Z';
    expect(
      nodeLine({
        node: 'node-b',
        coordination: { kind: 'redis', redis: { url: 'redis://r:6379', state: 'up', since } },
      }),
    ).toBe("node node-b · Redis up since 12:03:00 UTC · requests and latency are this node's");
    expect(nodeLine({ coordination: { kind: 'redis', redis: { state: 'down', since } } })).toBe(
      "Redis down since 12:03:00 UTC · requests and latency are this node's",
    );
    expect(nodeLine({ node: 'a', coordination: { kind: 'workers' } })).toBe("node a · this machine's workers");
    expect(nodeLine({ coordination: { kind: 'workers', workers: { of: 2, serving: 1, down: [] } } })).toBe(
      "this machine's workers (1 of 2 serving)",
    );
    expect(nodeLine({ coordination: { kind: 'workers', workers: { of: '2', serving: null } } })).toBe(
      "this machine's workers",
    );
    expect(nodeLine({ coordination: { kind: 'local' } })).toBe('');
    for (const garbled of [undefined, null, 'x', { node: 7, coordination: 5 }, { coordination: { kind: 'redis' } }])
      expect(nodeLine(garbled)).not.toMatch(/undefined|null|NaN|Invalid/);
  });
});

describe('newerCount', () => {
  it('never shows an older storage count than one already shown (another worker counted earlier)', () => {
    const newer = {
      modules: 59,
      versions: 120,
      bytes: 1000,
      scannedAt: '2026-03-01T12:00:30Z',
      artifacts: { verified: 126, unverified: 2, refused: 1 },
      hitRatio: 0.5,
    };
    const older = {
      modules: 0,
      versions: 0,
      bytes: 0,
      scannedAt: '2026-03-01T12:00:10Z',
      artifacts: { verified: 0, unverified: 3, refused: 1 },
      hitRatio: 0.6,
    };
    expect(newerCount(newer, null)).toBe(newer);
    // The older count is replaced by the newer one; what is live (unverified, hit ratio) is kept.
    expect(newerCount(older, newer)).toEqual({
      ...older,
      modules: 59,
      versions: 120,
      bytes: 1000,
      scannedAt: '2026-03-01T12:00:30Z',
      artifacts: { verified: 126, unverified: 3, refused: 1 },
    });
    expect(newerCount(newer, older)).toBe(newer);
  });
});
