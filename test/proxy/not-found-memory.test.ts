// The not-found memory of the module service, kept by the coordination
// (LocalCoord here; the workers' and Redis run the same contract): a 404 is
// remembered for its TTL for every process that shares it, and a list
// refreshed past it clears it for all.
import { describe, expect, it } from 'vitest';
import { LocalCoord } from '../../src/coord/index.js';
import { GodepotError } from '../../src/proxy/errors.js';
import { NOT_FOUND_SLOTS, NotFoundMemory } from '../../src/proxy/shared-fetch.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { NotFoundError } from '../../src/upstream/index.js';
import { ManualClock } from '../../src/util/clock.js';

describe('NotFoundMemory', () => {
  it('is shared, ends with its TTL, and a forgotten 404 is gone for every process', async () => {
    const clock = new ManualClock(1_000_000);
    const shared = new LocalCoord(() => clock.now());
    const a = new NotFoundMemory(shared, 60_000);
    const b = new NotFoundMemory(shared, 60_000);
    await a.remember('list', new NotFoundError('https://proxy.example', 410, 'gone'));
    expect(await b.known('list')).toMatchObject({ status: 410, upstream: 'https://proxy.example', detail: 'gone' });
    clock.advance(60_000);
    expect(await b.known('list')).toBeNull();
    await a.remember('list', new NotFoundError('https://proxy.example', 404, 'not found'));
    a.forget('list');
    await Promise.resolve();
    expect(await b.known('list')).toBeNull();
  });

  it('keeps the last 404 in the store past its TTL and a restart: the answer while the upstream fails, and then only', async () => {
    const clock = new ManualClock(1_000_000);
    const storage = new MemoryStorage();
    const before = new NotFoundMemory(new LocalCoord(() => clock.now()), 60_000, storage);
    await before.remember('mod/example.com/m/cmd/@v/list', new NotFoundError('https://proxy.example', 404, 'no such'));
    clock.advance(3_600_000);
    const after = new NotFoundMemory(new LocalCoord(() => clock.now()), 60_000, storage);
    expect(await after.known('mod/example.com/m/cmd/@v/list')).toBeNull();
    const what = 'example.com/m/cmd version list';
    const down = new GodepotError('upstream_failed', 'godepot: upstream is unavailable');
    const said = await after.inOutage('mod/example.com/m/cmd/@v/list', down, what, 'example.com/m/cmd');
    expect(said.status).toBe(404);
    expect(said.message).toBe(
      `not found: ${what} (https://proxy.example answered 404: no such) (its last answer: it does not answer now)`,
    );
    const timeout = new GodepotError('upstream_timeout', 'godepot: upstream timed out');
    expect((await after.inOutage('mod/example.com/m/cmd/@v/list', timeout, what, 'example.com/m/cmd')).status).toBe(
      404,
    );
    // Not an outage: the error stands.
    const mismatch = new GodepotError('checksum_mismatch', 'godepot: checksum mismatch');
    expect(await after.inOutage('mod/example.com/m/cmd/@v/list', mismatch, what, 'example.com/m/cmd')).toBe(mismatch);
    // Nothing said of another key: the outage's error.
    expect(await after.inOutage('mod/example.com/m/@v/list', down, what, 'example.com/m')).toBe(down);
    // A damaged record is no answer.
    await storage.put('notfound/mod/example.com/m/@v/list', Buffer.from('{"status":"404"'));
    expect(await after.inOutage('mod/example.com/m/@v/list', down, what, 'example.com/m')).toBe(down);
  });

  it("keeps a scope's 404s apart: the private modules' origin never answers with a proxy's", async () => {
    const clock = new ManualClock(1_000_000);
    const storage = new MemoryStorage();
    const coord = new LocalCoord(() => clock.now());
    const proxies = new NotFoundMemory(coord, 60_000, storage);
    const origin = new NotFoundMemory(coord, 60_000, storage, 'origin/');
    const key = 'mod/corp.example/lib/@v/v0.9.0.info';
    await proxies.remember(key, new NotFoundError('https://proxy.example', 404, 'not found'));
    expect(await origin.known(key)).toBeNull();
    const down = new GodepotError('upstream_failed', 'godepot: origin host corp.example is unavailable');
    expect(await origin.inOutage(key, down, 'corp.example/lib@v0.9.0 .info', 'corp.example/lib')).toBe(down);
    await origin.remember(key, new NotFoundError('origin corp.example', 404, 'unknown revision v0.9.0'));
    expect(await storage.list('notfound/origin/')).toHaveLength(1);
    expect((await origin.known(key))?.upstream).toBe('origin corp.example');
    expect((await proxies.known(key))?.upstream).toBe('https://proxy.example');
  });

  it('keeps a bounded number of answers in the store, however many missing names clients ask for', async () => {
    const storage = new MemoryStorage();
    const memory = new NotFoundMemory(new LocalCoord(), 60_000, storage);
    const down = new GodepotError('upstream_failed', 'godepot: upstream is unavailable');
    const key = (i: number): string => `mod/example.com/m${i}/@v/list`;
    // Twice as many distinct names as there are slots: before the slots, each was a file of its own.
    const names = 2 * NOT_FOUND_SLOTS;
    for (let i = 0; i < names; i++)
      await memory.remember(key(i), new NotFoundError('https://proxy.example', 404, `no m${i}`));
    const stored = await storage.listSized('notfound/');
    expect(stored.length).toBeLessThanOrEqual(NOT_FOUND_SLOTS);
    expect(stored.reduce((n, b) => n + b.size, 0)).toBeLessThan(NOT_FOUND_SLOTS * 200);
    // The last answer is this key's, never another's that took its slot; the newest names are all still answered.
    let answered = 0;
    for (let i = 0; i < names; i++) {
      const said = await memory.inOutage(key(i), down, `m${i}`, `example.com/m${i}`);
      if (said === down) continue;
      answered++;
      expect(said.message).toContain(`no m${i})`);
    }
    expect(answered).toBeGreaterThan(NOT_FOUND_SLOTS / 2);
    expect((await memory.inOutage(key(names - 1), down, 'x', 'example.com/x')).status).toBe(404);
    // One written before the slots (under its own key) is still read.
    await storage.put(
      'notfound/mod/example.com/old/@v/list',
      Buffer.from('{"upstream":"u","status":410,"detail":"gone"}'),
    );
    expect((await memory.inOutage('mod/example.com/old/@v/list', down, 'old', 'example.com/old')).status).toBe(410);
  }, 20_000);
});
