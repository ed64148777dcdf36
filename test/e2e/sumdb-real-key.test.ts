// Issue 3: configured with the real sum.golang.org key, godepot serves a
// genuine sum.golang.org tree head and refuses an altered one (C-neg of the
// vectors) and one re-signed by a forged key that claims sum.golang.org's
// name and key hash. A loopback server plays sum.golang.org's /latest.
//
// Trust: the first genuine head is adopted (trust on first use, but only with
// a valid signature). A later head must be signed *and* proven to extend it;
// offline, two real heads cannot be proven consistent (no real tiles here),
// so a later genuine head is not adopted either: the first stays, marked stale.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, newSigner, newVerifier, signNote, type Signer } from '../../src/sumdb/note/index.js';
import { startGodepot, type RawSettings, type RunningGodepot } from '../support/godepot.js';
import { ManualClock } from '../../src/util/clock.js';
import { vectorPath } from '../support/txtar.js';
import { waitFor } from '../support/ports.js';
import { Dirs, readyz } from './sumdb-support.js';

interface RealNote {
  label: string;
  tree_size: number;
  note: string;
  expect_sum_golang_org_signature: string;
}
const real = JSON.parse(readFileSync(vectorPath('real-sumdb-notes.json'), 'utf8')) as {
  verifier_key: string;
  notes: RealNote[];
};
const note = (label: string): Buffer => {
  const n = real.notes.find((x) => x.label === label);
  if (!n) throw new Error(`no real note ${label}`);
  return Buffer.from(n.note);
};

/** Signs as "sum.golang.org" with sum.golang.org's key hash, but with another private key. */
function forger(): Signer {
  const genuine = newVerifier(real.verifier_key);
  const other = newSigner(generateKey(genuine.name).skey);
  return { name: genuine.name, keyHash: genuine.keyHash, sign: (msg) => other.sign(msg) };
}

/** A loopback sum.golang.org: /latest serves whatever `current` is; everything else is 404. */
class FakeSumGolangOrg {
  current: Buffer = Buffer.alloc(0);
  latestRequests = 0;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}
  static async start(): Promise<FakeSumGolangOrg> {
    // eslint-disable-next-line prefer-const -- assigned once the server exists
    let self: FakeSumGolangOrg | undefined;
    const server = createServer((req, res) => {
      if (req.url === '/latest' && self) {
        self.latestRequests++;
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(self.current);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    self = new FakeSumGolangOrg(server, `http://127.0.0.1:${addr.port}`);
    return self;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('the real sum.golang.org key', () => {
  const dirs = new Dirs();
  const genuine = note('C');
  const altered = note('C-neg');
  const forged = Buffer.from(
    signNote(
      { text: `go.sum database tree\n${15368405 + 1000}\n${Buffer.alloc(32, 7).toString('base64')}\n` },
      forger(),
    ),
  );
  const forgedSame = Buffer.from(signNote({ text: genuine.toString('utf8').split('\n\n')[0] + '\n' }, forger()));
  let db: FakeSumGolangOrg;
  let data: string;
  let godepot: RunningGodepot | undefined;

  const settings = () => ({
    data,
    upstream: 'off',
    sumdb: `${real.verifier_key} ${db.url}`,
    'sumdb-ttl': '1m',
    'stale-grace': '2s',
  });
  // The tree head ages on a clock the test moves, never by waiting.
  const clock = new ManualClock(Date.now());
  const start = (raw: RawSettings) => startGodepot(raw, { compose: { clock } });
  const latest = async (g: RunningGodepot): Promise<{ status: number; body: Buffer }> => {
    const r = await fetch(`${g.url}/sumdb/sum.golang.org/latest`);
    return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
  };
  /** The held head becomes as old as its TTL: the next request asks the database again. */
  const pause = (): void => clock.advance(60_000);

  beforeAll(async () => {
    expect(real.notes.find((n) => n.label === 'C-neg')?.expect_sum_golang_org_signature).toBe('invalid');
    db = await FakeSumGolangOrg.start();
    data = await dirs.make('godepot-data-');
  });
  afterAll(async () => {
    await godepot?.close();
    await db.close();
    await dirs.removeAll();
  });

  it('refuses an altered or forged head as the very first one: nothing to serve, nothing kept', async () => {
    const fresh = await start({ ...settings(), data: await dirs.make('godepot-data-') });
    try {
      for (const bad of [altered, forged, forgedSame]) {
        db.current = bad;
        const r = await latest(fresh);
        expect(r.status).toBe(502);
        expect(r.body.toString()).toContain('does not verify');
        pause();
      }
      expect(await fresh.g.storage.get('sumdb/sum.golang.org/latest')).toBeNull();
    } finally {
      await fresh.close();
    }
  });

  it('serves the genuine head, and never the altered or forged ones that follow it', async () => {
    godepot = await start(settings());
    db.current = genuine;
    const first = await latest(godepot);
    expect(first.status).toBe(200);
    expect(first.body.equals(genuine)).toBe(true);

    const asked = db.latestRequests;
    for (const bad of [altered, forged, forgedSame, altered]) {
      db.current = bad;
      pause();
      const r = await latest(godepot);
      expect(r.status).toBe(200);
      expect(r.body.equals(genuine)).toBe(true);
      expect(r.body.equals(bad)).toBe(false);
    }
    // godepot did ask (until its breaker opened on the refused bodies, after 3 of them).
    expect(db.latestRequests - asked).toBeGreaterThanOrEqual(3);
    const ready = await readyz(godepot.url);
    expect(ready.sumdb.find((s) => s.name === 'sum.golang.org')).toMatchObject({ status: 'stale', treeSize: 15368405 });
    expect(ready.sumdb[0]?.detail).toContain('does not verify');
    // The head is stored behind the first answer: wait for that write, then it must be the genuine one.
    await waitFor(
      async () => (await godepot?.g.storage.get('sumdb/sum.golang.org/latest')) != null,
      10_000,
      'the verified head stored',
    );
    expect((await godepot.g.storage.get('sumdb/sum.golang.org/latest'))?.equals(genuine)).toBe(true);
  });

  it('does not adopt a later genuine head it cannot prove consistent (larger or smaller); the verified one stays', async () => {
    if (!godepot) throw new Error('previous test did not start godepot');
    for (const label of ['B', 'H']) {
      db.current = note(label);
      pause();
      const r = await latest(godepot);
      expect(r.status).toBe(200);
      expect(r.body.equals(genuine), label).toBe(true);
    }
    const ready = await readyz(godepot.url);
    expect(ready.sumdb[0]).toMatchObject({ status: 'stale', treeSize: 15368405 });
  });

  it('after a restart, still serves the genuine head it kept and refuses the forged one', async () => {
    await godepot?.close();
    godepot = undefined;
    db.current = forged;
    const again = await start(settings());
    godepot = again;
    const r = await latest(again);
    expect(r.status).toBe(200);
    expect(r.body.equals(genuine)).toBe(true);
    db.current = genuine;
    pause();
    const ok = await latest(again);
    expect(ok.body.equals(genuine)).toBe(true);
    expect((await readyz(again.url)).sumdb[0]?.status).toBe('ok');
  });
});
