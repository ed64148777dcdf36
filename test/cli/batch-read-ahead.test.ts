// warm and export ask for exactly what their inputs name: a module version
// that a go.sum needs only the go.mod of (a dependency's dependency the build
// never compiles) costs its .mod, not also the .info and the zip that the
// server's read-ahead would fetch for a client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportCommand } from '../../src/cli/export.js';
import { warmCommand } from '../../src/cli/warm.js';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { removeDir, tempDir } from '../support/godepot.js';
import { captureIo } from '../support/io.js';

describe('warm and export fetch only what a go.sum names', () => {
  let dir: string;
  let sumdb: FakeSumDb;
  let upstream: FakeGoProxy;
  let gosum: string;

  beforeAll(async () => {
    dir = await tempDir('godepot-batch-read-ahead-');
    const [dep] = (await buildModules([
      { path: 'example.com/onlymod', version: 'v1.0.0', files: { 'go.mod': 'module example.com/onlymod\n' } },
    ])) as [BuiltModule];
    sumdb = await FakeSumDb.start({ records: [dep] });
    upstream = await FakeGoProxy.start([dep]);
    gosum = join(dir, 'go.sum');
    await writeFile(gosum, `${dep.path} ${dep.version}/go.mod ${dep.goModH1}\n`);
  });

  afterAll(async () => {
    await upstream?.close();
    await sumdb?.close();
    await removeDir(dir);
  });

  const flags = (data: string): string[] => [
    ...['--data', join(dir, data), '--upstream', upstream.url, '--sumdb', sumdb.gosumdb, '--progress', 'none'],
  ];

  it.each([
    ['warm', (c: ReturnType<typeof captureIo>) => warmCommand([...flags('warm'), gosum], c.io)],
    ['export', (c: ReturnType<typeof captureIo>) => exportCommand([...flags('export'), join(dir, 'out'), gosum], c.io)],
  ])('%s asks the upstream for the go.mod alone', async (_name, run) => {
    const before = upstream.requests.length;
    const c = captureIo();
    expect(await run(c), c.text()).toBe(0);
    const asked = upstream.requests.slice(before).map((r) => r.path);
    expect(asked).toContain('/example.com/onlymod/@v/v1.0.0.mod');
    expect(asked.filter((p) => /\.(info|zip)$/.test(p))).toEqual([]);
  });
});
