// Progress of a long batch (warm, import, export): on a terminal one line
// redrawn in place (bar, done/total, bytes, failures, rate); otherwise one
// plain line per finished item, which reads well in CI logs.

export interface ProgressWriter {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export type ProgressMode = 'auto' | 'bar' | 'plain' | 'none';

export interface Progress {
  /** More items are known (the total grows, e.g. while walking a module graph). */
  addTotal(n: number): void;
  /** One item finished; `bytes` transferred or read for it. */
  done(label: string, ok: boolean, bytes: number, detail?: string): void;
  /** Final redraw; leaves the cursor on a fresh line. */
  finish(): void;
}

/**
 * s with its control characters (C0, DEL, C1) written as \xNN: names and
 * lines from a foreign folder or someone else's go.sum are printed to the
 * operator's terminal, where an escape sequence would rewrite the screen
 * and a newline could forge a line of the report.
 */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

interface Counts {
  total: number;
  done: number;
  failed: number;
  bytes: number;
}

/** The bar line for the counts, fitting `width` columns. */
export function renderBar(c: Counts, elapsedMs: number, width = 80, verb = 'warming'): string {
  const rate = elapsedMs > 0 ? (c.done / elapsedMs) * 1000 : 0;
  const tail = ` ${c.done}/${c.total}  ${formatBytes(c.bytes)}  ${c.failed} failed  ${rate.toFixed(1)}/s`;
  const barWidth = Math.max(10, Math.min(40, width - tail.length - verb.length - 4));
  const filled = c.total > 0 ? Math.round((c.done / c.total) * barWidth) : 0;
  return `${verb} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}`.slice(0, Math.max(20, width - 1));
}

export function createProgress(
  out: ProgressWriter,
  mode: ProgressMode = 'auto',
  verb = 'warming',
  now: () => number = Date.now,
): Progress {
  const resolved = mode === 'auto' ? (out.isTTY ? 'bar' : 'plain') : mode;
  const c: Counts = { total: 0, done: 0, failed: 0, bytes: 0 };
  const started = now();
  let lastDraw = 0;
  const draw = (force: boolean): void => {
    const t = now();
    if (!force && t - lastDraw < 100) return;
    lastDraw = t;
    out.write(`\r\x1b[K${renderBar(c, t - started, out.columns || 80, verb)}`);
  };
  return {
    addTotal(n) {
      c.total += n;
      if (resolved === 'bar') draw(false);
    },
    done(rawLabel, ok, bytes, rawDetail) {
      const label = printable(rawLabel);
      const detail = rawDetail === undefined ? undefined : printable(rawDetail);
      c.done++;
      c.bytes += bytes;
      if (!ok) c.failed++;
      if (resolved === 'plain') {
        out.write(
          ok
            ? `ok    ${label}${bytes > 0 ? `  ${formatBytes(bytes)}` : ''}${detail ? `  (${detail})` : ''}\n`
            : `FAIL  ${label}: ${detail ?? 'failed'}\n`,
        );
      } else if (resolved === 'bar') {
        // Failures scroll above the bar so none is lost.
        if (!ok) out.write(`\r\x1b[KFAIL  ${label}: ${detail ?? 'failed'}\n`);
        draw(!ok || c.done === c.total);
      }
    },
    finish() {
      if (resolved === 'bar') {
        draw(true);
        out.write('\n');
      }
    },
  };
}
