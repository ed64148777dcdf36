// Series updated on every request, counted in plain numbers and handed to
// prom-client only when /metrics is scraped. prom-client hashes the label
// object on every inc() and observe() (copying, sorting and joining the label
// values), and a cache hit answered from memory did that four times: about a
// fifth of its CPU. Here a request costs two Map lookups keyed by label
// values the callers already hold as constants, and a bucket search.
import { Counter, type CounterConfiguration, type Metric, type Registry } from 'prom-client';

/** One sample as prom-client's registry formats it. */
interface Sample {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

/** Label values → a slot, in two levels (every hot series has one or two labels). */
class Slots<T> {
  private readonly first = new Map<string, Map<string, T>>();

  constructor(private readonly make: () => T) {}

  get(a: string, b: string): T {
    let inner = this.first.get(a);
    if (inner === undefined) {
      inner = new Map();
      this.first.set(a, inner);
    }
    let slot = inner.get(b);
    if (slot === undefined) {
      slot = this.make();
      inner.set(b, slot);
    }
    return slot;
  }

  *entries(): Generator<[string, string, T]> {
    for (const [a, inner] of this.first) for (const [b, slot] of inner) yield [a, b, slot];
  }

  clear(): void {
    this.first.clear();
  }
}

/**
 * A prom-client Counter with two labels whose increments are summed locally
 * and added to it when it is collected (scraped or read with get()): the
 * exposition, resets and registry stay prom-client's.
 */
export class BatchedCounter<L extends string> {
  private readonly counter: Counter<L>;
  private readonly pending = new Slots<{ n: number }>(() => ({ n: 0 }));

  constructor(
    config: Omit<CounterConfiguration<L>, 'collect' | 'labelNames'>,
    private readonly labelNames: readonly [L, L],
  ) {
    const flush = (): void => this.flush();
    this.counter = new Counter<L>({ ...config, labelNames, collect: flush });
  }

  inc(a: string, b: string, by = 1): void {
    this.pending.get(a, b).n += by;
  }

  private flush(): void {
    const [la, lb] = this.labelNames;
    for (const [a, b, slot] of this.pending.entries()) {
      if (slot.n === 0) continue;
      this.counter.inc({ [la]: a, [lb]: b } as Partial<Record<L, string>>, slot.n);
      slot.n = 0;
    }
  }
}

interface HistogramSlot {
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram with one label, exposed through a prom-client registry in the
 * same text prom-client's Histogram writes (cumulative `_bucket` series with
 * `le`, then `_sum` and `_count`). prom-client's Histogram has no way to add
 * counts other than one observe() per value, so this one keeps its own.
 */
export class LocalHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly slots: Slots<HistogramSlot>;
  private readonly bounds: Float64Array;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly label: L,
    buckets: readonly number[],
  ) {
    this.bounds = Float64Array.from([...buckets].sort((x, y) => x - y));
    const n = this.bounds.length + 1;
    this.slots = new Slots(() => ({ counts: new Float64Array(n), sum: 0, count: 0 }));
  }

  observe(labelValue: string, value: number): void {
    const s = this.slots.get(labelValue, '');
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    s.counts[i] = (s.counts[i] as number) + 1;
    s.sum += value;
    s.count++;
  }

  /**
   * Adds this histogram to registry. prom-client's registry formats any
   * object with name, help, type, aggregator and get() (its types only name
   * its own classes, hence the cast).
   */
  registerIn(registry: Registry): void {
    registry.registerMetric(this as unknown as Metric);
  }

  /** prom-client's metric interface (Registry.metrics() and getMetricsAsJSON()). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const [labelValue, , s] of this.slots.entries()) {
      const labels = { [this.label]: labelValue };
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i] as number;
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...labels }, value: acc });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.slots.clear();
  }
}
