// Reading godepot's /metrics (Prometheus text) in tests. A series that does
// not exist is an error, not 0: otherwise `toBe(0)` would keep passing after
// a metric or one of its labels is renamed.

/** The families declared by `# TYPE` lines; a histogram's samples are <family>_bucket, _sum and _count. */
function declaredFamily(text: string, name: string): string | undefined {
  const candidates = [name, name.replace(/_(bucket|sum|count)$/, '')];
  return candidates.find((c) => new RegExp(`^# TYPE ${c} `, 'm').test(text));
}

/**
 * The sum of the samples of metric `name` whose labels include `labels`: 0
 * when the family is declared but no sample matches yet. Throws when no
 * family of that name is declared, or when samples exist and none of them
 * carries one of the label names asked for.
 */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  if (declaredFamily(text, name) === undefined)
    throw new Error(`/metrics has no metric ${name} (renamed, or never registered?)`);
  let sum = 0;
  const labelNames = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const set = m[2] ?? '';
    for (const l of set.matchAll(/([a-zA-Z_]+)="/g)) labelNames.add(l[1] ?? '');
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  const unknown = Object.keys(labels).filter((k) => !labelNames.has(k));
  if (labelNames.size > 0 && unknown.length > 0)
    throw new Error(`metric ${name} has no label ${unknown.join(', ')} (it has ${[...labelNames].join(', ')})`);
  return sum;
}

/** sampleSum over a fresh scrape of base's /metrics. */
export async function metric(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleSum(await (await fetch(`${base}/metrics`)).text(), name, labels);
}
