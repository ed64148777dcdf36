// Real sum.golang.org signed tree heads (vectors real-sumdb-notes.json).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidSignatureError, newVerifier, openNote, Verifiers } from '../../../src/sumdb/note/index.js';
import { hashToString, parseTree } from '../../../src/sumdb/tlog/index.js';
import { vectorPath } from '../../support/txtar.js';

interface RealNote {
  label: string;
  expect_sum_golang_org_signature: 'valid' | 'invalid';
  tree_size: number;
  root_hash_b64: string;
  note: string;
  signatures: { name: string; status: string }[];
}
const file = JSON.parse(readFileSync(vectorPath('real-sumdb-notes.json'), 'utf8')) as {
  verifier_key: string;
  notes: RealNote[];
};
const verifiers = new Verifiers(newVerifier(file.verifier_key));
const valid = file.notes.filter((n) => n.expect_sum_golang_org_signature === 'valid');

describe('real sum.golang.org notes', () => {
  it('has 18 valid notes and C-neg', () => {
    expect(valid).toHaveLength(18);
    expect(file.notes.map((n) => n.label)).toContain('C-neg');
  });

  it.each(valid)('$label verifies and parses to tree $tree_size', (n) => {
    const note = openNote(Buffer.from(n.note), verifiers);
    expect(note.sigs.map((s) => s.name)).toEqual(['sum.golang.org']);
    expect(note.sigs[0]?.hash).toBe(0x033de0ae);
    expect(note.sigs[0]?.base64.startsWith('Az3gr')).toBe(true);
    const tree = parseTree(note.text);
    expect(tree.n).toBe(n.tree_size);
    expect(hashToString(tree.hash)).toBe(n.root_hash_b64);
    expect(note.unverifiedSigs.map((s) => `${s.name} ${s.hash.toString(16).padStart(8, '0')}`)).toEqual(
      n.signatures
        .filter((s) => s.status.startsWith('unknown-key'))
        .map((s) => `${s.name} ${s.status.slice('unknown-key '.length)}`),
    );
  });

  it('C-neg fails: extra text lines break the signature', () => {
    const cneg = file.notes.find((n) => n.label === 'C-neg');
    expect(() => openNote(Buffer.from(cneg?.note ?? ''), verifiers)).toThrow(InvalidSignatureError);
    expect(() => openNote(Buffer.from(cneg?.note ?? ''), verifiers)).toThrow(
      'invalid signature for key sum.golang.org+033de0ae',
    );
  });

  it('P keeps the witness cosignature as unverified', () => {
    const p = openNote(Buffer.from(valid.find((n) => n.label === 'P')?.note ?? ''), verifiers);
    expect(p.unverifiedSigs).toHaveLength(1);
    expect(p.unverifiedSigs[0]?.name).toBe('test.example.com');
    expect(p.unverifiedSigs[0]?.hash).toBe(0xa931a10b);
  });

  it('a changed tree size breaks every real signature', () => {
    for (const n of valid) {
      const text = Buffer.from(n.note);
      const flipped = Buffer.from(text);
      const at = flipped.indexOf('\n') + 1; // first digit of the tree size
      flipped[at] = flipped[at] === 0x31 ? 0x32 : 0x31;
      expect(() => openNote(flipped, verifiers)).toThrow(InvalidSignatureError);
    }
  });
});
