// RedisCoord: several godepot nodes coordinated through one Redis (ioredis,
// loaded only here). Every key lives under a namespace (one per shared
// store), so two clusters can share one Redis.
//
// Leases: SET lease NX PX ttl; the value is a fencing token from INCR and a
// random id, because the counter starts again at 1 when a Redis without
// persistence restarts, and a holder from before must not pass for the
// holder after it. The holder renews it while it works (a node that dies
// stops renewing, and its lease expires after at most ttl); on release, if
// the lease is still its own, it deletes it and writes its outcome for the
// waiters, who poll the lease and the outcome (a few small GETs per artifact
// being fetched, not per request: each node's own single flight joins its
// requests first). A grant clears the last holder's outcome, so waiters
// never take it for the new holder's; a release that failed is sent again
// once Redis answers, so they do not wait out the lease.
//
// Upstream health: a breaker that opens or closes on one node is published
// on a channel (and kept in a hash, read on every (re)connection, for
// nodes that join later or were away); every other node follows it.
//
// Degrade, never down: commands are never queued while Redis is away
// (enableOfflineQueue off) and time out after commandTimeout. Any command
// that fails or times out marks Redis down, even while the connection stays
// open (a stalled or overloaded Redis is as useless as a lost one, and more
// dangerous if it goes unnoticed): every operation then runs against the
// fallback (a LocalCoord, or with --workers the machine's coordination
// through its primary) instead, a warning is logged once per outage, the
// state is in status() (/readyz) and onState (a metric). Redis is marked up
// again only once it answers: a new connection, or a CHECK (a write under the
// namespace: PING answers when writes do not) every PROBE_MS; a connection
// that answers none of a few CHECKs is replaced (with the subscription), as a
// Redis whose host vanished never resets it.
// A compare-and-set whose reply was lost is unknown, never a success.
import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { redactText } from '../util/redact.js';
import type { FetchLeases, FetchOutcome, Lease } from '../proxy/context.js';
import { randomUUID } from 'node:crypto';
import { isRefusalStatus } from '../upstream/errors.js';
import type { SaidAt } from '../util/said-once.js';
import { isUntrusted, UNTRUSTED_FIX, type TrustOptions } from '../util/trust.js';
import {
  LocalCoord,
  SOLO_LEASE,
  parseHealthNews,
  parseNotFoundEntry,
  type Clock,
  type Coordination,
  type CoordStatus,
  type HealthNews,
  type NotFoundEntry,
} from './coord.js';

export interface RedisCoordOptions {
  readonly url: string;
  /** Key prefix shared by the nodes of one cluster (e.g. derived from the shared store). */
  readonly namespace: string;
  readonly log: Logger;
  /** How long a lease lives without renewal (ms); a dead holder's lease ends this long after its last renewal. */
  readonly leaseTtl?: number;
  /** How often a waiter looks at a lease held by another node (ms). */
  readonly pollInterval?: number;
  /** Deadline of every Redis command (ms). */
  readonly commandTimeout?: number;
  readonly now?: Clock;
  /** Told when Redis becomes reachable (true) or unreachable (false). */
  readonly onState?: (up: boolean) => void;
  /** What coordinates while Redis is away (default: this process alone). */
  readonly fallback?: Coordination;
  /** The CAs a rediss:// server may be signed by (roots.ts: the go command's and Node's); absent: Node's. */
  readonly trust?: TrustOptions;
  /**
   * The level of the lines that say Redis went, came back or refused SUBSCRIBE (default: their own): every worker
   * of `serve --workers N` has its own connection and finds the same, the first says it (util/said-once.ts).
   */
  readonly level?: SaidAt;
}

/** While Redis is marked down, how often it is asked whether it answers again (ms). */
const PROBE_MS = 250;
/**
 * Probes in a row that get no answer on an open connection before it is replaced: a Redis whose host vanished
 * sends no reset, and TCP gives up on such a connection only after about 15 minutes of retransmissions, while a
 * Redis restarted at the same address (a failover, a new container) answers new connections at once.
 */
const SILENT_PROBES = 3;

/**
 * ARGV[1] '' expects no head. A head expected but gone (Redis flushed, restarted empty, or failed over to a
 * replica behind) is no match: another node may have published and stored a newer head just before, and the
 * caller, told no, reads again and proves the stored head first.
 */
const CAS_HEAD = `
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] == '') or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/**
 * A lease for a new holder. The last holder's outcome goes with the grant:
 * if this holder's lease ends without one (given back, expired), its waiters
 * must not take the last one's for it. A lease key with no expiry, or one
 * longer than a lease time, is none godepot set (a hand edit, another
 * program): it is given one lease time, or every node would wait on it for
 * ever (or for as long as it says).
 */
const GRANT = `
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl == -1 or ttl > tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
  return 0
end
redis.call('DEL', KEYS[2])
return 1`;

/** Only the holder writes an outcome: a holder whose lease ended must not answer for the one after it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`;

/**
 * The fencing counter set anew when it holds no integer (a hand edit,
 * another program): tokens start again from 1, as after a Redis restart
 * without persistence (the random id beside each token keeps the holders
 * apart). Returns the token and whether it set the counter.
 */
const REFENCE = `
local t = redis.pcall('INCR', KEYS[1])
if type(t) == 'number' then return {t, 0} end
redis.call('SET', KEYS[1], 1)
return {1, 1}`;

/**
 * What godepot needs of Redis, asked with a write under its namespace: a
 * Redis that answers PING may still refuse EVAL (rename-command), godepot's
 * keys or channel (ACL), two keys in one script (Redis Cluster: a lease and
 * its outcome are two slots), or any write (OOM under maxmemory noeviction,
 * a read-only replica). ARGV[1]: the health channel, or '' (not published to). EXISTS, not GET: a second key
 * holding another type (a hand edit) would fail every check, and a node would never rejoin after a stall.
 */
const CHECK = `
redis.call('SET', KEYS[1], '1', 'PX', 1000)
redis.call('EXISTS', KEYS[2])
if ARGV[1] ~= '' then redis.call('PUBLISH', ARGV[1], '') end
return 1`;

const DROP = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class RedisCoord implements Coordination {
  readonly kind = 'redis';
  readonly leases: FetchLeases;
  private readonly local: Coordination;
  /** This process, so that it ignores its own news coming back. */
  private readonly origin = randomUUID();
  private readonly listeners: Array<(news: HealthNews) => void> = [];
  private sub: Redis | null = null;
  private up = false;
  private since: number;
  private lastError: string | undefined;
  private warned = false;
  private probing = false;
  private readonly leaseTtl: number;
  private readonly pollInterval: number;
  private readonly now: Clock;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  /**
   * Until connect() returns: its check of Redis comes first, and catching up
   * on health news waits for it, or the news would reach no listener yet.
   */
  private starting = true;
  /** The database of the URL does not exist (Redis refused the SELECT; ioredis then goes on in database 0). */
  private badDatabase: string | undefined;
  /** Whether the missing database was said (once: it stays missing until an operator acts). */
  private saidNoDatabase = false;
  /**
   * Releases whose command failed, by lease value: sent again once Redis
   * answers (RELEASE ends only the lease it names, so sending twice is
   * safe), until the lease would have expired anyway.
   */
  private readonly unreleased = new Map<string, { send: () => Promise<unknown>; until: number }>();
  /** Whether the subscription was connected (listen). */
  private listening = false;
  /** Keys found holding what godepot did not write (keyFault), each logged once. */
  private readonly faultyKeys = new Set<string>();

  private constructor(
    private readonly redis: Redis,
    private readonly opts: RedisCoordOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.local = opts.fallback ?? new LocalCoord(this.now);
    this.since = this.now();
    this.leaseTtl = opts.leaseTtl ?? 15_000;
    this.pollInterval = opts.pollInterval ?? 50;
    this.leases = { acquire: (key, signal) => this.acquire(key, signal) };
    // A connection's SELECT is answered between its 'connect' and its 'ready'.
    redis.on('connect', () => (this.badDatabase = undefined));
    redis.on('ready', () => this.setUp(true));
    redis.on('close', () => this.setUp(false));
    redis.on('end', () => this.setUp(false));
    redis.on('error', (err: Error) => {
      this.lastError = errorText(err);
      if (/DB index is out of range/i.test(err.message)) this.badDatabase = err.message;
    });
  }

  /**
   * Connects to Redis, waiting at most the command deadline for it: a Redis
   * that is away at start-up makes a degraded node, not a failed start.
   */
  static async connect(opts: RedisCoordOptions): Promise<RedisCoord> {
    const { Redis: RedisClient } = await import('ioredis');
    const timeout = opts.commandTimeout ?? 1000;
    const options: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: timeout,
      connectTimeout: timeout,
      // Keep trying, at most every 2 s, for as long as the node runs.
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
      lazyConnect: true,
      // A rediss:// URL turns TLS on; this says which CAs its certificate may lead to.
      ...(/^rediss:/i.test(opts.url) && opts.trust?.secureContext
        ? { tls: { secureContext: opts.trust.secureContext } }
        : {}),
    };
    const redis = new RedisClient(opts.url, options);
    const coord = new RedisCoord(redis, opts);
    // Subscribing takes a connection of its own.
    const sub = redis.duplicate();
    coord.sub = sub;
    sub.on('error', () => undefined);
    let deaf = false;
    sub.on(
      'ready',
      () =>
        void sub.subscribe(coord.key('health')).catch((err: unknown) => {
          // Lost connections resubscribe on their own; a refusal (an ACL without SUBSCRIBE) is for good: say it once.
          if (deaf || !(err instanceof Error) || err.name !== 'ReplyError') return;
          deaf = true;
          opts.log[opts.level?.('error') ?? 'error'](
            { redis: redactUrl(opts.url), err: errorText(err) },
            `Redis refused SUBSCRIBE ${coord.key('health')}: this node does not hear the other nodes' upstream health news (it learns each outage by itself); allow the user SUBSCRIBE on that channel`,
          );
        }),
    );
    sub.on('message', (_channel: string, text: string) => coord.heard(text));
    await Promise.race([
      coord.redis.connect().catch(() => undefined),
      new Promise<void>((resolve) => coord.timer(() => resolve(), timeout)),
    ]);
    // ioredis goes on in database 0 when the URL's database does not exist: a node that would share nothing
    // with the nodes that use the right number, while every status says Redis is up.
    if (coord.badDatabase !== undefined) {
      await coord.close();
      throw new Error(`--redis ${redactUrl(opts.url)}: ${coord.noDatabase()}`);
    }
    if (coord.up) {
      try {
        await coord.check(coord.key('health'));
        coord.listen();
      } catch (err) {
        const why = misconfigured(err, opts.namespace);
        if (why !== null) {
          await coord.close();
          throw new Error(`--redis ${redactUrl(opts.url)}: ${why}`);
        }
        // For now only (out of memory, too slow): a degraded node, not a failed start.
        coord.failed(err);
      }
    }
    coord.starting = false;
    // A Redis that took the connection and never answered (stalled, stopped) raised no error: say what happened.
    if (!coord.up) coord.lastError ??= `no answer within ${timeout} ms`;
    if (coord.up) void coord.catchUp();
    else coord.setUp(false);
    return coord;
  }

  /** Runs CHECK: resolves when Redis does what godepot asks of it. */
  private async check(channel: string): Promise<void> {
    const reply = await this.redis.eval(CHECK, 2, this.key('probe'), this.key('probe', 'slot'), channel);
    // Another service on that port may answer every command with something (nil, 0) and no error.
    if (reply !== 1)
      throw new Error(
        `it answered ${JSON.stringify(reply)} to a script that returns 1: is --redis a Redis server (not another service on that port)?`,
      );
  }

  /**
   * Connects the subscription once a CHECK passed: ioredis throws out of its reply handler (an uncaught exception,
   * ending the process) when a server that is no Redis answers SUBSCRIBE with something that is no array.
   * Once connected, it reconnects and resubscribes by itself.
   */
  private listen(): void {
    if (this.listening || !this.sub) return;
    this.listening = true;
    void this.sub.connect().catch(() => undefined);
  }

  private key(...parts: string[]): string {
    return [this.opts.namespace, ...parts].join(':');
  }

  private timer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
    return t;
  }

  /** Why a connection whose SELECT Redis refused is not used (ioredis goes on in database 0). */
  private noDatabase(): string {
    return `that Redis has no database ${new URL(this.opts.url).pathname.slice(1)} (${this.badDatabase}); use one it has, like /0, the same on every node`;
  }

  private setUp(up: boolean): void {
    if (this.closed) return;
    // Redis came back (or was first reached after start) without the URL's database: database 0 would be shared
    // with nobody, while every status said up. Down until a connection selects it (connect() refuses it at start).
    if (up && this.badDatabase !== undefined) {
      if (this.starting) return;
      this.lastError = this.noDatabase();
      up = false;
      if (!this.saidNoDatabase)
        this.opts.log.error(
          { redis: redactUrl(this.opts.url) },
          `--redis ${redactUrl(this.opts.url)}: ${this.lastError}; this node coordinates locally meanwhile`,
        );
      this.saidNoDatabase = true;
    }
    if (up) {
      if (this.up) return;
      this.up = true;
      this.since = this.now();
      if (this.warned)
        this.opts.log[this.opts.level?.('info') ?? 'info'](
          { redis: redactUrl(this.opts.url) },
          'Redis is reachable again: coordinating with the other nodes',
        );
      this.warned = false;
      this.lastError = undefined;
      this.opts.onState?.(true);
      if (!this.starting) void this.catchUp();
      // Redis away at start and reached since (a new connection): the subscription waits for a CHECK.
      if (!this.starting && !this.listening)
        this.check('').then(
          () => this.listen(),
          (err: unknown) => this.failed(err),
        );
      this.sendUnreleased();
      return;
    }
    this.up = false;
    this.probe();
    // Logged once per outage, however often the client retries meanwhile.
    if (this.warned) return;
    this.warned = true;
    this.since = this.now();
    this.opts.log[this.opts.level?.('warn') ?? 'warn'](
      { redis: redactUrl(this.opts.url), err: this.lastError },
      'Redis is unreachable: this node coordinates locally (serving on; other nodes may fetch the same artifacts) until it is back',
    );
    this.opts.onState?.(false);
  }

  /** A Redis command failed or missed its deadline: coordinate locally until Redis answers again. */
  /** Sends the releases that failed again (Redis answers again); those whose lease has expired are dropped. */
  private sendUnreleased(): void {
    const now = this.now();
    for (const [value, r] of this.unreleased) {
      if (now >= r.until) {
        this.unreleased.delete(value);
        continue;
      }
      r.send().then(
        () => this.unreleased.delete(value),
        (err: unknown) => this.failed(err),
      );
    }
  }

  private failed(err: unknown): void {
    if (isKeyFault(err)) {
      this.keyFault(err);
      return;
    }
    // Already down: the failure that began the outage says why.
    if (!this.up) return;
    this.lastError = errorText(err);
    this.setUp(false);
  }

  /**
   * Redis answered, but a key of ours holds what godepot never wrote there (a
   * hand edit, another program): no outage (marking Redis down would flap
   * with every PING that answers), so the operations on that key answer from
   * the fallback and the key is named once, with how to clear it.
   */
  private keyFault(err: unknown): void {
    const key = faultKey(err);
    if (this.faultyKeys.has(key) || this.faultyKeys.size >= 100) return;
    this.faultyKeys.add(key);
    this.opts.log.error(
      { redis: redactUrl(this.opts.url), key, err: errorText(err) },
      `the Redis key ${key} holds a value godepot did not write there: what godepot keeps in it is coordinated by this node alone until it is removed (redis-cli DEL '${key}'; godepot writes it afresh)`,
    );
  }

  /**
   * While down: CHECK every PROBE_MS until Redis takes a write within the deadline.
   * A new connection marks it up by itself ('ready'), but a Redis that
   * stalled never dropped the connection, so nothing else would tell.
   */
  private probe(): void {
    if (this.probing) return;
    this.probing = true;
    let silent = 0;
    const again = (): void => {
      if (this.up || this.closed) {
        this.probing = false;
        return;
      }
      // Not connected: the client reconnects by itself, and its 'ready' marks Redis up (so does one in the wrong
      // database, which only a new connection leaves).
      if (this.redis.status !== 'ready' || this.badDatabase !== undefined) {
        this.timer(again, PROBE_MS);
        return;
      }
      // Not PING: a Redis out of memory (maxmemory, noeviction) answers PING but refuses every write, and
      // would be marked up and down again at each request.
      this.check('').then(
        () => {
          this.probing = false;
          this.listen();
          this.setUp(true);
        },
        (err: unknown) => {
          this.lastError = errorText(err);
          // No answer at all (not a refusal, such as OOM): after a few, a new connection, and a new subscription
          // if it was connected (a reconnection connects it: not before a CHECK passed, see listen()).
          silent = err instanceof Error && err.name === 'ReplyError' ? 0 : silent + 1;
          if (silent >= SILENT_PROBES) {
            silent = 0;
            this.redis.disconnect(true);
            if (this.listening) this.sub?.disconnect(true);
          }
          this.timer(again, PROBE_MS);
        },
      );
    };
    this.timer(again, PROBE_MS);
  }

  /**
   * Runs op against Redis, or fallback when Redis is down. When op fails,
   * Redis is marked down and `onError` answers (default: the fallback).
   */
  private async shared<T>(
    op: (r: Redis) => Promise<T>,
    fallback: () => Promise<T>,
    onError: () => Promise<T> = fallback,
  ): Promise<T> {
    if (!this.up) return fallback();
    try {
      return await op(this.redis);
    } catch (err) {
      this.failed(err);
      // A key holding another type refused the command before it changed anything: not "maybe taken".
      return isKeyFault(err) ? fallback() : onError();
    }
  }

  head(db: string): Promise<Buffer | null> {
    return this.shared(
      (r) => r.getBuffer(this.key('head', db)),
      () => this.local.head(db),
    );
  }

  compareAndSetHead(db: string, expected: Buffer | null, next: Buffer): Promise<boolean> {
    return this.shared(
      async (r) => (await r.eval(CAS_HEAD, 1, this.key('head', db), expected ?? '', next)) === 1,
      // Without Redis, the machine's shared head (its workers' primary, or this process's own);
      // the cluster's is reconciled with it on rejoin (the caller proves one against the other).
      () => this.local.compareAndSetHead(db, expected, next),
      // No answer: Redis may or may not have taken it. Not published, then: the caller reads
      // the head again and retries, by now against the fallback.
      async () => false,
    );
  }

  recordFork(db: string, head: string, evidence: string): Promise<void> {
    return this.shared(
      async (r) => {
        await r.multi().sadd(this.key('refused', db), head).set(this.key('fork', db), evidence).exec();
        await this.local.recordFork(db, head, evidence);
      },
      () => this.local.recordFork(db, head, evidence),
    );
  }

  isRefused(db: string, head: string): Promise<boolean> {
    return this.shared(
      async (r) => (await r.sismember(this.key('refused', db), head)) === 1,
      () => this.local.isRefused(db, head),
    );
  }

  fork(db: string): Promise<string | null> {
    return this.shared(
      (r) => r.get(this.key('fork', db)),
      () => this.local.fork(db),
    );
  }

  notFound(key: string): Promise<NotFoundEntry | null> {
    return this.shared(
      async (r) => {
        const v = await r.get(this.key('nf', key));
        return v ? parseNotFound(v) : null;
      },
      () => this.local.notFound(key),
    );
  }

  rememberNotFound(key: string, entry: NotFoundEntry, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return Promise.resolve();
    return this.shared(
      async (r) => void (await r.set(this.key('nf', key), JSON.stringify(entry), 'PX', Math.ceil(ttlMs))),
      () => this.local.rememberNotFound(key, entry, ttlMs),
    );
  }

  forgetNotFound(key: string): Promise<void> {
    return this.shared(
      async (r) => void (await r.del(this.key('nf', key))),
      () => this.local.forgetNotFound(key),
    );
  }

  shareHealth(news: HealthNews): void {
    // Redis reaches every other process (the workers of this machine are Redis clients too); without it, the fallback.
    if (!this.up) {
      this.local.shareHealth(news);
      return;
    }
    const text = JSON.stringify({ origin: this.origin, news });
    this.redis
      .multi()
      .hset(this.key('health'), news.upstream, text)
      .publish(this.key('health'), text)
      .exec()
      .catch((err: unknown) => this.failed(err));
  }

  onHealth(listener: (news: HealthNews) => void): void {
    this.listeners.push(listener);
    this.local.onHealth(listener);
  }

  /** News from the channel or the hash; this process's own is ignored. */
  private heard(text: string): void {
    let o: { origin?: unknown; news?: unknown } | null;
    try {
      o = JSON.parse(text) as { origin?: unknown; news?: unknown } | null;
    } catch {
      return;
    }
    // A value in Redis is input like any other: JSON that is not an object is not news.
    if (typeof o !== 'object' || o === null) return;
    const news = parseHealthNews(o.news);
    if (!news || o.origin === this.origin) return;
    for (const l of this.listeners) l(news);
  }

  /** On (re)connection: the latest news of every upstream, in case some came while this node was away. */
  private async catchUp(): Promise<void> {
    try {
      const all = await this.redis.hgetall(this.key('health'));
      for (const text of Object.values(all)) this.heard(text);
    } catch (err) {
      // Redis failed again: catching up is part of the next rejoin.
      this.failed(err);
    }
  }

  /**
   * One holder per key across the nodes. Without Redis, this node fetches
   * on its own (its own single flight still joins its requests).
   */
  private async acquire(key: string, signal: AbortSignal): Promise<Lease> {
    const leaseKey = this.key('lease', key);
    const outKey = this.key('out', key);
    signal.throwIfAborted();
    try {
      for (;;) {
        signal.throwIfAborted();
        if (!this.up) return this.alone(key, signal);
        const token = await this.fence();
        const value = `${token}:${randomUUID()}`;
        let granted: boolean;
        try {
          granted = (await this.redis.eval(GRANT, 2, leaseKey, outKey, value, this.leaseTtl)) === 1;
        } catch (err) {
          // The grant may have landed with its reply too late: give back a lease this node will not hold,
          // or the other nodes would wait out its whole TTL.
          this.redis.eval(DROP, 1, leaseKey, value).catch(() => undefined);
          throw err;
        }
        if (granted) {
          if (!signal.aborted) return this.lead(leaseKey, outKey, token, value);
          // The caller left while the lease was being granted: give it back at once.
          this.redis.eval(DROP, 1, leaseKey, value).catch(() => undefined);
          throw signal.reason;
        }
        // Another node holds it: wait for its outcome, or for its lease to end without one (it died).
        for (;;) {
          await this.pause(signal);
          if (!this.up) return this.alone(key, signal);
          const [holder, out] = await this.redis.mget(leaseKey, outKey);
          if (holder === null && out) {
            const outcome = parseOutcome(out);
            if (outcome) return { lead: false, outcome };
          }
          if (holder === null) break;
        }
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      this.failed(err);
      return this.alone(key, signal);
    }
  }

  /** The next fencing token; a counter that holds no integer is set anew, at error level (REFENCE). */
  private async fence(): Promise<number> {
    const key = this.key('fence');
    try {
      return await this.redis.incr(key);
    } catch (err) {
      if (!isKeyFault(err)) throw err;
      const [token, reset] = (await this.redis.eval(REFENCE, 1, key)) as [number, number];
      if (reset === 1)
        this.opts.log.error(
          { redis: redactUrl(this.opts.url), key, err: errorText(err) },
          `the fencing counter ${key} in Redis held a value that is not an integer (a hand edit, another program): set anew, its tokens start again from 1 as after a Redis restart`,
        );
      return token;
    }
  }

  /** A lease while Redis is away: the fallback's (the machine's workers), or this process fetches on its own. */
  private alone(key: string, signal: AbortSignal): Promise<Lease> | Lease {
    return this.local.leases ? this.local.leases.acquire(key, signal) : SOLO_LEASE;
  }

  private pause(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(t);
        this.timers.delete(t);
        reject(signal.reason);
      };
      const t = this.timer(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, this.pollInterval);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private lead(leaseKey: string, outKey: string, token: number, value: string): Lease {
    let renewing = true;
    const renew = (): void => {
      if (!renewing) return;
      this.redis.eval(RENEW, 1, leaseKey, value, this.leaseTtl).then(
        (ok) => {
          if (ok === 1 || !renewing) return;
          // Gone (expired, or Redis lost its data): no renewal brings it back, so it is said once and left.
          renewing = false;
          this.opts.log.warn(
            { lease: leaseKey, token },
            'fetch lease expired while fetching; another node may fetch too',
          );
        },
        (err: unknown) => this.failed(err),
      );
      this.timer(renew, this.leaseTtl / 3);
    };
    this.timer(renew, this.leaseTtl / 3);
    return {
      lead: true,
      token,
      release: (outcome: FetchOutcome) => {
        renewing = false;
        // The outcome outlives the lease briefly: long enough for every waiter's next look.
        const keep = Math.max(5_000, this.pollInterval * 20);
        const send = (): Promise<unknown> =>
          this.redis.eval(RELEASE, 2, leaseKey, outKey, value, JSON.stringify(outcome), keep);
        send().catch((err: unknown) => {
          this.failed(err);
          // Else the other nodes' waiters wait out the whole lease, long after the outcome is known.
          this.unreleased.set(value, { send, until: this.now() + this.leaseTtl });
        });
      },
    };
  }

  status(): CoordStatus {
    return {
      kind: 'redis',
      redis: {
        url: redactUrl(this.opts.url),
        state: this.up ? 'up' : 'down',
        since: new Date(this.since).toISOString(),
        ...(!this.up && this.lastError ? { error: this.lastError } : {}),
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.sub?.disconnect();
    this.redis.disconnect();
    await this.local.close();
  }
}

/**
 * The URL without its password (it reaches logs and /readyz): in the user
 * part, or as a query parameter, which ioredis takes as an option too
 * (redis://HOST:PORT/0?password=…).
 */
export function redactUrl(url: string): string {
  return URL.canParse(url) ? redactText(url) : 'redis://(invalid URL)';
}

/**
 * Redis's answer that a key holds another type or a value that is no
 * integer: that key's fault, not Redis's (which answered).
 */
function isKeyFault(err: unknown): boolean {
  return (
    err instanceof Error &&
    err.name === 'ReplyError' &&
    /^WRONGTYPE |value is not an integer|would overflow/.test(err.message)
  );
}

/** The key a command that failed on its key was about (ioredis gives the command with its reply error). */
function faultKey(err: unknown): string {
  const c = (err as { command?: { name?: unknown; args?: unknown } }).command;
  const args = Array.isArray(c?.args) ? (c.args as unknown[]) : [];
  const key = c?.name === 'eval' || c?.name === 'evalsha' ? args[2] : args[0];
  return typeof key === 'string' ? key : Buffer.isBuffer(key) ? key.toString('utf8') : '(a key of godepot)';
}

/**
 * Why a Redis that answers cannot coordinate godepot at all, as a start-up
 * error that says what to change; null for what passes (out of memory, a timeout).
 */
function misconfigured(err: unknown, namespace: string): string | null {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return null;
  // Not the script itself, which Redis quotes after an unknown command.
  const m = err.message.replace(/, with args beginning with:.*$/s, '');
  if (/^(MOVED|ASK|CROSSSLOT|CLUSTERDOWN) /.test(m))
    return `that Redis is a Redis Cluster (${m}), which godepot does not support (a lease and its outcome live in two hash slots): use a standalone Redis`;
  if (/^READONLY /.test(m)) return `that Redis is a read-only replica (${m}): point --redis at its primary`;
  if (/^NOPERM |no permissions|can't (access|publish)/i.test(m))
    return `its user may not use godepot's keys, channel or commands (${m}): grant them, e.g. ACL SETUSER <user> ~${namespace}:* &${namespace}:* +@all (the key namespace comes from --storage)`;
  if (/unknown (redis )?command/i.test(m))
    return `that Redis does not know a command godepot uses (${m}): renamed or disabled with rename-command? godepot needs EVAL, SET, GET, MGET, DEL, INCR, PEXPIRE, PTTL, SADD, SISMEMBER, MULTI, HSET, HGETALL, PUBLISH, SUBSCRIBE, PING`;
  return null;
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return isUntrusted(err) ? `${text}: ${UNTRUSTED_FIX}` : text;
}

function parseOutcome(s: string): FetchOutcome | null {
  try {
    const o = JSON.parse(s) as {
      kind?: unknown;
      upstream?: unknown;
      status?: unknown;
      detail?: unknown;
      error?: unknown;
    };
    if (o.kind === 'stored') return { kind: o.kind };
    if (o.kind === 'failed') {
      const e = o.error as { code?: unknown; message?: unknown } | undefined;
      return typeof e?.code === 'string' && typeof e.message === 'string'
        ? { kind: 'failed', error: { code: e.code, message: e.message } }
        : { kind: 'failed' };
    }
    if (
      o.kind === 'not_found' &&
      typeof o.upstream === 'string' &&
      isRefusalStatus(o.status) &&
      typeof o.detail === 'string'
    )
      return { kind: 'not_found', upstream: o.upstream, status: o.status, detail: o.detail };
  } catch {
    // Not ours: treated as no outcome.
  }
  return null;
}

function parseNotFound(s: string): NotFoundEntry | null {
  try {
    return parseNotFoundEntry(JSON.parse(s));
  } catch {
    // Not ours.
    return null;
  }
}
