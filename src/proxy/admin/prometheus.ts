import type { StatSample } from '../stats.js';
import { extractTags } from './tag-extraction.js';

/**
 * Prometheus text exposition of Envoy stats, as Envoy's /stats/prometheus writes it: the name is
 * "envoy_" + the tag-extracted name with [^a-zA-Z0-9_] replaced by "_", tags become labels, and each
 * metric is one group (TYPE line, then its series sorted by stat name); counters first, then gauges.
 */
const sanitize = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, '_');
const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

interface Series {
  stat: string;
  labels: string;
  value: number;
}

/**
 * Envoy's default cluster_name rule takes one dot-free token; Istio adds rules for its names. We know
 * the cluster names, so a stat under a known name gets the whole name as its label.
 */
function extractWithClusters(stat: string, clusters: readonly string[]): ReturnType<typeof extractTags> {
  if (stat.startsWith('cluster.')) {
    const name = clusters.filter((c) => c.includes('.') && stat.startsWith(`cluster.${c}.`)).sort((a, b) => b.length - a.length)[0];
    if (name) {
      const inner = extractTags(`cluster.x.${stat.slice(`cluster.${name}.`.length)}`);
      return { ...inner, tags: inner.tags.map((t) => (t.name === 'envoy.cluster_name' ? { ...t, value: name } : t)) };
    }
  }
  return extractTags(stat);
}

export function prometheusText(samples: readonly StatSample[], clusterNames: readonly string[] = []): string {
  let out = '';
  for (const type of ['counter', 'gauge'] as const) {
    const groups = new Map<string, Series[]>();
    for (const sample of samples) {
      if (sample.type !== type) continue;
      const { name, tags } = extractWithClusters(sample.name, clusterNames);
      const metric = `envoy_${sanitize(name)}`;
      const labels = tags.map((t) => `${sanitize(t.name)}="${escapeLabel(t.value)}"`).join(',');
      const series = groups.get(metric) ?? [];
      series.push({ stat: sample.name, labels, value: sample.value });
      groups.set(metric, series);
    }
    for (const metric of [...groups.keys()].sort()) {
      out += `# TYPE ${metric} ${type}\n`;
      const series = (groups.get(metric) as Series[]).sort((a, b) => (a.stat < b.stat ? -1 : a.stat > b.stat ? 1 : 0));
      for (const s of series) out += `${metric}{${s.labels}} ${s.value}\n`;
      out += '\n';
    }
  }
  return out;
}
