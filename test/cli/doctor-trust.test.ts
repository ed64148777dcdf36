// doctor trusts the certificate authorities the go command trusts, no more: on Linux the system's (SSL_CERT_FILE,
// SSL_CERT_DIR, the distributions' bundles), not NODE_EXTRA_CA_CERTS or Node's bundled list, which the go command
// never reads. A corporate CA given to Node only must show as the TLS failure the go command will hit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:https';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { doctor } from '../../src/cli/doctor/index.js';
import { hasOpenssl, selfSignedCert } from '../support/tls.js';
import { removeDir, tempDir } from '../support/godepot.js';

describe.skipIf(!hasOpenssl || process.platform !== 'linux')('the CAs doctor trusts', () => {
  let dir: string;
  let server: Server;
  let url: string;
  let caFile: string;
  let noCerts: string;

  beforeAll(async () => {
    dir = await tempDir('godepot-doctor-trust-');
    const made = selfSignedCert(dir, 'intercept', 'IP:127.0.0.1');
    caFile = made.certFile;
    noCerts = join(dir, 'no-certs');
    await mkdir(noCerts);
    server = createServer({ cert: made.cert, key: made.key }, (_req, res) => void res.writeHead(404).end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.close();
    await removeDir(dir);
  });

  const tlsStep = async (env: NodeJS.ProcessEnv) => {
    const { report, code } = await doctor(['--no-go', '--timeout', '2s'], {
      env: { GOPROXY: url, GOSUMDB: 'off', SSL_CERT_DIR: noCerts, ...env },
    });
    return { step: report.targets[0]?.steps.find((s) => s.name === 'tls'), report, code };
  };

  it('fails TLS when the CA is only in NODE_EXTRA_CA_CERTS, as the go command does', async () => {
    const { step, report, code } = await tlsStep({
      SSL_CERT_FILE: join(noCerts, 'none.pem'),
      NODE_EXTRA_CA_CERTS: caFile,
    });
    expect(step).toMatchObject({ ok: false, failure: 'tls' });
    expect(code).toBe(1);
    expect(report.findings.find((f) => f.kind === 'network')?.fix).toMatch(
      /SSL_CERT_FILE.*does not read NODE_EXTRA_CA_CERTS/,
    );
  });

  it('passes TLS with the CA in SSL_CERT_FILE', async () => {
    const { step } = await tlsStep({ SSL_CERT_FILE: caFile });
    expect(step).toMatchObject({ ok: true });
  });
});
