// `godepot private ls` reads the ledger and changes nothing: no data folder
// made for a mistyped --data, the earlier layout's file listed but not
// imported (serve does that), a damaged record named instead of aborting.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authCommand } from '../../src/cli/auth.js';
import { privateCommand } from '../../src/cli/private.js';
import { FsStorage } from '../../src/storage/index.js';
import { ledgerKey, legacyLedgerFile, PrivateLedger } from '../../src/vcs/ledger.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function ls(data: string): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await privateCommand(['ls', '--data', data], {
    out: (s: string) => out.push(s),
    err: process.stderr,
    env: { PATH: process.env.PATH ?? '' },
  });
  return { code, out: out.join('') };
}

describe('godepot private ls', () => {
  it('refuses a data folder that does not exist, and makes none', async () => {
    const d = await mkdtemp(join(tmpdir(), 'godepot-ls-'));
    dirs.push(d);
    await expect(ls(join(d, 'typo'))).rejects.toThrow(/there is no data folder at .*typo/);
    expect(existsSync(join(d, 'typo'))).toBe(false);
  });

  it('lists the records, the earlier layout file too (not imported), and names a damaged record', async () => {
    const d = await mkdtemp(join(tmpdir(), 'godepot-ls-'));
    dirs.push(d);
    const s = await FsStorage.open(d);
    const l = await PrivateLedger.open(s);
    await l.check('corp.example/a', 'v1.0.0', 'h1:za', 'h1:ma');
    await s.put(ledgerKey('corp.example/b', 'v1.0.0'), Buffer.from('{"module":'));
    await s.close();
    await mkdir(join(d, 'ledger'), { recursive: true });
    await writeFile(
      legacyLedgerFile(d),
      JSON.stringify({ module: 'corp.example/old', version: 'v0.1.0', zip: 'h1:zo', mod: 'h1:mo', recorded: 'x' }) +
        '\n',
    );
    const r = await ls(d);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^corp\.example\/a v1\.0\.0 h1:za go\.mod h1:ma recorded /m);
    expect(r.out).toMatch(/^corp\.example\/old v0\.1\.0 h1:zo /m);
    expect(r.out).toMatch(/^DAMAGED {2}ledger\/modules\/corp\.example\/b\/@v\/v1\.0\.0\.json: .*damaged; remove it/m);
    expect(await readdir(join(d, 'ledger'))).toContain('private.jsonl');
  });
});

describe('godepot private ls|verify --help', () => {
  it.each(['ls', 'verify'])('%s --help prints the usage and fetches nothing', async (sub) => {
    // verify --help ran a whole verify of ./data (every recorded version fetched again from its origin).
    const d = await mkdtemp(join(tmpdir(), 'godepot-ls-'));
    dirs.push(d);
    const s = await FsStorage.open(d);
    await (await PrivateLedger.open(s)).check('corp.example/a', 'v1.0.0', 'h1:za', 'h1:ma');
    await s.close();
    const out: string[] = [];
    const code = await privateCommand([sub, '--data', d, '--help'], {
      out: (x: string) => out.push(x),
      err: process.stderr,
      env: { PATH: '' },
    });
    expect(out.join('')).toMatch(/^Usage: godepot private ls/);
    expect(code).toBe(0);
  });

  it('names an unknown subcommand in one line, for private and auth alike', async () => {
    const io = { out: () => undefined, err: process.stderr, env: { PATH: '' } };
    await expect(privateCommand(['lss', '--data', '/nonexistent'], io)).rejects.toThrow(
      'unknown subcommand "lss": give ls or verify (see godepot private --help)',
    );
    await expect(authCommand(['ad', 'ci'], io)).rejects.toThrow('unknown subcommand "ad": give add');
  });
});
