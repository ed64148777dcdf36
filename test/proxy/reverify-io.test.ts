// Re-verification of a quarantined copy whose storage read fails (a disk
// error, an object store time-out): that is no verdict on the copy. It is
// kept for the next pass, never purged as if it were not a module zip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule } from '../world/index.js';
import { startGodepot, type RunningGodepot } from '../support/godepot.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { failingReads } from '../support/failing-reads.js';

describe('re-verifying a quarantined copy that cannot be read', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let mod: BuiltModule;
  let other: BuiltModule;
  let g: RunningGodepot;
  const memory = new MemoryStorage();
  let failReads = false;
  const storage = failingReads(memory, (key) => failReads && key.startsWith('unverified/') && key.includes('/io/'));

  beforeAll(async () => {
    [mod, other] = (await buildModules(
      ['io', 'other'].map((n) => ({
        path: `example.com/reverify/${n}`,
        version: 'v1.0.0',
        files: { 'go.mod': `module example.com/reverify/${n}\n` },
      })),
    )) as [BuiltModule, BuiltModule];
    upstream = await FakeGoProxy.start([mod, other]);
    sumdb = await FakeSumDb.start({ records: [mod, other] });
    g = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` }, { storage });
  });

  afterAll(async () => {
    await g?.close();
    await upstream?.close();
    await sumdb?.close();
  });

  it('keeps the copy when its read fails, goes on with the others, and promotes it once it reads', async () => {
    const undo = sumdb.setFault(faults.status(503), '/lookup/');
    try {
      for (const m of [mod, other]) {
        const r = await fetch(`${g.url}/${m.path}/@v/${m.version}.zip`);
        expect(r.status).toBe(200);
        expect(r.headers.get('x-godepot-verification')).toBe('unverified');
      }
    } finally {
      undo();
    }
    await g.g.service.idle();
    const key = (await memory.list('unverified/')).find((k) => k.endsWith('.zip') && k.includes('/io/'));
    expect(key).toBeDefined();
    failReads = true;
    // The unreadable copy is kept, and the pass goes on: the other one is promoted.
    expect(await g.g.reverify.runOnce()).toMatchObject({ purged: 0, unreadable: 1, verified: 1 });
    expect(await memory.get(key as string)).not.toBeNull();
    failReads = false;
    expect((await g.g.reverify.runOnce()).verified).toBeGreaterThanOrEqual(1);
    expect((await memory.list('mod/')).some((k) => k.endsWith(`${mod.version}.zip`))).toBe(true);
  });
});
