// A signed tree head too large for any proof (its last hash's stored index is
// beyond Number.MAX_SAFE_INTEGER) is refused, not adopted: once adopted, the
// head only grows, so nothing could ever be proven or looked up again.
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTree } from '../../src/sumdb/tlog/index.js';
import { makeSigners, TEST_KEY } from '../world/sumkeys.js';
import { FakeSumDb } from '../world/index.js';
import { fakeModules, rig } from './mirror-harness.js';

describe('a checksum database that signs a tree head of 2^52 + 1 records', () => {
  const signers = makeSigners(TEST_KEY);
  let size = 2 ** 52 + 1;
  let honest: FakeSumDb;
  const server = createServer((req, res) => {
    if (req.url === '/latest' && size > 0) {
      res.end(signers.sign(formatTree({ n: size, hash: Buffer.alloc(32, 7) })));
      return;
    }
    // Then it serves its honest log.
    void fetch(honest.url + (req.url ?? '')).then(async (r) => {
      res.statusCode = r.status;
      res.end(Buffer.from(await r.arrayBuffer()));
    });
  });
  let url = '';
  beforeAll(async () => {
    honest = await FakeSumDb.start({ records: fakeModules(3) });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.close();
    await honest.close();
  });

  it('is refused at first contact, and the next sane head is adopted and proves lookups', async () => {
    const r = await rig([url]);
    try {
      await expect(r.mirror.serve('latest')).rejects.toThrow(/does not verify/);
      expect(r.mirror.tree.head).toBeNull();
      size = 0;
      const m = fakeModules(3)[1];
      const a = await r.mirror.serve(`lookup/${m?.path}@${m?.version}`);
      expect(a.body.toString()).toContain(`${m?.path} ${m?.version} ${m?.h1}`);
      expect(r.mirror.tree.head?.tree.n).toBe(3);
    } finally {
      await r.close();
    }
  });
});
