// The not-found memory of the module service, kept by the coordination
// (LocalCoord here; the workers' and Redis run the same contract): a 404 is
// remembered for its TTL for every process that shares it, and a list
// refreshed past it clears it for all.
import { describe, expect, it } from 'vitest';
import { LocalCoord } from '../../src/coord/index.js';
import { NotFoundMemory } from '../../src/proxy/shared-fetch.js';
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
});
