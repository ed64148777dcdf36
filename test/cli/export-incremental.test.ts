// The air gap is crossed again and again: a later export, imported on top of
// an earlier one, carries a newer tree head, and the disconnected godepot
// takes it only with the proof that it extends the head it holds. The log
// grows past tile boundaries between exports (sum.golang.org does every few
// minutes), so that proof needs tiles no record of the new export needs.
// Found in the field round of 2026-12-06: every later export was refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { exportCommand } from '../../src/cli/export.js';
import { importCommand } from '../../src/cli/import.js';
import { buildModules, FakeGoProxy, FakeSumDb, type BuiltModule } from '../world/index.js';
import { removeDir, tempDir } from '../support/godepot.js';
import { captureIo } from '../support/io.js';
import type { CommandIO } from '../../src/cli/command-settings.js';

describe('an export imported on top of an earlier one, the log grown past a tile boundary between them', () => {
  let dir: string;
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let first: BuiltModule;
  let later: BuiltModule;
  let third: BuiltModule;
  let filler = 0;

  /** Records of other modules, as the public log gains them between two exports. */
  const grow = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++, filler++)
      await sumdb.addRecord(
        `example.com/filler/m${filler} v1.0.0 h1:${Buffer.alloc(32, filler % 256).toString('base64')}\n`,
      );
  };

  beforeAll(async () => {
    dir = await tempDir('godepot-export-incremental-');
    [first, later, third] = (await buildModules(
      ['first', 'later', 'third'].map((m) => ({
        path: `example.com/${m}`,
        version: 'v1.0.0',
        files: { 'go.mod': `module example.com/${m}\n` },
      })),
    )) as [BuiltModule, BuiltModule, BuiltModule];
    upstream = await FakeGoProxy.start([first, later, third]);
    sumdb = await FakeSumDb.start();
    await grow(100);
    await sumdb.add(first);
  });

  afterAll(async () => {
    await upstream?.close();
    await sumdb?.close();
    await removeDir(dir);
  });

  const flags = (data: string): string[] => [
    ...['--data', join(dir, data), '--upstream', upstream.url, '--sumdb', sumdb.gosumdb, '--progress', 'none'],
  ];
  const run = async (
    command: (args: string[], io: CommandIO) => Promise<number>,
    args: string[],
  ): Promise<{ code: number; text: string }> => {
    const c = captureIo();
    const code = await command(args, c.io);
    return { code, text: c.text() };
  };

  it('takes the later export: the exporter proves its new head extends the heads it exported before', async () => {
    const e1 = await run(exportCommand, [...flags('connected'), join(dir, 'e1'), `${first.path}@${first.version}`]);
    expect(e1.code, e1.text).toBe(0);
    const i1 = await run(importCommand, [...flags('airgapped'), '--offline', join(dir, 'e1')]);
    expect(i1.code, i1.text).toBe(0);

    await grow(400);
    await sumdb.add(later);
    const e2 = await run(exportCommand, [...flags('connected'), join(dir, 'e2'), `${later.path}@${later.version}`]);
    expect(e2.code, e2.text).toBe(0);
    const i2 = await run(importCommand, [...flags('airgapped'), '--offline', join(dir, 'e2')]);
    expect(i2.text).toContain('imported 1 of 1 module versions');
    expect(i2.code, i2.text).toBe(0);
  });

  it('an export from elsewhere says how to make one it takes, and --since makes it', async () => {
    // The disconnected side holds the head of the first test's second export; this exporter never exported it.
    await grow(300);
    await sumdb.add(third);
    const other = await run(exportCommand, [...flags('elsewhere'), join(dir, 'e3'), `${third.path}@${third.version}`]);
    expect(other.code, other.text).toBe(0);
    const refused = await run(importCommand, [...flags('airgapped'), '--offline', join(dir, 'e3')]);
    expect(refused.code, refused.text).toBe(1);
    const size = /holds the tree of size (\d+)/.exec(refused.text)?.[1];
    expect(size, refused.text).toBeDefined();
    expect(refused.text).toContain(`export again with --since ${size}`);

    const again = await run(exportCommand, [
      ...flags('elsewhere'),
      ...['--since', size as string, join(dir, 'e4'), `${third.path}@${third.version}`],
    ]);
    expect(again.code, again.text).toBe(0);
    const taken = await run(importCommand, [...flags('airgapped'), '--offline', join(dir, 'e4')]);
    expect(taken.code, taken.text).toBe(0);
  });

  it('refuses a --since that is no tree size', async () => {
    await expect(
      run(exportCommand, [...flags('connected'), '--since', '12k', join(dir, 'e5'), `${first.path}@${first.version}`]),
    ).rejects.toThrow(/--since 12k: give a tree size/);
  });
});
