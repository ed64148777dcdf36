// The users file and the TLS certificate are picked up again when they
// change, and a broken edit keeps the last good one in force.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { UsersFile } from '../../src/auth/users-file.js';
import { hashToken, withUser } from '../../src/auth/users.js';
import { createTlsServer, TLS_SETTLE_MS } from '../../src/runtime/tls.js';
import { hasOpenssl, selfSignedCert } from '../support/tls.js';
import { spawnSync } from 'node:child_process';
import { FakeClock } from '../support/clock.js';
import { saidAt } from '../../src/util/said-once.js';

const log = pino({ level: 'silent' });

/** Resolves when check() holds, re-checking on each watcher poll; fails after `tries`. */
async function eventually(check: () => Promise<boolean> | boolean, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition never held');
}

describe('reloading', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'godepot-reload-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the users file: changes apply, a broken edit keeps the last good users', async () => {
    const file = join(dir, 'users.json');
    await writeFile(file, withUser(null, 'a', hashToken('1'), '*'));
    const users = new UsersFile(file, log);
    expect(users.current.map((u) => u.name)).toEqual(['a']);
    const stop = users.watch(20);
    try {
      await writeFile(file, withUser(await readFile(file, 'utf8'), 'b', hashToken('2'), 'x.example/*'));
      await eventually(() => users.current.length === 2);
      await writeFile(file, '{ broken');
      users.reload();
      expect(users.current.map((u) => u.name)).toEqual(['a', 'b']);
    } finally {
      stop();
    }
  });

  it.skipIf(!hasOpenssl)('the TLS certificate: a rotated pair is served to new connections', async () => {
    const make = (name: string): { cert: string; key: string } => {
      const { certFile, keyFile } = selfSignedCert(dir, name);
      return { cert: certFile, key: keyFile };
    };
    const first = make('first');
    const second = make('second');
    const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    await writeFile(live.cert, await readFile(first.cert));
    await writeFile(live.key, await readFile(first.key));
    // The server's clock 30 days on: the rotated pair (valid for 2 days) has expired by then, and the reload says so.
    const said: string[] = [];
    const watched = pino({ level: 'info' }, { write: (l: string) => void said.push(JSON.parse(l).msg) });
    const later = new FakeClock(Date.now() + 30 * 86_400_000);
    const server = createTlsServer(live, {}, (_req, res) => res.end('ok'), watched, saidAt(true), later);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const servedCn = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
          const cn = s.getPeerCertificate().subject.CN;
          s.destroy();
          resolve(Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? ''));
        });
        s.on('error', reject);
      });
    try {
      expect(await servedCn()).toBe('first');
      await writeFile(live.key, await readFile(second.key));
      await writeFile(live.cert, await readFile(second.cert));
      // Read once both files have been still for TLS_SETTLE_MS (on the server's clock).
      await eventually(() => later.pending > 0);
      await later.advance(TLS_SETTLE_MS);
      await eventually(async () => (await servedCn()) === 'second');
      await eventually(() => said.includes('TLS certificate reloaded'));
      expect(said.find((m) => m.includes('the certificate expired on'))).toMatch(/^--tls-cert .*live\.crt: /);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it.skipIf(!hasOpenssl)(
    'the TLS certificate: a renewal written a piece at a time is read once it is whole, without an error',
    async () => {
      // A renewal that keeps the key (certbot --reuse-key, cert-manager's default): the leaf written first, its
      // intermediate a moment later. Read at the first change, the leaf alone was served and clients refused it.
      const ca = selfSignedCert(dir, 'renew-ca');
      const old = selfSignedCert(dir, 'renew-old');
      const csr = join(dir, 'renew.csr');
      const leaf = join(dir, 'renew.crt');
      const run = (args: string[]): void => {
        const r = spawnSync('openssl', args);
        if (r.status !== 0) throw new Error(r.stderr.toString());
      };
      run(['req', '-new', '-key', old.keyFile, '-subj', '/CN=renewed', '-out', csr]);
      run(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-days', '2', '-out', leaf]);
      const live = { cert: join(dir, 'renew-live.crt'), key: join(dir, 'renew-live.key') };
      await writeFile(live.cert, old.cert);
      await writeFile(live.key, old.key);
      const said: string[] = [];
      const watched = pino({ level: 'info' }, { write: (l: string) => void said.push(JSON.parse(l).msg) });
      const clock = new FakeClock(Date.now());
      let waits = 0;
      const sleep = clock.sleep.bind(clock);
      clock.sleep = (ms, signal) => (waits++, sleep(ms, signal));
      const server = createTlsServer(live, {}, (_req, res) => res.end('ok'), watched, saidAt(true), clock);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      const served = (): Promise<{ cn: string; issuer: string | undefined }> =>
        new Promise((resolve, reject) => {
          const s = connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
            const c = s.getPeerCertificate(true);
            const cn = c.subject.CN;
            s.destroy();
            resolve({
              cn: Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? ''),
              issuer: c.issuerCertificate === c ? undefined : String(c.issuerCertificate?.subject.CN),
            });
          });
          s.on('error', reject);
        });
      try {
        await writeFile(live.cert, await readFile(leaf));
        await eventually(() => waits > 0 || said.length > 0);
        // Not read yet: the old certificate is served, not the lone leaf.
        expect(await served()).toEqual({ cn: 'renew-old', issuer: undefined });
        await appendFile(live.cert, ca.cert);
        await eventually(() => waits > 1 || said.length > 0);
        await clock.advance(TLS_SETTLE_MS);
        await eventually(() => said.length > 0);
        expect(await served()).toEqual({ cn: 'renewed', issuer: 'renew-ca' });
        expect(said).toEqual(['TLS certificate reloaded']);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    },
    20_000,
  );
});
