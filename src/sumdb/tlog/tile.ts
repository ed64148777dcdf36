// The tile API of the log in one import: coordinates and paths, tile math,
// and the authenticating tile hash reader.
export { tilePath, parseTilePath, type Tile } from './tile-path.js';
export {
  NO_TILE,
  tileForIndex,
  locateIndex,
  hashFromTile,
  tileHash,
  newTiles,
  readTileData,
  tileParent,
} from './tile-math.js';
export { tileHashReader, type TileReader } from './tile-hash-reader.js';
