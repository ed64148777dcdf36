// A module service's context for tests that build a ModuleService by hand
// (no HTTP, no compose): one upstream answering one body, test defaults for
// the rest, the test's own choices on top.
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { LocalCoord } from '../../src/coord/index.js';
import type { CachedArtifact, ModuleSource, ServiceContext } from '../../src/proxy/context.js';
import { MemoryCache } from '../../src/proxy/memcache.js';
import type { Storage } from '../../src/storage/index.js';
import type { ResponseMeta } from '../../src/upstream/http.js';

/** An upstream that answers every path with body; paths asked are pushed to seen. */
export function oneBodyUpstream(body: Buffer, seen: string[] = []): ModuleSource {
  const meta: ResponseMeta = {
    upstream: 'http://upstream.test',
    url: 'http://upstream.test/x',
    status: 200,
    headers: {},
  };
  return {
    disabled: false,
    get: async (path, _kind, _cls, read) => {
      seen.push(path);
      return { value: await read(Readable.from([body]), meta), meta };
    },
    getEach: () => Promise.reject(new Error('not used')),
  };
}

/** A context on storage and upstream: no checksum database, --verify fallback, silent log, unless overridden. */
export function serviceContext(
  storage: Storage,
  upstream: ModuleSource,
  overrides: Partial<ServiceContext> = {},
): ServiceContext {
  return {
    storage,
    upstream,
    checksums: null,
    settings: {
      offline: false,
      ttl: { list: 60_000, query: 60_000, notFound: 60_000 },
      staleGrace: 1_000,
      nosumdb: '',
      verify: { mode: 'fallback', rules: [] },
    },
    log: pino({ level: 'silent' }),
    events: {},
    memory: new MemoryCache<CachedArtifact>(1 << 20, 1 << 16),
    shutdown: new AbortController().signal,
    notFound: new LocalCoord(),
    ...overrides,
  };
}
