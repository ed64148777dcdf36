// Reading godepot's /metrics (Prometheus text) in tests.

/** The sum of the samples of metric `name` whose labels include `labels` (0 when none). */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const set = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** sampleSum over a fresh scrape of base's /metrics. */
export async function metric(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleSum(await (await fetch(`${base}/metrics`)).text(), name, labels);
}
