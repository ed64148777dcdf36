// serve --tls-cert/--tls-key with the default --workers (auto: one worker per
// core, 2 here), the real CLI: the other tests of godepot's own HTTPS run one
// process, so a worker that listened without the certificate (answering plain
// HTTP, or not at all) would have gone unseen.
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allListening, removeDir, spawnGodepot, tempDir, type ChildGodepot } from '../support/godepot.js';
import { hasOpenssl, selfSignedCert, type TestCert } from '../support/tls.js';
import { waitFor } from '../support/ports.js';

/** GET over HTTPS on a connection of its own (so the kernel may hand it to either worker), trusting ca only. */
function getTls(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!hasOpenssl)('serve over HTTPS with the default workers', () => {
  let dir: string;
  let cert: TestCert;
  let godepot: ChildGodepot;

  beforeAll(async () => {
    dir = await tempDir('godepot-tls-workers-');
    cert = selfSignedCert(dir, 'godepot', 'IP:127.0.0.1');
    godepot = await spawnGodepot(
      ['--offline', '--data', dir, '--tls-cert', cert.certFile, '--tls-key', cert.keyFile],
      {},
      { defaultWorkers: true },
    );
  }, 60_000);

  afterAll(async () => {
    await godepot?.stop();
    if (dir) await removeDir(dir);
  });

  it('answers HTTPS from every worker', async () => {
    expect(godepot.url).toMatch(/^https:/);
    const workers = new Set((await allListening(godepot, 2)).map((l) => l.pid));
    expect(workers.size).toBeGreaterThanOrEqual(2);
    // Which worker takes a connection is the kernel's: ask in bursts of new connections until the access log
    // shows every worker answered (bounded), each answer a whole HTTPS one.
    const path = '/example.com/tls/@v/list';
    const answeredBy = (): Set<number> =>
      new Set(
        godepot
          .output()
          .split('\n')
          .filter((l) => l.includes('"msg":"request"') && l.includes(path))
          .map((l) => (JSON.parse(l) as { pid: number }).pid),
      );
    let asked = 0;
    await waitFor(
      async () => {
        const answers = await Promise.all(Array.from({ length: 8 }, () => getTls(`${godepot.url}${path}`, cert.cert)));
        asked += answers.length;
        // Offline and empty: "not found", whichever worker answers.
        for (const r of answers) expect(r.status).toBe(404);
        return answeredBy().size >= workers.size;
      },
      15_000,
      `the access log never showed every worker answering (${asked} requests)`,
    );
    expect([...answeredBy()].every((pid) => workers.has(pid))).toBe(true);
  }, 30_000);
});
