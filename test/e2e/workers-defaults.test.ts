// --auth and --private with the default --workers (auto: one worker per core,
// 2 here), the real CLI: the other end-to-end tests of these features run one
// process, so what each worker does on its own (watching the users file,
// fetching from the origin, writing the ledger) was never seen from both.
import { readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findGo } from '../world/index.js';
import { findComponent } from '../support/components.js';
import { allListening, removeDir, tempDir, type ChildGodepot } from '../support/godepot.js';
import { sha256hex } from '../support/http.js';
import { waitFor } from '../support/ports.js';
import { hashToken, withUser } from '../../src/auth/users.js';
import { LIB, spawnOnWorld, startPrivateWorld, vcsEnv, type PrivateWorld } from './private-support.js';

const go = findGo();
const git = go === null ? null : findComponent('git');

const FULL = 'full-token-0123456789abcdef';
const LATER = 'later-token-0123456789abcdef';

/** GET on a connection of its own (so that round-robin spreads calls over the workers), as user:token. */
function get(url: string, auth?: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = auth ? { authorization: 'Basic ' + Buffer.from(auth).toString('base64') } : {};
    const req = request(url, { agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** godepot on the world with the default workers (--workers auto), at least the two these tests need listening. */
async function spawnOnWorkers(
  world: PrivateWorld,
  env: Record<string, string>,
  dirs: string[],
  args: string[],
  upstream?: string,
): Promise<{ godepot: ChildGodepot; data: string }> {
  const spawned = await spawnOnWorld(
    world,
    // Round-robin: consecutive connections reach both workers for sure.
    { ...env, NODE_CLUSTER_SCHED_POLICY: 'rr' },
    dirs,
    args,
    { ...(upstream === undefined ? {} : { upstream }), defaultWorkers: true },
  );
  // --workers auto is one worker per core: this machine's count, at least the two these tests need.
  expect((await allListening(spawned.godepot, 2)).length).toBeGreaterThanOrEqual(2);
  return spawned;
}

describe.skipIf(go === null || git === null)('--auth and --private with the default workers', () => {
  let world: PrivateWorld;
  let godepot: ChildGodepot;
  let usersFile: string;
  let data: string;
  const dirs: string[] = [];

  beforeAll(async () => {
    world = await startPrivateWorld(git as string);
    const env = await vcsEnv(world.git, world.git.netrc());
    dirs.push(env.HOME as string);
    const dir = await tempDir('godepot-workers-auth-');
    dirs.push(dir);
    usersFile = join(dir, 'users.json');
    await writeFile(usersFile, withUser(null, 'ci', hashToken(FULL), '*'));
    ({ godepot, data } = await spawnOnWorkers(world, env, dirs, [
      '--private',
      'corp.example',
      '--auth',
      usersFile,
      '--insecure-auth',
    ]));
  }, 60_000);

  afterAll(async () => {
    await godepot?.stop();
    await world?.close();
    for (const d of dirs) await removeDir(d);
  });

  /** Every go run (each with a module cache of its own) first asks the Git host where the module's repository is. */
  const goRuns = (): number => world.git.count('/lib?go-get=1');

  it('fetches a private zip asked through every worker at once from its origin once, recorded in the ledger once', async () => {
    const url = `${godepot.url}/${LIB}/@v/v1.1.0.zip`;
    const answers = await Promise.all(Array.from({ length: 8 }, () => get(url, `ci:${FULL}`)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(new Set(answers.map((a) => sha256hex(a.body))).size).toBe(1);
    expect(goRuns()).toBe(1);
    // Nothing private reached the proxy or the checksum database from either worker.
    expect(world.upstream.requests.some((r) => r.path.includes('corp.example'))).toBe(false);
    expect(world.sumdb.requests.some((r) => r.path.includes('corp.example'))).toBe(false);
    // One record, whichever worker fetched first.
    const recorded = godepot
      .output()
      .split('\n')
      .filter((l) => l.includes('private version recorded in the ledger'));
    expect(recorded).toHaveLength(1);
    const ledger = await readdir(join(data, 'ledger', 'modules', 'corp.example', 'lib', '@v'));
    expect(ledger).toEqual(['v1.1.0.json']);
  }, 20_000);

  it('runs go once for a private version whose .info, .mod and .zip the go command asks for in turn, on alternating workers', async () => {
    // Field: each worker ran go for the artifact it was asked, so the go command's usual order cost two runs (a
    // large repository cloned twice); one worker keeps its run's artifacts in memory, the others did not see them.
    const before = goRuns();
    const base = `${godepot.url}/${LIB}/@v/v1.0.0`;
    for (const ext of ['.info', '.mod', '.zip']) expect((await get(base + ext, `ci:${FULL}`)).status).toBe(200);
    expect(goRuns() - before).toBe(1);
  }, 20_000);

  it('says on /readyz how many of the default workers serve, from whichever worker answers', async () => {
    type Workers = { of?: number; serving?: number; down?: unknown[] };
    const workersSeen = async (): Promise<Workers[]> => {
      const out: Workers[] = [];
      // Consecutive connections: round-robin, so both workers answer.
      for (let i = 0; i < 4; i++) {
        const r = JSON.parse((await get(`${godepot.url}/readyz`)).body.toString()) as {
          coordination?: { kind?: string; workers?: Workers };
        };
        expect(r.coordination?.kind).toBe('workers');
        out.push(r.coordination?.workers ?? {});
      }
      return out;
    };
    // The primary's pings carry it (every 2 s): each worker knows once it was pinged with every slot listening.
    await waitFor(
      async () => (await workersSeen()).every((w) => (w.of ?? 0) >= 2 && w.serving === w.of),
      20_000,
      'readyz did not say every default worker serves',
    );
    for (const w of await workersSeen()) expect(w.down).toEqual([]);
  });

  it('applies a change of the users file in every worker', async () => {
    const info = `${godepot.url}/${LIB}/@v/v1.1.0.info`;
    /** Statuses of consecutive connections: with round-robin, both workers' answers. */
    const statuses = async (auth: string): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 6; i++) out.push((await get(info, auth)).status);
      return out;
    };
    expect(await statuses(`later:${LATER}`)).toEqual([401, 401, 401, 401, 401, 401]);
    await writeFile(usersFile, withUser(withUser(null, 'ci', hashToken(FULL), '*'), 'later', hashToken(LATER), '*'));
    // Each worker polls the file (every second): wait until every one has read it.
    await waitFor(
      async () => (await statuses(`later:${LATER}`)).every((s) => s === 200),
      10_000,
      'a worker kept refusing the user added to the users file',
    );
    // And a user removed is refused by every worker.
    await writeFile(usersFile, withUser(null, 'later', hashToken(LATER), '*'));
    await waitFor(
      async () => (await statuses(`ci:${FULL}`)).every((s) => s === 401),
      10_000,
      'a worker kept letting in the user removed from the users file',
    );
    expect(await statuses(`later:${LATER}`)).toEqual([200, 200, 200, 200, 200, 200]);
  }, 20_000);
});

describe.skipIf(go === null || git === null)('--upstream <proxy>,direct with the default workers', () => {
  const DIRECT = 'pub.example/direct';
  const FILES = { 'go.mod': `module ${DIRECT}\n\ngo 1.21\n`, 'direct.go': 'package direct\n\nconst Name = "direct"\n' };
  let world: PrivateWorld;
  let godepot: ChildGodepot;
  const dirs: string[] = [];

  beforeAll(async () => {
    // The proxy serves only example.com/pub: it answers 404 for pub.example/direct, which its Git host serves.
    world = await startPrivateWorld(
      git as string,
      ['pub.example'],
      [{ path: DIRECT, version: 'v1.0.0', files: FILES }],
    );
    await world.git.createRepo(DIRECT, FILES);
    world.git.tag(DIRECT, 'v1.0.0');
    const env = await vcsEnv(world.git, null);
    dirs.push(env.HOME as string);
    ({ godepot } = await spawnOnWorkers(world, env, dirs, [], `${world.upstream.url},direct`));
  }, 60_000);

  afterAll(async () => {
    await godepot?.stop();
    await world?.close();
    for (const d of dirs) await removeDir(d);
  });

  it('runs go once for a public version no proxy has, whose .info, .mod and .zip the go command asks for in turn, on alternating workers', async () => {
    // Field: each worker that missed ran go again (the repository cloned once per worker), though the first run
    // had fetched all three.
    const base = `${godepot.url}/${DIRECT}/@v/v1.0.0`;
    for (const ext of ['.info', '.mod', '.zip']) {
      const a = await get(base + ext);
      expect(a.status, a.body.toString()).toBe(200);
    }
    expect(world.git.count('/direct?go-get=1')).toBe(1);
    // The proxy was asked first, as the go command's walk does.
    expect(world.upstream.requests.some((r) => r.path === `/${DIRECT}/@v/v1.0.0.info`)).toBe(true);
  }, 30_000);
});
