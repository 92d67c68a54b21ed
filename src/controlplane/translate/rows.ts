/**
 * The rows of `istioctl proxy-config routes|listeners|clusters|endpoints`, computed from xDS resources
 * the way istioctl reads them from a config dump, so the CLI can print the same tables.
 */
import type { Cluster, ClusterLoadAssignment, FilterChain, Listener, Route, RouteConfiguration, RouteMatch, TypedExtension } from '../../envoy/index.js';
import { parseClusterName } from './names.js';

/** Byte order, as Go's string comparison in istioctl (not locale order). */
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export interface RouteRow {
  readonly name: string;
  readonly domains: string;
  readonly match: string;
  readonly virtualService: string;
}

export interface ListenerRow {
  readonly address: string;
  readonly port: number;
  readonly match: string;
  readonly destination: string;
}

export interface ClusterRow {
  readonly serviceFqdn: string;
  readonly port: string;
  readonly subset: string;
  readonly direction: string;
  readonly type: string;
  readonly destinationRule: string;
}

export interface EndpointRow {
  readonly endpoint: string;
  readonly status: string;
  readonly outlierCheck: string;
  readonly cluster: string;
}

/** One domain as is; several: those without a port, shorter Kubernetes forms preferred, at most two. */
export function describeDomains(domains: readonly string[]): string {
  if (domains.length === 0) return '';
  if (domains.length === 1) return domains[0] ?? '';
  const withoutPort = domains.filter((d) => !d.includes(':') || (d.split(':').length > 3 && d.endsWith(']')));
  const unique = new Set(withoutPort);
  const shorter = withoutPort.filter((d) => {
    const full = d.endsWith('.svc.cluster.local') && unique.has(d.slice(0, -'.svc.cluster.local'.length));
    const partial = d.endsWith('.svc') && unique.has(d.slice(0, -'.svc'.length));
    return !full && !partial;
  });
  if (shorter.length > 2) return `${shorter.slice(0, 2).join(', ')} + ${shorter.length - 2} more...`;
  return shorter.join(', ');
}

export function describeMatch(match: RouteMatch | undefined): string {
  if (!match) return '';
  const conds: string[] = [];
  if (match.prefix !== undefined) conds.push(`${match.prefix}*`);
  if (match.path !== undefined) conds.push(match.path);
  if (match.safe_regex) conds.push(`regex ${match.safe_regex.regex}`);
  return conds.join(' ');
}

/** "<name>.<namespace>" from Istio's config path in route metadata. */
export function describeManagement(metadata: unknown): string {
  const config = (metadata as { filter_metadata?: { istio?: { config?: unknown } } } | undefined)?.filter_metadata?.istio?.config;
  if (typeof config !== 'string') return '';
  if (!config.startsWith('/apis/networking.istio.io/v1alpha3/namespaces/')) return '<unknown>';
  const pieces = config.split('/');
  return pieces.length === 8 ? `${pieces[7]}.${pieces[5]}` : '';
}

function isPassthrough(route: Route): boolean {
  return route.route?.cluster === 'PassthroughCluster';
}

/** Inline route configs of listeners' HTTP connection managers (Envoy's static route configs). */
export function inlineRouteConfigs(listeners: readonly Listener[]): RouteConfiguration[] {
  const out: RouteConfiguration[] = [];
  for (const l of listeners) {
    for (const fc of [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])]) {
      for (const f of fc.filters ?? []) {
        const rc = f.typed_config?.route_config as RouteConfiguration | undefined;
        if (f.name === 'envoy.filters.network.http_connection_manager' && rc) out.push(rc);
      }
    }
  }
  return out;
}

/**
 * `proxy-config routes` rows: RDS routes (numeric names sorted first, as istioctl does), then, when
 * listeners are given, the inline route configs, which have no name.
 */
export function routeRows(routes: readonly RouteConfiguration[], listeners: readonly Listener[] = []): RouteRow[] {
  const numeric = (r: RouteConfiguration): number => (/^\d+$/.test(r.name ?? '') ? Number(r.name) : Number.POSITIVE_INFINITY);
  const sorted = [...routes].sort((a, b) => numeric(a) - numeric(b) || 0);
  const rows: RouteRow[] = [];
  for (const rc of [...sorted, ...inlineRouteConfigs(listeners)]) {
    for (const vh of rc.virtual_hosts ?? []) {
      for (const r of vh.routes ?? []) {
        if (!isPassthrough(r)) rows.push({ name: rc.name ?? '', domains: describeDomains(vh.domains), match: describeMatch(r.match), virtualService: describeManagement(r.metadata) });
      }
      if ((vh.routes ?? []).length === 0) rows.push({ name: rc.name ?? '', domains: describeDomains(vh.domains), match: '/*', virtualService: '404' });
    }
  }
  return rows;
}

const PROTOCOL_DESCRIPTIONS: ReadonlyArray<[string, readonly string[]]> = [
  ['App: HTTP TLS', ['http/1.0', 'http/1.1', 'h2c', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2']],
  ['App: Istio HTTP Plain', ['istio', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2']],
  ['App: TCP TLS', ['istio-peer-exchange', 'istio']],
  ['App: HTTP', ['http/1.0', 'http/1.1', 'h2c']],
];

function describeChainMatch(fc: FilterChain): string {
  const m = fc.filter_chain_match ?? {};
  const descrs: string[] = [];
  if (m.server_names?.length) descrs.push(`SNI: ${m.server_names.join(',')}`);
  if (m.transport_protocol) descrs.push(`Trans: ${m.transport_protocol}`);
  if (m.application_protocols?.length) {
    const known = PROTOCOL_DESCRIPTIONS.find(([, list]) => list.length === m.application_protocols?.length && list.every((p, i) => m.application_protocols?.[i] === p));
    descrs.push(known ? known[0] : `App: ${m.application_protocols.join(',')}`);
  }
  const port = m.destination_port !== undefined ? `:${m.destination_port}` : '';
  if (m.prefix_ranges?.length) descrs.push(`Addr: ${m.prefix_ranges.map((p) => `${p.address_prefix}/${p.prefix_len ?? 0}`).join(',')}${port}`);
  else if (port) descrs.push(`Addr: *${port}`);
  return descrs.length > 0 ? descrs.join('; ') : 'ALL';
}

function describeInlineRoute(rc: RouteConfiguration): string {
  const vhs = rc.virtual_hosts ?? [];
  const only = vhs[0]?.routes?.[0];
  if (vhs.length === 1 && vhs[0]?.domains.length === 1 && vhs[0].domains[0] === '*' && vhs[0].routes?.length === 1 && only?.match.prefix === '/' && only.route?.cluster) {
    return only.route.cluster.includes('Cluster') ? only.route.cluster : `Cluster: ${only.route.cluster}`;
  }
  const described = vhs.map((vh) => {
    const domains = vh.domains.length === 1 && vh.domains[0] === '*' ? '' : vh.domains.join('/');
    const matches = (vh.routes ?? []).map((r) => describeMatch(r.match)).join(', ');
    return domains ? `${domains} ${matches}` : matches;
  });
  return `Inline Route: ${described.join('; ')}`;
}

function describeDestination(filters: readonly TypedExtension[]): string {
  for (const f of filters) {
    const config: Record<string, unknown> = f.typed_config ?? {};
    if (f.name === 'envoy.filters.network.http_connection_manager') {
      if (config.route_config) return describeInlineRoute(config.route_config as RouteConfiguration);
      const rds = (config.rds as { route_config_name?: string } | undefined)?.route_config_name;
      return rds ? `Route: ${rds}` : 'HTTP';
    }
    if (f.name === 'envoy.filters.network.tcp_proxy') {
      const cluster = config.cluster;
      if (typeof cluster === 'string') return cluster.includes('Cluster') ? cluster : `Cluster: ${cluster}`;
      const weighted = (config.weighted_clusters as { clusters?: Array<{ name: string; weight: number }> } | undefined)?.clusters ?? [];
      return `Cluster: ${weighted.map((c) => `${c.name} (${c.weight})`).join(', ')}`;
    }
  }
  return 'Non-HTTP/Non-TCP';
}

export interface ListenerFilter {
  readonly port?: number;
  readonly address?: string;
}

/** `proxy-config listeners` rows: listeners by port then address; a listener's chains by destination, descending. */
export function listenerRows(listeners: readonly Listener[], filter: ListenerFilter = {}): ListenerRow[] {
  const selected = listeners.filter(
    (l) => (filter.port === undefined || l.address.socket_address.port_value === filter.port) && (filter.address === undefined || l.address.socket_address.address === filter.address),
  );
  selected.sort((a, b) => (a.address.socket_address.port_value ?? 0) - (b.address.socket_address.port_value ?? 0) || cmp(a.address.socket_address.address, b.address.socket_address.address));
  const rows: ListenerRow[] = [];
  for (const l of selected) {
    const chains = [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])];
    const matches = chains.map((fc) => ({ match: describeChainMatch(fc), destination: describeDestination(fc.filters ?? []) }));
    matches.sort((a, b) => (a.destination > b.destination ? -1 : a.destination < b.destination ? 1 : 0));
    for (const m of matches) rows.push({ address: l.address.socket_address.address, port: l.address.socket_address.port_value ?? 0, ...m });
  }
  return rows;
}

/** `proxy-config clusters` rows, sorted as istioctl sorts: by host, subset, port, direction. */
export function clusterRows(clusters: readonly Cluster[]): ClusterRow[] {
  const keyed = clusters.map((c) => {
    const parsed = c.name.includes('|') ? parseClusterName(c.name) : undefined;
    return { c, parsed, host: parsed?.host ?? c.name, subset: parsed?.subset ?? '', port: parsed?.port ?? 0, direction: parsed?.direction ?? '' };
  });
  keyed.sort((a, b) => cmp(a.host, b.host) || cmp(a.subset, b.subset) || a.port - b.port || cmp(a.direction, b.direction));
  return keyed.map(({ c, parsed }) => ({
    serviceFqdn: parsed ? parsed.host : c.name,
    port: parsed ? String(parsed.port) : '-',
    subset: parsed ? parsed.subset || '-' : '-',
    direction: parsed ? parsed.direction : '-',
    type: c.type ?? 'STATIC',
    destinationRule: describeManagement((c as { metadata?: unknown }).metadata),
  }));
}

/** `proxy-config endpoints` rows of assignments (what EDS sent; health as the assignment states it). */
export function endpointRows(assignments: ClusterLoadAssignment | readonly ClusterLoadAssignment[]): EndpointRow[] {
  const list: readonly ClusterLoadAssignment[] = Array.isArray(assignments) ? assignments : [assignments as ClusterLoadAssignment];
  const rows: EndpointRow[] = [];
  for (const cla of list) {
    for (const group of cla.endpoints ?? []) {
      for (const lb of group.lb_endpoints ?? []) {
        const sa = lb.endpoint.address.socket_address;
        const status = lb.health_status && lb.health_status !== 'UNKNOWN' ? lb.health_status : 'HEALTHY';
        rows.push({ endpoint: `${sa.address}:${sa.port_value ?? 0}`, status, outlierCheck: 'OK', cluster: cla.cluster_name ?? '' });
      }
    }
  }
  rows.sort((a, b) => cmp(a.cluster, b.cluster) || cmp(a.endpoint, b.endpoint));
  return rows;
}
