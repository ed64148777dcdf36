// What godepot stored without asking a checksum database (--sumdb off, a
// --nosumdb path) is kept apart from what a database vouched for: a later
// configuration that does check the module re-verifies the copy before it
// calls it verified, and refuses it when the database has another hash.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModules, FakeGoProxy, FakeSumDb, faults } from '../world/index.js';
import { removeDir, startGodepot, tempDir } from '../support/godepot.js';

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

describe('copies stored unchecked', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  const dirs: string[] = [];
  beforeAll(async () => {
    const built = await buildModules([
      {
        path: 'example.com/ok',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/ok\n', 'ok.go': 'package ok\n' },
      },
      {
        path: 'example.com/bad',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/bad\n', 'b.go': 'package bad\n' },
      },
      {
        path: 'corp.example/own',
        version: 'v1.0.0',
        files: { 'go.mod': 'module corp.example/own\n', 'o.go': 'package own\n' },
      },
      {
        path: 'example.com/aaunknown',
        version: 'v1.0.0',
        files: { 'go.mod': 'module example.com/aaunknown\n', 'u.go': 'package u\n' },
      },
    ]);
    upstream = await FakeGoProxy.start(built);
    // The database has never heard of example.com/aaunknown: its lookups answer 404.
    sumdb = await FakeSumDb.start({ records: built.filter((b) => b.path !== 'example.com/aaunknown') });
  });
  afterAll(async () => {
    await upstream.close();
    await sumdb.close();
    for (const d of dirs) await removeDir(d);
  });
  const data = async (): Promise<string> => {
    const d = await tempDir();
    dirs.push(d);
    return d;
  };

  it('with --sumdb off they are served as skipped and kept out of mod/', async () => {
    const d = await data();
    const g = await startGodepot({ upstream: upstream.url, sumdb: 'off', data: d });
    try {
      for (const ext of ['mod', 'zip']) {
        const r = await fetch(`${g.url}/example.com/ok/@v/v1.0.0.${ext}`);
        await r.arrayBuffer();
        expect(`${r.status} ${r.headers.get('x-godepot-verification')}`).toBe('200 skipped');
      }
      await g.g.service.idle();
      expect(await exists(join(d, 'unverified/example.com/ok/@v/v1.0.0.zip'))).toBe(true);
      expect(await exists(join(d, 'mod/example.com/ok/@v/v1.0.0.zip'))).toBe(false);
      // Served again from there, still as skipped.
      const again = await fetch(`${g.url}/example.com/ok/@v/v1.0.0.zip`);
      await again.arrayBuffer();
      expect(`${again.status} ${again.headers.get('x-godepot-verification')}`).toBe('200 skipped');
      expect(upstream.count('/example.com/ok/@v/v1.0.0.zip')).toBe(1);
    } finally {
      await g.close();
    }
  });

  it('with the database on again, an honest copy is verified and promoted; an altered one is refused and purged', async () => {
    const d = await data();
    const undo = upstream.setFault(faults.alter(), 'example.com/bad/@v/v1.0.0.zip');
    const off = await startGodepot({ upstream: upstream.url, sumdb: 'off', data: d });
    try {
      for (const m of ['ok', 'bad']) {
        const r = await fetch(`${off.url}/example.com/${m}/@v/v1.0.0.zip`);
        await r.arrayBuffer();
        expect(`${r.status} ${r.headers.get('x-godepot-verification')}`).toBe('200 skipped');
      }
      await off.g.service.idle();
    } finally {
      await off.close();
      undo();
    }
    upstream.resetLog();
    const on = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, data: d });
    try {
      const ok = await fetch(`${on.url}/example.com/ok/@v/v1.0.0.zip`);
      await ok.arrayBuffer();
      expect(`${ok.status} ${ok.headers.get('x-godepot-verification')}`).toBe('200 verified');
      expect(await exists(join(d, 'mod/example.com/ok/@v/v1.0.0.zip'))).toBe(true);

      const bad = await fetch(`${on.url}/example.com/bad/@v/v1.0.0.zip`);
      const body = await bad.text();
      expect(bad.status, body).toBe(502);
      expect(body).toMatch(/does not match the database/);
      expect(await exists(join(d, 'unverified/example.com/bad/@v/v1.0.0.zip'))).toBe(false);
      // The copies were checked, not fetched again.
      expect(upstream.count('/example.com/ok/@v/v1.0.0.zip') + upstream.count('/example.com/bad/@v/v1.0.0.zip')).toBe(
        0,
      );
    } finally {
      await on.close();
    }
  });

  it('a --nosumdb path is never looked up, and its copy is not counted as awaiting re-verification', async () => {
    const d = await data();
    const g = await startGodepot({
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      nosumdb: 'corp.example',
      data: d,
    });
    try {
      const r = await fetch(`${g.url}/corp.example/own/@v/v1.0.0.zip`);
      await r.arrayBuffer();
      expect(`${r.status} ${r.headers.get('x-godepot-verification')}`).toBe('200 skipped');
      await g.g.service.idle();
      expect(await exists(join(d, 'unverified/corp.example/own/@v/v1.0.0.zip'))).toBe(true);
      expect(await g.g.reverify.pending()).toEqual([]);
      expect(await g.g.reverify.runOnce()).toEqual({
        verified: 0,
        purged: 0,
        unavailable: 0,
        unknown: 0,
        contradicted: 0,
        unreadable: 0,
      });
      expect(sumdb.count('corp.example')).toBe(0);
    } finally {
      await g.close();
    }
  });

  it('a copy a source calls unknown (404) is kept, unverified, and does not stop the pass for the copies after it', async () => {
    const d = await data();
    const off = await startGodepot({ upstream: upstream.url, sumdb: 'off', data: d });
    try {
      for (const m of ['aaunknown', 'ok']) {
        const r = await fetch(`${off.url}/example.com/${m}/@v/v1.0.0.zip`);
        await r.arrayBuffer();
        expect(r.status).toBe(200);
      }
      await off.g.service.idle();
    } finally {
      await off.close();
    }
    const on = await startGodepot({
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      data: d,
      'reverify-interval': '0s',
    });
    try {
      expect(await on.g.reverify.runOnce()).toEqual({
        verified: 1,
        purged: 0,
        unavailable: 0,
        unknown: 1,
        contradicted: 0,
        unreadable: 0,
      });
      expect(await exists(join(d, 'unverified/example.com/aaunknown/@v/v1.0.0.zip'))).toBe(true);
      expect(await exists(join(d, 'mod/example.com/ok/@v/v1.0.0.zip'))).toBe(true);
      expect(on.logs.some((l) => String(l.msg).startsWith('quarantined copy kept'))).toBe(true);
    } finally {
      await on.close();
    }
  });
});
