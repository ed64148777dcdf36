// A private Git host for the test world: bare repositories served by Git's
// own `git http-backend` (CGI, one process per request), behind an HTTP
// proxy on loopback. Clients reach made-up host names (corp.example, …)
// through HTTP_PROXY, so module paths look like real hosts and nothing needs
// DNS; the proxy also answers `?go-get=1` with go-import meta tags. Git
// requests need basic auth (one user), and switches take the host down
// (connections reset) or make it hang. With `tls`, the hosts speak HTTPS only:
// the proxy tunnels CONNECT to them into a TLS server (also listening on
// loopback itself, `httpsUrl`) with the certificate given.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface GitHostOptions {
  /** The git binary (findComponent('git')). */
  readonly git: string;
  /** Host names served (default ['corp.example']). Repositories are <host>/<name>. */
  readonly hosts?: readonly string[];
  /** Basic-auth user and password required for git requests of these hosts (default: every host). */
  readonly user?: string;
  readonly password?: string;
  /** Hosts whose git requests need no credentials (public ones). */
  readonly openHosts?: readonly string[];
  /** Serve the hosts over HTTPS (only) with this certificate and key (PEM). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export type GitHostMode = 'up' | 'down' | 'hang';

export interface GitHostRequest {
  readonly method: string;
  readonly url: string;
  readonly user: string | null;
  readonly status: number;
  /** The Authorization header the client sent (null: none), to check what a host that needs none was given. */
  readonly authorization: string | null;
}

const FIXED_ENV = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export class FakeGitHost {
  readonly requests: GitHostRequest[] = [];
  mode: GitHostMode = 'up';
  /** go-import answers (`?go-get=1`) need the credentials too, as a host that hides its private repositories. */
  metaAuth = false;
  /** go-import answers that send a module root elsewhere (redirect()). */
  private readonly imports = new Map<string, string>();
  private readonly sockets = new Set<Socket>();
  private readonly hung = new Set<ServerResponse>();
  private commits = 0;

  private constructor(
    private readonly opts: GitHostOptions,
    private readonly server: Server,
    /** Bare repositories: <root>/<host>/<name>. */
    readonly root: string,
    /** Work trees the tests commit in. */
    private readonly work: string,
    /** The proxy URL for HTTP_PROXY. */
    readonly url: string,
    private readonly tlsServer: HttpsServer | null,
    /** With tls: the HTTPS server's own address (its requests are for the first host), else ''. */
    readonly httpsUrl: string,
  ) {}

  static async start(opts: GitHostOptions): Promise<FakeGitHost> {
    const dir = await mkdtemp(join(tmpdir(), 'godepot-githost-'));
    const root = join(dir, 'repos');
    const work = join(dir, 'work');
    await mkdir(root, { recursive: true });
    await mkdir(work, { recursive: true });
    let self: FakeGitHost | null = null;
    const server = createServer((req, res) => self?.handle(req, res));
    const track = (s: Socket): void => {
      self?.sockets.add(s);
      s.on('close', () => self?.sockets.delete(s));
    };
    const tlsServer = opts.tls
      ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => self?.handle(req, res))
      : null;
    server.on('connect', (req: IncomingMessage, socket: Socket) => {
      // Without tls, none: go falls back to plain http for GOINSECURE hosts.
      const [host, port] = (req.url ?? '').split(':');
      if (tlsServer === null || self === null || !self.hosts.includes(host ?? '') || port !== '443') {
        socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n', () => tlsServer.emit('connection', socket));
    });
    server.on('connection', track);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    let httpsUrl = '';
    if (tlsServer !== null) {
      tlsServer.on('connection', track);
      await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
      httpsUrl = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
    }
    self = new FakeGitHost(opts, server, root, work, `http://127.0.0.1:${port}`, tlsServer, httpsUrl);
    return self;
  }

  get hosts(): readonly string[] {
    return this.opts.hosts ?? ['corp.example'];
  }

  /** Environment for a process that should reach the host (go, git): the proxy and plain-http permission. */
  clientEnv(): Record<string, string> {
    const hosts = this.hosts.join(',');
    return {
      HTTP_PROXY: this.url,
      http_proxy: this.url,
      HTTPS_PROXY: this.url,
      https_proxy: this.url,
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
      ...(this.opts.tls ? {} : { GOINSECURE: hosts }),
    };
  }

  /** A .netrc line with this host's credentials for host. */
  netrc(host = this.hosts[0] ?? 'corp.example', password = this.opts.password ?? ''): string {
    return `machine ${host} login ${this.opts.user ?? ''} password ${password}\n`;
  }

  /**
   * Answers `<root>?go-get=1` with a go-import naming repoUrl (any host's repository, as a hostile host may);
   * vcs 'mod': a module proxy's URL.
   */
  redirect(root: string, repoUrl: string, vcs: 'git' | 'mod' = 'git'): void {
    this.imports.set(root, `${vcs} ${repoUrl}`);
  }

  count(match: string): number {
    return this.requests.filter((r) => r.url.includes(match)).length;
  }

  private git(args: string[], cwd: string): string {
    const r = spawnSync(this.opts.git, args, {
      cwd,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: this.work,
        ...FIXED_ENV,
        GIT_AUTHOR_DATE: `2024-01-01T00:00:${String(this.commits % 60).padStart(2, '0')}Z`,
        GIT_COMMITTER_DATE: `2024-01-01T00:00:${String(this.commits % 60).padStart(2, '0')}Z`,
      },
    });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Creates repository <host>/<name> (bare, served) with an initial commit of files on branch main. */
  async createRepo(repo: string, files: Record<string, string>): Promise<string> {
    const wt = join(this.work, repo);
    await mkdir(wt, { recursive: true });
    this.git(['init', '-q', '-b', 'main'], wt);
    const hash = await this.commit(repo, files, 'initial');
    const bare = join(this.root, repo);
    await mkdir(dirname(bare), { recursive: true });
    this.git(['clone', '-q', '--bare', wt, bare], this.work);
    return hash;
  }

  /** Writes files in the work tree of repo, commits, and pushes main; returns the commit hash. */
  async commit(repo: string, files: Record<string, string>, message: string): Promise<string> {
    const wt = join(this.work, repo);
    for (const [name, content] of Object.entries(files)) {
      await mkdir(dirname(join(wt, name)), { recursive: true });
      await writeFile(join(wt, name), content);
    }
    this.commits++;
    this.git(['add', '-A'], wt);
    this.git(['commit', '-q', '-m', message], wt);
    const hash = this.git(['rev-parse', 'HEAD'], wt);
    if (this.git(['remote'], wt) === '') this.git(['remote', 'add', 'origin', join(this.root, repo)], wt);
    else this.git(['push', '-q', '-f', 'origin', 'main'], wt);
    return hash;
  }

  /** Tags the work tree's HEAD and pushes the tag (force: move an existing tag). */
  tag(repo: string, tag: string): void {
    const wt = join(this.work, repo);
    this.git(['tag', '-f', tag], wt);
    this.git(['push', '-q', '-f', 'origin', `refs/tags/${tag}`], wt);
  }

  /** Makes a branch at HEAD and pushes it. */
  branch(repo: string, name: string): void {
    const wt = join(this.work, repo);
    this.git(['branch', '-f', name], wt);
    this.git(['push', '-q', '-f', 'origin', name], wt);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const log = (status: number, user: string | null): void => {
      const authorization = req.headers.authorization ?? null;
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', user, status, authorization });
    };
    if (this.mode === 'down') {
      log(0, null);
      req.socket.destroy();
      return;
    }
    if (this.mode === 'hang') {
      log(0, null);
      this.hung.add(res);
      return;
    }
    // Through the TLS server, requests name a path (and the host in Host); through the proxy, a whole URL.
    const tls = 'encrypted' in req.socket;
    let url: URL;
    try {
      url = new URL(tls ? `https://${req.headers.host ?? ''}${req.url ?? ''}` : (req.url ?? ''));
    } catch {
      log(400, null);
      res.writeHead(400).end('this is a proxy: send absolute URLs\n');
      return;
    }
    if (this.opts.tls && !tls) {
      log(400, null);
      res.writeHead(400).end('this host speaks https only\n');
      return;
    }
    // The TLS server's own address serves the first host's repositories.
    const host = tls && url.hostname === '127.0.0.1' ? (this.hosts[0] ?? '') : url.hostname;
    if (!this.hosts.includes(host)) {
      log(502, null);
      res.writeHead(502).end(`no such host ${host}\n`);
      return;
    }
    const parts = url.pathname.split('/').filter((p) => p !== '');
    const meta = url.searchParams.get('go-get') === '1';
    if (!meta && (parts[0] !== 'git' || parts.length < 2)) {
      log(404, null);
      res.writeHead(404).end('not found\n');
      return;
    }
    const user = meta && !this.metaAuth ? null : this.authorized(req, host);
    if (user === false) {
      log(401, null);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' }).end('auth\n');
      return;
    }
    if (meta) {
      const repo = `${host}/${parts[0] ?? ''}`;
      const scheme = this.opts.tls ? 'https' : 'http';
      log(200, user);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!DOCTYPE html><html><head><meta name="go-import" content="${repo} ${this.imports.get(repo) ?? `git ${scheme}://${host}/git/${parts[0] ?? ''}`}"></head><body></body></html>\n`,
      );
      return;
    }
    this.cgi(req, res, host, url, parts.slice(1).join('/'), user, log);
  }

  /** The user name when the request may pass; false when it needs (other) credentials. */
  private authorized(req: IncomingMessage, host: string): string | null | false {
    if (this.opts.openHosts?.includes(host)) return null;
    const h = req.headers.authorization ?? '';
    if (!h.startsWith('Basic ')) return false;
    const [user, ...rest] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':');
    return user === this.opts.user && rest.join(':') === this.opts.password ? (user ?? null) : false;
  }

  private cgi(
    req: IncomingMessage,
    res: ServerResponse,
    host: string,
    url: URL,
    pathInfo: string,
    user: string | null,
    log: (status: number, user: string | null) => void,
  ): void {
    const child = spawn(this.opts.git, ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: join(this.root, host),
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        PATH_INFO: '/' + pathInfo,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: '127.0.0.1',
        ...(user ? { REMOTE_USER: user } : {}),
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
        ...(typeof req.headers['git-protocol'] === 'string' ? { GIT_PROTOCOL: req.headers['git-protocol'] } : {}),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(child.stdin);
    child.stdin.on('error', () => undefined);
    let head = Buffer.alloc(0);
    let started = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (started) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      const endLf = head.indexOf('\n\n');
      const cut = end >= 0 ? end : endLf;
      if (cut < 0) return;
      const sepLen = end >= 0 ? 4 : 2;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, cut).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      started = true;
      log(status, user);
      res.writeHead(status, headers);
      res.write(head.subarray(cut + sepLen));
    });
    child.on('close', () => {
      if (!started) {
        log(500, user);
        res.writeHead(500).end('git http-backend failed\n');
        return;
      }
      res.end();
    });
    res.on('close', () => child.kill('SIGKILL'));
  }

  async close(): Promise<void> {
    for (const r of this.hung) r.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    const tlsServer = this.tlsServer;
    if (tlsServer !== null) await new Promise<void>((r) => tlsServer.close(() => r()));
    await rm(dirname(this.root), { recursive: true, force: true });
  }
}
