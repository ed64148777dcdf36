// --tls-cert/--tls-key as operators get them wrong: each mistake is one line
// naming the file and what to do, and an expired certificate (which godepot
// serves until it is renewed: the file is reloaded) is said at start rather
// than left for every client to find out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { certValidityWarning, readTlsPair } from '../../src/runtime/tls.js';
import { BIN, removeDir, spawnGodepot, tempDir, testHome } from '../support/godepot.js';
import { FakeClock } from '../support/clock.js';
import { hasOpenssl, selfSignedCert, type TestCert } from '../support/tls.js';

/** Runs `godepot serve args` until it exits or says it listens (then stopped by SIGTERM). */
async function serveUntil(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: testHome() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const seen = (c: string): void => {
    out += c;
    if (/godepot listening on/.test(out)) child.kill('SIGTERM');
  };
  child.stdout.setEncoding('utf8').on('data', seen);
  child.stderr.setEncoding('utf8').on('data', seen);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, out };
}

describe.skipIf(!hasOpenssl)('--tls-cert and --tls-key that cannot be used as given', () => {
  let d: string;
  let a: TestCert;
  let b: TestCert;
  let rest: string[];
  beforeAll(async () => {
    d = await tempDir();
    a = selfSignedCert(d, 'a');
    b = selfSignedCert(d, 'b');
    rest = ['--data', join(d, 'data'), '--listen', '127.0.0.1:0', '--upstream', 'off', '--sumdb', 'off'];
  });
  afterAll(async () => {
    await removeDir(d);
  });

  it('a key of another certificate is named as such, not as OpenSSL\'s "key values mismatch"', async () => {
    const r = await serveUntil([...rest, '--workers', '1', '--tls-cert', a.certFile, '--tls-key', b.keyFile]);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toContain(
      `--tls-key ${b.keyFile} is not the private key of the certificate in --tls-cert ${a.certFile}`,
    );
    expect(r.out).not.toMatch(/mismatch|\n.*\n/);
  }, 15_000);

  it('a certificate and key given the wrong way round are said to be swapped, not as "no start line"', async () => {
    const r = await serveUntil([...rest, '--workers', '1', '--tls-cert', a.keyFile, '--tls-key', a.certFile]);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toContain(`--tls-cert ${a.keyFile} holds no PEM certificate`);
    expect(r.out).toContain('are the two swapped?');
    expect(r.out).not.toContain('no start line');
  }, 15_000);

  it('a key encrypted with a passphrase is said as such, not as OpenSSL\'s "bad decrypt"', async () => {
    for (const [name, format] of [
      ['pkcs8.key', []],
      ['traditional.key', ['-traditional']],
    ] as const) {
      const key = join(d, name);
      const r = spawnSync('openssl', [
        'pkey',
        '-in',
        a.keyFile,
        ...format,
        '-aes256',
        '-passout',
        'pass:x',
        '-out',
        key,
      ]);
      expect(r.status, r.stderr.toString()).toBe(0);
      expect(() => readTlsPair({ cert: a.certFile, key })).toThrow(
        `--tls-key ${key} is encrypted with a passphrase, which godepot does not take: give it the key decrypted (openssl pkey -in ${key} -out key.pem)`,
      );
    }
  });

  it('a chain whose first certificate is not the key\'s is said to be out of order, not "not the private key"', async () => {
    // An intermediate put before the server's certificate: OpenSSL matches the key against the first one only.
    const chain = join(d, 'chain.crt');
    await writeFile(chain, b.cert + a.cert);
    expect(() => readTlsPair({ cert: chain, key: a.keyFile })).toThrow(
      `--tls-cert ${chain} holds the certificate of --tls-key ${a.keyFile} in place 2, not first: put the server's certificate first, then the intermediates`,
    );
    // The key of no certificate in the chain is what it was.
    expect(() => readTlsPair({ cert: chain, key: selfSignedCert(d, 'c').keyFile })).toThrow(
      /is not the private key of/,
    );
  });

  it('a folder or an unreadable file is named with the flag that gave it', async () => {
    await mkdir(join(d, 'certs'));
    const f = await serveUntil([...rest, '--workers', '1', '--tls-cert', join(d, 'certs'), '--tls-key', a.keyFile]);
    expect(f.code, f.out).toBe(2);
    expect(f.out).toContain(`--tls-cert ${join(d, 'certs')}: a folder, not a PEM file`);
    expect(f.out).not.toContain('EISDIR');
    const n = await serveUntil([...rest, '--workers', '1', '--tls-cert', a.certFile, '--tls-key', join(d, 'no.key')]);
    expect(n.code, n.out).toBe(2);
    expect(n.out).toContain(`--tls-key ${join(d, 'no.key')}: no such file`);
  }, 15_000);

  /** A certificate of a's key that expired a day ago, in d/name.crt. */
  const expired = (name: string): string => {
    const csr = join(d, `${name}.csr`);
    const cert = join(d, `${name}.crt`);
    const made = spawnSync('openssl', ['req', '-new', '-key', a.keyFile, '-subj', '/CN=old', '-out', csr]);
    expect(made.status, made.stderr.toString()).toBe(0);
    // -days -1: it expired a day ago.
    const signed = spawnSync('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-signkey',
      a.keyFile,
      '-days',
      '-1',
      '-out',
      cert,
    ]);
    expect(signed.status, signed.stderr.toString()).toBe(0);
    return cert;
  };

  it('an expired certificate is said once at start, with several workers too', async () => {
    const cert = expired('old');
    const r = await serveUntil([...rest, '--workers', '2', '--tls-cert', cert, '--tls-key', a.keyFile]);
    expect(r.out).toContain('godepot listening on https://');
    expect(r.out.match(/the certificate expired on \d{4}-/g), r.out).toHaveLength(1);
    expect(r.out).toContain(`--tls-cert ${cert}: the certificate expired on`);
  }, 15_000);

  it('an expired certificate makes /readyz degraded, with the reason, not "ok"', async () => {
    // Clients refuse every handshake (a renewal that failed, found by the builds): the health check says so too.
    const cert = expired('older');
    const g = await spawnGodepot([
      '--offline',
      '--data',
      join(d, 'readyz'),
      '--tls-cert',
      cert,
      '--tls-key',
      a.keyFile,
    ]);
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(`${g.url}/readyz`, { agent: false, rejectUnauthorized: false }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      const r = JSON.parse(body) as { status: string; reasons: string[] };
      expect(r.status, body).toBe('degraded');
      expect(r.reasons).toContainEqual(
        expect.stringMatching(/^--tls-cert .*older\.crt: the certificate expired on \d{4}-/),
      );
    } finally {
      await g.stop();
    }
  }, 15_000);

  it('a certificate not valid yet is said too; a valid one gets no word', async () => {
    const pem = await readFile(a.certFile);
    expect(certValidityWarning('a.crt', pem, new FakeClock(Date.now()))).toBeNull();
    expect(certValidityWarning('a.crt', pem, new FakeClock(Date.now() - 86_400_000))).toMatch(
      /^--tls-cert a\.crt: the certificate is not valid before .*check this machine's clock/,
    );
    expect(certValidityWarning('a.crt', pem, new FakeClock(Date.now() + 3 * 86_400_000))).toMatch(
      /^--tls-cert a\.crt: the certificate expired on /,
    );
  });

  it('an unreadable key file (mode 000) is named, for a user that is not root', async () => {
    if (process.getuid?.() === 0) return; // root reads it anyway
    await chmod(a.keyFile, 0o000);
    try {
      const r = await serveUntil([...rest, '--workers', '1', '--tls-cert', a.certFile, '--tls-key', a.keyFile]);
      expect(r.code, r.out).toBe(2);
      expect(r.out).toContain(`--tls-key ${a.keyFile}: permission denied`);
    } finally {
      await chmod(a.keyFile, 0o600);
    }
  }, 15_000);
});
