// Issue 15: the operator page in a real browser (Debian's chromium driven by
// playwright-core) against a godepot in front of the test world. After a
// warm-up (and one tampered zip, refused), the upstream proxy and the
// checksum database hang: without a reload the page must show the verified
// tree size, the upstream's address, that it is failing, and the incident —
// which ends once the upstreams heal. The page logs no console error and
// makes no request beyond godepot's loopback address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule } from '../world/index.js';
import { findComponent } from '../support/components.js';
import { REPO_ROOT, removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { OffsetClock } from '../support/clock.js';
import { noNameResolves } from '../support/dns.js';
import { hashToken, withUser } from '../../src/auth/users.js';
import { startRedis } from '../support/redis.js';

const CHROMIUM = findComponent('chromium');
const REDIS = findComponent('redis-server');
const ARTIFACTS = join(REPO_ROOT, 'test', 'ui', 'artifacts');
const FAILING_WITHIN_MS = 30_000;

function fixture(i: number): { path: string; version: string; files: Record<string, string> } {
  const path = `example.com/ops/m${i}`;
  return {
    path,
    version: 'v1.0.0',
    files: { 'go.mod': `module ${path}\n\ngo 1.21\n`, 'lib.go': `package m${i}\n\nconst N = ${i}\n` },
  };
}

/**
 * Debian's chromium, headless, with a profile of its own and nothing that calls out; httpCredentials: what it
 * answers a server's request for them (HTTP basic auth).
 */
function launch(profile: string, httpCredentials?: { username: string; password: string }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM as string,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    colorScheme: 'light',
    ...(httpCredentials ? { httpCredentials } : {}),
  });
}

/**
 * One fixture's module behind a fake proxy and database, a godepot in front of them (opts as startGodepot's) and a
 * browser profile folder; close() stops and removes them all (godepot unless the test closed it itself).
 */
async function pageWorld(
  i: number,
  opts: Parameters<typeof startGodepot>[1] = {},
  settings: Record<string, string> = {},
): Promise<{ godepot: RunningGodepot; profile: string; close(godepotClosed?: boolean): Promise<void> }> {
  const built = await buildModules([fixture(i)]);
  const upstream = await FakeGoProxy.start(built);
  const sumdb = await FakeSumDb.start({ records: built });
  const godepot = await startGodepot(
    { upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, ...settings },
    opts,
  );
  const profile = await tempDir('godepot-chromium-');
  return {
    godepot,
    profile,
    async close(godepotClosed = false) {
      if (!godepotClosed) await godepot.close();
      await upstream.close();
      await sumdb.close();
      await removeDir(profile);
      await removeDir(godepot.data);
    },
  };
}

/** A pageWorld behind --auth (over plain HTTP): user ops, allowed every module with token; its users file. */
async function authWorld(
  i: number,
  token: string,
  settings: Record<string, string> = {},
): Promise<{ godepot: RunningGodepot; profile: string; users: string; close(): Promise<void> }> {
  const dir = await tempDir();
  const users = join(dir, 'users.json');
  await writeFile(users, withUser(null, 'ops', hashToken(token), '*'));
  const w = await pageWorld(i, {}, { auth: users, 'insecure-auth': 'true', ...settings });
  return {
    godepot: w.godepot,
    profile: w.profile,
    users,
    async close() {
      await w.close();
      await removeDir(dir);
    },
  };
}

describe.skipIf(CHROMIUM === null)('the operator page during an outage', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let godepot: RunningGodepot;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  let built: BuiltModule[];
  let victim: BuiltModule;
  let altered: BuiltModule;
  const consoleErrors: string[] = [];
  // Ages (TTLs, the breakers' half-open time) are long, and reached by moving these clocks, never by waiting;
  // the clocks keep real time otherwise, so the hung upstreams' deadlines pass as they would.
  const clock = new OffsetClock();
  const upstreamClock = new OffsetClock();
  const requested: string[] = [];

  beforeAll(async () => {
    if (!existsSync(join(REPO_ROOT, 'dist', 'ui', 'app.js')))
      throw new Error('dist/ui/ is missing: run `npm run build` first (npm test does)');
    built = await buildModules([0, 1, 2, 3].map(fixture));
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    godepot = await startGodepot(
      {
        upstream: upstream.url,
        sumdb: `${sumdb.vkey} ${sumdb.url}`,
        // Short deadlines: an outage is noticed within seconds.
        'sumdb-ttl': '1h',
        'list-ttl': '1h',
        'stale-grace': '200ms',
        'metadata-first-byte-timeout': '700ms',
        'metadata-total-timeout': '1s',
        'zip-first-byte-timeout': '700ms',
        'zip-total-timeout': '1s',
        'sumdb-first-byte-timeout': '700ms',
        'sumdb-total-timeout': '1s',
        'retry-attempts': '1',
        'breaker-failures': '2',
        'breaker-half-open-after': '1h',
      },
      { compose: { clock, upstreamClock } },
    );
    // The warm-up: three modules fetched through godepot, verified and stored.
    for (const m of built.slice(0, 3)) {
      for (const ext of ['info', 'mod', 'zip']) {
        const r = await fetch(`${godepot.url}/${m.path}/@v/${m.version}.${ext}`);
        expect(r.status, `${m.path} .${ext}`).toBe(200);
        await r.arrayBuffer();
      }
    }
    // One tampered zip, refused.
    victim = built[3] as BuiltModule;
    altered = await upstream.alteredModule(victim);
    const clear = upstream.setFault(faults.alter(), `${victim.version}.zip`);
    const r = await fetch(`${godepot.url}/${victim.path}/@v/${victim.version}.zip`);
    expect(r.status).toBe(502);
    await r.text();
    clear();

    profile = await tempDir('godepot-chromium-');
    context = await launch(profile);
    context.on('request', (req) => requested.push(req.url()));
    page = context.pages()[0] ?? (await context.newPage());
    watch(page);
  }, 120_000);

  afterAll(async () => {
    upstream?.clearFaults();
    sumdb?.clearFaults();
    await context?.close();
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    if (profile) await removeDir(profile);
  });

  /** Collects a page's console errors and uncaught exceptions. */
  const watch = (p: Page): void => {
    p.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    p.on('pageerror', (e) => consoleErrors.push(e.message));
  };

  /** The row of the upstream proxy on the page. */
  const proxyRow = () => page.locator(`#upstream-rows tr[data-url="${upstream.url}"]`);

  it('a browser asking for / is sent to /ui/, which shows the verified tree, the upstream and the refused zip', async () => {
    await page.goto(`${godepot.url}/`);
    expect(new URL(page.url()).pathname).toBe('/ui/');
    const size = godepot.g.mirrors[0]?.tree.head?.tree.n;
    expect(size).toBe(sumdb.size);
    await page.locator('.tree-size', { hasText: String(size) }).waitFor({ timeout: 10_000 });
    await proxyRow().locator('.state', { hasText: 'healthy' }).waitFor({ timeout: 10_000 });
    expect(await proxyRow().locator('code').textContent()).toBe(upstream.url);
    const refused = page.locator('#refused-rows tr.refused', { hasText: victim.path });
    await refused.waitFor({ timeout: 10_000 });
    const text = (await refused.textContent()) ?? '';
    for (const part of [victim.version, victim.h1, altered.h1]) expect(text).toContain(part);
    // Not only in a table below the fold: the headline says it.
    const summary = page.locator('#summary', { hasText: '1 artifact refused' });
    await summary.waitFor({ timeout: 10_000 });
    expect(await summary.getAttribute('class')).toBe('bad');
    // The go command and curl never get the page.
    const plain = await fetch(`${godepot.url}/`, { headers: { accept: '*/*' } });
    expect(plain.status).toBe(200);
    expect(await plain.text()).toContain('GOPROXY');
  }, 60_000);

  it('keeps the text an operator selects to copy (a refused hash, an address) across its refreshes', async () => {
    const select = (selector: string) =>
      page.locator(selector).evaluate((el) => {
        const doc = (el as unknown as { ownerDocument: { createRange(): unknown; getSelection(): unknown } })
          .ownerDocument;
        const range = doc.createRange() as { selectNodeContents(n: unknown): void };
        range.selectNodeContents(el);
        const sel = doc.getSelection() as { removeAllRanges(): void; addRange(r: unknown): void };
        sel.removeAllRanges();
        sel.addRange(range);
      });
    const selected = () =>
      page.evaluate(() => String((globalThis as unknown as { getSelection(): unknown }).getSelection()));
    const refreshed = async (): Promise<void> => {
      const before = await page.locator('#updated').textContent();
      await expect.poll(() => page.locator('#updated').textContent(), { timeout: 10_000 }).not.toBe(before);
    };
    // The headline is a live region: rewritten with the same words, a screen reader would read it out every 2 s.
    await page.locator('#summary').evaluate((el) => {
      const w = globalThis as unknown as { summaryChanges: number; MutationObserver: new (f: () => void) => unknown };
      w.summaryChanges = 0;
      const observer = new w.MutationObserver(() => w.summaryChanges++) as {
        observe(n: unknown, o: object): void;
      };
      observer.observe(el, { childList: true, characterData: true, subtree: true });
    });
    const received = `#refused-rows tr.refused:has-text("${victim.path}") td:nth-child(6) code`;
    await select(received);
    expect(await selected()).toBe(altered.h1);
    await refreshed();
    await refreshed();
    expect(await selected()).toBe(altered.h1);
    await select(`#upstream-rows tr[data-url="${upstream.url}"] td.url code`);
    await refreshed();
    await refreshed();
    expect(await selected()).toBe(upstream.url);
    expect(await page.evaluate(() => (globalThis as unknown as { summaryChanges: number }).summaryChanges)).toBe(0);
    await page.evaluate(() =>
      (globalThis as unknown as { getSelection(): { removeAllRanges(): void } }).getSelection().removeAllRanges(),
    );
  }, 30_000);

  it('shows the upstream failing and the incident within 30 s of the hang, without a reload, and its end after healing', async () => {
    const loadsBefore = requested.filter((u) => u.endsWith('/ui/')).length;
    const driving = driveTraffic(godepot.url, built, sumdb.name);
    try {
      upstream.setFault(faults.hang());
      sumdb.setFault(faults.hang());
      clock.skip(3_600_000); // the version list and the tree head are past their age: clients' requests refresh them
      const hungAt = performance.now();
      await proxyRow().locator('.state', { hasText: 'failing' }).waitFor({ timeout: FAILING_WITHIN_MS });
      const incident = page.locator('#incident-rows tr.incident-ongoing', { hasText: upstream.url });
      await incident.waitFor({ timeout: FAILING_WITHIN_MS - (performance.now() - hungAt) });
      // The tree is still the verified one, shown during the outage.
      await page.locator('.tree-size', { hasText: String(sumdb.size) }).waitFor({ timeout: 5_000 });
      await page.locator('#summary', { hasText: 'failing' }).waitFor({ timeout: 5_000 });
      // Cached zips keep being served, and the incident counts them.
      await expect
        .poll(async () => Number(await incident.first().locator('td').nth(5).textContent()), { timeout: 15_000 })
        .toBeGreaterThan(0);
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'operator-outage.png'), fullPage: true });
      if (process.env.GODEPOT_UPDATE_SCREENSHOT === '1')
        await page.screenshot({ path: join(REPO_ROOT, 'docs', 'operator-page.png'), fullPage: true });

      upstream.clearFaults();
      sumdb.clearFaults();
      // Past the half-open time (again, should a probe still in flight have failed), a probe goes through.
      await expect
        .poll(
          async () => {
            upstreamClock.skip(3_600_000);
            const api = (await (await fetch(`${godepot.url}/api/upstreams`)).json()) as {
              upstreams: Array<{ state: string }>;
            };
            return api.upstreams.map((u) => u.state);
          },
          { timeout: 30_000, interval: 300 },
        )
        .toEqual(['closed', 'closed']);
      await proxyRow().locator('.state', { hasText: 'healthy' }).waitFor({ timeout: 30_000 });
      const ended = page.locator('#incident-rows tr.incident:not(.incident-ongoing)', { hasText: upstream.url });
      await ended.waitFor({ timeout: 30_000 });
      expect(await ended.first().textContent()).not.toContain('ongoing');
    } finally {
      upstream.clearFaults();
      sumdb.clearFaults();
      await driving.stop();
    }
    // Never reloaded: the page refreshed itself.
    expect(requested.filter((u) => u.endsWith('/ui/')).length).toBe(loadsBefore);
  }, 120_000);

  it('copies the incident table as Markdown', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: godepot.url });
    await page.locator('#copy-md').focus();
    await page.keyboard.press('Enter');
    await page.locator('#copy-status', { hasText: /Cop/ }).waitFor({ timeout: 5_000 });
    // The Markdown went to the clipboard (or, without one, is shown selected); the page keeps it in #md either way.
    const md = await page.locator('#md').inputValue();
    expect(md).toContain('| Start (UTC) | End (UTC) | Duration | Upstream |');
    // Its address as text, not a link (format.ts cell): "http\\://127.0.0.1:…".
    expect(md).toContain(upstream.url.replace('://', '\\://'));
  }, 30_000);

  it('shows a red banner with both signed heads once a forked history is refused', async () => {
    const verifiedHead = await (await fetch(`${godepot.url}/sumdb/${sumdb.name}/latest`)).text();
    await sumdb.fork();
    // The head is refreshed once past its age: ask until godepot has seen (and refused) the fork.
    clock.skip(3_600_000);
    await expect
      .poll(
        async () => {
          await (await fetch(`${godepot.url}/sumdb/${sumdb.name}/latest`)).arrayBuffer();
          return godepot.g.mirrors[0]?.tree.fork !== null;
        },
        { timeout: 20_000, interval: 300 },
      )
      .toBe(true);
    const banner = page.locator('#fork');
    await banner.locator('pre', { hasText: 'SECURITY ERROR' }).waitFor({ timeout: 10_000 });
    const text = (await banner.textContent()) ?? '';
    // Both heads: the verified one and the refused one (one more record).
    const forkedHead = await (await fetch(`${sumdb.url}/latest`)).text();
    for (const head of [verifiedHead, forkedHead]) expect(text).toContain(head.split('\n')[2] ?? 'no root hash');
    expect(text).toContain(`conflicting size ${sumdb.size}`);
    await page.locator('#summary', { hasText: 'forked' }).waitFor({ timeout: 5_000 });
  }, 60_000);

  it('is usable by keyboard and follows a dark colour scheme', async () => {
    const second = await context.newPage();
    watch(second);
    try {
      await second.goto(`${godepot.url}/ui/`);
      await second.locator('.tree-size').waitFor({ timeout: 10_000 });
      const focused = (selector: string) =>
        second
          .locator(selector)
          .evaluate(
            (el) => el === (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement,
          );
      await second.keyboard.press('Tab');
      expect(await focused('.skip')).toBe(true);
      let reached = false;
      for (let i = 0; i < 20 && !reached; i++) {
        await second.keyboard.press('Tab');
        reached = await focused('#copy-md');
      }
      expect(reached, 'the copy button is reachable with Tab').toBe(true);
      const background = () =>
        second
          .locator('body')
          .evaluate(
            (el) =>
              (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(
                el,
              ).backgroundColor,
          );
      expect(await background()).toBe('rgb(255, 255, 255)');
      await second.emulateMedia({ colorScheme: 'dark' });
      expect(await background()).toBe('rgb(13, 17, 23)');
      await mkdir(ARTIFACTS, { recursive: true });
      await second.screenshot({ path: join(ARTIFACTS, 'operator-dark.png'), fullPage: true });
      // A phone-wide window scrolls the wide tables, not the page (the upstreams' state stays in view).
      await second.setViewportSize({ width: 390, height: 800 });
      // (The charts follow their container when it resizes, a moment later.)
      const pageWidth = () =>
        second.locator('html').evaluate((el) => (el as unknown as { scrollWidth: number }).scrollWidth);
      await expect.poll(pageWidth, { timeout: 5_000 }).toBeLessThanOrEqual(390);
      // And what a row is read for is on the screen, not in a sideways scroll: each row is a card of labelled values.
      for (const cell of [
        `#upstream-rows tr[data-url="${upstream.url}"] .state`,
        '#incident-rows tr.incident td:nth-child(2)',
        '#refused-rows tr.refused td:nth-child(6)',
      ]) {
        const box = await second.locator(cell).first().boundingBox();
        expect(box, cell).not.toBeNull();
        expect((box?.x ?? 0) + (box?.width ?? 0), cell).toBeLessThanOrEqual(390);
      }
      expect(
        await second.locator(`#upstream-rows tr[data-url="${upstream.url}"] td`).nth(2).getAttribute('data-label'),
      ).toBe('State');
      await second.screenshot({ path: join(ARTIFACTS, 'operator-phone.png'), fullPage: true });
    } finally {
      await second.close();
    }
  }, 30_000);

  it('logged no console error and requested nothing beyond godepot', () => {
    expect(consoleErrors).toEqual([]);
    expect(requested.length).toBeGreaterThan(10);
    const outside = requested.filter((u) => !u.startsWith(`${godepot.url}/`));
    expect(outside).toEqual([]);
  });
});

describe.skipIf(CHROMIUM === null)('the operator page when it cannot read godepot', () => {
  // Is it us: an empty or garbled answer, or no answer at all, must not leave "All upstreams healthy" up.
  it('says so in the headline and the title, for a garbled answer and for godepot gone', async () => {
    const storage = new MemoryStorage();
    const world = await pageWorld(8, { storage });
    const { godepot, profile } = world;
    let context: BrowserContext | undefined;
    let closed = false;
    try {
      context = await launch(profile);
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${godepot.url}/ui/`);
      await page.locator('#summary', { hasText: 'All upstreams healthy' }).waitFor({ timeout: 10_000 });
      await page.route('**/api/upstreams', (route) =>
        route.fulfill({ status: 200, contentType: 'application/json', body: '{}' }),
      );
      const unreadable = page.locator('#summary', { hasText: 'Cannot reach godepot since' });
      await unreadable.waitFor({ timeout: 10_000 });
      expect(await unreadable.getAttribute('class')).toBe('bad');
      expect(await page.title()).toMatch(/^\(!\) /);
      await page.unroute('**/api/upstreams');
      await page.locator('#summary', { hasText: 'All upstreams healthy' }).waitFor({ timeout: 10_000 });
      // "Us" again: storage that takes no writes (a full disk) is said first, in red, not only in /readyz.
      storage.writeError = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      const full = page.locator('#summary', { hasText: 'godepot cannot write its storage (ENOSPC' });
      await full.waitFor({ timeout: 10_000 });
      expect(await full.getAttribute('class')).toBe('bad');
      storage.writeError = null;
      await page.locator('#summary', { hasText: 'All upstreams healthy' }).waitFor({ timeout: 10_000 });
      // One section's answer failing: its last view stays, and the headline says so rather than looking normal.
      await page.route('**/api/sumdb', (route) => route.fulfill({ status: 500, body: 'boom' }));
      await page.locator('#summary', { hasText: 'godepot did not answer /api/sumdb' }).waitFor({ timeout: 10_000 });
      await page.unroute('**/api/sumdb');
      await page.locator('#summary', { hasText: 'All upstreams healthy' }).waitFor({ timeout: 10_000 });
      // A phone's width: every value of the facts lists keeps room to be read.
      await page.setViewportSize({ width: 375, height: 800 });
      const widths = await page.locator('.facts dd').evaluateAll((dds) => dds.map((d) => d.clientWidth));
      expect(widths.length).toBeGreaterThan(0);
      expect(Math.min(...widths)).toBeGreaterThan(200);
      await godepot.close();
      closed = true;
      await unreadable.waitFor({ timeout: 10_000 });
    } finally {
      await context?.close();
      await world.close(closed);
    }
  }, 60_000);
});

/** What the page must never read as, whatever godepot answered: a number or a time it could not make. */
const BROKEN = /NaN|undefined|Invalid Date|\bnull\b|Infinity|\[object /;

describe.skipIf(CHROMIUM === null)('the operator page with nothing to show, or answers it cannot read', () => {
  // A godepot just started (no request yet, an empty tree, no latency): every number is missing or zero. Then
  // answers with fields missing, null or of another type (an older or newer godepot, a proxy in front that
  // rewrites JSON): each section shows "—" where it cannot tell, and one bad entry takes down nothing else.
  it('reads "—", not NaN or undefined, draws both charts, and keeps the headline going', async () => {
    const world = await pageWorld(9);
    const { godepot, profile } = world;
    let context: BrowserContext | undefined;
    const errors: string[] = [];
    try {
      context = await launch(profile);
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${godepot.url}/ui/`);
      await page.locator('#summary', { hasText: 'All upstreams healthy' }).waitFor({ timeout: 10_000 });
      await page.locator('#cache-facts dd').first().waitFor({ timeout: 10_000 });
      await page.locator('#chart-latency canvas').waitFor({ timeout: 10_000 });
      expect(await page.locator('#chart-requests canvas').count()).toBe(1);
      // The page's table styles are its tables': uPlot's legend (a table) gets no striped row or borders.
      const legend = await page
        .locator('#chart-requests .u-legend tr, #chart-requests .u-legend td')
        .evaluateAll((els) =>
          els.map((el) => {
            const style = (
              globalThis as unknown as {
                getComputedStyle(e: unknown): { backgroundColor: string; borderBottomStyle: string };
              }
            ).getComputedStyle(el);
            return `${style.backgroundColor} ${style.borderBottomStyle}`;
          }),
        );
      expect(legend.length).toBeGreaterThan(0);
      expect(new Set(legend)).toEqual(new Set(['rgba(0, 0, 0, 0) none']));
      expect(await page.locator('body').innerText()).not.toMatch(BROKEN);
      // The scheme changes under an open page (dark at sunset): both charts are drawn again in its colours, the
      // latency chart too while it has no line (it kept its light axes on a dark page).
      await page.emulateMedia({ colorScheme: 'dark' });
      for (const chart of ['#chart-requests', '#chart-latency'])
        await page.locator(`${chart}[data-fg="#e6edf3"]`).waitFor({ timeout: 10_000 });

      const garbled: Record<string, unknown> = {
        '/api/upstreams': {
          upstreams: [
            {},
            null,
            { url: 5, state: 'open', failingSince: 'x', lastFailure: {}, requests: 'a', p50Ms: null },
          ],
        },
        '/api/sumdb': { trees: [{}, 7, { name: 'x', size: null, rootHash: 7, headTakenAt: 'yesterday', fork: null }] },
        '/api/incidents': [{}, null, 5, { start: 'x', end: 'y', durationMs: 'z', upstream: 'https://odd.example' }],
        '/api/cache': { refused: [{}, null], artifacts: null, scannedAt: 'never', bytes: -1, hitRatio: 'x' },
        '/api/series': { t: [1, 'x', null], hit: 'no', latencyMs: { a: 5, b: [1, 2, 3] } },
        '/readyz': { storage: null, coordination: 5, sumdb: 'x', node: 7 },
      };
      for (const [path, body] of Object.entries(garbled))
        await page.route(`**${path}`, (route) =>
          route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) }),
        );
      // Each section shows what it could read of its answer: the incident godepot named, the refused row.
      await page.locator('#incident-rows tr', { hasText: 'odd.example' }).waitFor({ timeout: 10_000 });
      await page.locator('#refused-rows tr.refused').waitFor({ timeout: 10_000 });
      await page.locator('#summary', { hasText: 'upstreams failing' }).waitFor({ timeout: 10_000 });
      expect(await page.locator('#cache-facts dd').first().textContent()).toBe('—');
      expect(await page.locator('body').innerText()).not.toMatch(BROKEN);
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: godepot.url });
      await page.locator('#copy-md').click();
      await page.locator('#copy-status', { hasText: /Cop/ }).waitFor({ timeout: 5_000 });
      expect(await page.locator('#md').inputValue()).not.toMatch(BROKEN);
      expect(errors).toEqual([]);
    } finally {
      await context?.close();
      await world.close();
    }
  }, 60_000);
});

describe.skipIf(CHROMIUM === null)('the operator page fed hostile strings and numbers', () => {
  // What ends up on the page comes from others: a module path a client asked for, an upstream's error text, a
  // refused artifact's hashes, a value another node wrote to Redis. Markup in it is shown as text and runs
  // nothing; absurd numbers and a 100 KB error neither break the page nor make it grow refresh after refresh
  // (sixty of them, two minutes of the page's own clock, moved by the test, not waited for).
  it('shows markup as text, runs nothing, and stays the same size over many refreshes', async () => {
    const world = await pageWorld(10);
    const { godepot, profile } = world;
    let context: BrowserContext | undefined;
    const errors: string[] = [];
    const tag = (n: string): string =>
      `<img src=x onerror="window.pwned='${n}'"></script><script>window.pwned='${n}'</script>`;
    const long = `${tag('long')} ${'x'.repeat(100_000)}`;
    let refreshes = 0;
    // Two shapes in turn (rows, chart series): the page rebuilds, and must end each the same size.
    const answers = (odd: boolean): Record<string, unknown> => ({
      '/api/upstreams': {
        offline: false,
        upstreams: (odd ? [0, 1, 2] : [0]).map((i) => ({
          url: `https://evil.example/${tag(`url${i}`)}`,
          role: 'sumdb',
          db: tag('db'),
          state: 'closed',
          failingSince: '2026-03-01T11:00:00Z',
          health: tag('health'),
          lastFailure: { class: tag('class'), detail: long, at: '2026-03-01T11:00:00Z' },
          requests: 1e300,
          failures: -5,
          breakerRefusals: 1e21,
          p50Ms: -1,
          p99Ms: 1e308,
        })),
      },
      '/api/sumdb': {
        trees: [
          {
            name: tag('tree'),
            size: -1e300,
            rootHash: `"><${tag('hash')}`,
            status: tag('status'),
            detail: long,
            headTakenAt: '+275760-09-13T00:00:00.000Z',
            lastCheckedAt: '2026-03-01T11:00:00Z',
            fork: { detectedAt: '2026-03-01T11:00:00Z', from: tag('from'), report: long },
          },
        ],
      },
      '/api/incidents': (odd ? [0, 1, 2, 3] : [0]).map((i) => ({
        upstream: tag(`incident${i}`),
        start: '2026-03-01T11:00:00Z',
        failureClass: tag('failure'),
        detail: long,
        servedFromCache: 1e300,
      })),
      '/api/cache': {
        modules: 1e300,
        bytes: 1e300,
        hitRatio: -3,
        artifacts: { refused: 2 },
        refused: (odd ? [0, 1] : [0]).map((i) => ({
          module: tag(`module${i}`),
          version: tag('version'),
          kind: tag('kind'),
          expected: tag('expected'),
          received: long,
          upstream: tag('upstream'),
        })),
      },
      '/api/series': {
        t: [1_772_362_800, 1_772_362_810],
        hit: [1e308, -1],
        latencyMs: Object.fromEntries((odd ? ['a', 'b'] : ['a']).map((k) => [tag(`series-${k}`), [1e308, 5]])),
      },
      '/readyz': {
        node: tag('node'),
        storage: { writable: false, error: long },
        coordination: { kind: 'redis', redis: { state: 'down', since: '2026-03-01T11:00:00Z' } },
        sumdb: [{ name: tag('readyz-db'), status: 'misconfigured' }],
      },
    });
    try {
      context = await launch(profile);
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (e) => errors.push(e.message));
      // A policy refusing an inline handler or script would say so here (the markup became HTML).
      await page.addInitScript(() => {
        const w = globalThis as unknown as {
          violations: string[];
          document: { addEventListener(t: string, f: (e: { violatedDirective: string }) => void): void };
        };
        w.violations = [];
        w.document.addEventListener('securitypolicyviolation', (e: { violatedDirective: string }) =>
          w.violations.push(e.violatedDirective),
        );
      });
      for (const path of Object.keys(answers(false)))
        await page.route(`**${path}`, (route) => {
          if (path === '/api/upstreams') refreshes++;
          return route.fulfill({
            status: 200,
            contentType: 'application/json',
            body: JSON.stringify(answers(refreshes % 2 === 1)[path]),
          });
        });
      await page.clock.install({ time: new Date('2026-03-01T12:00:00Z') });
      await page.goto(`${godepot.url}/ui/`);
      await page.locator('#summary', { hasText: 'godepot cannot write its storage' }).waitFor({ timeout: 10_000 });
      await page.clock.pauseAt(new Date('2026-03-01T12:00:10Z'));
      const updated = page.locator('#updated');
      const size: number[] = [];
      // 1,800 refreshes are an hour; 60 show whether each leaves something behind.
      for (let i = 0; i < 60; i++) {
        const before = await updated.textContent();
        await page.clock.runFor(2_000);
        await page.waitForFunction(
          (b) =>
            (
              globalThis as unknown as {
                document: {
                  getElementById(id: string): { textContent: string | null } | null;
                  getElementsByTagName(t: string): { length: number };
                };
              }
            ).document.getElementById('updated')?.textContent !== b,
          before,
        );
        size.push(
          await page.evaluate(
            () =>
              (
                globalThis as unknown as {
                  document: {
                    getElementById(id: string): { textContent: string | null } | null;
                    getElementsByTagName(t: string): { length: number };
                  };
                }
              ).document.getElementsByTagName('*').length,
          ),
        );
      }
      // The same shape, the same size: after twenty refreshes and after sixty.
      expect(size[59]).toBe(size[19]);
      expect(size[58]).toBe(size[18]);
      const text = await page.locator('body').innerText();
      // Each string as it was sent, in the text (not toContain: a failure would print 100 KB).
      for (const name of ['url0', 'health', 'tree', 'incident0', 'module0', 'expected', 'node', 'series-a'])
        expect(text.includes(tag(name)), name).toBe(true);
      expect(await page.locator('#trees code[title]').getAttribute('title')).toBe(`"><${tag('hash')}`);
      expect(await page.evaluate(() => (globalThis as unknown as { pwned?: string }).pwned)).toBeUndefined();
      expect(await page.evaluate(() => (globalThis as unknown as { violations: string[] }).violations)).toEqual([]);
      expect(await page.locator('img, script:not([src])').count()).toBe(0);
      expect(await page.title()).toContain(tag('node'));
      expect(BROKEN.exec(text)?.[0]).toBeUndefined();
      expect(errors).toEqual([]);
    } finally {
      await context?.close();
      await world.close();
    }
  }, 120_000);
});

describe.skipIf(CHROMIUM === null)('the operator page of a real upstream that answers markup', () => {
  // Not a faked answer of godepot's: a real upstream's error page, as godepot quotes it in the upstream's last
  // error and the incident, shown in chromium and copied as Markdown for a post-mortem.
  it('shows its words as text, runs nothing, and copies them as Markdown that links nothing', async () => {
    const built = await buildModules([fixture(13)]);
    const upstream = await FakeGoProxy.start(built);
    const sumdb = await FakeSumDb.start({ records: built });
    const said =
      '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> [fix](javascript:window.pwned=3) ' +
      '![i](https://evil.example/i.png) see https://evil.example or www.evil.example, write to ops@evil.example';
    upstream.setFault(faults.status(500, `${said}\n`));
    const godepot = await startGodepot({
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      'retry-attempts': '1',
      'breaker-failures': '1',
      'breaker-half-open-after': '1h',
    });
    const profile = await tempDir('godepot-chromium-');
    let context: BrowserContext | undefined;
    const errors: string[] = [];
    try {
      // A module path of every punctuation a path may hold: it is in the error the client gets, not the page's.
      for (const path of ['example.com/a~b/c_d.e-f', 'example.com/!upper'])
        expect((await fetch(`${godepot.url}/${path}/@v/list`)).status).toBe(502);
      context = await launch(profile);
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${godepot.url}/ui/`);
      await page
        .locator('#incident-rows tr.incident', { hasText: 'write to ops@evil.example' })
        .waitFor({ timeout: 15_000 });
      await page.locator('#upstream-rows tr', { hasText: 'write to ops@evil.example' }).waitFor({ timeout: 15_000 });
      expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
      expect(await page.locator('img, a:not(.skip), script:not([src])').count()).toBe(0);
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: godepot.url });
      await page.locator('#copy-md').click();
      await page.locator('#copy-status', { hasText: /Cop/ }).waitFor({ timeout: 5_000 });
      const row = (await page.locator('#md').inputValue()).split('\n')[2] ?? '';
      expect(row).toContain('window.pwned=1');
      // No bracket, angle bracket, bare URL, www. host or e-mail address a Markdown renderer would make a link of.
      expect(row).not.toMatch(/(?<!\\)(?:\\\\)*[[\]<>@]|(?<!\\):\/\/|www\./);
      expect(errors).toEqual([]);
    } finally {
      await context?.close();
      await godepot.close();
      await upstream.close();
      await sumdb.close();
      await removeDir(profile);
      await removeDir(godepot.data);
    }
  }, 60_000);
});

describe.skipIf(CHROMIUM === null)('the operator page behind --auth', () => {
  // The browser asks for a user and token (HTTP basic auth, as the go command sends them) and the page's own
  // requests carry them, never in a URL. A token changed while the page is open is no outage: the page says so
  // and stops asking, rather than have every refresh refused, logged and counted as failed authentication.
  it('asks for credentials, keeps the token out of URLs and logs, and stops on a refused token', async () => {
    const TOKEN = 'operator-token-5f1c0a9e7d3b2468';
    const w = await authWorld(6, TOKEN, { 'access-log': 'true' });
    const { godepot, profile, users } = w;
    let context: BrowserContext | undefined;
    try {
      const anonymous = await fetch(`${godepot.url}/ui/`, { headers: { accept: 'text/html' } });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="godepot"/);
      await anonymous.text();

      context = await launch(profile, { username: 'ops', password: TOKEN });
      const requested: string[] = [];
      context.on('request', (r) => requested.push(r.url()));
      const page = context.pages()[0] ?? (await context.newPage());
      // The page's timers on a clock the test moves (it keeps real time until then).
      await page.clock.install();
      await page.goto(`${godepot.url}/`);
      await page.locator('#summary', { hasText: 'All upstreams healthy' }).waitFor({ timeout: 10_000 });

      // The token is changed in the users file (re-read within seconds): the open page's credentials no longer hold.
      await writeFile(users, withUser(null, 'ops', hashToken(`${TOKEN}-new`), '*'));
      const refused = page.locator('#summary', { hasText: 'no longer accepts the credentials' });
      await refused.waitFor({ timeout: 15_000 });
      expect(await refused.getAttribute('class')).toBe('bad');
      expect(await page.title()).toMatch(/^\(!\) /);
      expect(await page.locator('#summary').textContent()).not.toContain('Cannot reach');
      // A minute of the page's time later it has asked nothing more: a request the test makes now is the next one.
      const asked = requested.length;
      await page.clock.runFor(60_000);
      await page.evaluate(() => fetch('/healthz').then((r) => r.text()));
      expect(requested.slice(asked).map((u) => new URL(u).pathname)).toEqual(['/healthz']);

      expect(requested.length).toBeGreaterThan(10);
      for (const u of requested) expect(u).not.toContain(TOKEN);
      const logged = JSON.stringify(godepot.logs);
      expect(logged).toContain('request refused by --auth');
      expect(logged).not.toContain(TOKEN);
    } finally {
      await context?.close();
      await w.close();
    }
  }, 60_000);
});

describe.skipIf(CHROMIUM === null)('the operator page of a user no longer allowed every module', () => {
  // A 403 asks for no other credentials (no challenge): a browser keeps sending the ones it signed in with, so a
  // reload is refused again. The page must say what gets another user in, not "reload".
  it('says how to sign in as another user, which a reload does not', async () => {
    const TOKEN = 'operator-token-0c4e8b2a9f6d1357';
    const w = await authWorld(12, TOKEN);
    const { godepot, profile, users } = w;
    let context: BrowserContext | undefined;
    try {
      context = await launch(profile, { username: 'ops', password: TOKEN });
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${godepot.url}/ui/`);
      await page.locator('#summary', { hasText: 'All upstreams healthy' }).waitFor({ timeout: 10_000 });
      // The user keeps its token but loses "*" (the file is re-read within seconds).
      await writeFile(users, withUser(null, 'ops', hashToken(TOKEN), 'example.com/ops'));
      const refused = page.locator('#summary', { hasText: 'HTTP 403' });
      await refused.waitFor({ timeout: 15_000 });
      const said = (await refused.textContent()) ?? '';
      const again = await page.reload();
      expect(again?.status()).toBe(403);
      expect(await again?.headerValue('www-authenticate')).toBeNull();
      expect(said).not.toMatch(/reload/i);
      expect(said).toContain('private window');
    } finally {
      await context?.close();
      await w.close();
    }
  }, 60_000);
});

describe.skipIf(CHROMIUM === null || REDIS === null)('the operator page of one node of several', () => {
  // Behind a load balancer the page is whichever node answered: it names that node (its requests and latency are
  // that node's own) and the Redis the nodes coordinate through, and says when Redis goes.
  it('names the node and its Redis, up and then down', async () => {
    const redis = await startRedis(REDIS as string);
    const built = await buildModules([fixture(5)]);
    const upstream = await FakeGoProxy.start(built);
    const sumdb = await FakeSumDb.start({ records: built });
    const data = await tempDir();
    const node = (name: string): Promise<RunningGodepot> =>
      startGodepot({
        upstream: upstream.url,
        sumdb: `${sumdb.vkey} ${sumdb.url}`,
        data,
        redis: redis.url,
        'node-name': name,
      });
    const a = await node('node-a');
    const b = await node('node-b');
    const profile = await tempDir('godepot-chromium-');
    let context: BrowserContext | undefined;
    try {
      context = await launch(profile);
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${b.url}/ui/`);
      await page
        .locator('#node', { hasText: /^node node-b · Redis up since \d\d:\d\d:\d\d UTC · / })
        .waitFor({ timeout: 10_000 });
      expect(await page.title()).toBe('godepot node-b — operator page');
      await redis.kill();
      await page.locator('#node', { hasText: 'node node-b · Redis down since' }).waitFor({ timeout: 20_000 });
      await page.locator('#summary', { hasText: 'Redis is down' }).waitFor({ timeout: 10_000 });
      expect(await page.title()).toBe('(!) godepot node-b — operator page');
    } finally {
      await context?.close();
      await a.close();
      await b.close();
      await redis.stop();
      await upstream.close();
      await sumdb.close();
      await removeDir(profile);
      await removeDir(data);
    }
  }, 60_000);
});

describe.skipIf(CHROMIUM === null)("the operator page in the field's outage", () => {
  // The database's own host does not resolve while the upstream proxy serves its log at /sumdb/ (as
  // proxy.golang.org serves sum.golang.org's): godepot verifies everything, so the page must not say it is failing.
  it('names the failing host as covered, not as a problem', async () => {
    const built = await buildModules([fixture(7)]);
    const m = built[0] as BuiltModule;
    const upstream = await FakeGoProxy.start(built);
    const sumdb = await FakeSumDb.start({ records: built });
    upstream.mountSumDb(sumdb);
    const godepot = await startGodepot(
      { upstream: upstream.url, sumdb: sumdb.vkey },
      { background: true, compose: { pools: { lookup: noNameResolves() } } },
    );
    const profile = await tempDir('godepot-chromium-');
    let context: BrowserContext | undefined;
    try {
      await godepot.g.probed;
      const r = await fetch(`${godepot.url}/${m.path}/@v/${m.version}.mod`);
      expect(r.headers.get('x-godepot-verification')).toBe('verified');
      await r.arrayBuffer();
      context = await launch(profile);
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${godepot.url}/ui/`);
      const summary = page.locator('#summary', { hasText: 'covered' });
      await summary.waitFor({ timeout: 10_000 });
      expect(await summary.textContent()).toBe(
        'Serving normally; 1 checksum-database source failing, covered: the log is read through another',
      );
      expect(await summary.getAttribute('class')).toBe('ok');
    } finally {
      await context?.close();
      await godepot.close();
      await upstream.close();
      await sumdb.close();
      await removeDir(profile);
    }
  }, 60_000);
});

/**
 * Clients during the outage, a few requests a second: cached zips (served
 * from cache), version lists and the tree head past their age (refreshed,
 * served stale), and a version never fetched (fails). Each request is bounded.
 */
function driveTraffic(base: string, built: readonly BuiltModule[], db: string): { stop(): Promise<void> } {
  const warm = built[0] as BuiltModule;
  const cold = built[3] as BuiltModule;
  const paths = [
    `/${warm.path}/@v/${warm.version}.zip`,
    `/${warm.path}/@v/list`,
    `/${cold.path}/@v/${cold.version}.info`,
    `/sumdb/${db}/latest`,
  ];
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    for (const p of paths) {
      const r = fetch(base + p, { signal: AbortSignal.timeout(5_000) })
        .then((res) => res.arrayBuffer())
        .then(
          () => undefined,
          () => undefined,
        );
      pending.add(r);
      void r.finally(() => pending.delete(r));
    }
  }, 300);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
    },
  };
}
