// `godepot serve` as operators meet it: settings it cannot use stop it at
// once with a message naming the setting, and SIGTERM ends it within its
// bounded drain time even when an upstream hangs or asks for an hour's pause.
// Runs the built CLI (npm run build).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModules, FakeGoProxy, FakeSumDb, faults } from '../world/index.js';
import {
  allListening,
  BIN,
  removeDir,
  spawnGodepot,
  tempDir,
  testHome,
  type ChildGodepot,
} from '../support/godepot.js';
import { waitFor } from '../support/ports.js';

/** Runs `godepot serve args`; resolves with its exit code and output, or kills it after limitMs. */
async function serveUntilExit(
  args: string[],
  limitMs: number,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: testHome(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, out };
}

describe('settings godepot cannot use', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await removeDir(d);
  });

  it('an impossible --data stops godepot within 10s, naming --data', async () => {
    const r = await serveUntilExit(['--data', '/proc/1/nonexistent', '--listen', '127.0.0.1:0'], 10_000);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(/--data \/proc\/1\/nonexistent: .*cannot create \/proc\/1\/nonexistent/);
    expect(r.out).not.toMatch(/ENOENT|mkdir/);
  }, 15_000);

  it('a --data below a file says a path element is not a folder', async () => {
    const d = await tempDir();
    dirs.push(d);
    await writeFile(join(d, 'file'), 'x');
    const r = await serveUntilExit(['--data', join(d, 'file', 'data'), '--listen', '127.0.0.1:0'], 10_000);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(/--data .*file\/data: .*not a folder/);
    // Set in the environment, the message says so, as for every other setting.
    const e = await serveUntilExit(['--listen', '127.0.0.1:0'], 10_000, { GODEPOT_DATA: join(d, 'file') });
    expect(e.code, e.out).toBe(2);
    expect(e.out).toContain(`--data ${join(d, 'file')} (from GODEPOT_DATA): `);
  }, 15_000);

  it('a --data through a loop of symbolic links says so in words', async () => {
    const d = await tempDir();
    dirs.push(d);
    await symlink(join(d, 'b'), join(d, 'a'));
    await symlink(join(d, 'a'), join(d, 'b'));
    const r = await serveUntilExit(['--data', join(d, 'a', 'data'), '--listen', '127.0.0.1:0'], 10_000);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(/--data .*a\/data: .*the path goes round a loop of symbolic links/);
    // It read "ELOOP: too many symbolic links encountered, stat '…'".
    expect(r.out).not.toContain('ELOOP');
  }, 15_000);

  it('a data folder nodes share through Redis stops a server without --redis before any worker starts', async () => {
    const d = await tempDir();
    dirs.push(d);
    // What a node with --redis leaves (runtime/cluster-mark.ts); the server below has the default --workers.
    await writeFile(
      join(d, 'cluster'),
      JSON.stringify({ coordination: 'redis', redis: 'redis://10.0.0.5:6379', markedBy: 'node-a', markedAt: 'x' }),
    );
    const r = await serveUntilExit(
      ['--data', d, '--upstream', 'off', '--sumdb', 'off', '--listen', '127.0.0.1:0'],
      10_000,
    );
    expect(r.code, r.out).toBe(2);
    expect(r.out).toContain('coordinate through Redis redis://10.0.0.5:6379');
    expect(r.out).toContain("Pass the cluster's --redis");
    expect(r.out).not.toMatch(/starting workers|listening/);
  }, 15_000);

  it('a --listen address in use names --listen', async () => {
    const d = await tempDir();
    dirs.push(d);
    const taken: Server = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as { port: number }).port;
    try {
      // --sumdb off too: the default database's start-up probe would ask sum.golang.org (loopback only, here).
      const r = await serveUntilExit(
        ['--data', d, '--listen', `127.0.0.1:${port}`, '--upstream', 'off', '--sumdb', 'off'],
        10_000,
      );
      expect(r.code, r.out).toBe(2);
      expect(r.out).toContain(`--listen 127.0.0.1:${port}: address already in use`);
    } finally {
      taken.close();
    }
  }, 15_000);
});

describe('a --tls-cert or --auth file godepot cannot use', () => {
  it('stops it within 10s, said once, with one process or several', async () => {
    const d = await tempDir();
    try {
      await writeFile(join(d, 'bad.pem'), 'not a certificate\n');
      // Loopback upstreams that refuse: the start-up probe and the background re-probes have something to do.
      const rest = ['--data', join(d, 'data'), '--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:1'];
      const sumdb = ['--sumdb', 'sum.golang.org http://127.0.0.1:1/sumdb'];
      for (const workers of ['1', '2']) {
        const missing = ['--tls-cert', join(d, 'nope.pem'), '--tls-key', join(d, 'nope.key')];
        // It said so, then hung (its background work went on), serving nothing, until killed.
        const r = await serveUntilExit([...rest, ...sumdb, ...missing, '--workers', workers], 10_000);
        expect(r.code, r.out).toBe(2);
        expect(r.out.match(/cannot read --tls-cert\/--tls-key: /g), r.out).toHaveLength(1);
        // Refused before any worker starts (each worker said it, as many times as workers that got so far).
        expect(r.out).not.toContain('starting workers');
        const bad = ['--tls-cert', join(d, 'bad.pem'), '--tls-key', join(d, 'bad.pem')];
        const b = await serveUntilExit([...rest, ...sumdb, ...bad, '--workers', workers], 10_000);
        expect(b.code, b.out).toBe(2);
        expect(b.out.match(/--tls-cert \S+bad\.pem holds no PEM certificate/g), b.out).toHaveLength(1);
      }
      // An --auth file likewise (each worker said it).
      const auth = ['--auth', join(d, 'users.json'), '--insecure-auth', '--workers', '2'];
      const a = await serveUntilExit([...rest, ...sumdb, ...auth], 10_000);
      expect(a.code, a.out).toBe(2);
      expect(a.out.match(/invalid --auth: cannot read the auth file /g), a.out).toHaveLength(1);
      expect(a.out).not.toContain('starting workers');
    } finally {
      await removeDir(d);
    }
  }, 60_000);
});

describe('SIGTERM with a hostile upstream', () => {
  let upstream: FakeGoProxy;
  let sumdb: FakeSumDb;
  let data: string;

  beforeAll(async () => {
    const built = await buildModules([
      { path: 'example.com/busy', version: 'v1.0.0', files: { 'go.mod': 'module example.com/busy\n' } },
      { path: 'example.com/hang', version: 'v1.0.0', files: { 'go.mod': 'module example.com/hang\n' } },
      { path: 'example.com/held', version: 'v1.0.0', files: { 'go.mod': 'module example.com/held\n' } },
      { path: 'example.com/hup', version: 'v1.0.0', files: { 'go.mod': 'module example.com/hup\n' } },
    ]);
    upstream = await FakeGoProxy.start(built);
    sumdb = await FakeSumDb.start({ records: built });
    data = await tempDir();
  }, 60_000);

  afterAll(async () => {
    await upstream?.close();
    await sumdb?.close();
    await removeDir(data);
  });

  it('ends the process within 20s while an upstream says Retry-After: 3600 and another hangs a zip', async () => {
    upstream.setFault(faults.retryAfter('3600'), '/example.com/busy/');
    upstream.setFault(faults.hang(), '/example.com/hang/');
    const g = await spawnGodepot(['--data', data, '--upstream', upstream.url, '--sumdb', `${sumdb.vkey} ${sumdb.url}`]);
    const busy = fetch(`${g.url}/example.com/busy/@v/v1.0.0.info`).then(async (r) => ({
      status: r.status,
      body: await r.text(),
    }));
    const hanging = fetch(`${g.url}/example.com/hang/@v/v1.0.0.zip`).then(
      (r) => r.status,
      () => 'closed',
    );
    for (let i = 0; i < 500 && upstream.count('/example.com/hang/') === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(upstream.count('/example.com/hang/')).toBe(1);
    const b = await busy;
    expect(b.status).toBe(502);
    expect(b.body).toMatch(/retried after 3600s/);
    const exited = once(g.child, 'exit');
    g.child.kill('SIGTERM');
    const killer = setTimeout(() => g.child.kill('SIGKILL'), 20_000);
    const [, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    clearTimeout(killer);
    expect(signal, g.output().slice(-2000)).toBeNull();
    expect(await hanging).not.toBe(200);
  }, 60_000);
  it('drains a request in flight when every process of the group is signalled, as systemd and Ctrl-C do', async () => {
    // systemd's default (KillMode=control-group) signals the primary and each worker, and the primary passes its
    // own signal on: each worker gets two. The second used to find no handler left and end the worker at once,
    // cutting the requests the first had begun to drain. (Signals sent at once may merge into one: the workers'
    // are sent first, and the primary's once both have taken theirs.)
    upstream.setFault(faults.hold(), '/example.com/held/');
    const g = await spawnGodepot([
      ...['--data', data, '--upstream', upstream.url, '--sumdb', `${sumdb.vkey} ${sumdb.url}`],
      ...['--workers', '2', '--log-level', 'debug'],
    ]);
    try {
      const workers = (await allListening(g, 2)).map((l) => l.pid);
      const inFlight = fetch(`${g.url}/example.com/held/@v/v1.0.0.mod`).then(
        async (r) => ({ status: r.status, body: await r.text() }),
        (err: unknown) => ({ status: 0, body: String(err) }),
      );
      await waitFor(async () => upstream.count('/example.com/held/') > 0, 10_000, 'the request did not reach upstream');
      const exited = once(g.child, 'exit');
      const said = (what: RegExp): number => (g.output().match(what) ?? []).length;
      for (const pid of workers) process.kill(pid, 'SIGTERM');
      await waitFor(async () => said(/"msg":"shutting down: draining/g) === 2, 10_000, 'the workers did not stop');
      g.child.kill('SIGTERM');
      // The worker answering the request takes the primary's signal while it drains, and goes on draining.
      await waitFor(
        async () => said(/"msg":"SIGTERM again: still draining 1 request/g) === 1,
        10_000,
        'no second signal',
      );
      expect(upstream.releaseHeld()).toBe(1);
      expect(await inFlight).toEqual({ status: 200, body: 'module example.com/held\n' });
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    } finally {
      g.child.kill('SIGKILL');
    }
  }, 60_000);

  it('drains a request in flight on SIGHUP (a closed terminal, an ssh session ended), as on SIGTERM', async () => {
    // Nobody listened to SIGHUP: Node's default ended the primary at once, silently, and the workers with it,
    // cutting every request in flight. A hangup reaches the whole process group, as here.
    upstream.setFault(faults.hold(), '/example.com/hup/');
    const g = await spawnGodepot([
      ...['--data', data, '--upstream', upstream.url, '--sumdb', `${sumdb.vkey} ${sumdb.url}`],
      ...['--workers', '2'],
    ]);
    try {
      const workers = (await allListening(g, 2)).map((l) => l.pid);
      const inFlight = fetch(`${g.url}/example.com/hup/@v/v1.0.0.mod`).then(
        async (r) => ({ status: r.status, body: await r.text() }),
        (err: unknown) => ({ status: 0, body: String(err) }),
      );
      await waitFor(async () => upstream.count('/example.com/hup/') > 0, 10_000, 'the request did not reach upstream');
      const exited = once(g.child, 'exit');
      for (const pid of workers) process.kill(pid, 'SIGHUP');
      await waitFor(
        async () => /"signal":"SIGHUP".*"msg":"shutting down: draining/.test(g.output()),
        10_000,
        `no line said the hangup:\n${g.output().slice(-2000)}`,
      );
      g.child.kill('SIGHUP');
      expect(upstream.releaseHeld()).toBe(1);
      expect(await inFlight).toEqual({ status: 200, body: 'module example.com/hup\n' });
      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(g.output()).toMatch(/"msg":"stopped"/);
    } finally {
      g.child.kill('SIGKILL');
    }
  }, 60_000);
});

describe('text logs of several workers', () => {
  it('say which worker each line is from', async () => {
    const data = await tempDir();
    const g = await spawnGodepot([
      '--data',
      data,
      '--upstream',
      'off',
      '--sumdb',
      'off',
      '--log-format',
      'text',
      '--workers',
      '2',
    ]);
    try {
      const said = (): string[] =>
        [...g.output().matchAll(/^godepot worker (\d+): (?:listening on |listening \(worker )/gm)].map(
          (m) => m[1] as string,
        );
      await waitFor(async () => said().length >= 2, 10_000, `two workers did not say they listen:\n${g.output()}`);
      expect(new Set(said()).size, g.output()).toBe(2);
      // The long line once, not once per worker; "godepot" said once per line.
      expect([...g.output().matchAll(/: listening on /g)], g.output()).toHaveLength(1);
      expect(g.output()).not.toMatch(/godepot[^:\n]*: godepot /);
      expect(g.output()).toMatch(/^godepot: starting workers$/m);
      // Stopping is said once for the group too: the first worker that it drains, the primary that all stopped.
      expect(await g.stop()).toBe(0);
      expect(g.output().match(/^godepot.*: shutting down: draining in-flight requests$/gm), g.output()).toEqual([
        'godepot worker 1: shutting down: draining in-flight requests',
      ]);
      expect(g.output().match(/^godepot.*: stopped$/gm), g.output()).toEqual(['godepot: stopped']);
    } finally {
      await g.stop();
      await removeDir(data);
    }
  }, 30_000);
});

describe('--node-name', () => {
  it('is on every JSON log line, in the text prefix, and named in /readyz', async () => {
    const data = await tempDir();
    const off = ['--data', data, '--upstream', 'off', '--sumdb', 'off', '--node-name', 'east-1'];
    const g = await spawnGodepot(off);
    try {
      const ready = (await (await fetch(`${g.url}/readyz`)).json()) as { node?: string };
      expect(ready.node).toBe('east-1');
      await waitFor(async () => /"msg":"request"/.test(g.output()), 10_000, `no access-log line:\n${g.output()}`);
      const lines = g
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { node?: string; msg?: string });
      expect(lines.length, g.output()).toBeGreaterThan(1);
      expect(
        lines.filter((l) => l.node !== 'east-1'),
        g.output(),
      ).toEqual([]);
    } finally {
      await g.stop();
    }
    const t = await spawnGodepot([...off, '--log-format', 'text']);
    try {
      await waitFor(async () => /^godepot east-1: /m.test(t.output()), 10_000, `no prefix:\n${t.output()}`);
      expect(t.output()).not.toMatch(/^godepot: /m);
    } finally {
      await t.stop();
      await removeDir(data);
    }
  }, 30_000);
});

describe("Node's own warnings", () => {
  /** Serves with a preload that emits a warning `script` (its body), 1.5 s after start, in every process. */
  async function withWarning(
    script: string,
    args: string[],
    nodeOptions: string,
    check: (g: ChildGodepot) => Promise<void>,
  ): Promise<void> {
    const data = await tempDir();
    const preload = join(data, 'warn.cjs');
    await writeFile(preload, `setTimeout(() => { ${script} }, 1500);\n`);
    const g = await spawnGodepot(['--data', data, '--upstream', 'off', '--sumdb', 'off', ...args], {
      NODE_OPTIONS: `--require ${preload} ${nodeOptions}`,
    });
    try {
      await check(g);
    } finally {
      await g.stop();
      await removeDir(data);
    }
  }

  it('are JSON log lines, said by the primary and the first worker, never raw text on stderr', async () => {
    // A library's notice (as the AWS SDK gives on Node 20), in every process of the group once it listens.
    await withWarning(
      "process.emitWarning('first line\\nsecond line', 'TestNoticeWarning');",
      ['--workers', '2'],
      '',
      async (g) => {
        const lines = (): Array<Record<string, unknown>> =>
          g
            .output()
            .split('\n')
            .filter((l) => l.includes('Node.js warning'))
            .map((l) => JSON.parse(l) as Record<string, unknown>);
        await waitFor(async () => lines().length >= 2, 10_000, `no warning logged:\n${g.output()}`);
        for (const l of lines()) {
          expect(l.level).toBe(40);
          expect(l.warning).toBe('TestNoticeWarning');
          expect(l.msg).toBe('Node.js warning: first line second line');
        }
        expect(new Set(lines().map((l) => l.pid)).size).toBe(2);
        expect(g.output()).not.toMatch(/^\(node:\d+\) TestNoticeWarning/m);
      },
    );
  }, 30_000);

  it('are not logged when Node is told not to print warnings (--no-warnings)', async () => {
    // After the warning's listeners ran (they run on the next tick), the child says so on stderr.
    const script =
      "process.emitWarning('a notice', 'TestNoticeWarning'); setImmediate(() => process.stderr.write('EMITTED\\n'));";
    await withWarning(script, [], '--no-warnings', async (g) => {
      await waitFor(async () => g.output().includes('EMITTED'), 10_000, 'the warning was not emitted');
      // A request's access-log line comes after any line logged before it: had the warning been logged, it is out.
      expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
      await waitFor(async () => g.output().includes('"path":"/healthz"'), 10_000, 'no access-log line');
      expect(g.output()).not.toContain('notice');
    });
  }, 30_000);
});

describe('a log nobody reads', () => {
  it('keeps answering with --log-format text while its stdout is not read, and says what each request was', async () => {
    const data = await tempDir();
    const g = await spawnGodepot(['--data', data, '--upstream', 'off', '--sumdb', 'off', '--log-format', 'text']);
    try {
      expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
      await waitFor(async () => /GET \/healthz 200 /.test(g.output()), 10_000, 'no access-log line');
      expect(g.output()).toMatch(/^godepot: GET \/healthz 200 [\d.]+ ms$/m);
      // The pipe holds 64 KiB; 3,000 access lines are ~120 KiB. A server writing its log synchronously
      // stops answering once the pipe is full: a request then waits past its 5 s. (Not a bound on the whole
      // loop: 5,000 requests took 40 s on a loaded machine, and a blocked server fails one request anyway.)
      g.child.stdout?.pause();
      for (let i = 0; i < 3000; i++) {
        const r = await fetch(`${g.url}/healthz`, { signal: AbortSignal.timeout(5000) });
        expect(r.status).toBe(200);
        await r.arrayBuffer();
      }
    } finally {
      g.child.stdout?.resume();
      await g.stop('SIGKILL');
      await removeDir(data);
    }
  }, 60_000);
});

describe("the go command's environment", () => {
  it('a GOPROXY unlike the default upstream is said once at start, also with several workers', async () => {
    const data = await tempDir();
    const g = await spawnGodepot(['--data', data, '--workers', '2'], {
      GOPROXY: 'https://goproxy.cn,direct',
      GODEPOT_UPSTREAM: 'off',
      GOSUMDB: 'sum.golang.google.cn',
      GODEPOT_SUMDB: 'off',
    });
    await g.stop();
    await removeDir(data);
    // Settings given (GODEPOT_*): nothing to say.
    expect(g.output()).not.toContain("godepot's environment");
    const data2 = await tempDir();
    const h = await spawnGodepot(['--data', data2, '--workers', '2', '--offline'], {
      GOPROXY: 'https://goproxy.cn,direct',
    });
    await h.stop();
    await removeDir(data2);
    const said = h
      .output()
      .split('\n')
      .filter((l) => l.includes("GOPROXY in godepot's environment"));
    expect(said, h.output()).toHaveLength(1);
    expect(said[0]).toContain('"level":40');
  }, 60_000);
});
