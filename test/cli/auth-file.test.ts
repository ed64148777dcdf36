// A users file (--auth) that is a pipe or a device: `godepot auth add` and
// `godepot serve` say so and end, instead of waiting for ever on a read that
// no writer will end (serve's is synchronous: the whole process would hang).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { BIN, removeDir, tempDir } from '../support/godepot.js';

/** Runs the built CLI, killed (and failing) at the deadline when it does not end on its own. */
function godepot(args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 15_000 }, (err, _out, stderr) =>
      resolve({ code: err ? ((err.code as number | undefined) ?? null) : 0, signal: err?.signal ?? null, stderr }),
    );
  });
}

describe('a users file that is a FIFO', () => {
  let dir: string;
  let fifo: string;

  beforeAll(async () => {
    dir = await tempDir('godepot-auth-file-');
    fifo = join(dir, 'users.json');
    execFileSync('mkfifo', [fifo]);
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it('godepot auth add refuses it, naming what to give', async () => {
    const r = await godepot(['auth', 'add', 'bob', '--modules', 'example.com/*', '--auth', fifo]);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `godepot auth: cannot read ${fifo}: a pipe or a device, not a users file; give the path of a regular (JSON) file\n`,
    );
  }, 30_000);

  it('godepot serve refuses it at start', async () => {
    const data = join(dir, 'data');
    const r = await godepot(['serve', '--data', data, '--listen', '127.0.0.1:0', '--auth', fifo, '--insecure-auth']);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${fifo}: a pipe or a device, not a users file`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
