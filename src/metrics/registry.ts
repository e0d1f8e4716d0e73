// A small Prometheus registry: counters, gauges and histograms with fixed label sets, rendered in the
// text exposition format. Labels are always from small closed sets (rcode, qtype, route, status):
// never a query name or anything else a client controls without bound.

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}
  abstract render(): string[];
  header(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
  }
}

/** One value per label set, set or counted here, or copied in when scraped (`collect`). */
abstract class ValueMetric extends Metric {
  protected readonly values = new Map<string, number>();
  private collector: (() => void) | null = null;
  /** Compute or copy the values when scraped. */
  collect(fn: () => void): this {
    this.collector = fn;
    return this;
  }
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelKey(labels), value);
  }
  render(): string[] {
    this.collector?.();
    const lines = this.header();
    for (const [key, v] of this.values) lines.push(`${this.name}${key ? `{${key}}` : ''} ${v}`);
    return lines;
  }
}

export class Counter extends ValueMetric {
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
}

/** Expose a component's plain counters object as one labelled Prometheus counter. */
export function counterFromStats(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  stats: Record<string, number>,
): Counter {
  const counter = registry.counter(name, help);
  return counter.collect(() => {
    for (const [key, value] of Object.entries(stats)) counter.set(value, { [label]: key });
  });
}

export class Gauge extends ValueMetric {
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: number[],
  ) {
    super(name, help, 'histogram');
  }
  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const lines = this.header();
    for (const [key, s] of this.series) {
      const sep = key ? `${key},` : '';
      for (let i = 0; i < this.buckets.length; i++) {
        lines.push(`${this.name}_bucket{${sep}le="${this.buckets[i]}"} ${s.counts[i]}`);
      }
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${key ? `{${key}}` : ''} ${s.sum}`);
      lines.push(`${this.name}_count${key ? `{${key}}` : ''} ${s.count}`);
    }
    return lines;
  }
}

/** A histogram whose per-bucket counts (not cumulative, +Inf last) and sum another component keeps. */
export class CollectedHistogram extends Metric {
  constructor(
    name: string,
    help: string,
    readonly bounds: number[],
    private readonly read: () => { counts: number[]; sum: number },
  ) {
    super(name, help, 'histogram');
  }
  render(): string[] {
    const { counts, sum } = this.read();
    const lines = this.header();
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += counts[i] ?? 0;
      lines.push(`${this.name}_bucket{le="${this.bounds[i]}"} ${cumulative}`);
    }
    cumulative += counts[this.bounds.length] ?? 0;
    lines.push(
      `${this.name}_bucket{le="+Inf"} ${cumulative}`,
      `${this.name}_sum ${sum}`,
      `${this.name}_count ${cumulative}`,
    );
    return lines;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets: number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  collectedHistogram(name: string, help: string, bounds: number[], read: () => { counts: number[]; sum: number }) {
    return this.add(new CollectedHistogram(name, help, bounds, read));
  }
  private add<T extends Metric>(m: T): T {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return `${this.metrics.flatMap((m) => m.render()).join('\n')}\n`;
  }
}
