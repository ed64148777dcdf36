// A request to a checksum-database mirror, parsed once at the edge from the
// path below /sumdb/<name>/ (PROTOCOL.md §2): what it asks for, typed, so
// that nothing after the HTTP layer handles raw sub-paths.
import { BadTilePathError, parseTilePath, type Tile } from './tlog/index.js';
import { SumdbError } from './errors.js';
import { parseLookupPath, type ModuleVersionRef } from './records.js';

export type SumdbRequest =
  | { readonly kind: 'supported' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'lookup'; readonly ref: ModuleVersionRef }
  | { readonly kind: 'tile'; readonly tile: Tile };

/** The route label of a request (metrics, access log). */
export type SumdbRoute = 'sumdb_supported' | 'sumdb_latest' | 'sumdb_lookup' | 'sumdb_tile' | 'sumdb_data_tile';

/** Parses the path below /sumdb/<name>/. Throws SumdbError: bad_request for malformed input, not_found otherwise. */
export function parseSumdbRequest(sub: string): SumdbRequest {
  if (sub === 'supported') return { kind: 'supported' };
  if (sub === 'latest') return { kind: 'latest' };
  if (sub.startsWith('lookup/')) return { kind: 'lookup', ref: parseLookupPath(sub.slice('lookup/'.length)) };
  if (sub.startsWith('tile/')) {
    try {
      return { kind: 'tile', tile: parseTilePath(sub) };
    } catch (err) {
      if (err instanceof BadTilePathError) throw new SumdbError('bad_request', 'invalid tile syntax');
      throw err;
    }
  }
  throw new SumdbError('not_found', 'not found');
}

export function sumdbRoute(r: SumdbRequest): SumdbRoute {
  if (r.kind === 'tile') return r.tile.l < 0 ? 'sumdb_data_tile' : 'sumdb_tile';
  return `sumdb_${r.kind}`;
}
