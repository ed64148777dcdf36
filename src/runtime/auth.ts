// Wiring of --auth: the users file (watched), the gate, and its metric and
// log lines. The app calls authorize() first thing for every request.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { decide, REFUSALS, type GateRefusal } from '../auth/gate.js';
import { UsersFile } from '../auth/users-file.js';
import { UsersFileError } from '../auth/users.js';
import { ConfigError } from '../config/load.js';
import { GodepotError } from '../proxy/errors.js';
import { decodeRequestPath } from '../proxy/request.js';
import { SAID_EVERY_MS, Spacing } from '../util/spacing.js';

export interface AuthWiring {
  readonly authorize: (req: IncomingMessage) => GodepotError | null;
  /** Whether the request's user may read the operator pages (/api, /ui, /metrics); bad credentials are counted and logged. */
  readonly operatorUser: (req: IncomingMessage) => boolean;
  readonly users: UsersFile;
  close(): void;
}

/** f(), with a users file that cannot be read or does not parse as a settings error naming --auth. */
function asSetting<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw err instanceof UsersFileError ? new ConfigError(`invalid --auth: ${err.message}`) : err;
  }
}

/** Reads the --auth file once, to refuse a bad one before anything starts (serve's primary, said once). */
export function checkAuthFile(file: string): void {
  asSetting(() => UsersFile.read(file));
}

export function wireAuth(
  file: string,
  log: Logger,
  registry: Registry,
  /** Spaces the refusal lines (default: the system clock). */
  now: () => number = Date.now,
): AuthWiring {
  const users = asSetting(() => new UsersFile(file, log));
  const stop = users.watch();
  const failures = new Counter({
    name: 'godepot_auth_failures_total',
    help: `Requests refused by --auth, by reason (${REFUSALS.join(', ')}).`,
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const r of REFUSALS) failures.inc({ reason: r }, 0);
  // Anyone who reaches godepot can be refused as often as they like: each reason is said at warn level at most
  // once per SAID_EVERY_MS, with how many more were refused since; the others at debug (all counted above).
  const said = new Spacing<GateRefusal>(SAID_EVERY_MS, now);
  /** A refusal, counted and logged (the user named, never the token). */
  const refused = (
    req: IncomingMessage,
    d: { readonly user: string | null; readonly reason: GateRefusal },
    path: string,
    msg: string,
  ): void => {
    failures.inc({ reason: d.reason });
    const record = {
      user: d.user?.slice(0, 100),
      reason: d.reason,
      path: path.slice(0, 200),
      remote: req.socket.remoteAddress,
    };
    said.say(log, 'warn', d.reason, record, msg, 'alsoRefusedSince');
  };
  const authorize = (req: IncomingMessage): GodepotError | null => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    let path = rawPath;
    try {
      path = decodeRequestPath(rawPath);
    } catch {
      // A malformed path names no module: the gate still wants a user, then the router answers 400.
    }
    const d = decide(users.current, path, req.headers.authorization);
    if (d.allow) return null;
    refused(req, d, rawPath, 'request refused by --auth');
    return new GodepotError(d.status === 401 ? 'unauthorized' : 'forbidden', d.message);
  };
  // /readyz is open: no credentials is the usual case and says nothing; credentials that do not hold are counted
  // and logged as anywhere else (else /readyz would check a stolen token unseen).
  const operatorUser = (req: IncomingMessage): boolean => {
    const d = decide(users.current, '/metrics', req.headers.authorization);
    if (d.allow) return true;
    if (d.reason === 'bad_credentials')
      refused(req, d, '/readyz', 'credentials refused by --auth (on /readyz, which then withholds its failure texts)');
    return false;
  };
  return { authorize, operatorUser, users, close: stop };
}
