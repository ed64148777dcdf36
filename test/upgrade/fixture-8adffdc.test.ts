// Upgrading in place: a data folder written by the godepot of commit 8adffdc
// (test/fixtures/upgrade-8adffdc/README.md) is served by this build offline,
// as that build served it: every artifact a hit with the verification it had,
// the verified tree head and stored lookups answered, the incident listed, the
// private ledger (its old one-file layout) readable, nothing an operator must act on in the log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';
import { privateCommand } from '../../src/cli/private.js';
import { ManualClock } from '../../src/util/clock.js';
import { TEST_KEY } from '../world/index.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/upgrade-8adffdc/data', import.meta.url));
const DB = 'localhost.localdev/sumdb';
/** When the old build's last write was made. */
const WRITTEN = Date.parse('2026-12-06T12:47:02Z');
// Nothing listens there: offline, nothing may be asked anyway.
const NOWHERE = 'http://127.0.0.1:9';

// What the old build answered on this folder, offline (its x-godepot-verification; '' for none).
const SERVED: Record<string, string> = {
  'example.com/alpha/@v/list': '',
  'example.com/alpha/@v/v1.0.0.info': '',
  'example.com/alpha/@v/v1.0.0.mod': 'verified',
  'example.com/alpha/@v/v1.0.0.zip': 'verified',
  'example.com/alpha/@v/v1.1.0.mod': 'verified',
  'example.com/alpha/@v/v1.1.0.zip': 'verified',
  'example.com/beta/@v/list': '',
  'example.com/beta/@v/v0.2.0.info': '',
  'example.com/beta/@v/v0.2.0.zip': 'verified',
  'example.com/d4/@v/v1.0.0.zip': 'verified',
  'example.com/pub/@v/v1.0.0.mod': 'verified',
  'corp.example/lib/@v/list': '',
  'corp.example/lib/@v/v1.1.0.info': '',
  'corp.example/lib/@v/v1.1.0.mod': 'skipped',
  'corp.example/lib/@v/v1.1.0.zip': 'skipped',
  'corp.example/lib/@v/v1.0.0.zip': 'skipped',
  [`sumdb/${DB}/lookup/example.com/alpha@v1.0.0`]: '',
  [`sumdb/${DB}/tile/8/0/000.p/10`]: '',
  [`sumdb/${DB}/latest`]: '',
};

describe('a data folder written by 8adffdc, served offline by this build', () => {
  let data: string;
  let g: RunningGodepot;

  beforeAll(async () => {
    data = await tempDir('godepot-upgrade-');
    await cp(FIXTURE, data, { recursive: true });
    // Stored answers are dated by their files: as when the old build wrote them (a checkout dates them now).
    for (const f of await readdir(data, { recursive: true, withFileTypes: true }))
      if (f.isFile()) await utimes(join(f.parentPath, f.name), WRITTEN / 1000, WRITTEN / 1000);
    g = await startGodepot(
      {
        data,
        upstream: NOWHERE,
        sumdb: `${TEST_KEY.vkey} ${NOWHERE}`,
        private: 'corp.example/*',
        offline: 'true',
      },
      // A minute after the folder was written, whenever the test runs: its lists fresh, its incident kept.
      { compose: { clock: new ManualClock(WRITTEN + 60_000) } },
    );
  });
  afterAll(async () => {
    await g?.close();
    await removeDir(data);
  });

  it('serves every stored artifact as a hit, verified as before', async () => {
    for (const [path, verification] of Object.entries(SERVED)) {
      const res = await fetch(`${g.url}/${path}`);
      await res.arrayBuffer();
      expect(res.status, path).toBe(200);
      expect(res.headers.get('x-godepot-cache'), path).toBe('hit');
      expect(res.headers.get('x-godepot-verification') ?? '', path).toBe(verification);
    }
  });

  it('loads the verified tree head and answers lookups from storage', async () => {
    const ready = (await (await fetch(`${g.url}/readyz`)).json()) as { sumdb: Array<{ treeSize: number }> };
    expect(ready.sumdb[0]?.treeSize).toBe(10);
    const lookup = await (await fetch(`${g.url}/sumdb/${DB}/lookup/example.com/d4@v1.0.0`)).text();
    expect(lookup).toContain('example.com/d4 v1.0.0 h1:');
  });

  it('lists the outage the old build recorded', async () => {
    const incidents = (await (await fetch(`${g.url}/api/incidents`)).json()) as Array<Record<string, unknown>>;
    expect(incidents.length).toBeGreaterThanOrEqual(1);
    expect(incidents[0]).toMatchObject({ start: '2026-12-06T12:46:53.649Z', failureClass: 'connect' });
  });

  it('reads the private ledger of the old layout, imported and kept', async () => {
    const out: string[] = [];
    const code = await privateCommand(['ls', '--data', data], {
      out: (s) => out.push(s),
      err: process.stderr,
      env: {},
    });
    expect(code, out.join('')).toBe(0);
    expect(out.join('')).toMatch(/corp\.example\/lib v1\.1\.0 h1:\/2do1x21WbXx7CzdnKe98cbkvm6vXUyVk0yVv\/F6iHc= /);
    expect(out.join('')).toMatch(/corp\.example\/lib v1\.0\.0 h1:wmv5z9kzSnLugVD3UiFSft6j0B6Sx4QNdgVeDzjO2mQ= /);
    expect(await readdir(join(data, 'ledger'))).toEqual(expect.arrayContaining(['modules', 'private.jsonl.imported']));
  });

  it('logs nothing an operator would have to act on', () => {
    const loud = g.logs.filter((l) => typeof l.level === 'number' && l.level >= 40);
    expect(loud).toEqual([]);
  });
});
