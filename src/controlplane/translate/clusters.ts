/**
 * Outbound clusters of the services a proxy sees: one per service port (outbound|<port>||<host>) and
 * one per DestinationRule subset (outbound|<port>|<subset>|<host>), with the rule's traffic policy and
 * TLS. ServiceEntry DNS resolution gives STRICT_DNS clusters with inline endpoints; STATIC and mesh
 * services give EDS clusters whose endpoints are returned as ClusterLoadAssignments.
 */
import type { ClusterLoadAssignment } from '../../envoy/index.js';
import { applyTrafficPolicy } from './cluster-policy.js';
import { destinationRuleFor, policyForPort, policyForSubset } from './destination-rule.js';
import type { DestinationRuleIndex, EffectivePolicy } from './destination-rule.js';
import { dnsLoadAssignment, loadAssignment, subsetEndpoints } from './endpoints.js';
import { ADS_CONFIG_SOURCE } from './envoy-ext.js';
import type { XdsCluster } from './envoy-ext.js';
import type { ClientTlsSettings, DestinationRule, ProxyNode, Subset } from './input.js';
import { clusterName, configPath, sniClusterName, spiffeId } from './names.js';
import { isHttp2Protocol } from './protocol.js';
import type { RegistryService, ServiceEndpoint, ServicePort } from './registry.js';
import { buildUpstreamTls, tlsTransportSocket } from './tls.js';
import type { TrustOptions } from './tls.js';
import type { WarningSink } from './warnings.js';

export interface ClusterContext {
  readonly proxy: ProxyNode;
  readonly drIndex: DestinationRuleIndex;
  readonly trustDomain: string;
  readonly connectTimeout: string;
  readonly dnsRefreshRate: string;
  readonly trust: TrustOptions;
  readonly enableAutoSni: boolean;
  readonly enableAutoMtls: boolean;
  readonly warn: WarningSink;
}

export interface ClusterSet {
  readonly clusters: XdsCluster[];
  readonly endpoints: ClusterLoadAssignment[];
}

/** standard: Istio's outbound clusters; sni-dnat: AUTO_PASSTHROUGH targets, TLS passed through untouched. */
export type ClusterMode = 'standard' | 'sni-dnat';

const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

function drRef(dr: DestinationRule): string {
  return `DestinationRule/${dr.metadata.namespace ?? 'default'}/${dr.metadata.name}`;
}

function serviceSans(ctx: ClusterContext, service: RegistryService, endpoints: readonly ServiceEndpoint[]): string[] {
  if (service.subjectAltNames.length > 0) return [...service.subjectAltNames];
  const accounts = new Set(endpoints.flatMap((e) => (e.serviceAccount ? [e.serviceAccount] : [])));
  return [...accounts].sort().map((sa) => (sa.includes('://') ? sa : spiffeId(ctx.trustDomain, service.namespace, sa)));
}

/** Istio's auto mTLS: mesh endpoints that all carry the Istio TLS mode label get ISTIO_MUTUAL. */
function autoMtls(ctx: ClusterContext, service: RegistryService, endpoints: readonly ServiceEndpoint[]): ClientTlsSettings | undefined {
  if (!ctx.enableAutoMtls || service.meshExternal || endpoints.length === 0) return undefined;
  return endpoints.every((e) => e.labels[TLS_MODE_LABEL] === 'istio') ? { mode: 'ISTIO_MUTUAL' } : undefined;
}

interface ClusterRequest {
  readonly service: RegistryService;
  readonly port: ServicePort;
  readonly subset?: Subset;
  readonly dr?: DestinationRule;
  readonly mode: ClusterMode;
}

function buildOne(ctx: ClusterContext, req: ClusterRequest, out: ClusterSet): void {
  const { service, port, subset, dr, mode } = req;
  const name = mode === 'sni-dnat' ? sniClusterName(port.number, service.hostname, subset?.name ?? '') : clusterName(port.number, service.hostname, subset?.name ?? '');
  const endpoints = subsetEndpoints(service, subset?.labels);
  const cluster: XdsCluster = { name };
  let cla: ClusterLoadAssignment | undefined;
  switch (service.resolution) {
    case 'DNS':
    case 'DNS_ROUND_ROBIN': {
      const assignment = dnsLoadAssignment(name, service, port, endpoints);
      if (service.resolution === 'DNS_ROUND_ROBIN') {
        // LOGICAL_DNS takes exactly one host name.
        const first = assignment.endpoints?.[0]?.lb_endpoints?.[0];
        assignment.endpoints = first ? [{ lb_endpoints: [first] }] : [];
      }
      cluster.type = service.resolution === 'DNS' ? 'STRICT_DNS' : 'LOGICAL_DNS';
      cluster.load_assignment = assignment;
      cluster.dns_lookup_family = 'V4_ONLY';
      cluster.dns_refresh_rate = ctx.dnsRefreshRate;
      cluster.respect_dns_ttl = true;
      break;
    }
    default:
      cluster.type = 'EDS';
      cluster.eds_cluster_config = { service_name: name, eds_config: ADS_CONFIG_SOURCE };
      cla = loadAssignment(name, service, port, endpoints);
  }

  const policy: EffectivePolicy = subset ? policyForSubset(dr?.spec.trafficPolicy, subset.trafficPolicy, port.number) : policyForPort(dr?.spec.trafficPolicy, port.number).policy;
  const http2 = isHttp2Protocol(port.protocol);
  let autoSni = false;
  let autoSanValidation = false;
  if (mode === 'standard') {
    const tls = policy.tls ?? autoMtls(ctx, service, endpoints);
    const upstream = buildUpstreamTls({
      tls,
      clusterName: name,
      istioMtlsSni: sniClusterName(port.number, service.hostname, subset?.name ?? ''),
      credentialsAllowed: ctx.proxy.type === 'router' || dr?.spec.workloadSelector !== undefined,
      http2,
      defaultSans: serviceSans(ctx, service, endpoints),
      trust: ctx.trust,
      enableAutoSni: ctx.enableAutoSni,
    });
    for (const w of upstream.warnings) ctx.warn(dr ? drRef(dr) : service.source, w);
    if (upstream.context) cluster.transport_socket = tlsTransportSocket(upstream.context, true);
    autoSni = upstream.autoSni;
    autoSanValidation = upstream.autoSanValidation;
  }
  for (const w of applyTrafficPolicy(cluster, policy, { defaultConnectTimeout: ctx.connectTimeout, http2, autoSni, autoSanValidation })) {
    ctx.warn(dr ? drRef(dr) : service.source, w);
  }

  const istio: Record<string, unknown> = { services: [{ host: service.hostname, name: service.hostname, namespace: service.namespace }] };
  if (dr) istio.config = configPath('destination-rule', dr.metadata.namespace ?? 'default', dr.metadata.name);
  if (subset) istio.subset = subset.name;
  cluster.metadata = { filter_metadata: { istio } };

  out.clusters.push(cluster);
  if (cla && cluster.type === 'EDS') out.endpoints.push(cla);
}

/** The clusters of one service: every port, and every subset of its DestinationRule. */
export function buildServiceClusters(ctx: ClusterContext, service: RegistryService, mode: ClusterMode = 'standard', out: ClusterSet = { clusters: [], endpoints: [] }): ClusterSet {
  if (service.resolution === 'NONE') {
    ctx.warn(service.source, `resolution NONE (original destination) is not supported: no cluster for ${service.hostname}`);
    return out;
  }
  const dr = destinationRuleFor(ctx.drIndex, ctx.proxy, service.hostname, service.namespace);
  for (const port of service.ports) {
    if (port.protocol === 'UDP') continue;
    buildOne(ctx, { service, port, ...(dr ? { dr } : {}), mode }, out);
    for (const subset of dr?.spec.subsets ?? []) buildOne(ctx, { service, port, subset, ...(dr ? { dr } : {}), mode }, out);
  }
  return out;
}

export function buildClusters(ctx: ClusterContext, services: readonly RegistryService[], mode: ClusterMode = 'standard'): ClusterSet {
  const out: ClusterSet = { clusters: [], endpoints: [] };
  for (const service of services) buildServiceClusters(ctx, service, mode, out);
  return out;
}
