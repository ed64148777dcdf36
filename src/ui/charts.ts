// The last hour's charts, drawn by uPlot (loaded as a global by index.html
// from godepot itself). A chart is rebuilt when its set of series changes
// (a new upstream appears) and resized with its container.

/** The fields of /api/series the charts read. */
export interface SeriesView {
  readonly t?: number[];
  readonly hit?: number[];
  readonly miss?: number[];
  readonly error?: number[];
  readonly latencyMs?: Record<string, Array<number | null>>;
}

interface Line {
  readonly label: string;
  readonly color: string;
  readonly values: Array<number | null>;
}

const PALETTE = ['--miss', '--warn', '--ok', '--bad', '--muted'];

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

class Chart {
  private plot: uPlot | null = null;
  /** The labels the chart was built with; null: build it anew on the next draw (never equal to a set of labels). */
  private key: string | null = null;

  constructor(
    private readonly el: HTMLElement,
    private readonly unit: string,
    /** Draw every sample as a point too (latency: samples are sparse). */
    private readonly points = false,
  ) {
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(el);
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(300, this.el.clientWidth), height: 200 };
  }

  /** Rebuilds on the next draw (colours are read from CSS when a chart is built). */
  restyle(): void {
    this.key = null;
  }

  draw(t: number[], lines: Line[]): void {
    const data: uPlot.AlignedData = [t, ...lines.map((l) => l.values)];
    const key = lines.map((l) => l.label).join('\n');
    if (this.plot && key === this.key) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.key = key;
    const fg = cssVar('--fg');
    const grid = cssVar('--line');
    // Which colours it was drawn in (they are painted on a canvas): the browser test reads it after a scheme change.
    this.el.dataset.fg = fg;
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    this.plot = new uPlot(
      {
        ...this.size(),
        // The page speaks UTC, in 24-hour time (format.ts clock): so do the time axes.
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
        fmtDate: (tpl) =>
          uPlot.fmtDate(
            tpl
              .replace(/\{h\}/g, '{HH}')
              .replace(/\{aa\}|\{AA\}|\{a\}/g, '')
              .replace('{M}/{D}/{YY}', '{YYYY}-{MM}-{DD}'),
          ),
        series: [
          {},
          ...lines.map((l) => ({
            label: l.label,
            stroke: l.color,
            width: 2,
            spanGaps: false,
            // A lone sample between empty slots (one slow call in a quiet minute) is a point, not nothing.
            ...(this.points ? { points: { show: true, size: 6, fill: l.color } } : {}),
          })),
        ],
        axes: [axis, { ...axis, label: this.unit, size: 60 }],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1)] } },
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      this.el,
    );
  }
}

let requests: Chart | null = null;
let latency: Chart | null = null;

let last: SeriesView | null = null;

window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  requests?.restyle();
  latency?.restyle();
  if (last) drawCharts(last);
});

/** Draws both charts; does nothing (and says so once) when uPlot did not load. */
export function drawCharts(s: SeriesView): void {
  if (typeof window.uPlot !== 'function') return;
  last = s;
  const t = Array.isArray(s.t) ? s.t : [];
  const fit = (v: unknown): Array<number | null> =>
    t.map((_, i) => {
      const x = Array.isArray(v) ? (v[i] as unknown) : null;
      return typeof x === 'number' && Number.isFinite(x) ? x : null;
    });
  const reqEl = document.getElementById('chart-requests');
  const latEl = document.getElementById('chart-latency');
  if (!reqEl || !latEl) return;
  requests ??= new Chart(reqEl, 'req/s');
  latency ??= new Chart(latEl, 'ms', true);
  requests.draw(t, [
    { label: 'hit', color: cssVar('--hit'), values: fit(s.hit) },
    { label: 'miss', color: cssVar('--miss'), values: fit(s.miss) },
    { label: 'error', color: cssVar('--error'), values: fit(s.error) },
  ]);
  const urls = Object.keys(s.latencyMs ?? {}).sort();
  latency.draw(
    t,
    urls.map((u, i) => ({
      label: u,
      color: cssVar(PALETTE[i % PALETTE.length] ?? '--muted'),
      values: fit(s.latencyMs?.[u]),
    })),
  );
}

declare global {
  interface Window {
    uPlot?: typeof uPlot;
  }
}
