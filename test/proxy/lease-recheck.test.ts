// A process granted a fetch lease looks at storage once more before it
// fetches: another worker (a read-ahead, or a client a moment earlier) may
// have stored the artifact and released its own lease between this
// process's miss and its ask, and the artifact is then not fetched twice.
import { describe, expect, it } from 'vitest';
import { ModuleService } from '../../src/proxy/service.js';
import { oneBodyUpstream, serviceContext } from '../support/service.js';
import { MemoryStorage } from '../../src/storage/index.js';
import type { FetchLeases, FetchOutcome } from '../../src/proxy/context.js';

const INFO = Buffer.from('{"Version":"v1.0.0","Time":"2023-01-01T00:00:00Z"}');
const KEY = 'mod/example.com/raced/@v/v1.0.0.info';

function world(storeBeforeGrant: boolean) {
  const storage = new MemoryStorage();
  const upstreamPaths: string[] = [];
  const released: FetchOutcome[] = [];
  const leases: FetchLeases = {
    acquire: async (key) => {
      // The other worker stored it and released its lease just before this ask reached the primary.
      if (storeBeforeGrant) await storage.put(key, INFO);
      return { lead: true, release: (o) => released.push(o) };
    },
  };
  const service = new ModuleService(serviceContext(storage, oneBodyUpstream(INFO, upstreamPaths), { leases }), 1 << 16);
  return { service, storage, upstreamPaths, released };
}

describe('a lead lease re-checks storage before fetching', () => {
  const req = { kind: 'info', path: 'example.com/raced', version: 'v1.0.0', query: false } as const;

  it('serves what another worker stored meanwhile, and fetches nothing', async () => {
    const w = world(true);
    const a = await w.service.get(req);
    expect(a.body).toEqual(INFO);
    expect(w.upstreamPaths).toEqual([]);
    expect(w.released).toEqual([{ kind: 'stored' }]);
    await w.service.idle();
  });

  it('fetches when nothing was stored (the check costs no fetch it should make)', async () => {
    const w = world(false);
    const a = await w.service.get(req);
    expect(a.body).toEqual(INFO);
    expect(w.upstreamPaths).toEqual(['/example.com/raced/@v/v1.0.0.info']);
    await w.service.idle();
    expect(w.released).toEqual([{ kind: 'stored' }]);
    expect(await w.storage.get(KEY)).toEqual(INFO);
  });
});
