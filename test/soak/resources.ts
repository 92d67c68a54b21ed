// What a soak test watches in a proxy process: resident memory and open descriptors from /proc, the JS heap from admin /memory.
import { readdirSync, readFileSync } from 'node:fs';

export interface ResourceSample {
  /** Resident set size (VmRSS), bytes. */
  readonly rss: number;
  /** Live JS heap (admin /memory "allocated"), bytes. */
  readonly heap: number;
  /** Entries of /proc/<pid>/fd: sockets, files, pipes, epoll. */
  readonly fds: number;
}

export async function sampleProcess(pid: number, adminUrl: string): Promise<ResourceSample> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  const memory = (await (await fetch(`${adminUrl}/memory`)).json()) as { allocated: string };
  return { rss: rssKb * 1024, heap: Number(memory.allocated), fds: readdirSync(`/proc/${pid}/fd`).length };
}

export interface ResourceBound {
  /** Growth allowed over the warm-up baseline. */
  readonly rss: number;
  readonly heap: number;
  readonly fds: number;
}

export interface ResourceVerdict {
  readonly baseline: ResourceSample;
  /** The lowest value of each measure over the final window: garbage not yet collected is not a leak, a floor that rose is. */
  readonly final: ResourceSample;
  readonly peak: ResourceSample;
  readonly growth: ResourceSample;
}

const pick = (samples: readonly ResourceSample[], f: (values: number[]) => number): ResourceSample => ({
  rss: f(samples.map((s) => s.rss)),
  heap: f(samples.map((s) => s.heap)),
  fds: f(samples.map((s) => s.fds)),
});

/** Baseline: the highest value over the warm-up window (after connections and pools are established). */
export function verdict(warmup: readonly ResourceSample[], finalWindow: readonly ResourceSample[], all: readonly ResourceSample[]): ResourceVerdict {
  const baseline = pick(warmup, (v) => Math.max(...v));
  const final = pick(finalWindow, (v) => Math.min(...v));
  return {
    baseline,
    final,
    peak: pick(all, (v) => Math.max(...v)),
    growth: { rss: final.rss - baseline.rss, heap: final.heap - baseline.heap, fds: final.fds - baseline.fds },
  };
}

export const MiB = 1024 * 1024;
export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
