// A data folder damaged while godepot was down (a disk error, a truncated
// copy, a file edited by hand): what godepot stored was verified when it was
// stored, and the first read of each copy by a process checks it again. A
// damaged .zip, .mod, .info or checksum-database record is never served as
// verified (the go command would report a false SECURITY ERROR); it is
// removed, logged at error level, counted, and fetched again. With the
// upstream down, the client gets an error, never the damaged bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModules, FakeGoProxy, FakeSumDb, faults, type BuiltModule } from '../world/index.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';
import { metric } from '../support/metrics.js';
import { escapePath, escapeVersion } from '../../src/module/index.js';
import { FsStorage } from '../../src/storage/index.js';
import { failingReads } from '../support/failing-reads.js';

const SMALL = 64 << 10;

function fixture(name: string, size = 4 << 10) {
  const path = `example.com/damage/${name}`;
  return {
    path,
    version: 'v1.0.0',
    // Random bytes do not compress: the zip is as large as its content.
    files: { 'go.mod': `module ${path}\n`, 'a.go': `package ${name}\n`, 'blob.bin': randomBytes(size) },
  };
}

describe('a damaged data folder', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let data: string;
  let mods: Record<string, BuiltModule>;
  let godepot: RunningGodepot | null = null;
  const start = async (): Promise<RunningGodepot> =>
    (godepot = await startGodepot(
      // Zips above 16 KiB are read from storage as a blob, checked once and remembered ('big').
      {
        upstream: upstream.url,
        sumdb: `${sumdb.vkey} ${sumdb.url}`,
        data,
        'read-ahead': 'false',
        'memory-cache-item': '16KiB',
      },
      {},
    ));
  const file = (m: BuiltModule, ext: string): string =>
    join(data, 'mod', escapePath(m.path), '@v', `${escapeVersion(m.version)}.${ext}`);
  const get = async (m: BuiltModule, ext: string): Promise<{ status: number; body: Buffer; headers: Headers }> => {
    const r = await fetch(`${(godepot as RunningGodepot).url}/${m.path}/@v/${m.version}.${ext}`);
    return { status: r.status, body: Buffer.from(await r.arrayBuffer()), headers: r.headers };
  };

  beforeAll(async () => {
    // 'big' is larger than the memory cache's items: read from storage each time, checked once.
    const built = await buildModules([
      fixture('zip'),
      fixture('mod'),
      fixture('info'),
      fixture('big', 2 * SMALL),
      fixture('gone'),
    ]);
    mods = Object.fromEntries(built.map((m) => [m.path.split('/').pop() as string, m]));
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    data = await tempDir('godepot-damaged-');
    await start();
    for (const m of built) for (const ext of ['info', 'mod', 'zip']) expect((await get(m, ext)).status).toBe(200);
    await godepot?.g.service.idle();
    await godepot?.close();
    godepot = null;
  }, 60_000);

  afterAll(async () => {
    await godepot?.close();
    await upstream?.close();
    await sumdb?.close();
    await removeDir(data);
  });

  it('removes each damaged copy when it is first read, says so, and serves the verified bytes fetched again', async () => {
    const m = mods as Record<'zip' | 'mod' | 'info' | 'big', BuiltModule>;
    await truncate(file(m.zip, 'zip'), 100);
    const mod = await readFile(file(m.mod, 'mod'));
    mod[mod.length - 2] = (mod[mod.length - 2] as number) ^ 0x01;
    await writeFile(file(m.mod, 'mod'), mod);
    await writeFile(file(m.info, 'info'), '{"Version":"v1.0.0","Ti');
    // One byte flipped in the middle of the large zip's compressed data.
    const fh = await open(file(m.big, 'zip'), 'r+');
    const byte = Buffer.alloc(1);
    expect((await fh.read(byte, 0, 1, SMALL)).bytesRead).toBe(1);
    byte[0] = (byte[0] as number) ^ 0xff;
    await fh.write(byte, 0, 1, SMALL);
    await fh.close();
    expect((await readFile(file(m.big, 'zip'))).length).toBe(m.big.zip.length);
    const record = join(data, 'sumdb', sumdb.name, 'lookup', `${escapePath(m.mod.path)}@${m.mod.version}`);
    const stored = await readFile(record, 'utf8');
    await writeFile(record, stored.replace(m.mod.goModH1, `h1:${Buffer.alloc(32, 7).toString('base64')}`));

    const g = await start();
    upstream.resetLog();
    const cases: Array<[BuiltModule, string, Buffer]> = [
      [m.zip, 'zip', m.zip.zip],
      [m.mod, 'mod', m.mod.mod],
      [m.info, 'info', m.info.info],
      [m.big, 'zip', m.big.zip],
    ];
    for (const [mod, ext, want] of cases) {
      const r = await get(mod, ext);
      expect(r.status, `${mod.path}.${ext}`).toBe(200);
      expect(r.body.equals(want), `${mod.path}.${ext}: the verified bytes`).toBe(true);
      expect(r.headers.get('x-godepot-cache'), `${mod.path}.${ext}`).toBe('miss');
    }
    // Fetched again from the upstream, and stored whole again.
    for (const [mod, ext] of cases)
      expect(upstream.count(`${mod.path}/@v/${mod.version}.${ext}`), `${mod.path}.${ext}`).toBe(1);
    await g.g.service.idle();
    expect((await readFile(file(m.big, 'zip'))).equals(m.big.zip)).toBe(true);
    // The record the client reads through godepot's /sumdb/ is the database's own again.
    const lookup = await fetch(`${g.url}/sumdb/${sumdb.name}/lookup/${m.mod.path}@${m.mod.version}`);
    expect(lookup.status).toBe(200);
    expect(await lookup.text()).toContain(m.mod.goModH1);

    const alerts = g.logs.filter((l) => l.alert === 'stored_artifact_damaged');
    expect(alerts.map((l) => `${String(l.module)} ${String(l.kind)}`).sort()).toEqual(
      [`${m.big.path} zip`, `${m.info.path} info`, `${m.mod.path} mod`, `${m.zip.path} zip`].sort(),
    );
    expect(alerts.every((l) => l.level === 50)).toBe(true);
    expect(g.logs.some((l) => l.alert === 'stored_record_damaged' && l.module === m.mod.path)).toBe(true);
    for (const [kind, n] of [
      ['zip', 2],
      ['mod', 1],
      ['info', 1],
      ['record', 1],
    ] as const)
      expect(await metric(g.url, 'godepot_storage_damaged_total', { kind }), kind).toBe(n);
    // Intact copies read afterwards are not counted: the next reads come from memory or are remembered intact.
    expect((await get(m.big, 'zip')).status).toBe(200);
    expect(await metric(g.url, 'godepot_storage_damaged_total', { kind: 'zip' })).toBe(2);
    expect(upstream.count(`${m.big.path}/@v/${m.big.version}.zip`)).toBe(1);
    await g.close();
    godepot = null;
  }, 60_000);

  it('with the upstream down, a damaged copy is an error for the client, never the damaged bytes', async () => {
    const m = mods.zip as BuiltModule;
    await truncate(file(m, 'zip'), 200);
    const g = await start();
    const undo = upstream.setFault(faults.status(500), '.zip');
    try {
      const r = await get(m, 'zip');
      expect(r.status).toBe(502);
      expect(r.body.toString()).toMatch(/500/);
      expect(g.logs.some((l) => l.alert === 'stored_artifact_damaged' && l.module === m.path)).toBe(true);
    } finally {
      undo();
    }
    // Once the upstream is back, the copy heals.
    const healed = await get(m, 'zip');
    expect(healed.status).toBe(200);
    expect(healed.body.equals(m.zip)).toBe(true);
  }, 60_000);

  it('a storage read that fails during the check is an error, not damage: the good copy stays', async () => {
    const m = mods.big as BuiltModule;
    const key = `mod/${escapePath(m.path)}/@v/${escapeVersion(m.version)}.zip`;
    const fs = await FsStorage.open(data);
    // The disk fails every read of that file's bytes (its size and time still answer).
    const failing = failingReads(fs, (k) => k === key);
    const g = (godepot = await startGodepot(
      {
        upstream: upstream.url,
        sumdb: `${sumdb.vkey} ${sumdb.url}`,
        data,
        'read-ahead': 'false',
        'memory-cache-item': '16KiB',
      },
      { storage: failing },
    ));
    const r = await get(m, 'zip');
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(g.logs.some((l) => l.alert === 'stored_artifact_damaged')).toBe(false);
    expect((await readFile(file(m, 'zip'))).equals(m.zip)).toBe(true);
    await g.close();
    godepot = null;
    await fs.close();
  });

  it("a stored record whose id even the database's head does not cover is not answered: the database is asked, and it heals", async () => {
    const m = mods.info as BuiltModule;
    const record = join(data, 'sumdb', sumdb.name, 'lookup', `${escapePath(m.path)}@${m.version}`);
    const stored = await readFile(record, 'utf8');
    await writeFile(record, stored.replace(/^\d+\n/, '9999999\n'));
    const g = (godepot = await start());
    const before = sumdb.count('/lookup/');
    const r = await fetch(`${g.url}/sumdb/${sumdb.name}/lookup/${m.path}@${m.version}`);
    const body = await r.text();
    expect(r.status, body).toBe(200);
    expect(body.startsWith(stored.split('\n')[0] + '\n')).toBe(true);
    expect(sumdb.count('/lookup/')).toBe(before + 1);
    await g.g.service.idle();
    await g.close();
    godepot = null;
    expect(await readFile(record, 'utf8')).toBe(stored);
  });

  it('a copy changed in the store with its record removed beside it is held to the database, not to its own word', async () => {
    const m = mods.gone as BuiltModule;
    // Well-formed: another module version's zip and go.mod, each passing every rule but its h1:.
    const altered = await upstream.alteredModule(m);
    await writeFile(file(m, 'zip'), altered.zip);
    await writeFile(file(m, 'mod'), altered.mod);
    // The record, and the tiles its text could be read from again: only the signed head is left.
    await rm(join(data, 'sumdb', sumdb.name, 'lookup', `${escapePath(m.path)}@${m.version}`));
    for (const tiles of ['partial', 'tile'])
      await rm(join(data, 'sumdb', sumdb.name, tiles), { recursive: true, force: true });
    const g = (godepot = await start());
    upstream.resetLog();
    for (const [ext, want] of [
      ['zip', m.zip],
      ['mod', m.mod],
    ] as const) {
      const r = await get(m, ext);
      expect(r.status, ext).toBe(200);
      expect(r.body.equals(want), `${ext}: the bytes the database vouches for`).toBe(true);
      expect(r.headers.get('x-godepot-verification'), ext).toBe('verified');
      expect(upstream.count(`${m.path}/@v/${m.version}.${ext}`), `${ext} fetched again`).toBe(1);
    }
    const alerts = g.logs.filter((l) => l.alert === 'stored_artifact_damaged' && l.module === m.path);
    expect(alerts.map((l) => String(l.kind)).sort()).toEqual(['mod', 'zip']);
    await g.close();
    godepot = null;
  }, 60_000);

  it('damage found in the middle of a large entry is damage, not a storage failure: removed and fetched again', async () => {
    const m = mods.big as BuiltModule;
    const zip = Buffer.from(await readFile(file(m, 'zip')));
    // blob.bin's declared size, made smaller than what its data inflates to (central directory and local header).
    let edited = 0;
    for (let i = 0; i + 46 < zip.length; i++) {
      const central = zip.readUInt32LE(i) === 0x02014b50;
      const local = zip.readUInt32LE(i) === 0x04034b50;
      if (!central && !local) continue;
      const nameLen = zip.readUInt16LE(i + (central ? 28 : 26));
      const name = zip.subarray(i + (central ? 46 : 30), i + (central ? 46 : 30) + nameLen).toString();
      if (!name.endsWith('/blob.bin')) continue;
      zip.writeUInt32LE(SMALL, i + (central ? 24 : 22));
      edited++;
    }
    expect(edited).toBe(2);
    await writeFile(file(m, 'zip'), zip);
    const g = (godepot = await start());
    const r = await get(m, 'zip');
    expect(r.status).toBe(200);
    expect(r.body.equals(m.zip)).toBe(true);
    expect(g.logs.some((l) => l.alert === 'stored_artifact_damaged' && l.module === m.path)).toBe(true);
    await g.close();
    godepot = null;
  });
  it('a copy kept without a verdict (--nosumdb: no database to ask) is held to the zip rules when first read', async () => {
    const m = mods.zip as BuiltModule;
    const own = await tempDir('godepot-damaged-nosumdb-');
    const settings = {
      upstream: upstream.url,
      sumdb: `${sumdb.vkey} ${sumdb.url}`,
      nosumdb: 'example.com/damage',
      data: own,
      'read-ahead': 'false',
    };
    try {
      const first = await startGodepot(settings);
      expect((await fetch(`${first.url}/${m.path}/@v/${m.version}.zip`)).status).toBe(200);
      await first.g.service.idle();
      await first.close();
      const kept = join(own, 'unverified', escapePath(m.path), '@v', `${escapeVersion(m.version)}.zip`);
      expect((await readFile(kept)).equals(m.zip)).toBe(true);
      await truncate(kept, 300);
      const g = await startGodepot(settings);
      try {
        upstream.resetLog();
        const r = await fetch(`${g.url}/${m.path}/@v/${m.version}.zip`);
        const body = Buffer.from(await r.arrayBuffer());
        expect(r.status).toBe(200);
        expect(body.equals(m.zip), 'the truncated copy was served').toBe(true);
        expect(r.headers.get('x-godepot-verification')).toBe('skipped');
        expect(upstream.count(`${m.path}/@v/${m.version}.zip`)).toBe(1);
        expect(g.logs.some((l) => l.alert === 'stored_artifact_damaged' && l.module === m.path)).toBe(true);
      } finally {
        await g.close();
      }
    } finally {
      await removeDir(own);
    }
  }, 60_000);

  it('a folder made by hand where a stored file goes: godepot starts, serves, and names the folder to remove', async () => {
    // The tree head, the fork evidence and a version list read as folders threw EISDIR: the start failed
    // with "EISDIR: illegal operation on a directory, read", naming no path.
    const m = mods.mod as BuiltModule;
    const own = await tempDir('godepot-damaged-folders-');
    const list = join(own, 'mod', escapePath(m.path), '@v', 'list');
    for (const f of ['latest', 'inconsistent']) await mkdir(join(own, 'sumdb', sumdb.name, f), { recursive: true });
    await mkdir(list, { recursive: true });
    try {
      const g = await startGodepot({ upstream: upstream.url, sumdb: `${sumdb.vkey} ${sumdb.url}`, data: own });
      try {
        const r = await fetch(`${g.url}/${m.path}/@v/list`);
        expect(r.status).toBe(200);
        expect(await r.text()).toContain(m.version);
        expect((await fetch(`${g.url}/${m.path}/@v/${m.version}.mod`)).status).toBe(200);
        // The tree head is written behind the lookup's answer: its failure is logged once the mirror is idle.
        await Promise.all([g.g.service.idle(), ...g.g.mirrors.map((mirror) => mirror.idle())]);
        const said = g.logs.map((l) => String(l.err ?? ''));
        expect(said).toContain(
          `storage cannot write ${list}: a folder is there, where godepot keeps a file; remove the folder`,
        );
        expect(said.some((e) => e.includes(join(own, 'sumdb', sumdb.name, 'latest')))).toBe(true);
      } finally {
        await g.close();
      }
    } finally {
      await removeDir(own);
    }
  }, 60_000);
});
