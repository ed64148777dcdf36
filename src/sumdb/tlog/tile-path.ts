// Tile coordinates and their URL paths: tile/<H>/<L|data>/<NNN>[.p/<W>].
import { BadTilePathError } from './errors.js';

/**
 * W consecutive hashes at tree level h*l, starting at index n * 2^h; the
 * whole subtree of height h above them can be recomputed from them.
 * 1 <= h <= 30; l = -1 is the data tile (record texts) of level-0 tile n;
 * 1 <= w <= 2^h, where w = 2^h is a full tile.
 */
export interface Tile {
  readonly h: number;
  readonly l: number;
  readonly n: number;
  readonly w: number;
}

/** Path elements hold N in base 1000, so a directory lists at most 3000 entries. */
const PATH_BASE = 1000;

const pad3 = (x: number): string => String(x).padStart(3, '0');

/** The tile's path: N as x-prefixed 3-digit elements, '.p/W' only for partial tiles. */
export function tilePath(t: Tile): string {
  let n = t.n;
  let nStr = pad3(n % PATH_BASE);
  while (n >= PATH_BASE) {
    n = Math.floor(n / PATH_BASE);
    nStr = `x${pad3(n % PATH_BASE)}/${nStr}`;
  }
  const pStr = t.w !== 2 ** t.h ? `.p/${t.w}` : '';
  const level = t.l === -1 ? 'data' : String(t.l);
  return `tile/${t.h}/${level}/${nStr}${pStr}`;
}

/**
 * Parses a tile path. Only the canonical spelling is accepted: the result
 * must re-encode to exactly `path` (so 'tile/3/5/123/456/078' is rejected).
 */
export function parseTilePath(path: string): Tile {
  const f = path.split('/');
  if (f.length < 4 || f[0] !== 'tile') throw new BadTilePathError(path);
  const h = goAtoi(f[1] ?? '');
  const isData = f[2] === 'data';
  const l = isData ? -1 : goAtoi(f[2] ?? '');
  if (h === null || l === null || h < 1 || h > 30 || (!isData && l < 0)) throw new BadTilePathError(path);
  let w = 2 ** h;
  let nElems = f.slice(3);
  const dotP = f[f.length - 2] ?? '';
  if (dotP.endsWith('.p')) {
    const ww = goAtoi(f[f.length - 1] ?? '');
    if (ww === null || ww <= 0 || ww >= w) throw new BadTilePathError(path);
    w = ww;
    nElems = [...f.slice(3, f.length - 2), dotP.slice(0, -2)];
  }
  let n = 0;
  for (const s of nElems) {
    const nn = goAtoi(s.startsWith('x') ? s.slice(1) : s);
    if (nn === null || nn < 0 || nn >= PATH_BASE) throw new BadTilePathError(path);
    n = n * PATH_BASE + nn;
    if (!Number.isSafeInteger(n)) throw new BadTilePathError(path);
  }
  const t: Tile = { h, l, n, w };
  if (tilePath(t) !== path) throw new BadTilePathError(path);
  return t;
}

// strconv.Atoi for the small numbers of a tile path; null on failure.
function goAtoi(s: string): number | null {
  if (!/^[+-]?[0-9]{1,18}$/.test(s)) return null;
  const n = Number(s);
  return n === 0 ? 0 : n;
}
