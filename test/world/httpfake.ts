// The HTTP machinery shared by the fake upstreams: a loopback server on an
// ephemeral port, a request log, fault rules, and a sender that can drip,
// truncate or withhold a body. Subclasses only say what the right answer is.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  FaultTable,
  TRANSPORT_FAULTS,
  matches,
  type Fault,
  type FaultKind,
  type FaultOptions,
  type LoggedRequest,
  type RequestMatch,
} from './faults.js';

/** A complete answer, before any fault is applied to its transport. */
export interface Reply {
  status: number;
  contentType: string;
  body: Buffer;
}

export function textReply(status: number, text: string): Reply {
  return { status, contentType: 'text/plain; charset=utf-8', body: Buffer.from(text, 'utf8') };
}

export function notFound(what: string): Reply {
  return textReply(404, `not found: ${what}\n`);
}

/** The bytes a `garbage` fault sends: neither a zip, JSON, a tile of the right size, nor a note. */
export const GARBAGE = Buffer.from('\u0000\u00ffthis is garbage, not what you asked for\u0007\n', 'latin1');

/** Where a request goes when another fake answers below a mount point. */
export interface Delegation {
  target: FakeHttpServer;
  /** The path relative to the target's root. */
  path: string;
}

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export abstract class FakeHttpServer {
  /** Every request received, oldest first. */
  readonly requests: LoggedRequest[] = [];
  private readonly faultTable: FaultTable;
  private readonly server: Server;
  /** `http://127.0.0.1:<port>` (no trailing slash); set by listen(). */
  protected origin = '';
  private closing = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Requests a hang fault holds, until they end or dropHung(). */
  private readonly hung = new Set<ServerResponse>();
  /** Requests a hold fault keeps waiting, until releaseHeld() (or close()). */
  private readonly held = new Set<() => void>();

  protected constructor(contentFaults: readonly FaultKind[]) {
    this.faultTable = new FaultTable(new Set<FaultKind>([...TRANSPORT_FAULTS, ...contentFaults]));
    this.server = createServer((req, res) => {
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      void this.handle(req, res, q === -1 ? raw : raw.slice(0, q));
    });
    // Go's transport keeps connections alive; so do we, but never forever.
    this.server.keepAliveTimeout = 5_000;
  }

  protected async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${address.port}`;
  }

  /** The right answer for a request, given the content fault (if any) that applies. */
  protected abstract reply(
    path: string,
    request: LoggedRequest,
    contentFault: Fault | undefined,
  ): Reply | Promise<Reply>;

  /** A subclass may hand paths below a mount point to another fake (after its own log and faults). */
  protected delegate(path: string): Delegation | undefined {
    void path;
    return undefined;
  }

  /**
   * Adds a fault rule for all requests or those matching `match`; the newest
   * matching rule wins. Returns a function that removes the rule.
   */
  setFault(fault: Fault, match?: RequestMatch, options?: FaultOptions): () => void {
    return this.faultTable.add(fault, match, options);
  }

  clearFaults(): void {
    this.faultTable.clear();
  }

  /** How many logged requests match (all, a path substring, a RegExp, or a predicate). */
  count(match?: RequestMatch): number {
    return this.requests.filter((r) => matches(r, match)).length;
  }

  resetLog(): void {
    this.requests.length = 0;
  }

  /** Resets the connections of the requests a hang fault holds (the client sees them fail at once). Returns how many. */
  dropHung(): number {
    const n = this.hung.size;
    for (const res of this.hung) res.socket?.resetAndDestroy();
    this.hung.clear();
    return n;
  }

  /** Lets the requests a hold fault keeps waiting go on to their normal answers. Returns how many. */
  releaseHeld(): number {
    const n = this.held.size;
    for (const release of [...this.held]) release();
    return n;
  }

  /** How many requests a hold fault keeps waiting now. */
  get heldCount(): number {
    return this.held.size;
  }

  /** Stops listening and destroys every connection, hung ones included. Idempotent. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.releaseHeld();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /**
   * The request pipeline: log, pick a fault, answer (or misbehave). `path` is
   * the raw path relative to this server's root.
   */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      decodedPath: decodePath(req.url ?? '/'),
      at: Date.now(),
    };
    this.requests.push(entry);
    const fault = this.faultTable.take(entry);
    if (fault !== undefined) entry.fault = fault.kind;
    res.on('finish', () => {
      if (fault?.kind !== 'truncate') entry.status = res.statusCode;
    });
    try {
      await this.answer(req, res, path, entry, fault);
    } catch (e) {
      if (!res.headersSent && !res.destroyed) {
        const msg = e instanceof Error ? e.message : String(e);
        send(res, textReply(500, `fake server error: ${msg}\n`));
      } else {
        res.destroy();
      }
    }
  }

  private async answer(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    entry: LoggedRequest,
    fault: Fault | undefined,
  ): Promise<void> {
    switch (fault?.kind) {
      case 'hang':
        // Held until the client gives up, dropHung() or close() destroys the socket.
        this.hung.add(res);
        res.on('close', () => this.hung.delete(res));
        return;
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'status':
        send(res, textReply(fault.code, fault.body ?? `injected status ${fault.code}\n`));
        return;
      case 'garbage':
        send(res, { status: 200, contentType: 'application/octet-stream', body: GARBAGE });
        return;
      case 'retryAfter':
        res.setHeader('Retry-After', fault.value);
        send(res, textReply(fault.code, `injected status ${fault.code}, retry after ${fault.value}\n`));
        return;
      case 'hugeHeader':
        res.setHeader('X-Filler', 'x'.repeat(fault.bytes));
        send(res, textReply(200, 'a body behind an oversized header\n'));
        return;
      case 'delay':
        await this.sleep(fault.ms);
        if (this.closing) return;
        break;
      case 'hold':
        await new Promise<void>((resolve) => {
          const release = (): void => {
            this.held.delete(release);
            resolve();
          };
          this.held.add(release);
          res.on('close', release);
        });
        if (this.closing || res.destroyed) return;
        break;
      default:
        break;
    }
    const delegation = this.delegate(path);
    if (delegation !== undefined) {
      await delegation.target.handle(req, res, delegation.path);
      return;
    }
    if (entry.method !== 'GET' && entry.method !== 'HEAD') {
      send(res, textReply(405, 'method not allowed\n'));
      return;
    }
    const contentFault = fault !== undefined && !TRANSPORT_FAULTS.has(fault.kind) ? fault : undefined;
    const reply = await this.reply(path, entry, contentFault);
    if (fault?.kind === 'slow') await this.drip(res, reply, fault.bytesPerSecond);
    else if (fault?.kind === 'truncate') truncate(res, reply);
    else send(res, reply, entry.method === 'HEAD');
  }

  private async drip(res: ServerResponse, reply: Reply, bytesPerSecond: number): Promise<void> {
    const tickMs = 100;
    const chunk = Math.max(1, Math.round((bytesPerSecond * tickMs) / 1000));
    res.writeHead(reply.status, headersFor(reply));
    for (let off = 0; off < reply.body.length; off += chunk) {
      if (this.closing || res.destroyed) return;
      res.write(reply.body.subarray(off, off + chunk));
      if (off + chunk < reply.body.length) await this.sleep(tickMs);
    }
    if (!res.destroyed) res.end();
  }
}

function headersFor(reply: Reply): Record<string, string> {
  return { 'Content-Type': reply.contentType, 'Content-Length': String(reply.body.length) };
}

function send(res: ServerResponse, reply: Reply, headOnly = false): void {
  res.writeHead(reply.status, headersFor(reply));
  res.end(headOnly ? undefined : reply.body);
}

/** Full Content-Length, half the body, then the connection is closed. */
function truncate(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, headersFor(reply));
  const half = reply.body.subarray(0, Math.floor(reply.body.length / 2));
  res.write(half, () => res.socket?.destroy());
}
