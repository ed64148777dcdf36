import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { createProgress, formatBytes, renderBar } from '../../src/cli/progress.js';
import { createServer as createHttpServer } from 'node:http';
import { classify, probeConnection } from '../../src/cli/doctor/probes.js';
import { runDoctor } from '../../src/cli/doctor/run.js';
import { configFromEnv } from '../../src/cli/doctor/goenv.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, w: { write: (s: string) => chunks.push(s), isTTY, columns: 100 } };
}

describe('progress', () => {
  it('formats bytes in binary units', () => {
    expect([0, 1023, 1024, 1536, 10 * 1024 * 1024, 5 * 1024 ** 3].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '1.0 KiB',
      '1.5 KiB',
      '10 MiB',
      '5.0 GiB',
    ]);
  });

  it('draws a bar with counts, bytes, failures and rate that fits the width', () => {
    const line = renderBar({ total: 40, done: 10, failed: 2, bytes: 3 * 1024 * 1024 }, 5000, 80);
    expect(line).toMatch(/^warming \[#+-+\] 10\/40 {2}3\.0 MiB {2}2 failed {2}2\.0\/s$/);
    expect(line.length).toBeLessThan(80);
    expect(renderBar({ total: 4, done: 4, failed: 0, bytes: 0 }, 1000, 60)).toMatch(/\[#+\] 4\/4/);
  });

  it('on a terminal redraws one line in place, printing failures above it', () => {
    let t = 0;
    const { chunks, w } = sink(true);
    const p = createProgress(w, 'auto', 'warming', () => (t += 200));
    p.addTotal(2);
    p.done('a@v1.0.0', true, 100);
    p.done('b@v1.0.0', false, 0, 'not found');
    p.finish();
    const text = chunks.join('');
    expect(text).toContain('\r\x1b[KFAIL  b@v1.0.0: not found\n');
    expect(text.split('\n').filter((l) => l.includes('ok  '))).toEqual([]);
    expect(text).toMatch(/\r\x1b\[Kwarming \[#+\] 2\/2 {2}100 B {2}1 failed {2}[\d.]+\/s\n$/);
  });

  it('elsewhere prints one plain line per item', () => {
    const { chunks, w } = sink(false);
    const p = createProgress(w, 'auto');
    p.addTotal(2);
    p.done('a@v1.0.0', true, 2048, 'cached');
    p.done('b@v1.0.0', false, 0, 'boom');
    p.finish();
    expect(chunks.join('')).toBe('ok    a@v1.0.0  2.0 KiB  (cached)\nFAIL  b@v1.0.0: boom\n');
  });
});

describe('doctor probes', () => {
  it('classifies errors by their codes', () => {
    expect(classify(Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 'connect')).toBe('dns');
    expect(classify(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'connect')).toBe('refused');
    expect(
      classify(
        new Error('x', { cause: Object.assign(new Error('y'), { code: 'UND_ERR_CONNECT_TIMEOUT' }) }),
        'connect',
      ),
    ).toBe('timeout');
    expect(classify(Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }), 'connect')).toBe('tls');
    expect(classify(Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), 'connect')).toBe('tls');
    expect(classify(new Error('x'), 'status')).toBe('status');
  });

  it('connects to a listening port, is refused by a closed one, and fails TLS against a plain server', async () => {
    const accepted = new Set<import('node:net').Socket>();
    const server = createServer((s) => {
      accepted.add(s);
      s.on('error', () => undefined);
      s.end('not tls\r\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    try {
      const ok = await probeConnection(`http://127.0.0.1:${addr.port}`, 2000);
      expect(ok.ok).toBe(true);
      expect(ok.steps.map((s) => s.name)).toEqual(['tcp']);
      const tls = await probeConnection(`https://127.0.0.1:${addr.port}`, 2000);
      expect(tls.ok).toBe(false);
      expect(tls.steps.map((s) => [s.name, s.ok])).toEqual([
        ['tcp', true],
        ['tls', false],
      ]);
      // Not a certificate problem: the server there speaks no TLS at all.
      expect(tls.steps[1]).toMatchObject({
        failure: 'plain-http',
        detail: `127.0.0.1:${addr.port} answered in plain HTTP, not TLS`,
      });
    } finally {
      for (const s of accepted) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
    const closed = await probeConnection(`http://127.0.0.1:${addr.port}`, 2000);
    expect(closed.steps[0]).toMatchObject({ name: 'tcp', ok: false, failure: 'refused' });
    const dns = await probeConnection('https://no-such-host.invalid', 2000);
    expect(dns.steps[0]).toMatchObject({ name: 'dns', ok: false, failure: 'dns' });
  });

  it('says to write http:// when a GOPROXY entry without a scheme (https) names a plain-HTTP godepot', async () => {
    const server = createHttpServer((_req, res) => res.end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    try {
      const report = await runDoctor(
        { ...configFromEnv({}), GOPROXY: `127.0.0.1:${addr.port}`, GOSUMDB: 'off' },
        { timeoutMs: 2000, source: 'test' },
      );
      const proxy = report.findings.filter((f) => f.subject === `https://127.0.0.1:${addr.port}`);
      expect(proxy.map((f) => f.kind)).toEqual(['config']);
      expect(proxy[0]?.message).toContain('https to a plain-HTTP server');
      expect(proxy[0]?.fix).toContain('write its URL with http://');
      expect(proxy[0]?.fix).not.toContain('certificate');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
