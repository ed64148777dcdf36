// The not-found memory of the module service: local when alone, the shared
// coordination's when there is one (workers, nodes); a list refreshed past a
// remembered 404 clears it for everyone.
import { describe, expect, it } from 'vitest';
import { LocalCoord } from '../../src/coord/index.js';
import { NotFoundMemory } from '../../src/proxy/shared-fetch.js';
import { NotFoundError } from '../../src/upstream/index.js';
import { ManualClock } from '../../src/util/clock.js';

describe('NotFoundMemory', () => {
  it('remembers for its TTL on its clock when alone', async () => {
    const clock = new ManualClock(1_000_000);
    const m = new NotFoundMemory(undefined, 60_000, clock);
    await m.remember('k', new NotFoundError('https://proxy.example', 404, 'not found: k'));
    expect(await m.known('k')).toMatchObject({ status: 404, detail: 'not found: k' });
    clock.advance(60_000);
    expect(await m.known('k')).toBeNull();
  });

  it('shares through the coordination, and forgets there only when told to forget everywhere', async () => {
    const clock = new ManualClock(1_000_000);
    const shared = new LocalCoord(() => clock.now());
    const a = new NotFoundMemory(shared, 60_000, clock);
    const b = new NotFoundMemory(shared, 60_000, clock);
    await a.remember('list', new NotFoundError('https://proxy.example', 410, 'gone'));
    expect(await b.known('list')).toMatchObject({ status: 410, upstream: 'https://proxy.example' });
    a.forget('list');
    expect(await b.known('list')).not.toBeNull();
    a.forget('list', true);
    await Promise.resolve();
    expect(await b.known('list')).toBeNull();
  });
});
