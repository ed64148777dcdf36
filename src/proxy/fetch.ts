// Fetching artifacts from the upstream proxies into memory (small ones) or a
// staged blob (zips), with the size limits of the go command. Nothing here is
// stored: verification decides that (immutable.ts).
import type { Readable } from 'node:stream';
import { MAX_GO_MOD, MAX_ZIP_FILE } from '../modzip/index.js';
import { check, isCanonicalVersion } from '../module/index.js';
import type { OpenBlob, StagedBlob, Storage } from '../storage/index.js';
import { BadBodyError, LocalFailure, readLimited, type BodyReader, type Fetched } from '../upstream/index.js';
import type { ModuleSource } from './context.js';
import { GodepotError } from './errors.js';
import { describeRequest, upstreamPath, type ProxyRequest } from './request.js';

/** Limits for the small artifacts (the go command's own are similar or looser). */
const MAX_INFO = 64 << 10;
export const MAX_LIST = 8 << 20;

export function smallLimit(req: ProxyRequest): number {
  switch (req.kind) {
    case 'mod':
      return MAX_GO_MOD;
    case 'list':
      return MAX_LIST;
    default:
      return MAX_INFO;
  }
}

/**
 * Fetches a list, .mod, .info or @latest. An .info or @latest the go command
 * could not use (checkInfo) is a bad body of the upstream that sent it, as
 * the go command takes it: after '|' the next upstream is asked.
 */
export async function fetchSmall(
  upstream: ModuleSource,
  req: ProxyRequest,
  signal?: AbortSignal,
): Promise<Fetched<Buffer>> {
  const limited = readLimited(smallLimit(req));
  const read: BodyReader<Buffer> =
    req.kind === 'list' || req.kind === 'mod'
      ? limited
      : async (body, meta) => {
          const bytes = await limited(body, meta);
          const why = infoProblem(req, bytes);
          if (why !== null)
            throw new BadBodyError(`invalid ${req.kind === 'latest' ? '@latest' : '.info'} answer: ${why}`);
          return bytes;
        };
  return upstream.get(upstreamPath(req), req.kind, 'metadata', read, signal);
}

export interface StagedZip {
  readonly staged: StagedBlob;
  readonly blob: OpenBlob;
  /** The same bytes in memory, for a zip of at most the reader's `inMemory` bytes. */
  readonly bytes?: Buffer;
}

/**
 * A body reader that stages a zip in a fresh staged blob (one per attempt),
 * refusing more than MAX_ZIP_FILE bytes. A zip of at most `inMemory` bytes
 * is collected in memory and staged in one write (it is verified and
 * answered from memory); a larger one is written as it arrives.
 */
export function stageZipReader(storage: Storage, inMemory = 0): BodyReader<StagedZip> {
  const local = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      throw new LocalFailure(err);
    }
  };
  return async (body: Readable) => {
    const staged = await local(() => storage.stage());
    try {
      let n = 0;
      let held: Buffer[] | null = [];
      for await (const chunk of body) {
        const b = chunk as Buffer;
        n += b.length;
        if (n > MAX_ZIP_FILE)
          throw new BadBodyError(`module zip larger than the go command's limit of ${MAX_ZIP_FILE} bytes`);
        if (held && n <= inMemory) {
          held.push(b);
          continue;
        }
        if (held) {
          // Larger than kept in memory after all: what was held goes first, then every chunk as it comes.
          for (const h of held) await local(() => staged.write(h));
          held = null;
        }
        await local(() => staged.write(b));
      }
      const bytes = held ? Buffer.concat(held, n) : undefined;
      if (bytes) await local(() => staged.write(bytes));
      const blob = await local(() => staged.finish());
      return bytes ? { staged, blob, bytes } : { staged, blob };
    } catch (err) {
      await staged.discard();
      throw err;
    }
  };
}

export async function fetchZip(
  upstream: ModuleSource,
  storage: Storage,
  req: ProxyRequest,
  inMemory: number,
  signal?: AbortSignal,
): Promise<Fetched<StagedZip>> {
  return upstream.get(upstreamPath(req), 'zip', 'zip', stageZipReader(storage, inMemory), signal);
}

/**
 * A time as Go's time.Time reads it from JSON (RFC 3339, strictly: the go
 * command refuses a .info whose Time it cannot read, and a canonical
 * version's .info is kept for good). Date.parse takes far more ("2020",
 * "Jan 1", a day past the month's end).
 */
function isRfc3339(s: string): boolean {
  // Go takes ',' before the fraction of a second too.
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:[.,]\d+)?(?:Z|[+-](\d\d):(\d\d))$/.exec(s);
  if (!m) return false;
  const [year = NaN, month = NaN, day = NaN, hour = NaN, minute = NaN, second = NaN, zoneHour = 0, zoneMinute = 0] = m
    .slice(1)
    .map((x) => (x === undefined ? 0 : Number(x)));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const inRange = hour < 24 && minute < 60 && second < 60 && zoneHour < 24 && zoneMinute < 60; // Go: "+25:00" is out of range
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day && inRange;
}

/**
 * Checks an .info / @latest body: JSON with a valid Version for this module
 * (exactly the requested one for a canonical request, as the go command
 * insists) and, if present, an RFC 3339 Time. (A stored copy's: fetchSmall
 * checks an upstream's as it reads it.)
 */
export function checkInfo(req: ProxyRequest, body: Buffer, upstream: string): void {
  const why = infoProblem(req, body);
  if (why !== null)
    throw new GodepotError(
      'bad_upstream_content',
      `godepot: upstream ${upstream} returned an invalid answer for ${describeRequest(req)}: ${why}`,
      { upstream },
    );
}

/** A JSON key as Go's encoding/json matches it to a field name (ASCII case, and ſ and K as s and k). */
function goFold(key: string): string {
  return key
    .replace(/[a-z]/g, (c) => c.toUpperCase())
    .replace(/\u017f/g, 'S')
    .replace(/\u212a/g, 'K');
}

/**
 * Version and Time of an .info object as the go command's json.Unmarshal
 * reads them: a key matches a field whatever its case, the last one
 * winning. JSON.parse keeps exact duplicates' last value too, but not the
 * order of keys that differ in case, so two spellings of one field are
 * refused: the go command might read the other one.
 */
function goFields(json: Record<string, unknown>): { Version?: unknown; Time?: unknown } | string {
  const found: Record<string, string> = {};
  for (const key of Object.keys(json)) {
    const name = { VERSION: 'Version', TIME: 'Time' }[goFold(key)];
    if (name === undefined) continue;
    const other = found[name];
    if (other !== undefined)
      return `it has both ${JSON.stringify(other)} and ${JSON.stringify(key)}, which the go command reads as one field`;
    found[name] = key;
  }
  return {
    ...(found.Version === undefined ? {} : { Version: json[found.Version] }),
    ...(found.Time === undefined ? {} : { Time: json[found.Time] }),
  };
}

/** What is wrong with an .info / @latest body (see checkInfo), or null. */
function infoProblem(req: ProxyRequest, body: Buffer): string | null {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (typeof json !== 'object' || json === null) return 'not a JSON object';
  const fields = goFields(json as Record<string, unknown>);
  if (typeof fields === 'string') return fields;
  const { Version, Time } = fields;
  if (typeof Version !== 'string') return 'no Version';
  // null leaves a Go time.Time as it is (zero).
  if (Time !== undefined && Time !== null && (typeof Time !== 'string' || !isRfc3339(Time)))
    return 'Time is not an RFC 3339 time';
  if (!isCanonicalVersion(Version)) return `Version ${JSON.stringify(Version)} is not canonical`;
  try {
    check(req.path, Version);
  } catch (err) {
    return (err as Error).message;
  }
  if (req.kind === 'info' && !req.query && Version !== req.version)
    return `info for version ${Version} instead of requested version ${req.version}`;
  return null;
}
