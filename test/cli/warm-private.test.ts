// `godepot warm` of a private (--private) module: it comes from its origin
// and is kept unverified, like serving it; it is never looked up in a public
// checksum database. A fake `go` (a shell script) stands in for the real one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runWarm } from '../../src/cli/warm-run.js';
import { createProgress } from '../../src/cli/progress.js';
import { TargetSet, FULL } from '../../src/cli/targets.js';
import { buildModule, FakeGoProxy, FakeSumDb } from '../world/index.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';

const LIB = 'corp.example/lib';

describe('warming a private module', () => {
  let dir: string;
  let sumdb: FakeSumDb;
  let upstream: FakeGoProxy;
  let godepot: RunningGodepot;

  beforeAll(async () => {
    dir = await tempDir('godepot-warm-private-');
    const built = await buildModule({
      path: LIB,
      version: 'v1.0.0',
      files: { 'go.mod': `module ${LIB}\n`, 'lib.go': 'package lib\n' },
    });
    const files = join(dir, 'files');
    await mkdir(files);
    await writeFile(join(files, 'v.info'), built.info);
    await writeFile(join(files, 'v.mod'), built.mod);
    await writeFile(join(files, 'v.zip'), built.zip);
    const json = JSON.stringify({
      Path: LIB,
      Version: 'v1.0.0',
      Info: join(files, 'v.info'),
      GoMod: join(files, 'v.mod'),
      Zip: join(files, 'v.zip'),
    });
    const go = join(dir, 'go');
    await writeFile(go, `#!/bin/sh\necho '${json}'\n`);
    await chmod(go, 0o755);
    sumdb = await FakeSumDb.start();
    upstream = await FakeGoProxy.start([]);
    godepot = await startGodepot(
      { upstream: upstream.url, sumdb: sumdb.gosumdb, private: 'corp.example/*', data: join(dir, 'data') },
      { vcs: { go, env: { PATH: process.env.PATH ?? '' } } },
    );
  });

  afterAll(async () => {
    await godepot?.close();
    await sumdb?.close();
    await upstream?.close();
    await removeDir(dir);
  });

  it('fetches it from its origin and asks no checksum database about it', async () => {
    const targets = new TargetSet();
    targets.add({ path: LIB, version: 'v1.0.0' }, FULL, 'arguments');
    const report = await runWarm(godepot.g, targets, {
      concurrency: 1,
      progress: createProgress({ write: () => undefined, isTTY: false }, 'none'),
    });
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(1);
    expect(sumdb.requests.filter((r) => r.decodedPath.includes('corp.example'))).toEqual([]);
  });
});
