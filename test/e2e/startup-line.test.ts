// Issue 10 item 5: the start-up line says where the data is (absolute) and
// every place godepot will read from: each upstream and each source of each
// checksum database. With the defaults a new user gets: one worker per core.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { autoWorkers } from '../../src/config/load.js';
import { allListening, removeDir, spawnGodepot, tempDir } from '../support/godepot.js';
import { TEST_KEY, TEST_KEY_NAME } from '../world/index.js';

describe('the start-up line', () => {
  it('names the absolute data path, the upstreams and every checksum source', async () => {
    const dir = await tempDir();
    const g = await spawnGodepot(
      ['--data', 'data', '--upstream', 'http://127.0.0.1:1', '--sumdb', TEST_KEY.vkey],
      {},
      { cwd: dir, defaultWorkers: true },
    );
    try {
      // Every worker says it listens (spawnGodepot returns at the line with the URL).
      const workers = autoWorkers();
      const lines = await allListening(g, workers);
      expect(lines).toHaveLength(workers);
      if (workers > 1) expect(g.output()).toContain(`"workers":${workers}`);
      // Said once, by the first worker; the others say only that they listen.
      expect(g.output().match(/godepot listening on/g), g.output()).toHaveLength(1);
      const rec = lines[0];
      if (!rec) throw new Error(`no start-up line in:\n${g.output()}`);
      expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
      expect(rec.data).toBe(join(dir, 'data'));
      expect(rec.msg).toContain(`data in ${join(dir, 'data')}`);
      expect(rec.msg).toContain('upstream http://127.0.0.1:1');
      expect(rec.msg).toContain(`http://127.0.0.1:1/sumdb/${TEST_KEY_NAME}`);
      expect(rec.msg).toContain(`https://${TEST_KEY_NAME}`);
    } finally {
      await g.stop();
      await removeDir(dir);
    }
  });
});
