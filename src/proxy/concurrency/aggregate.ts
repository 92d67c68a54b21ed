/**
 * What the primary's admin shows of N workers: stats summed over workers (every gauge the proxy keeps is an
 * "active" count, so summing is right for gauges too), plus Envoy's per-worker listener stats
 * (listener.<address>.worker_<id>.downstream_cx_total / downstream_cx_active), and the workers' trace
 * entries merged by start time.
 */
import { StatsStore } from '../stats.js';
import type { StatSample } from '../stats.js';
import { DEFAULT_TRACE_BYTES, TraceRecorder } from '../trace/index.js';
import type { TraceEntry, TraceQuery } from '../trace/index.js';

/** Envoy keeps these two listener stats per worker as well ("per-handler listener stats"). */
const PER_WORKER = /^(listener\..+)\.(downstream_cx_total|downstream_cx_active)$/;

export function aggregateSamples(perWorker: ReadonlyArray<{ readonly worker: number; readonly samples: readonly StatSample[] }>): StatSample[] {
  const sums = new Map<string, { name: string; type: StatSample['type']; value: number }>();
  const add = (name: string, type: StatSample['type'], value: number) => {
    const s = sums.get(name);
    if (s) s.value += value;
    else sums.set(name, { name, type, value });
  };
  for (const { worker, samples } of perWorker) {
    for (const s of samples) {
      add(s.name, s.type, s.value);
      const m = PER_WORKER.exec(s.name);
      if (m) add(`${m[1]}.worker_${worker}.${m[2]}`, s.type, s.value);
    }
  }
  return [...sums.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** A StatsStore whose samples are the last aggregate read from the workers. */
export class AggregatedStats extends StatsStore {
  private current: StatSample[] = [];

  update(samples: StatSample[]): void {
    this.current = samples;
  }

  override samples(): StatSample[] {
    return this.current;
  }
}

/** The /isthmus/trace recorder of the primary: the workers' entries, oldest first, re-read per request. */
export class MergedTrace extends TraceRecorder {
  private inner: TraceRecorder;

  constructor(private readonly perWorkerEntries: number, private readonly workers: number) {
    super({ maxEntries: perWorkerEntries * workers });
    this.inner = new TraceRecorder({ maxEntries: 0 });
  }

  load(perWorker: ReadonlyArray<{ readonly entries: readonly TraceEntry[]; readonly recorded: number; readonly sampledOut: number }>): void {
    const inner = new TraceRecorder({ maxEntries: this.perWorkerEntries * this.workers, maxBytes: DEFAULT_TRACE_BYTES * this.workers });
    const all = perWorker.flatMap((w) => w.entries).sort((a, b) => a.startMs - b.startMs);
    for (const e of all) inner.record(e);
    this.inner = inner;
    this.recorded = perWorker.reduce((n, w) => n + w.recorded, 0);
    this.sampledOut = perWorker.reduce((n, w) => n + w.sampledOut, 0);
  }

  override get size(): number {
    return this.inner.size;
  }

  override query(q: TraceQuery = {}): TraceEntry[] {
    return this.inner.query(q);
  }
}
