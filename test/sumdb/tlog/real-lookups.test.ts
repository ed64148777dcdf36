// Real sum.golang.org /lookup bodies (vectors real-sumdb-lookups.json).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { newVerifier, openNote, Verifiers } from '../../../src/sumdb/note/index.js';
import { hashToString, parseRecord, parseTree, recordHash } from '../../../src/sumdb/tlog/index.js';
import { vectorPath } from '../../support/txtar.js';

interface Lookup {
  label: string;
  module: string;
  version: string;
  record_id: number;
  record_text: string;
  record_hash_b64: string;
  body: string;
  note_tree_size: number;
}
const { lookups } = JSON.parse(readFileSync(vectorPath('real-sumdb-lookups.json'), 'utf8')) as { lookups: Lookup[] };
const SUM_GOLANG_ORG = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';
const verifiers = new Verifiers(newVerifier(SUM_GOLANG_ORG));

describe('real sum.golang.org lookups', () => {
  it('has all 8 bodies', () => expect(lookups).toHaveLength(8));

  it.each(lookups)('$label: $module@$version', (l) => {
    const { id, text, rest } = parseRecord(Buffer.from(l.body));
    expect(id).toBe(l.record_id);
    expect(text.toString()).toBe(l.record_text);
    expect(hashToString(recordHash(text))).toBe(l.record_hash_b64);
    expect(text.toString().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${l.module.replace(/[.]/g, '\\.')} ${l.version} h1:[A-Za-z0-9+/]{43}=$`)),
      expect.stringMatching(
        new RegExp(`^${l.module.replace(/[.]/g, '\\.')} ${l.version}/go.mod h1:[A-Za-z0-9+/]{43}=$`),
      ),
      '',
    ]);
    const note = openNote(rest, verifiers);
    expect(note.sigs.map((s) => s.name)).toEqual(['sum.golang.org']);
    const tree = parseTree(note.text);
    expect(tree.n).toBe(l.note_tree_size);
    expect(l.record_id).toBeLessThan(tree.n);
  });
});
