// FsStorage's symlink containment check compares whole path segments: a
// symlink in the data folder to a sibling folder whose name merely begins
// with the data folder's name (data → data-evil) leads outside it too.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStorage } from '../../src/storage/fs.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('FsStorage symlinks to a sibling of the data folder', () => {
  it('neither writes nor deletes through a symlink to a folder named like the data folder plus a suffix', async () => {
    const base = await mkdtemp(join(tmpdir(), 'godepot-sibling-'));
    dirs.push(base);
    const data = join(base, 'data');
    const evil = join(base, 'data-evil');
    await mkdir(data);
    await mkdir(evil);
    await writeFile(join(evil, 'victim'), 'not godepot’s');
    await symlink(evil, join(data, 'cache'));
    const s = await FsStorage.open(data);
    try {
      await expect(s.put('cache/planted', Buffer.from('x'))).rejects.toThrow(/leads outside \/.* through a symlink/);
      await expect(s.put('cache/new/planted', Buffer.from('x'))).rejects.toThrow(
        /leads outside \/.* through a symlink/,
      );
      await expect(s.delete('cache/victim')).rejects.toThrow(/leads outside \/.* through a symlink/);
      await expect(s.move('cache/victim', 'moved')).rejects.toThrow(/leads outside \/.* through a symlink/);
      expect(await readdir(evil)).toEqual(['victim']);
      // The data folder itself and real folders in it are written as usual.
      await s.put('mod/a', Buffer.from('a'));
      expect(await s.get('mod/a')).toEqual(Buffer.from('a'));
      await s.delete('mod/a');
    } finally {
      await s.close();
    }
  });
});
