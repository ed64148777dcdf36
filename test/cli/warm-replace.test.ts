// The replace directives of a go.mod handed to warm apply to its whole module
// graph, as they do for the go command: a dependency requiring a module the
// main module replaces (by a local folder, often a private module kept in the
// same repository) does not make warm look that module up, in the checksum
// database or upstream, nor fail the run for it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { warmCommand } from '../../src/cli/warm.js';
import { buildModules, FakeGoProxy, FakeSumDb } from '../world/index.js';
import { removeDir, tempDir } from '../support/godepot.js';
import { captureIo } from '../support/io.js';

describe("warming a go.mod whose replace directives cover its dependencies' requirements", () => {
  let dir: string;
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;

  beforeAll(async () => {
    dir = await tempDir('godepot-warm-replace-');
    const built = await buildModules([
      {
        path: 'example.com/a',
        version: 'v1.0.0',
        files: {
          'go.mod': 'module example.com/a\n\nrequire (\n\texample.com/local v1.0.0\n\texample.com/pinned v1.1.0\n)\n',
          'a.go': 'package a\n',
        },
      },
      {
        path: 'example.com/b',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/b\n\nrequire example.com/a v1.0.0\n', 'b.go': 'package b\n' },
      },
      { path: 'example.com/pinned', version: 'v1.1.0', files: { 'go.mod': 'module example.com/pinned\n' } },
    ]);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
  });

  afterAll(async () => {
    await upstream?.close();
    await sumdb?.close();
    await removeDir(dir);
  });

  it('leaves out the replaced module versions, reached through the graph too', async () => {
    const gomod = join(dir, 'go.mod');
    // CRLF line ends, as an editor on Windows writes them.
    await writeFile(
      gomod,
      [
        'module example.com/app',
        '',
        'require example.com/a v1.0.0',
        '',
        'replace example.com/local => ./local',
        'replace example.com/pinned v1.1.0 => ../pinned',
        '',
      ].join('\r\n'),
    );
    const c = captureIo();
    const code = await warmCommand(
      ['--progress', 'plain', '--data', join(dir, 'data'), '--upstream', upstream.url, '--sumdb', sumdb.gosumdb, gomod],
      c.io,
    );
    expect(c.text()).toContain('warmed 1 of 1 module versions');
    expect(code, c.text()).toBe(0);
    const asked = [...upstream.requests, ...sumdb.requests].map((r) => r.path);
    expect(asked.filter((p) => /local|pinned/.test(p))).toEqual([]);
  });

  it('walks what one go.mod replaces for another go.mod that does not, reached first or later', async () => {
    // app1 replaces both of a's requirements; app2 (through b, so a is walked for app1 first) only one of them:
    // the go command building app2 reads pinned's go.mod, so warm must keep it.
    const app1 = join(dir, 'app1.mod');
    const app2 = join(dir, 'app2.mod');
    await writeFile(
      app1,
      'module example.com/app1\n\nrequire example.com/a v1.0.0\n\n' +
        'replace example.com/local => ./local\nreplace example.com/pinned v1.1.0 => ../pinned\n',
    );
    await writeFile(
      app2,
      'module example.com/app2\n\nrequire example.com/b v1.0.0\n\nreplace example.com/local => ./local\n',
    );
    const before = upstream.requests.length;
    const c = captureIo();
    const code = await warmCommand(
      [
        ...['--progress', 'plain', '--concurrency', '1', '--data', join(dir, 'data2')],
        ...['--upstream', upstream.url, '--sumdb', sumdb.gosumdb, app1, app2],
      ],
      c.io,
    );
    expect(c.text()).toContain('warmed 3 of 3 module versions');
    expect(code, c.text()).toBe(0);
    const asked = upstream.requests.slice(before).map((r) => r.path);
    expect(asked).toContain('/example.com/pinned/@v/v1.1.0.mod');
    expect(asked.filter((p) => p.includes('local'))).toEqual([]);
  });
});
