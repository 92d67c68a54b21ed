/**
 * What resources refer to: RDS names in listeners, clusters in routes and tcp_proxy, EDS names in
 * clusters, SDS secrets anywhere. Used to filter gateway clusters, list secrets and check consistency
 * (go-control-plane's consistent(): every RDS name has a route, every EDS name an assignment).
 */
import type { ClusterLoadAssignment, Listener, RouteConfiguration } from '../../envoy/index.js';
import type { XdsCluster } from './envoy-ext.js';

function walk(value: unknown, visit: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(value)) value.forEach((v) => walk(v, visit));
  else if (value !== null && typeof value === 'object') {
    visit(value as Record<string, unknown>);
    Object.values(value as Record<string, unknown>).forEach((v) => walk(v, visit));
  }
}

export function referencedRouteNames(listeners: readonly Listener[]): Set<string> {
  const out = new Set<string>();
  walk(listeners, (n) => {
    const rds = n.rds as { route_config_name?: unknown } | undefined;
    if (rds && typeof rds.route_config_name === 'string') out.add(rds.route_config_name);
  });
  return out;
}

/** Clusters named by routes (cluster, weighted_clusters) and by tcp_proxy filters. */
export function referencedClusters(listeners: readonly Listener[], routes: readonly RouteConfiguration[]): Set<string> {
  const out = new Set<string>();
  walk([listeners, routes], (n) => {
    if (typeof n.cluster === 'string') out.add(n.cluster);
    const weighted = n.weighted_clusters as { clusters?: Array<{ name?: unknown }> } | undefined;
    for (const c of weighted?.clusters ?? []) if (typeof c.name === 'string') out.add(c.name);
  });
  return out;
}

export function referencedEdsNames(clusters: readonly XdsCluster[]): Set<string> {
  return new Set(clusters.flatMap((c) => (c.type === 'EDS' ? [c.eds_cluster_config?.service_name ?? c.name] : [])));
}

/** SDS secret names (SdsSecretConfig: a name with an sds_config). */
export function referencedSecrets(resources: readonly unknown[]): string[] {
  const out = new Set<string>();
  walk(resources, (n) => {
    if (typeof n.name === 'string' && n.sds_config !== undefined) out.add(n.name);
  });
  return [...out].sort();
}

export interface ConsistencyInput {
  readonly listeners: readonly Listener[];
  readonly routes: readonly RouteConfiguration[];
  readonly clusters: readonly XdsCluster[];
  readonly endpoints: readonly ClusterLoadAssignment[];
}

/** Problems that would leave a proxy waiting or routing nowhere; empty when the set is consistent. */
export function checkConsistency(set: ConsistencyInput, options: { routeClusters?: boolean } = {}): string[] {
  const problems: string[] = [];
  const routeNames = new Set(set.routes.map((r) => r.name));
  for (const name of referencedRouteNames(set.listeners)) if (!routeNames.has(name)) problems.push(`RDS route "${name}" is referenced by a listener but not produced`);
  const claNames = new Set(set.endpoints.map((e) => e.cluster_name));
  for (const name of referencedEdsNames(set.clusters)) if (!claNames.has(name)) problems.push(`EDS assignment "${name}" is referenced by a cluster but not produced`);
  const clusterNames = new Set(set.clusters.map((c) => c.name));
  const tcpOnly = referencedClusters(set.listeners.map((l) => ({ ...l, filter_chains: l.filter_chains?.map((fc) => ({ ...fc, filters: fc.filters?.filter((f) => f.name === 'envoy.filters.network.tcp_proxy') })) })), []);
  const referenced = options.routeClusters ? referencedClusters(set.listeners, set.routes) : tcpOnly;
  for (const name of referenced) if (!clusterNames.has(name)) problems.push(`cluster "${name}" is referenced but not produced`);
  return problems;
}
