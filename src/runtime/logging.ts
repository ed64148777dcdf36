// godepot's logs: JSON lines (pino) on stdout or stderr, written in batches,
// and the access log's own fast writer (one line per request).
import { writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { workerSlot } from './cluster-ipc.js';
import type { Settings } from '../config/settings.js';

/**
 * pino's isoTime, formatted once per millisecond: under load the access log
 * writes many lines per millisecond, and toISOString was a visible share of
 * a cache hit's cost.
 */
export function isoTimeCached(): () => string {
  let last = -1;
  let text = '';
  return () => {
    const now = Date.now();
    if (now !== last) {
      last = now;
      text = `,"time":"${new Date(now).toISOString()}"`;
    }
    return text;
  };
}

/**
 * pino's destination (sonic-boom) writes as soon as it can; with one write
 * per access-log line, each line cost a trip to libuv's thread pool (a
 * thread wake-up), most of godepot's CPU when requests trickle in one at a
 * time as they do from the go command, and sonic-boom measures its pending
 * text on every line. So
 * access-log lines are queued and handed over in batches of up to
 * ACCESS_BATCH_CHARS characters, at most ACCESS_DELAY_MS later; any other log
 * line first hands over what is queued, so lines stay in order; and what is
 * queued is written out on exit.
 */
const ACCESS_BATCH_CHARS = 16_384;
const ACCESS_DELAY_MS = 100;

/**
 * How the log is written (sonic-boom, pino's destination). It has one write
 * in flight at a time and starts the next when the event loop next turns,
 * so under load its pending text drains by one chunk per turn: with its
 * default 16 KiB chunks, one process answering ~17,000 cache hits/s (5 MB/s
 * of access log) drained ~2.7 MB/s, and the pending lines grew without
 * bound — 35 MB of them after 15 s, RSS 101 → 183 MB in 20 s (2026-12-05,
 * heap snapshot). Chunks of up to LOG_WRITE_BYTES keep up; and while more
 * than LOG_BEHIND_BYTES wait to be written, access-log lines are dropped
 * and counted (godepot_log_lines_dropped_total) instead of held, so memory
 * stays bounded however slow the log's reader (a pipe, a terminal) is.
 * Every other line (warnings, errors, security alerts) is always kept.
 */
const LOG_WRITE_BYTES = 256 * 1024;
const LOG_BEHIND_BYTES = 16 * 1024 * 1024;

export interface LogSink {
  write(line: string): unknown;
}

interface FlushableSink extends LogSink {
  readonly fd?: number;
  /** Bytes handed over and not yet written (LogDestination). */
  readonly behind?: number;
  flush?(cb?: (err?: Error | null) => void): void;
  flushSync?(): void;
}

/** The stream pino writes to: passes lines through, after any queued access-log lines. */
export class BatchingSink implements LogSink {
  private queued: string[] = [];
  private chars = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: FlushableSink,
    private readonly batchChars = ACCESS_BATCH_CHARS,
    private readonly delayMs = ACCESS_DELAY_MS,
    /** Queued (access-log) lines are dropped while the destination is this far behind; pino's own lines never are. */
    private readonly behindLimit = LOG_BEHIND_BYTES,
    private readonly onDrop: (lines: number) => void = () => {},
  ) {}

  /** Queues a line, written with the next batch. */
  queue(line: string): void {
    this.queued.push(line);
    this.chars += line.length;
    if (this.chars >= this.batchChars) this.handOver();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.handOver(), this.delayMs);
      this.timer.unref();
    }
  }

  write(line: string): unknown {
    this.handOver();
    return this.out.write(line);
  }

  /** pino's logger.flush(): hands over what is queued, then flushes the destination. */
  flush(cb?: (err?: Error | null) => void): void {
    this.handOver();
    if (this.out.flush) this.out.flush(cb);
    else cb?.();
  }

  /**
   * Writes everything synchronously (at exit, when no asynchronous write
   * will complete): the destination's pending lines, then the queued ones.
   */
  flushSync(): void {
    this.out.flushSync?.();
    if (this.queued.length === 0) return;
    const batch = this.take();
    if (this.out.fd !== undefined && this.out.fd >= 0) writeSync(this.out.fd, batch);
    else this.out.write(batch);
  }

  private take(): string {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.queued.length === 1 ? (this.queued[0] as string) : this.queued.join('');
    this.queued = [];
    this.chars = 0;
    return batch;
  }

  private handOver(): void {
    if (this.queued.length === 0) return;
    if ((this.out.behind ?? 0) > this.behindLimit) {
      const lines = this.queued.length;
      this.take();
      this.onDrop(lines);
      return;
    }
    this.out.write(this.take());
  }
}

/** How long after the first dropped line the warning about it is written. */
const DROP_NOTICE_MS = 10_000;

/** Access-log lines this process dropped because its log destination was LOG_BEHIND_BYTES behind. */
let droppedLines = 0;

/** The asynchronous destination of fd, counting the bytes it has still to write. */
export class LogDestination implements FlushableSink {
  private pending = 0;
  private readonly dest: ReturnType<typeof pino.destination>;

  constructor(
    readonly fd: number,
    writeBytes = LOG_WRITE_BYTES,
  ) {
    // Buffers, not strings: sonic-boom measures the byte length of its pending string chunk on every write,
    // which with chunks this large cost more than the writing (.mod hits at 256 connections: 0.50x nginx in one run,
    // 0.57–0.78x in the runs around it).
    this.dest = pino.destination({ dest: fd, sync: false, maxWrite: writeBytes, contentMode: 'buffer' });
    this.dest.on('write', (n: number) => (this.pending -= n));
  }

  get behind(): number {
    return this.pending;
  }

  write(text: string): void {
    const b = Buffer.from(text);
    this.pending += b.length;
    // In buffer mode sonic-boom takes Buffers; its types only know strings.
    this.dest.write(b as unknown as string);
  }

  flush(cb?: (err?: Error | null) => void): void {
    this.dest.flush(cb);
  }

  flushSync(): void {
    this.dest.flushSync();
  }

  /** Writes what is pending, then closes fd. */
  end(): Promise<void> {
    return new Promise((resolve) => {
      this.dest.once('close', () => resolve());
      this.dest.end();
    });
  }
}

/** Counts access-log lines dropped (godepot_log_lines_dropped_total). */
export function countDroppedLines(lines: number): void {
  droppedLines += lines;
}

/** Access-log lines dropped since the process started (godepot_log_lines_dropped_total, server/metrics.ts). */
export function droppedLineCount(): number {
  return droppedLines;
}

export interface Logging {
  readonly log: Logger;
  /** Writes one access-log record: the line log.info(record, 'request') would write. */
  readonly access: (record: object) => void;
}

/**
 * The logger and, sharing its destination and clock, the access-log writer.
 * Both formats write through the same asynchronous, bounded destination: a
 * terminal or pipe that reads slowly (a paused `| less`) never stalls the
 * server, it only costs access-log lines.
 */
export function makeLogging(
  settings: Pick<Settings, 'logLevel' | 'logFormat'> & Partial<Pick<Settings, 'nodeName'>>,
  destination: 1 | 2 = 1,
): Logging {
  // --node-name: on every line, so that the logs of several nodes shipped to one place tell them apart.
  const node = settings.nodeName ?? '';
  const sink = new BatchingSink(
    new LogDestination(destination),
    ACCESS_BATCH_CHARS,
    ACCESS_DELAY_MS,
    LOG_BEHIND_BYTES,
    (lines) => dropped(lines),
  );
  process.on('exit', () => {
    try {
      sink.flushSync();
    } catch {
      // the destination is gone (closed pipe): nothing more can be written
    }
  });
  let log: Logger;
  let access: (record: object) => void;
  if (settings.logFormat === 'text') {
    // With --workers N each worker says what it sees (its start, its probes): the prefix tells them apart.
    const slot = workerSlot();
    const prefix = `godepot${node === '' ? '' : ` ${node}`}${slot === null ? '' : ` worker ${slot}`}`;
    log = makeTextLogger(
      settings,
      (s) => sink.write(s),
      prefix,
      (cb) => sink.flush(cb),
      SERVE_TEXT_CONTEXT,
    );
    const textLog = log;
    access = (record) => {
      if (textLog.isLevelEnabled('info')) sink.queue(textAccessLine(record, prefix));
    };
  } else {
    const time = isoTimeCached();
    const base = { pid: process.pid, ...(node === '' ? {} : { node }) };
    log = pino({ level: settings.logLevel, base, timestamp: time }, sink);
    access = accessLogWriter(log, { write: (line) => sink.queue(line) }, time, base);
  }
  // Counted at once; said DROP_NOTICE_MS after the first drop, with how many went since it was last said.
  let told = droppedLines;
  let tell: NodeJS.Timeout | undefined;
  const dropped = (lines: number): void => {
    countDroppedLines(lines);
    tell ??= setTimeout(() => {
      tell = undefined;
      log.warn(
        { dropped: droppedLines - told },
        'access-log lines dropped: the log destination fell 16 MiB behind (a slow reader of stdout); see godepot_log_lines_dropped_total',
      );
      told = droppedLines;
    }, DROP_NOTICE_MS).unref();
  };
  return { log, access };
}

/**
 * An access-log record as a line for people (--log-format text):
 * "godepot: GET /m/@v/v1.0.0.zip 200 1.2 ms cache=hit verification=verified".
 */
export function textAccessLine(record: object, prefix = 'godepot'): string {
  const { method, path, status, ms, ...rest } = record as Record<string, unknown>;
  let line = `${prefix}: ${String(method ?? '-')} ${String(path ?? '-')} ${String(status ?? '-')}`;
  if (typeof ms === 'number') line += ` ${ms} ms`;
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined || k === 'route') continue;
    const text = String(v);
    line += ` ${k}=${/^[\w./:@+-]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return line + '\n';
}

/**
 * Resolves once what log holds has been written to its destination, or after
 * ms: a process that is about to end writes its last lines first (at exit, a
 * pipe a slow reader has filled takes no more, and they were lost).
 */
export function flushLog(log: Logger, ms: number): Promise<void> {
  return new Promise((done) => {
    const t = setTimeout(done, ms);
    log.flush(() => {
      clearTimeout(t);
      done();
    });
  });
}

export function makeLogger(
  settings: Pick<Settings, 'logLevel' | 'logFormat'> & Partial<Pick<Settings, 'nodeName'>>,
  destination: 1 | 2 = 1,
): Logger {
  return makeLogging(settings, destination).log;
}

/**
 * The access log's writer: the same line pino writes for
 * log.info(record, 'request') with this logger's base bindings and clock,
 * built with JSON.stringify instead of pino's generic serializer. With the
 * batching sink it roughly halves the CPU an access-log line costs
 * (bench/overhead.ts; figures in the bench report). Records hold strings,
 * numbers and undefined (left out, as pino does).
 */
export function accessLogWriter(
  log: Logger,
  sink: LogSink,
  time: () => string,
  base: Record<string, string | number>,
): (record: object) => void {
  const info = log.levels.values.info ?? 30;
  const bindings = Object.entries(base)
    .map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`)
    .join('');
  return (record) => {
    if (!log.isLevelEnabled('info')) return;
    const fields = JSON.stringify(record);
    sink.write(
      `{"level":${info}${time()}${bindings}${fields.length > 2 ? ',' + fields.slice(1, -1) : ''},"msg":"request"}\n`,
    );
  };
}

const LEVEL_WORDS: Record<number, string> = {
  60: 'fatal',
  50: 'error',
  40: 'warning',
  30: '',
  20: 'debug',
  10: 'trace',
};

/**
 * A pino destination for people: each JSON line becomes one plain line,
 * "warning: <message>" (info lines carry no prefix), followed by the error
 * when the message does not already say it. For commands' stderr.
 */
export function humanSink(
  out: (s: string) => void,
  prefix = 'godepot',
  /** logger.flush(): what out wrote to reaches its destination (a server's log; commands write synchronously). */
  flush?: (cb?: (err?: Error | null) => void) => void,
  /** Fields written after the message as key=value, when the message does not say their value already. */
  context: readonly string[] = [],
): LogSink {
  return {
    ...(flush ? { flush } : {}),
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          out(line + '\n');
          continue;
        }
        const level = LEVEL_WORDS[typeof rec.level === 'number' ? rec.level : 30] ?? '';
        let msg = typeof rec.msg === 'string' ? rec.msg : '';
        const err = typeof rec.err === 'string' && !msg.includes(rec.err) ? `: ${rec.err}` : '';
        // "godepot listening on …" after the "godepot: " prefix would say godepot twice.
        if (msg.startsWith('godepot ')) msg = msg.slice('godepot '.length);
        let fields = '';
        for (const k of context) {
          const v = rec[k];
          if (typeof v !== 'string' && typeof v !== 'number') continue;
          const text = String(v);
          if (msg.includes(text) || err.includes(text)) continue;
          fields += ` ${k}=${/^[^\s"]+$/.test(text) ? text : JSON.stringify(text)}`;
        }
        out(`${prefix}: ${level ? `${level}: ` : ''}${msg}${err}${fields}\n`);
      }
      return true;
    },
  };
}

/** A logger writing plain lines through out (for commands; --log-format json gives JSON lines on stderr instead). */
export function makeTextLogger(
  settings: Pick<Settings, 'logLevel'>,
  out: (s: string) => void,
  prefix?: string,
  flush?: (cb?: (err?: Error | null) => void) => void,
  context?: readonly string[],
): Logger {
  return pino({ level: settings.logLevel, base: null, timestamp: false }, humanSink(out, prefix, flush, context));
}

/**
 * What a server's text line adds to its message: which module, upstream or
 * host, which outage (its id joins its start and end lines), and a refused
 * artifact's hashes — what the JSON line carries and an operator needs.
 */
export const SERVE_TEXT_CONTEXT = [
  'module',
  'version',
  'kind',
  'path',
  'upstream',
  'host',
  'code',
  'incident',
  'durationMs',
  'servedFromCache',
  'servedUnverified',
  'failed',
  'expected',
  'received',
  'alert',
] as const;
