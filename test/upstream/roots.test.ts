// godepot trusts the certificates the go command trusts (roots.ts): on a
// network whose TLS-intercepting proxy has its CA in the system store, `go`
// reaches the public proxy, and godepot must too. Found on 2026-12-05: with
// Node's own list godepot said "self-signed certificate in certificate
// chain" where the go command worked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createSecureContext, rootCertificates } from 'node:tls';
import { DEFAULT_DEADLINES } from '../../src/config/settings.js';
import { goCertificates, HttpPools, trustedCertificates } from '../../src/upstream/index.js';
import { removeDir, spawnGodepot, tempDir } from '../support/godepot.js';
import { hasOpenssl, selfSignedCert } from '../support/tls.js';
import { waitFor } from '../support/ports.js';

describe.skipIf(!hasOpenssl)('the certificates godepot trusts', () => {
  let dir: string;
  let cert: string;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    dir = await tempDir('godepot-roots-');
    const made = selfSignedCert(dir, 'intercepting-proxy', 'IP:127.0.0.1');
    cert = made.cert;
    // An upstream behind a CA only the system trusts: a 404 for everything is an answer (reachable).
    server = createServer({ cert, key: made.key }, (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    server?.close();
    await removeDir(dir);
  });

  it('reads SSL_CERT_FILE and every file of each SSL_CERT_DIR folder, as the go command does', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await mkdir(a);
    await mkdir(b);
    await writeFile(join(dir, 'bundle.pem'), `junk before\n${cert}\nand after\n`);
    await writeFile(join(a, 'one.crt'), cert);
    await writeFile(join(b, 'two.pem'), `${cert}${cert}`);
    const env = { SSL_CERT_FILE: join(dir, 'bundle.pem'), SSL_CERT_DIR: `${a}:${b}:${join(dir, 'missing')}` };
    expect(goCertificates(env).map((p) => p.trim())).toEqual([cert, cert, cert, cert].map((p) => p.trim()));
    // SSL_CERT_FILE names the one file read: a missing one is not replaced by the distributions' bundles.
    expect(goCertificates({ SSL_CERT_FILE: join(dir, 'missing.pem'), SSL_CERT_DIR: a })).toHaveLength(1);
  });

  it('leaves out symlinks to a file of the same folder (hash-named links), as the go command does', async () => {
    const linked = join(dir, 'linked');
    await mkdir(linked);
    await writeFile(join(linked, 'ca.pem'), cert);
    // c_rehash's link to ca.pem: the same certificate again, not read twice.
    await symlink('ca.pem', join(linked, '1a2b3c4d.0'));
    // A link to a file elsewhere (Debian's links into /usr/share/ca-certificates) is read.
    await writeFile(join(dir, 'elsewhere.pem'), cert);
    await symlink(join(dir, 'elsewhere.pem'), join(linked, 'elsewhere.pem'));
    const env = { SSL_CERT_FILE: join(dir, 'missing.pem'), SSL_CERT_DIR: linked };
    expect(goCertificates(env)).toHaveLength(2);
  });

  it("adds the go command's certificates to Node's, each once, leaving out what does not parse", async () => {
    const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----';
    await writeFile(join(dir, 'mixed.pem'), `${cert}\n${broken}\n${cert}\n${rootCertificates[0]}\n`);
    const empty = join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    const env = { SSL_CERT_FILE: join(dir, 'mixed.pem'), SSL_CERT_DIR: empty };
    const all = trustedCertificates(env, 'linux');
    expect(all).toHaveLength(rootCertificates.length + 1);
    expect(all?.at(-1)?.trim()).toBe(cert.trim());
    // Nothing new, or not Linux: Node's defaults apply unchanged.
    await writeFile(join(dir, 'known.pem'), `${rootCertificates[0]}\n`);
    expect(trustedCertificates({ SSL_CERT_FILE: join(dir, 'known.pem'), SSL_CERT_DIR: empty }, 'linux')).toBe(
      undefined,
    );
    expect(trustedCertificates(env, 'darwin')).toBe(undefined);
  });

  it('reaches an upstream behind a CA the system trusts, which Node alone refuses', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    await writeFile(join(dir, 'system.pem'), cert);
    const ca = trustedCertificates({ SSL_CERT_FILE: join(dir, 'system.pem'), SSL_CERT_DIR: empty }, 'linux');
    const get = async (pools: HttpPools): Promise<string> => {
      const res = await pools.dispatcher('metadata').request({ origin: url, path: '/x', method: 'GET' });
      return `${res.statusCode} ${(await res.body.text()).trim()}`;
    };
    const nodeOnly = new HttpPools(DEFAULT_DEADLINES);
    const withSystem = new HttpPools(DEFAULT_DEADLINES, { secureContext: createSecureContext({ ca }) });
    try {
      await expect(get(nodeOnly)).rejects.toThrow(/self-signed certificate/);
      expect(await get(withSystem)).toBe('404 not found');
    } finally {
      await nodeOnly.close();
      await withSystem.close();
    }
  });

  it('asks for the trust at the first https connection only (plain http never needs it)', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    await writeFile(join(dir, 'system.pem'), cert);
    const plain = createHttpServer((_req, res) => res.end('plain'));
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    const { port } = plain.address() as AddressInfo;
    let asked = 0;
    const pools = new HttpPools(DEFAULT_DEADLINES, {}, undefined, () => {
      asked++;
      const ca = trustedCertificates({ SSL_CERT_FILE: join(dir, 'system.pem'), SSL_CERT_DIR: empty }, 'linux');
      return { secureContext: createSecureContext({ ca }) };
    });
    // reset: each request on a connection of its own.
    const get = async (origin: string): Promise<string> => {
      const res = await pools.dispatcher('metadata').request({ origin, path: '/x', method: 'GET', reset: true });
      return `${res.statusCode} ${(await res.body.text()).trim()}`;
    };
    try {
      expect(await get(`http://127.0.0.1:${port}`)).toBe('200 plain');
      expect(asked).toBe(0);
      expect(await get(url)).toBe('404 not found');
      expect(await get(url)).toBe('404 not found');
      expect(asked).toBe(1);
    } finally {
      await pools.close();
      plain.close();
    }
  });

  it('a served godepot trusts SSL_CERT_FILE, and without it says which CA setting to give', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    await writeFile(join(dir, 'system.pem'), cert);
    const upstreamState = async (certFile: string): Promise<{ reachable?: boolean; detail?: string } | undefined> => {
      const data = await tempDir();
      const g = await spawnGodepot(['--data', data, '--upstream', url, '--sumdb', 'off'], {
        SSL_CERT_FILE: certFile,
        SSL_CERT_DIR: empty,
      });
      try {
        // The start-up probe's answer, awaited (bounded), not slept for.
        let up: { url: string; reachable?: boolean; detail?: string } | undefined;
        await waitFor(
          async () => {
            const ready = (await (await fetch(`${g.url}/readyz`)).json()) as {
              upstreams: Array<{ url: string; reachable?: boolean; detail?: string }>;
            };
            up = ready.upstreams.find((u) => u.url === url);
            return up?.reachable !== undefined;
          },
          10_000,
          `the start-up probe never reached ${url}`,
        );
        return up;
      } finally {
        await g.stop();
        await removeDir(data);
      }
    };
    expect(await upstreamState(join(dir, 'system.pem'))).toEqual(expect.objectContaining({ reachable: true }));
    const refused = await upstreamState(join(dir, 'none.pem'));
    expect(refused?.reachable).toBe(false);
    expect(refused?.detail).toMatch(/self-signed certificate: signed by a CA godepot does not trust/);
    expect(refused?.detail).toContain('SSL_CERT_FILE or NODE_EXTRA_CA_CERTS');
  });
});
