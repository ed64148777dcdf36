// A godepot given its own address as --upstream (README: "the common
// mistake") asked itself for every miss, each waiting out its deadline
// before a misleading time-out (found in a field run). Its upstream calls
// carry its name in Via; a request that comes back with it is answered 508
// at once, and the client is told what to fix. Another godepot as the
// upstream (an edge proxy in front of a central one) still works.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGoProxy, FakeSumDb, buildModule } from '../world/index.js';
import { removeDir, spawnGodepot, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';
import { freePort } from '../support/ports.js';

describe('a godepot whose upstream leads back to itself', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  const dirs: string[] = [];
  beforeAll(async () => {
    const mod = await buildModule({
      path: 'example.com/chain',
      version: 'v1.0.0',
      files: { 'go.mod': 'module example.com/chain\n' },
    });
    upstream = await FakeGoProxy.start([mod]);
    sumdb = await FakeSumDb.start({ records: [mod] });
  });
  afterAll(async () => {
    await upstream?.close();
    await sumdb?.close();
    for (const d of dirs) await removeDir(d);
  });

  it('answers at once with what to fix, not a time-out', async () => {
    const port = await freePort();
    const data = await tempDir();
    dirs.push(data);
    const self = `http://127.0.0.1:${port}`;
    // The defaults otherwise (a worker per core, the 13 s metadata deadline): every worker knows itself.
    const g = await spawnGodepot(
      ['--listen', `127.0.0.1:${port}`, '--data', data, '--upstream', self, '--sumdb', `${sumdb.vkey} ${sumdb.url}`],
      {},
      { defaultWorkers: true },
    );
    try {
      const started = performance.now();
      const res = await fetch(`${g.url}/example.com/chain/@v/list`);
      const body = await res.text();
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(res.status).toBe(502);
      expect(body).toContain(
        `upstream ${self} failed: bad HTTP status (508: godepot: this request came from this godepot itself`,
      );
      expect(body).toContain('leads back here; point --upstream at a module proxy');
    } finally {
      await g.stop();
    }
  }, 30_000);

  it('another godepot as the upstream serves through', async () => {
    let central: RunningGodepot | undefined;
    let edge: RunningGodepot | undefined;
    try {
      central = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
      edge = await startGodepot({ upstream: central.url, sumdb: `${sumdb.vkey} ${sumdb.url}` });
      const res = await fetch(`${edge.url}/example.com/chain/@v/v1.0.0.mod`);
      expect([res.status, await res.text()]).toEqual([200, 'module example.com/chain\n']);
    } finally {
      for (const g of [edge, central]) {
        if (!g) continue;
        await g.close();
        await removeDir(g.data);
      }
    }
  });
});
