import type { Thresholds } from '../../../envoy/index.js';
import { socketAddressJson } from '../address.js';
import { json, text, wantsJson } from '../responses.js';
import type { AdminClusterInfo, AdminHandler, AdminHostInfo, AdminThresholds } from '../types.js';

// Envoy's circuit breaker defaults, per priority.
const DEFAULT_THRESHOLDS: Required<AdminThresholds> = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };
// Every Envoy host has these; the two gauges are typed GAUGE in the JSON form.
const HOST_COUNTERS = ['cx_connect_fail', 'cx_total', 'rq_error', 'rq_success', 'rq_timeout', 'rq_total'];
const HOST_GAUGES = ['cx_active', 'rq_active'];

/** A cluster's circuit_breakers.thresholds as /clusters wants them. */
export function adminCircuitBreakers(thresholds: readonly Thresholds[] | undefined): NonNullable<AdminClusterInfo['circuitBreakers']> {
  const out: NonNullable<AdminClusterInfo['circuitBreakers']> = {};
  for (const t of thresholds ?? []) {
    const value: AdminThresholds = {
      ...(t.max_connections !== undefined ? { maxConnections: t.max_connections } : {}),
      ...(t.max_pending_requests !== undefined ? { maxPendingRequests: t.max_pending_requests } : {}),
      ...(t.max_requests !== undefined ? { maxRequests: t.max_requests } : {}),
      ...(t.max_retries !== undefined ? { maxRetries: t.max_retries } : {}),
    };
    if (t.priority === 'HIGH') out.high = value;
    else out.default = value;
  }
  return out;
}

function thresholdsOf(cluster: AdminClusterInfo, priority: 'default' | 'high'): Required<AdminThresholds> {
  return { ...DEFAULT_THRESHOLDS, ...cluster.circuitBreakers?.[priority] };
}

function hostStats(host: AdminHostInfo): { counters: Array<[string, number]>; gauges: Array<[string, number]> } {
  const gauges = new Set(HOST_GAUGES);
  const all = new Map<string, number>([...HOST_COUNTERS, ...HOST_GAUGES].map((n) => [n, 0]));
  for (const [name, value] of Object.entries(host.stats)) all.set(name, value);
  const sorted = [...all.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { counters: sorted.filter(([n]) => !gauges.has(n)), gauges: sorted.filter(([n]) => gauges.has(n)) };
}

/** Why a host is unhealthy; an unhealthy host without a reason is taken as marked so by EDS. */
function unhealthyFlags(host: AdminHostInfo): string[] {
  if (host.healthy) return [];
  return host.healthFlags?.length ? host.healthFlags : ['failed_eds_health'];
}

/** Envoy's HostUtility::healthFlagsToString: "healthy", or "/flag/flag". */
function healthFlags(host: AdminHostInfo): string {
  return host.healthy ? 'healthy' : unhealthyFlags(host).map((f) => `/${f}`).join('');
}

function clusterText(cluster: AdminClusterInfo): string {
  const name = cluster.name;
  const lines = [`${name}::observability_name::${cluster.observabilityName ?? name}`];
  for (const priority of ['default', 'high'] as const) {
    const t = thresholdsOf(cluster, priority);
    lines.push(
      `${name}::${priority}_priority::max_connections::${t.maxConnections}`,
      `${name}::${priority}_priority::max_pending_requests::${t.maxPendingRequests}`,
      `${name}::${priority}_priority::max_requests::${t.maxRequests}`,
      `${name}::${priority}_priority::max_retries::${t.maxRetries}`,
    );
  }
  lines.push(`${name}::added_via_api::${cluster.addedViaApi}`);
  for (const host of cluster.hosts) {
    const at = `${name}::${host.id}`;
    const { counters, gauges } = hostStats(host);
    // Envoy prints counters and gauges together in name order.
    const stats = [...counters, ...gauges].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [stat, value] of stats) lines.push(`${at}::${stat}::${value}`);
    lines.push(
      `${at}::hostname::${host.hostname ?? ''}`,
      `${at}::health_flags::${healthFlags(host)}`,
      `${at}::weight::${host.weight}`,
      `${at}::region::${host.region ?? ''}`,
      `${at}::zone::${host.zone ?? ''}`,
      `${at}::sub_zone::${host.subZone ?? ''}`,
      `${at}::canary::false`,
      `${at}::priority::${host.priority ?? 0}`,
      `${at}::success_rate::-1`,
      `${at}::local_origin_success_rate::-1`,
    );
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** A uint64 SimpleMetric as proto3 JSON prints it: value as a string, zero values and COUNTER left out. */
function metric(name: string, value: number, gauge: boolean): Record<string, string> {
  return { ...(gauge ? { type: 'GAUGE' } : {}), ...(value ? { value: String(value) } : {}), name };
}

function thresholdsJson(t: Required<AdminThresholds>, high: boolean): Record<string, unknown> {
  return {
    ...(high ? { priority: 'HIGH' } : {}),
    max_connections: t.maxConnections,
    max_pending_requests: t.maxPendingRequests,
    max_requests: t.maxRequests,
    max_retries: t.maxRetries,
  };
}

function clusterJson(cluster: AdminClusterInfo): Record<string, unknown> {
  return {
    name: cluster.name,
    ...(cluster.addedViaApi ? { added_via_api: true } : {}),
    ...(cluster.hosts.length
      ? {
          host_statuses: cluster.hosts.map((host) => {
            const { counters, gauges } = hostStats(host);
            const flags = new Set(unhealthyFlags(host));
            const locality = { ...(host.region ? { region: host.region } : {}), ...(host.zone ? { zone: host.zone } : {}), ...(host.subZone ? { sub_zone: host.subZone } : {}) };
            return {
              address: socketAddressJson(host.id),
              stats: [...counters.map(([n, v]) => metric(n, v, false)), ...gauges.map(([n, v]) => metric(n, v, true))],
              health_status: {
                ...(flags.has('failed_active_hc') ? { failed_active_health_check: true } : {}),
                ...(flags.has('failed_outlier_check') ? { failed_outlier_check: true } : {}),
                eds_health_status: flags.has('failed_eds_health') ? 'UNHEALTHY' : 'HEALTHY',
              },
              weight: host.weight,
              ...(host.hostname ? { hostname: host.hostname } : {}),
              ...(host.priority ? { priority: host.priority } : {}),
              locality,
            };
          }),
        }
      : {}),
    circuit_breakers: { thresholds: [thresholdsJson(thresholdsOf(cluster, 'default'), false), thresholdsJson(thresholdsOf(cluster, 'high'), true)] },
    observability_name: cluster.observabilityName ?? cluster.name,
  };
}

/** GET /clusters: Envoy's "cluster::host::stat::value" text, or admin.v3.Clusters with ?format=json. */
export const clustersHandler: AdminHandler = {
  path: '/clusters',
  help: 'upstream cluster status',
  mutatesState: false,
  handle(request, context) {
    const clusters = [...context.options.clusters()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (wantsJson(request.query)) return json(200, { cluster_statuses: clusters.map(clusterJson) });
    return text(200, clusters.map(clusterText).join(''));
  },
};
