// `--upstream <proxies>,direct` and `<proxies>|direct`: the origin is asked
// exactly when the go command's GOPROXY walk would reach `direct`
// (PROTOCOL.md §1.3): after ',' only when the proxy said 404/410, after '|'
// on any error. A proxy's 403 after ',' ends the walk (a gatekeeper's "no"
// is not bypassed by fetching from the origin).
import { describe, expect, it } from 'vitest';
import { NotFoundError, ProxyList, readLimited, UpstreamError, type Fetched } from '../../src/upstream/index.js';
import { DirectFallback, OriginSource } from '../../src/proxy/origin-source.js';
import { fetchSmall, fetchZip } from '../../src/proxy/fetch.js';
import { GodepotError, toGodepotError } from '../../src/proxy/errors.js';
import { HeldZip, type Download, type Origin } from '../../src/vcs/origin.js';
import { bufferBlob, MemoryStorage, type Storage } from '../../src/storage/index.js';
import type { ModuleSource } from '../../src/proxy/context.js';
import { parseUpstreamList } from '../../src/config/values.js';
import { loopbackServers, shortRegistries } from '../support/upstream-rig.js';

/** A zip as the origin hands it out: held for the one who asked. */
const heldZip = (bytes: Buffer): HeldZip => new HeldZip(bufferBlob(bytes, 0));

const { serve } = loopbackServers();
/** A proxy answering every request with this status. */
function proxy(status: number): Promise<string> {
  return serve((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(status === 200 ? 'v1.0.0\n' : `answer ${status}`);
  });
}
const registry = shortRegistries();

/** An origin that answers every request, counting them. */
function origin(): ModuleSource & { asked: number } {
  const meta = { upstream: 'origin example.com', url: 'origin example.com', status: 200, headers: {} };
  const o = {
    asked: 0,
    disabled: false,
    get: async <T>(): Promise<Fetched<T>> => {
      o.asked++;
      return { value: Buffer.from('from the origin\n') as T, meta };
    },
    getEach: async () => ({ found: [], errors: [] }),
  };
  return o;
}

/** The answer of `<list>` ending in direct for one list request: the body, or the error. */
async function ask(list: string, from: ModuleSource): Promise<string | Error> {
  const parsed = parseUpstreamList(list);
  const source = new DirectFallback(new ProxyList(parsed, registry()), from);
  return source.get('/example.com/m/@v/list', 'list', 'metadata', readLimited(1 << 20)).then(
    (f) => (f.value as Buffer).toString(),
    (e: unknown) => e as Error,
  );
}

describe('DirectFallback follows the GOPROXY walk to direct', () => {
  it("after ',' the origin is asked only when the proxies said 404/410", async () => {
    const [missing, gone, forbidden, broken] = await Promise.all([proxy(404), proxy(410), proxy(403), proxy(500)]);
    for (const p of [missing, gone]) {
      const o = origin();
      expect(await ask(`${p},direct`, o)).toBe('from the origin\n');
      expect(o.asked).toBe(1);
    }
    const refused = origin();
    const r = await ask(`${forbidden},direct`, refused);
    expect(r).toBeInstanceOf(NotFoundError);
    expect(r).toMatchObject({ status: 403 });
    expect(refused.asked).toBe(0);
    const failed = origin();
    expect(await ask(`${broken},direct`, failed)).toBeInstanceOf(UpstreamError);
    expect(failed.asked).toBe(0);
  });

  it("after '|' the origin is asked whatever the proxy did", async () => {
    const [forbidden, broken, missing] = await Promise.all([proxy(403), proxy(500), proxy(404)]);
    for (const list of [`${forbidden}|direct`, `${broken}|direct`, `${broken}|${missing},direct`]) {
      const o = origin();
      expect(await ask(list, o), list).toBe('from the origin\n');
      expect(o.asked, list).toBe(1);
    }
    // The walk stops before direct when an entry after ',' fails.
    const stopped = origin();
    expect(await ask(`${missing}|${broken},direct`, stopped)).toBeInstanceOf(UpstreamError);
    expect(stopped.asked).toBe(0);
  });

  it('a proxy that has the module answers; the origin is not asked', async () => {
    const good = await proxy(200);
    const o = origin();
    expect(await ask(`${good}|direct`, o)).toBe('v1.0.0\n');
    expect(o.asked).toBe(0);
  });

  it("tells when the walk reaches the origin for a version's .info, .mod or .zip (one go run fetches all three)", async () => {
    const [missing, good] = await Promise.all([proxy(404), proxy(200)]);
    const told: string[] = [];
    const source = (list: string): DirectFallback => {
      const artifact = Buffer.from('from the origin\n');
      const o = new OriginSource({
        download: async () => ({ info: artifact, mod: artifact, zip: heldZip(artifact) }),
        query: async () => ({ Version: 'v1.0.0' }),
        list: async () => [],
      } as unknown as Origin);
      o.whenDownloading((path, version, kind) => told.push(`${path}@${version}.${kind}`));
      return new DirectFallback(new ProxyList(parseUpstreamList(list), registry()), o);
    };
    const read = readLimited(1 << 20);
    const direct = source(`${missing},direct`);
    for (const file of ['v1.0.0.info', 'v1.0.0.mod', 'v1.0.0.zip', 'master.info', 'v2.0.0.info', 'list'])
      await direct.get(`/example.com/m/@v/${file}`, 'x', 'metadata', read);
    await direct.get('/example.com/m/@latest', 'latest', 'metadata', read);
    // A query, a version not the path's (v2 without /v2), a list or @latest: go list, no download.
    expect(told).toEqual(['example.com/m@v1.0.0.info', 'example.com/m@v1.0.0.mod', 'example.com/m@v1.0.0.zip']);
    // A proxy's answer: each artifact on its own, nothing to tell.
    await source(`${good},direct`).get('/example.com/m/@v/v1.0.0.mod', 'mod', 'metadata', read);
    expect(told).toHaveLength(3);
  });
});

describe("an origin's answer is held to the rules a proxy's is", () => {
  const download = (): Download => ({
    info: Buffer.from('{"Version":"v1.0.1"}'),
    mod: Buffer.from(''),
    zip: heldZip(Buffer.from('')),
    zipH1: '',
    modH1: '',
  });
  const origin = new OriginSource({ download: async () => download() } as unknown as Origin);

  it('an .info it cannot have sent is bad upstream content naming the origin, not an internal error', async () => {
    const req = { kind: 'info', path: 'example.com/m', version: 'v1.0.0', query: false } as const;
    const err = await fetchSmall(origin, req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GodepotError);
    expect(err).toMatchObject({ code: 'bad_upstream_content' });
    expect((err as Error).message).toMatch(/origin example\.com.*instead of requested version v1\.0\.0/);
  });

  it('a full disk while staging its zip is said as one, not as an internal error', async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const storage = Object.assign(Object.create(new MemoryStorage()) as Storage, {
      stage: () => Promise.reject(full),
    });
    const req = { kind: 'zip', path: 'example.com/m', version: 'v1.0.0' } as const;
    const err = await fetchZip(origin, storage, req, 1 << 20).catch((e: unknown) => e);
    expect(toGodepotError(err, 'example.com/m@v1.0.0.zip')).toMatchObject({ code: 'storage_failed' });
  });
});

describe("an origin asked for .info of a version that is not the path's", () => {
  it('resolves it as the go command does (v2.0.0 → v2.0.0+incompatible), not as a download of that version', async () => {
    const asked: string[] = [];
    const origin = new OriginSource({
      query: async (path: string, query: string) => {
        asked.push(`query ${path}@${query}`);
        return { Version: `${query}+incompatible` };
      },
      download: async (path: string, version: string) => {
        asked.push(`download ${path}@${version}`);
        throw new Error('not this way');
      },
    } as unknown as Origin);
    const req = { kind: 'info', path: 'corp.example/m', version: 'v2.0.0', query: true } as const;
    const info = await fetchSmall(origin, req);
    expect(JSON.parse(info.value.toString())).toEqual({ Version: 'v2.0.0+incompatible' });
    expect(asked).toEqual(['query corp.example/m@v2.0.0']);
  });
});
