// How a checksum-database record's lines become the hashes godepot checks an
// artifact against: as the go command reads them (cmd/go/internal/modfetch,
// checkSumDB), so godepot never accepts what go would refuse or refuses what
// go accepts.
import { describe, expect, it } from 'vitest';
import { hashesFromRecord } from '../../src/proxy/verify.js';

const H = 'h1:8nFiQ0wh6hYIFWvjGvZZ1GCbhT1dlqoowQJOg9pmBKM=';
const M = 'h1:rlIg/jDZuG4Z2ngBo0H0Tu0qw1jZ2Zmh4cB8ikcSr6o=';

describe('hashesFromRecord', () => {
  it('takes the h1: lines of path@version and path@version/go.mod', () => {
    const text = `example.com/m v1.0.0 ${H}\nexample.com/m v1.0.0/go.mod ${M}\n`;
    expect(hashesFromRecord(text, 'example.com/m', 'v1.0.0')).toEqual({ zip: H, mod: M });
    // Another module's or version's lines say nothing about this one.
    expect(hashesFromRecord(text, 'example.com/m', 'v1.0.1')).toEqual({});
    expect(hashesFromRecord(text, 'example.com/other', 'v1.0.0')).toEqual({});
  });

  it('ignores lines of another hash kind, even before the h1: line (go compares only h1: lines)', () => {
    const text = `example.com/m v1.0.0 h2:abc\nexample.com/m v1.0.0 ${H}\nexample.com/m v1.0.0/go.mod h2:x\nexample.com/m v1.0.0/go.mod ${M}\n`;
    expect(hashesFromRecord(text, 'example.com/m', 'v1.0.0')).toEqual({ zip: H, mod: M });
  });

  it('reads an h1: line with more after the hash as a hash that matches nothing, not as no hash', () => {
    const text = `example.com/m v1.0.0 ${H} extra\nexample.com/m v1.0.0/go.mod ${M}\n`;
    const got = hashesFromRecord(text, 'example.com/m', 'v1.0.0');
    expect(got.zip).toBe(`${H} extra`);
    expect(got.zip).not.toBe(H);
  });

  it('lets the first h1: line decide, as go does', () => {
    const other = 'h1:AAAAQ0wh6hYIFWvjGvZZ1GCbhT1dlqoowQJOg9pmBKM=';
    const text = `example.com/m v1.0.0 ${other}\nexample.com/m v1.0.0 ${H}\n`;
    expect(hashesFromRecord(text, 'example.com/m', 'v1.0.0').zip).toBe(other);
  });
});
