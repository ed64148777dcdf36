// Guards found missing by a mutation review of src/sumdb: a lookup's record
// must be about exactly the version asked for (not one it is a prefix of),
// and a consistency proof carrying a hash more than needed is refused.
import { describe, expect, it } from 'vitest';
import { recordMentions } from '../../src/sumdb/records.js';
import { checkTree, ProofError, proveTree, recordHash, treeHash, type Hash } from '../../src/sumdb/tlog/index.js';
import { at, MemoryLog } from './tlog/support.js';

const H1 = 'h1:' + Buffer.alloc(32, 1).toString('base64');
const H2 = 'h1:' + Buffer.alloc(32, 2).toString('base64');

/** The text of the database's record for path@version: its zip and go.mod lines. */
const record = (path: string, version: string): string => `${path} ${version} ${H1}\n${path} ${version}/go.mod ${H2}\n`;

describe('recordMentions: whether a record answers a lookup', () => {
  it('accepts the record of the version asked for, by its zip or its go.mod line', () => {
    expect(recordMentions(record('example.com/m', 'v1.0.0'), 'example.com/m', 'v1.0.0')).toBe(true);
    expect(recordMentions(`example.com/m v1.0.0 ${H1}\n`, 'example.com/m', 'v1.0.0')).toBe(true);
    expect(recordMentions(`example.com/m v1.0.0/go.mod ${H2}\n`, 'example.com/m', 'v1.0.0')).toBe(true);
  });

  it('refuses the record of a version that merely begins with the one asked for', () => {
    for (const other of ['v1.0.0-rc1', 'v1.0.0+incompatible', 'v1.0.01', 'v1.0.0-0.20200101000000-abcdefabcdef']) {
      expect(recordMentions(record('example.com/m', other), 'example.com/m', 'v1.0.0'), other).toBe(false);
    }
    // Nor a module whose path begins with the one asked for.
    expect(recordMentions(record('example.com/m/v2', 'v1.0.0'), 'example.com/m', 'v1.0.0')).toBe(false);
    expect(recordMentions(record('example.com/mm', 'v1.0.0'), 'example.com/m', 'v1.0.0')).toBe(false);
  });
});

describe('checkTree: no unnecessary hashes', async () => {
  const log = new MemoryLog();
  const trees: Hash[] = [];
  for (let i = 0; i < 40; i++) {
    await log.append(Buffer.from(`leaf ${i}`));
    trees.push(await treeHash(i + 1, log));
  }
  const extra = recordHash(Buffer.from('not in the log'));

  it('refuses a valid consistency proof with one hash inserted anywhere, as Go does', async () => {
    let checked = 0;
    for (let t = 2; t <= 40; t++) {
      const th = at(trees, t - 1);
      for (let n = 1; n < t; n++) {
        const h = at(trees, n - 1);
        const p = await proveTree(t, n, log);
        expect(() => checkTree(p, t, th, n, h)).not.toThrow();
        for (let k = 0; k <= p.length; k++) {
          const longer = [...p.slice(0, k), extra, ...p.slice(k)];
          expect(() => checkTree(longer, t, th, n, h), `t=${t} n=${n} extra hash at ${k}`).toThrow(ProofError);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('refuses a proof from 3 to 8 records with a hash between the old-tree hash and the rest', async () => {
    // The proof's first hash is the subtree [2, 3) both trees share; the verifier reads it at the
    // bottom of its walk and must find nothing beside it.
    const p = await proveTree(8, 3, log);
    expect(() => checkTree(p, 8, at(trees, 7), 3, at(trees, 2))).not.toThrow();
    const padded = [at(p, 0), extra, ...p.slice(1)];
    expect(() => checkTree(padded, 8, at(trees, 7), 3, at(trees, 2))).toThrow(ProofError);
  });
});
