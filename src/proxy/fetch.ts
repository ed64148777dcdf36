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
import { goFields, GO_MAX_DEPTH, rawMembers } from './go-json.js';
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

/** The string fields of the go command's codehost.Origin, an .info's provenance. */
const ORIGIN_FIELDS = ['VCS', 'URL', 'Subdir', 'Hash', 'TagPrefix', 'TagSum', 'Ref', 'RepoSum'] as const;

/** Why the go command's json.Unmarshal would refuse raw as its codehost.Origin (a pointer: null is none), or null. */
function originProblem(raw: string): string | null {
  if (raw === 'null') return null;
  if (!raw.startsWith('{')) return 'Origin is not a JSON object';
  const fields = goFields(rawMembers(raw).members, ORIGIN_FIELDS);
  if (typeof fields === 'string') return `Origin: ${fields}`;
  for (const f of ORIGIN_FIELDS) {
    const v = fields[f];
    if (v !== undefined && v !== 'null' && !v.startsWith('"')) return `Origin.${f} is not a string`;
  }
  return null;
}

/**
 * What is wrong with an .info / @latest body (see checkInfo), or null: what
 * the go command's json.Unmarshal into its RevInfo would refuse (go-json.ts),
 * then godepot's checks of Version.
 */
function infoProblem(req: ProxyRequest, body: Buffer): string | null {
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'not a JSON object';
  const { members, depth } = rawMembers(text);
  if (depth > GO_MAX_DEPTH) return `it nests deeper than the go command reads (${GO_MAX_DEPTH} levels)`;
  const fields = goFields(members, ['Version', 'Time', 'Origin']);
  if (typeof fields === 'string') return fields;
  const version: unknown = fields.Version === undefined ? undefined : JSON.parse(fields.Version);
  if (typeof version !== 'string') return 'no Version';
  // null leaves a Go time.Time as it is (zero). Go parses a Time's text without unescaping it: "\u005a" is no Z.
  const time = fields.Time;
  if (time !== undefined && time !== 'null' && (!/^"[^"\\]*"$/.test(time) || !isRfc3339(time.slice(1, -1))))
    return 'Time is not an RFC 3339 time';
  const origin = fields.Origin === undefined ? null : originProblem(fields.Origin);
  if (origin !== null) return origin;
  if (!isCanonicalVersion(version)) return `Version ${JSON.stringify(version)} is not canonical`;
  try {
    check(req.path, version);
  } catch (err) {
    return (err as Error).message;
  }
  if (req.kind === 'info' && !req.query && version !== req.version)
    return `info for version ${version} instead of requested version ${req.version}`;
  return null;
}
