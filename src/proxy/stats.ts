/**
 * Envoy-style statistics: counters and gauges named as Envoy names them
 * (listener.<address>.downstream_cx_total, http.<stat_prefix>.downstream_rq_2xx,
 * cluster.<name>.upstream_rq_total, ...), read by /stats and /stats/prometheus.
 */
export interface Counter {
  readonly name: string;
  inc(by?: number): void;
  readonly value: number;
}

export interface Gauge {
  readonly name: string;
  set(value: number): void;
  inc(by?: number): void;
  dec(by?: number): void;
  readonly value: number;
}

class CounterImpl implements Counter {
  value = 0;
  constructor(readonly name: string) {}
  inc(by = 1): void {
    this.value += by;
  }
}

class GaugeImpl implements Gauge {
  value = 0;
  constructor(readonly name: string) {}
  set(value: number): void {
    this.value = value;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

export interface StatSample {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly value: number;
}

export class StatsStore {
  private readonly counters = new Map<string, CounterImpl>();
  private readonly gauges = new Map<string, GaugeImpl>();

  counter(name: string): Counter {
    let c = this.counters.get(name);
    if (!c) this.counters.set(name, (c = new CounterImpl(name)));
    return c;
  }

  gauge(name: string): Gauge {
    let g = this.gauges.get(name);
    if (!g) this.gauges.set(name, (g = new GaugeImpl(name)));
    return g;
  }

  /** Every stat, sorted by name, as /stats lists them. */
  samples(): StatSample[] {
    const all: StatSample[] = [
      ...[...this.counters.values()].map((c) => ({ name: c.name, type: 'counter' as const, value: c.value })),
      ...[...this.gauges.values()].map((g) => ({ name: g.name, type: 'gauge' as const, value: g.value })),
    ];
    return all.sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** The HTTP status class counter suffix Envoy uses: 2xx, 3xx, 4xx, 5xx. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}
