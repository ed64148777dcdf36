// Results: one row per measured figure, godepot beside its reference, the
// ratio godepot ÷ reference, and the target where there is one.
// Printed as a table and written to bench/results/ as JSON and Markdown.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A target on the ratio (godepot ÷ reference) or on godepot's own figure. */
export interface Target {
  readonly on: 'ratio' | 'godepot';
  readonly op: '>=' | '<=' | '<' | '==';
  readonly value: number;
}

export interface Row {
  /** Group, e.g. "cache hit", "go mod download". */
  readonly bench: string;
  /** What was measured in this row, e.g. ".mod, 32 conns, workers 1". */
  readonly name: string;
  readonly unit: string;
  readonly godepot: number;
  /** What godepot is compared with ("nginx", "GOPROXY=file://", "sha256", …); null when there is no reference figure. */
  readonly refName: string | null;
  readonly reference: number | null;
  /** Extra figures shown after the main ones (latencies, RSS, …). */
  readonly detail?: string;
  readonly target?: Target;
  /** Raw figures kept in the JSON. */
  readonly raw?: Record<string, unknown>;
}

export function ratioOf(row: Row): number | null {
  return row.reference === null || row.reference === 0 ? null : row.godepot / row.reference;
}

export function passes(row: Row): boolean | null {
  const t = row.target;
  if (!t) return null;
  const v = t.on === 'ratio' ? ratioOf(row) : row.godepot;
  if (v === null || !Number.isFinite(v)) return false;
  switch (t.op) {
    case '>=':
      return v >= t.value;
    case '<=':
      return v <= t.value;
    case '<':
      return v < t.value;
    case '==':
      return v === t.value;
  }
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toPrecision(2);
}

function targetText(t: Target | undefined): string {
  if (!t) return '';
  return `${t.on === 'ratio' ? 'ratio' : 'godepot'} ${t.op} ${t.value}`;
}

interface Cells {
  bench: string;
  name: string;
  godepot: string;
  reference: string;
  ratio: string;
  target: string;
  pass: string;
  detail: string;
}

function cells(row: Row): Cells {
  const r = ratioOf(row);
  const p = passes(row);
  return {
    bench: row.bench,
    name: row.name,
    godepot: `${formatNumber(row.godepot)} ${row.unit}`,
    reference: row.reference === null ? '—' : `${formatNumber(row.reference)} ${row.unit} (${row.refName ?? ''})`,
    ratio: r === null ? '—' : `${r.toFixed(2)}x`,
    target: targetText(row.target),
    pass: p === null ? '' : p ? 'PASS' : 'FAIL',
    detail: row.detail ?? '',
  };
}

const COLUMNS: ReadonlyArray<[keyof Cells, string]> = [
  ['bench', 'benchmark'],
  ['name', 'case'],
  ['godepot', 'godepot'],
  ['reference', 'reference'],
  ['ratio', 'ratio'],
  ['target', 'target'],
  ['pass', ''],
  ['detail', 'details'],
];

export function textTable(rows: readonly Row[]): string {
  const all = rows.map(cells);
  const widths = COLUMNS.map(([k, h]) => Math.max(h.length, ...all.map((c) => c[k].length)));
  const line = (values: string[]): string =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [line(COLUMNS.map(([, h]) => h)), line(widths.map((w) => '-'.repeat(w)))];
  for (const c of all) out.push(line(COLUMNS.map(([k]) => c[k])));
  return out.join('\n') + '\n';
}

export function markdownTable(rows: readonly Row[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const out = [`| ${COLUMNS.map(([, h]) => h || 'pass').join(' | ')} |`, `|${COLUMNS.map(() => '---').join('|')}|`];
  for (const c of rows.map(cells)) out.push(`| ${COLUMNS.map(([k]) => esc(c[k])).join(' | ')} |`);
  return out.join('\n') + '\n';
}

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly go: string | null;
  readonly nginx: string | null;
  readonly wrk: string | null;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function machineText(m: Machine): string {
  return [
    `${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, Linux ${m.kernel}`,
    `Node ${m.node}, ${m.go ?? 'go: not found'}, nginx ${m.nginx ?? 'not found'}, wrk ${m.wrk ?? 'not found'}`,
  ].join('\n');
}

export interface Results {
  readonly started: string;
  readonly finished: string;
  readonly quick: boolean;
  readonly machine: Machine;
  readonly notes: readonly string[];
  readonly rows: readonly Row[];
}

export async function writeResults(dir: string, results: Results): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const stamp = results.started.replace(/[:.]/g, '-');
  const rows = results.rows.map((r) => ({ ...r, ratio: ratioOf(r), pass: passes(r) }));
  const json = JSON.stringify({ ...results, rows }, null, 2) + '\n';
  const md = [
    `# godepot benchmarks — ${results.started}${results.quick ? ' (quick mode)' : ''}`,
    '',
    '```',
    machineText(results.machine),
    '```',
    '',
    markdownTable(results.rows),
    ...(results.notes.length ? ['', ...results.notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
  const paths = { json: join(dir, `bench-${stamp}.json`), markdown: join(dir, `bench-${stamp}.md`) };
  await writeFile(paths.json, json);
  await writeFile(paths.markdown, md);
  await writeFile(join(dir, 'latest.json'), json);
  await writeFile(join(dir, 'latest.md'), md);
  return paths;
}
