/**
 * Config for proxyless gRPC clients (@grpc/grpc-js-xds, grpc-go's xds resolver), after Istio's grpcgen.
 * Such a client resolves xds:///<host>:<port> by watching the listener of exactly that name, so every
 * visible service port gets:
 *   - an API listener "<host>:<port>" (no socket: an HttpConnectionManager taking RDS "<host>:<port>");
 *   - a RouteConfiguration "<host>:<port>" with the service's one virtual host, routed by the
 *     VirtualServices bound to "mesh" (weights, subsets, matches);
 *   - EDS clusters outbound|<port>|<subset>|<host> and their ClusterLoadAssignments.
 * gRPC validates every resource and NACKs the whole resource for one thing it cannot do, so only what it
 * supports is emitted: ROUND_ROBIN or RING_HASH, IP endpoints in weighted localities, forwarding routes.
 */
import { isIP } from 'node:net';
import type { ClusterLoadAssignment, Listener, Route, RouteConfiguration, TypedConfig } from '../../envoy/index.js';
import type { ClusterContext, ClusterSet } from './clusters.js';
import { destinationRuleFor, policyForPort, policyForSubset } from './destination-rule.js';
import type { EffectivePolicy } from './destination-rule.js';
import { loadAssignment, subsetEndpoints } from './endpoints.js';
import { ADS_CONFIG_SOURCE } from './envoy-ext.js';
import type { XdsCluster } from './envoy-ext.js';
import { httpConnectionManager } from './filters.js';
import { hostMatches } from './hosts.js';
import { buildHttpRoutes, defaultRetryPolicy, sortVirtualHostRoutes } from './http-routes.js';
import type { RouteContext } from './http-routes.js';
import type { DestinationRule, Subset } from './input.js';
import { clusterName, configPath } from './names.js';
import { endpointPort, findService } from './registry.js';
import type { RegistryService, ServicePort } from './registry.js';
import { sidecarDomains } from './sidecar.js';
import { MESH_GATEWAY } from './virtual-services.js';
import type { BoundVirtualService } from './virtual-services.js';
import { resourceRef } from './warnings.js';

export interface ProxylessContext {
  readonly routes: RouteContext;
  readonly clusters: ClusterContext;
  /** VirtualServices visible to the client; those bound to "mesh" route it. */
  readonly virtualServices: readonly BoundVirtualService[];
  readonly services: readonly RegistryService[];
}

export interface ProxylessResources {
  readonly listeners: Listener[];
  readonly routes: RouteConfiguration[];
  readonly clusters: ClusterSet;
}

/** Envoy's listener for library clients: api_listener instead of filter chains. */
export interface ApiListener extends Listener {
  api_listener: { api_listener: TypedConfig };
}

const MESH = new Set([MESH_GATEWAY]);

/** The name a gRPC client dials (xds:///<host>:<port>): its listener and route config are named after it. */
export function proxylessTarget(host: string, port: number): string {
  return `${host}:${port}`;
}

function apiListener(service: RegistryService, port: ServicePort): ApiListener {
  const name = proxylessTarget(service.hostname, port.number);
  const hcm = httpConnectionManager({ statPrefix: `outbound_${name}`, rds: name }).typed_config as TypedConfig;
  // The address is informational (Istio sets the service VIP); gRPC never binds it.
  const address = service.addresses.find((a) => !a.includes('/')) ?? '0.0.0.0';
  return { name, address: { socket_address: { address, port_value: port.number } }, api_listener: { api_listener: hcm } };
}

/** Routes gRPC could not follow are left out: it NACKs redirects and direct responses, and has no query strings. */
function grpcRoutes(ctx: ProxylessContext, vs: BoundVirtualService, routes: readonly Route[]): Route[] {
  const ref = resourceRef('VirtualService', vs.namespace, vs.name);
  return routes.filter((r) => {
    if (r.redirect || r.direct_response) {
      ctx.clusters.warn(ref, `route ${r.name ?? '(unnamed)'}: redirect and directResponse are not supported by proxyless gRPC; the route is left out for ${ctx.routes.proxy.id}`);
      return false;
    }
    if (r.match.query_parameters?.length) {
      ctx.clusters.warn(ref, `route ${r.name ?? '(unnamed)'}: gRPC requests carry no query parameters; the route can never match and is left out`);
      return false;
    }
    return true;
  });
}

function routeConfiguration(ctx: ProxylessContext, service: RegistryService, port: ServicePort): RouteConfiguration {
  const name = proxylessTarget(service.hostname, port.number);
  let routes: Route[] | undefined;
  // As for sidecars: the first VirtualService bound to "mesh" that routes this host and port wins.
  for (const vs of ctx.virtualServices) {
    if (!vs.gateways.includes(MESH_GATEWAY) || !vs.hosts.some((h) => hostMatches(h, service.hostname))) continue;
    const built = buildHttpRoutes(ctx.routes, vs, port.number, MESH);
    if (built.length === 0) continue;
    routes = sortVirtualHostRoutes(grpcRoutes(ctx, vs, built));
    break;
  }
  routes ??= [{ name: 'default', match: { prefix: '/' }, route: { cluster: clusterName(port.number, service.hostname), timeout: '0s', retry_policy: defaultRetryPolicy() } }];
  const domains = sidecarDomains(service, port.number, ctx.routes.proxy.namespace, ctx.routes.domainSuffix);
  return { name, virtual_hosts: [{ name, domains, routes }] };
}

/** gRPC balances with round robin (or a ring hash); Istio's other simple policies have no gRPC equivalent. */
function lbPolicy(policy: EffectivePolicy, warn: (message: string) => void): 'ROUND_ROBIN' | 'RING_HASH' {
  const lb = policy.loadBalancer;
  if (lb?.consistentHash) {
    warn('loadBalancer.consistentHash: the cluster uses RING_HASH but the hash key (route hash_policy) is not emitted; gRPC hashes each call at random');
    return 'RING_HASH';
  }
  if (lb?.simple && lb.simple !== 'ROUND_ROBIN' && lb.simple !== 'UNSPECIFIED') warn(`loadBalancer.simple ${lb.simple} is not supported by proxyless gRPC; ROUND_ROBIN is used`);
  return 'ROUND_ROBIN';
}

/** gRPC drops a locality without a weight and refuses one without a locality: both are always set. */
function weightedAssignment(assignment: ClusterLoadAssignment): ClusterLoadAssignment {
  return {
    ...assignment,
    endpoints: (assignment.endpoints ?? []).map((l) => ({
      ...l,
      locality: l.locality ?? {},
      load_balancing_weight: (l.lb_endpoints ?? []).reduce((sum, e) => sum + (e.load_balancing_weight ?? 1), 0),
    })),
  };
}

interface ClusterRequest {
  readonly service: RegistryService;
  readonly port: ServicePort;
  readonly dr: DestinationRule | undefined;
  readonly subset?: Subset;
}

function buildCluster(ctx: ClusterContext, req: ClusterRequest, out: ClusterSet): void {
  const { service, port, dr, subset } = req;
  const name = clusterName(port.number, service.hostname, subset?.name ?? '');
  const ref = dr ? resourceRef('DestinationRule', dr.metadata.namespace ?? 'default', dr.metadata.name) : service.source;
  const warn = (message: string): void => ctx.warn(ref, `${name}: ${message}`);
  const warnEndpoints = (message: string): void => ctx.warn(service.source, `${name}: ${message}`);
  const policy = subset ? policyForSubset(dr?.spec.trafficPolicy, subset.trafficPolicy, port.number) : policyForPort(dr?.spec.trafficPolicy, port.number).policy;
  const tlsMode = policy.tls?.mode;
  if (tlsMode && tlsMode !== 'DISABLE') {
    // No certificate-provider config is generated yet: better no cluster (calls fail) than plaintext.
    warn(`tls mode ${tlsMode} is not generated for proxyless gRPC; the cluster is left out so that calls fail instead of going out in plaintext`);
    return;
  }
  const istio: Record<string, unknown> = { services: [{ host: service.hostname, name: service.hostname, namespace: service.namespace }] };
  if (dr) istio.config = configPath('destination-rule', dr.metadata.namespace ?? 'default', dr.metadata.name);
  if (subset) istio.subset = subset.name;
  const cluster: XdsCluster = { name, lb_policy: lbPolicy(policy, warn), metadata: { filter_metadata: { istio } } };
  // gRPC honours max_requests (concurrent calls per cluster); other pool settings are Envoy's.
  const maxRequests = policy.connectionPool?.http?.http2MaxRequests;
  if (maxRequests) cluster.circuit_breakers = { thresholds: [{ priority: 'DEFAULT', max_requests: maxRequests }] };

  const endpoints = subsetEndpoints(service, subset?.labels);
  const dns = service.resolution === 'DNS' || service.resolution === 'DNS_ROUND_ROBIN';
  if (dns && (service.endpoints.length === 0 || endpoints.some((e) => isIP(e.address) === 0))) {
    // gRPC resolves one DNS name itself (LOGICAL_DNS); EDS endpoints must be IP addresses.
    const first = endpoints[0];
    if (endpoints.length > 1) warnEndpoints(`gRPC resolves one DNS name per cluster; only ${first?.address ?? ''} is used`);
    const address = first?.address ?? service.hostname;
    const portValue = first ? endpointPort(service, first, port) : port.number;
    cluster.type = 'LOGICAL_DNS';
    cluster.load_assignment = { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: portValue } } } }] }] };
    out.clusters.push(cluster);
    return;
  }
  const ips = endpoints.filter((e) => isIP(e.address) !== 0);
  if (ips.length < endpoints.length) warnEndpoints(`endpoints that are not IP addresses are left out (${endpoints.filter((e) => isIP(e.address) === 0).map((e) => e.address).join(', ')})`);
  cluster.type = 'EDS';
  cluster.eds_cluster_config = { service_name: name, eds_config: ADS_CONFIG_SOURCE };
  out.clusters.push(cluster);
  out.endpoints.push(weightedAssignment(loadAssignment(name, service, port, ips)));
}

/** One service per host name, the one the client's namespace sees first (a host may exist in several namespaces). */
function distinctServices(ctx: ProxylessContext): RegistryService[] {
  const hosts = [...new Set(ctx.services.map((s) => s.hostname))];
  return hosts.flatMap((h) => findService(ctx.routes.registry, h, ctx.routes.proxy.namespace) ?? []);
}

export function buildProxyless(ctx: ProxylessContext): ProxylessResources {
  const out: ProxylessResources = { listeners: [], routes: [], clusters: { clusters: [], endpoints: [] } };
  for (const service of distinctServices(ctx)) {
    if (service.resolution === 'NONE') {
      ctx.clusters.warn(service.source, `resolution NONE (original destination) has no meaning for proxyless gRPC: no listener for ${service.hostname}`);
      continue;
    }
    const dr = destinationRuleFor(ctx.clusters.drIndex, ctx.clusters.proxy, service.hostname, service.namespace);
    for (const port of service.ports) {
      if (port.protocol === 'UDP') continue;
      out.listeners.push(apiListener(service, port));
      out.routes.push(routeConfiguration(ctx, service, port));
      buildCluster(ctx.clusters, { service, port, dr }, out.clusters);
      for (const subset of dr?.spec.subsets ?? []) buildCluster(ctx.clusters, { service, port, dr, subset }, out.clusters);
    }
  }
  return out;
}
