import type { StatSample, StatsStore } from '../stats.js';

/** The stats /stats and /stats/prometheus show after ?filter=, ?usedonly and ?type=, or why the query is bad. */
export type StatsSelection = { ok: true; samples: StatSample[] } | { ok: false; error: string };

const TYPES: Record<string, ReadonlySet<StatSample['type']>> = {
  All: new Set(['counter', 'gauge']),
  Counters: new Set(['counter']),
  Gauges: new Set(['gauge']),
  // Isthmus keeps no histograms or text readouts yet.
  Histograms: new Set(),
  TextReadouts: new Set(),
};

const byteOrder = (a: StatSample, b: StatSample): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function selectStats(stats: StatsStore, query: URLSearchParams): StatsSelection {
  let filter: RegExp | undefined;
  const pattern = query.get('filter');
  if (pattern) {
    try {
      filter = new RegExp(pattern);
    } catch (err) {
      return { ok: false, error: `Invalid regex: ${(err as Error).message}\n` };
    }
  }
  const typeName = query.get('type') ?? 'All';
  const types = TYPES[typeName];
  if (!types) return { ok: false, error: `invalid type=${typeName}; use one of ${Object.keys(TYPES).join(', ')}\n` };
  // Envoy's "used" means ever updated; the store does not track that, so a non-zero value stands in.
  const usedOnly = query.has('usedonly');
  const samples = stats
    .samples()
    .filter((s) => types.has(s.type) && (!filter || filter.test(s.name)) && (!usedOnly || s.value !== 0))
    .sort(byteOrder);
  return { ok: true, samples };
}
