// The access log's own writer must write exactly the line pino writes for
// log.info(record, 'request'): same fields, order, escaping, bindings, time.
import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import {
  flushLog,
  makeTextLogger,
  accessLogWriter,
  BatchingSink,
  countDroppedLines,
  droppedLineCount,
  isoTimeCached,
  LogDestination,
  textAccessLine,
} from '../../src/runtime/logging.js';
import { registerLogMetrics } from '../../src/server/metrics.js';
import { holdProcessWarnings } from '../../src/runtime/warnings.js';

function capture(): { lines: string[]; write(s: string): void } {
  const lines: string[] = [];
  return { lines, write: (s: string) => void lines.push(s) };
}

describe('access log writer', () => {
  it('writes the line pino writes for the same record', () => {
    const fixed = (): string => ',"time":"2026-01-02T03:04:05.678Z"';
    const base = { pid: 4242 };
    const viaPino = capture();
    const log = pino({ level: 'info', base, timestamp: fixed }, viaPino);
    const direct = capture();
    const write = accessLogWriter(log, direct, fixed, base);
    const records: object[] = [
      {
        method: 'GET',
        path: '/example.com/a/@v/v1.0.0.mod',
        status: 200,
        ms: 0.1,
        route: 'mod',
        module: 'example.com/a',
        version: 'v1.0.0',
        cache: 'hit',
        verification: 'verified',
      },
      {
        method: 'HEAD',
        path: '/x"y\\z\u0001\u00e9\u2028',
        status: 404,
        ms: 12.5,
        route: 'other',
        module: undefined,
        error: 'not_found',
      },
      { method: undefined, path: undefined, status: undefined, ms: undefined, route: 'bad_request' },
      {},
    ];
    for (const r of records) {
      log.info(r, 'request');
      write(r);
    }
    expect(direct.lines).toEqual(viaPino.lines);
    expect(direct.lines.every((l) => l.endsWith('\n'))).toBe(true);
  });

  it('writes nothing when info is disabled', () => {
    const sink = capture();
    const log = pino({ level: 'warn' }, sink);
    accessLogWriter(log, sink, isoTimeCached(), {})({ route: 'mod' });
    expect(sink.lines).toEqual([]);
  });

  it('formats the time as pino isoTime does, once per millisecond', () => {
    const time = isoTimeCached();
    const t = time();
    expect(t).toMatch(/^,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
    expect(Math.abs(Date.parse(JSON.parse(`{${t.slice(1)}}`).time) - Date.now())).toBeLessThan(1000);
  });
});

describe('BatchingSink', () => {
  it('hands queued lines over in one batch, before any line written directly', () => {
    const out = capture();
    const sink = new BatchingSink(out, 1000, 60_000);
    sink.queue('a1\n');
    sink.queue('a2\n');
    expect(out.lines).toEqual([]);
    sink.write('warn\n');
    sink.queue('a3\n');
    sink.write('error\n');
    expect(out.lines).toEqual(['a1\na2\n', 'warn\n', 'a3\n', 'error\n']);
  });

  it('hands over when the batch is full, and after the delay otherwise', () => {
    vi.useFakeTimers();
    try {
      const out = capture();
      const sink = new BatchingSink(out, 10, 20);
      sink.queue('12345\n');
      sink.queue('67890\n');
      expect(out.lines).toEqual(['12345\n67890\n']);
      sink.queue('late\n');
      vi.advanceTimersByTime(19);
      expect(out.lines).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(out.lines).toEqual(['12345\n67890\n', 'late\n']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('flush and flushSync leave nothing queued', () => {
    const out = {
      ...capture(),
      flushed: 0,
      flushSync(): void {
        this.flushed++;
      },
    };
    const sink = new BatchingSink(out, 1000, 60_000);
    sink.queue('x\n');
    let called = false;
    sink.flush(() => (called = true));
    expect(called).toBe(true);
    sink.queue('y\n');
    sink.flushSync();
    expect(out.lines).toEqual(['x\n', 'y\n']);
    expect(out.flushed).toBe(1);
  });
});

describe('log destination', () => {
  it('counts what it has still to write, down to nothing once written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'godepot-log-'));
    try {
      const dest = new LogDestination(openSync(join(dir, 'log'), 'w'), 4096);
      const line = 'x'.repeat(99) + '\n';
      // Written in one turn of the loop: the first chunk is in flight, the rest waits.
      for (let i = 0; i < 2000; i++) dest.write(line);
      expect(dest.behind).toBe(200_000);
      await dest.end();
      expect(dest.behind).toBe(0);
      expect(readFileSync(join(dir, 'log'), 'utf8')).toBe(line.repeat(2000));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('drops and counts access-log lines while it is too far behind, never the other lines', () => {
    const out = { ...capture(), behind: 0 };
    const dropped: number[] = [];
    const sink = new BatchingSink(out, 1000, 60_000, 500, (n) => dropped.push(n));
    sink.queue('a\n');
    sink.write('warn 1\n');
    out.behind = 501;
    sink.queue('b\n');
    sink.queue('c\n');
    sink.write('fatal\n');
    out.behind = 0;
    sink.queue('d\n');
    sink.write('warn 2\n');
    expect(out.lines).toEqual(['a\n', 'warn 1\n', 'fatal\n', 'd\n', 'warn 2\n']);
    expect(dropped).toEqual([2]);
  });

  it('reports the dropped lines as godepot_log_lines_dropped_total', async () => {
    const registry = new Registry();
    registerLogMetrics(registry, droppedLineCount);
    const value = async (): Promise<number> =>
      (await registry.getSingleMetric('godepot_log_lines_dropped_total')?.get())?.values[0]?.value ?? -1;
    const before = await value();
    expect(before).toBeGreaterThanOrEqual(0);
    countDroppedLines(3);
    countDroppedLines(2);
    expect(await value()).toBe(before + 5);
    expect(await value()).toBe(before + 5);
  });
});

describe('text access line', () => {
  it('says method, path, status and time, then the fields that are set', () => {
    expect(
      textAccessLine({
        method: 'GET',
        path: '/example.com/m/@v/v1.0.0.zip',
        status: 200,
        ms: 1.2,
        route: 'zip',
        module: 'example.com/m',
        version: undefined,
        cache: 'hit',
        error: 'upstream said no',
      }),
    ).toBe(
      'godepot: GET /example.com/m/@v/v1.0.0.zip 200 1.2 ms module=example.com/m cache=hit error="upstream said no"\n',
    );
  });
});

describe('Node warnings', () => {
  it('are held until the logger exists, then logged one line each; release gives Node its printer back', async () => {
    const before = process.listeners('warning');
    const warnings = holdProcessWarnings();
    try {
      expect(process.listeners('warning')).toHaveLength(1);
      process.emitWarning('loaded\nwith two lines', 'EarlyWarning');
      await new Promise((r) => setImmediate(r)); // emitWarning emits on the next tick
      const out = capture();
      const log = pino({ level: 'debug' }, out);
      warnings.logTo(log, 'warn');
      process.emitWarning('later', { type: 'LateWarning', code: 'X1' });
      await new Promise((r) => setImmediate(r));
      const lines = out.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => [l.level, l.warning, l.code, l.msg])).toEqual([
        [40, 'EarlyWarning', undefined, 'Node.js warning: loaded with two lines'],
        [40, 'LateWarning', 'X1', 'Node.js warning: later'],
      ]);
    } finally {
      warnings.release();
    }
    expect(process.listeners('warning')).toEqual(before);
  });

  it("held and never logged (a command that failed before its logger existed), reach Node's printer on release", async () => {
    const printed: string[] = [];
    const printer = (w: Error): void => void printed.push(w.message);
    process.on('warning', printer);
    try {
      const warnings = holdProcessWarnings();
      process.emitWarning('early', 'EarlyWarning');
      await new Promise((r) => setImmediate(r));
      expect(printed).toEqual([]);
      warnings.release();
      expect(printed).toEqual(['early']);
    } finally {
      process.off('warning', printer);
    }
  });
});

describe('flushLog', () => {
  it("waits for a text logger's destination to take its lines (a stopping process), at most the time given", async () => {
    let taken: (() => void) | undefined;
    const lines: string[] = [];
    const log = makeTextLogger(
      { logLevel: 'info' },
      (s) => lines.push(s),
      'godepot',
      (cb) => (taken = () => cb?.()),
    );
    log.info('shutting down');
    let flushed = false;
    const done = flushLog(log, 60_000).then(() => (flushed = true));
    await Promise.resolve();
    // The destination has not said it took them: still waiting.
    expect(flushed).toBe(false);
    taken?.();
    await done;
    expect(lines).toEqual(['godepot: shutting down\n']);
    // A destination that never answers does not hold the process past the bound.
    vi.useFakeTimers();
    try {
      const stuck = flushLog(
        makeTextLogger(
          { logLevel: 'info' },
          () => undefined,
          'godepot',
          () => undefined,
        ),
        2_000,
      );
      await vi.advanceTimersByTimeAsync(2_000);
      await stuck;
    } finally {
      vi.useRealTimers();
    }
  });
});
