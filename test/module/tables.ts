// Loads test/fixtures/vectors/golang-mod-module-semver-tables.json (Go test
// tables of golang.org/x/mod module and semver, transcribed as JSON).
import { readFileSync } from 'node:fs';
import { decodeGoBytes } from '../../src/module/gostring.js';
import { vectorPath } from '../support/txtar.js';
import { prng } from '../support/prng.js';
export { prng };

/** The error fn throws, or null. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return null;
}

/** A table string: plain, or raw bytes that are not valid UTF-8. */
export type VectorString = string | { bytes_hex: string; go_literal: string };

export interface Section<Row> {
  semantics?: string;
  rows: Row[];
}

export interface Tables {
  'module.checkTests': Section<{ path: string; version: string; ok: boolean }>;
  'module.checkPathTests': Section<{ path: VectorString; ok: boolean; importOK: boolean; fileOK: boolean }>;
  'module.splitPathVersionTests': Section<{ pathPrefix: string; version: string }>;
  'module.escapeTests': Section<{ path: string; esc?: string }>;
  'module.badUnescape': Section<string>;
  'module.matchPathMajor': Section<{ v: string; pathMajor: string; want: boolean }>;
  'module.matchPrefixPatterns': Section<{ globs: string; target: string; want: boolean }>;
  'module.pseudoTests': Section<{ major: string; older: string; version: string }>;
  'module.invalidPseudoVersionBase': Section<string>;
  'module.incDecimal': Section<{ in: string; want: string }>;
  'module.decDecimal': Section<{ in: string; want: string }>;
  'semver.tests': Section<{ in: string; out: string }>;
  'semver.sortGolden': Section<string>;
}

export const tables = JSON.parse(readFileSync(vectorPath('golang-mod-module-semver-tables.json'), 'utf8')) as Tables;

export interface DecodedString {
  /** The string as our API sees it: invalid bytes become lone surrogates (decodeGoBytes). */
  text: string;
  /** The same bytes decoded lossily (U+FFFD), as a careless caller would. */
  lossy: string;
  /** Go's literal for the string, when the table gives one. */
  goLiteral: string | null;
  validUTF8: boolean;
}

export function decodeVectorString(s: VectorString): DecodedString {
  if (typeof s === 'string') return { text: s, lossy: s, goLiteral: null, validUTF8: true };
  const bytes = Buffer.from(s.bytes_hex, 'hex');
  return { text: decodeGoBytes(bytes), lossy: bytes.toString('utf8'), goLiteral: s.go_literal, validUTF8: false };
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rand() * items.length)];
  if (item === undefined) throw new Error('pick from empty list');
  return item;
}

/** Fisher–Yates shuffle of a copy. */
export function shuffled<T>(rand: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}
