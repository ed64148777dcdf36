// doctor's checks send what the go command sends: a GOPROXY URL's
// user:password (or the .netrc entry for its host) as Basic auth, over https
// only — the go command never sends credentials over plain http.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { createSecureContext } from 'node:tls';
import { httpGet } from '../../src/cli/doctor/probes.js';
import { configFromEnv } from '../../src/cli/doctor/goenv.js';
import { runDoctor } from '../../src/cli/doctor/run.js';
import { hasOpenssl, selfSignedCert } from '../support/tls.js';
import { removeDir, tempDir } from '../support/godepot.js';

describe.skipIf(!hasOpenssl)('the credentials doctor sends', () => {
  const seen: Array<string | undefined> = [];
  const servers: Server[] = [];
  let dir: string;
  let https: string;
  let http: string;
  let ca: string;
  let refusingHttps: string;
  let refusingHttp: string;

  const listen = async (s: Server): Promise<string> => {
    servers.push(s);
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    const a = s.address();
    if (!a || typeof a === 'string') throw new Error('no address');
    return `127.0.0.1:${a.port}`;
  };

  beforeAll(async () => {
    dir = await tempDir('godepot-doctor-tls-');
    const made = selfSignedCert(dir, 'proxy', 'IP:127.0.0.1');
    ca = made.cert;
    const answer = (req: { headers: { authorization?: string } }, res: { end: (b: string) => void }): void => {
      seen.push(req.headers.authorization);
      res.end('ok');
    };
    https = `https://${await listen(createHttpsServer({ cert: made.cert, key: made.key }, answer))}`;
    http = `http://${await listen(createServer(answer))}`;
    const refuse = (_req: unknown, res: { writeHead: (n: number) => { end: (b: string) => void } }): void =>
      res.writeHead(401).end('authentication required');
    refusingHttps = `https://${await listen(createHttpsServer({ cert: made.cert, key: made.key }, refuse))}`;
    refusingHttp = `http://${await listen(createServer(refuse))}`;
  });
  afterAll(async () => {
    for (const s of servers) s.close();
    await removeDir(dir);
  });

  const get = async (url: string, netrc?: string): Promise<string | undefined> => {
    seen.length = 0;
    const r = await httpGet(url, 5_000, undefined, { secureContext: createSecureContext({ ca }) }, () => netrc);
    expect(r.status).toBe(200);
    return seen[0];
  };
  const basic = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`;

  it("sends an https URL's user:password (decoded), else the .netrc entry", async () => {
    expect(await get(https.replace('https://', 'https://ci:p%40ss@') + '/x')).toBe(basic('ci:p@ss'));
    expect(await get(`${https}/x`, basic('n:from-netrc'))).toBe(basic('n:from-netrc'));
    expect(await get(`${https}/x`)).toBeUndefined();
  });

  it('sends nothing over plain http, whatever the URL or .netrc holds', async () => {
    expect(await get(http.replace('http://', 'http://ci:secret@') + '/x', basic('n:x'))).toBeUndefined();
    expect(await get(`${http}/x`, basic('n:x'))).toBeUndefined();
  });

  // The go command looks .netrc up by the URL's host with its port, and sends nothing over http: a fix that says
  // "the .netrc entry for the host" sent the reader with "machine 127.0.0.1" to an entry that looked right.
  it('says which .netrc machine the go command looks for, and that http gets no credentials', async () => {
    const fixOf = async (url: string): Promise<string | undefined> => {
      const report = await runDoctor(
        { ...configFromEnv({}), GOPROXY: url, GOSUMDB: 'off' },
        { timeoutMs: 5_000, source: 'test', trust: { secureContext: createSecureContext({ ca }) } },
      );
      const f = report.findings.find((x) => x.subject === url);
      expect(f).toMatchObject({ kind: 'config', severity: 'problem' });
      return f?.fix;
    };
    const host = refusingHttps.replace('https://', '');
    expect(await fixOf(refusingHttps)).toContain(`"machine ${host}"`);
    const plain = await fixOf(refusingHttp);
    expect(plain).toMatch(/over https only/);
    expect(plain).not.toMatch(/check the user and token/);
  });
});
