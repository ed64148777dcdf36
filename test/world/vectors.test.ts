// The test world computes hashes, trees and signatures with godepot's own
// code (modules.ts, sumlog.ts, sumkeys.ts), so a bug shared by godepot and
// its world could pass every test. Checked once here against independent
// vectors (test/fixtures/vectors, see VECTORS.md): the world's test key signs
// golang/mod's tree notes byte for byte, its log gives golang/mod's tree
// hashes, and a module it builds hashes to cmd/go's go.sum lines.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readTxtar, vectorPath } from '../support/txtar.js';
import { buildModule } from './modules.js';
import { makeSigners, TEST_KEY } from './sumkeys.js';
import { SumLog } from './sumlog.js';

interface TestLog {
  skey: string;
  vkey: string;
  records: Array<{ id: number; path: string; version: string; text: string }>;
  trees: Array<{ n: number; hash_b64: string; note_text: string; signed_note: string }>;
}

const testlog = (JSON.parse(readFileSync(vectorPath('sumdb-tlog-note-vectors.json'), 'utf8')) as { testlog: TestLog })
  .testlog;

describe('the world against independent vectors', () => {
  it('signs with golang/mod’s test key: the same key, and the same signed tree notes byte for byte', () => {
    expect(TEST_KEY).toEqual({ skey: testlog.skey, vkey: testlog.vkey });
    const signers = makeSigners(TEST_KEY);
    expect(testlog.trees.length).toBeGreaterThan(0);
    for (const t of testlog.trees)
      expect(signers.sign(t.note_text).toString('utf8'), `tree ${t.n}`).toBe(t.signed_note);
  });

  it('its log gives golang/mod’s tree hashes', async () => {
    const log = new SumLog();
    for (const r of [...testlog.records].sort((a, b) => a.id - b.id))
      await log.append(`${r.path}@${r.version}`, Buffer.from(r.text));
    for (const t of testlog.trees) {
      if (t.n > log.size) continue;
      expect(Buffer.from(await log.treeHash(t.n)).toString('base64'), `tree ${t.n}`).toBe(t.hash_b64);
    }
    expect(log.size).toBeGreaterThanOrEqual(testlog.trees.at(-1)?.n ?? Infinity);
  });

  it('a module it builds hashes to the go.sum lines of cmd/go’s fixture (rsc.io/quote v1.5.2)', async () => {
    const row = readFileSync(vectorPath('cmdgo-fixture-sums.tsv'), 'utf8')
      .split('\n')
      .map((l) => l.split('\t'))
      .find((c) => c[1] === 'rsc.io/quote' && c[2] === 'v1.5.2');
    const [file = '', path = '', version = '', zipH1, goModH1] = row ?? [];
    const archive = readTxtar(vectorPath(file));
    const files: Record<string, Buffer> = {};
    for (const f of archive.files) if (!['.info', '.mod', '.zip'].includes(f.name)) files[f.name] = f.data;
    const goMod = archive.files.find((f) => f.name === '.mod')?.data.toString('utf8');
    const built = await buildModule({ path, version, files, ...(goMod === undefined ? {} : { goMod }) });
    expect(built.h1).toBe(zipH1);
    expect(built.goModH1).toBe(goModH1);
    // The same value the go command printed in golang/go's mod_sumdb.txt ("downloaded: h1:3fEy…").
    expect(built.h1.startsWith('h1:3fEy')).toBe(true);
  });
});
