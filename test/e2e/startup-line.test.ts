// Issue 10 item 5: the start-up line says where the data is (absolute) and
// every place godepot will read from: each upstream and each source of each
// checksum database.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { removeDir, spawnGodepot, tempDir } from '../support/godepot.js';
import { TEST_KEY, TEST_KEY_NAME } from '../world/index.js';

describe('the start-up line', () => {
  it('names the absolute data path, the upstreams and every checksum source', async () => {
    const dir = await tempDir();
    const g = await spawnGodepot(
      ['--data', 'data', '--upstream', 'http://127.0.0.1:1', '--sumdb', TEST_KEY.vkey],
      {},
      { cwd: dir },
    );
    try {
      const line = g
        .output()
        .split('\n')
        .find((l) => l.includes('godepot listening on'));
      expect(line).toBeDefined();
      const rec = JSON.parse(line ?? '{}') as { msg: string; data: string };
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
