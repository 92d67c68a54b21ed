import { prometheusText } from '../prometheus.js';
import { json, text } from '../responses.js';
import { selectStats } from '../stats-query.js';
import type { AdminHandler, AdminResponse, AdminServerOptions } from '../types.js';

/** Cluster names with dots ("outbound|443||alb.example.com") stay whole in the envoy_cluster_name label. */
const clusterNames = (options: AdminServerOptions): string[] => options.clusters().map((c) => c.name);

/** GET /stats: "name: value" lines, ?format=json ({"stats":[{name,value}]}) or ?format=prometheus. */
export const statsHandler: AdminHandler = {
  path: '/stats',
  help: 'print server stats',
  mutatesState: false,
  handle(request, context): AdminResponse {
    const format = request.query.get('format') ?? 'text';
    if (!['text', 'json', 'prometheus'].includes(format)) return text(400, 'usage: /stats?format=(json|prometheus|text)\n');
    const selection = selectStats(context.options.stats, request.query);
    if (!selection.ok) return text(400, selection.error);
    if (format === 'prometheus') return { status: 200, contentType: 'prometheus', body: prometheusText(selection.samples, clusterNames(context.options)) };
    if (format === 'json') return json(200, { stats: selection.samples.map((s) => ({ name: s.name, value: s.value })) });
    return text(200, selection.samples.map((s) => `${s.name}: ${s.value}\n`).join(''));
  },
};

/** GET /stats/prometheus: the Prometheus text exposition (also ?filter= and ?usedonly). */
export const prometheusHandler: AdminHandler = {
  path: '/stats/prometheus',
  help: 'print server stats in prometheus format',
  mutatesState: false,
  handle(request, context): AdminResponse {
    const selection = selectStats(context.options.stats, request.query);
    if (!selection.ok) return text(400, selection.error);
    return { status: 200, contentType: 'prometheus', body: prometheusText(selection.samples, clusterNames(context.options)) };
  },
};
