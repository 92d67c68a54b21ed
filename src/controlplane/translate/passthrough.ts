/**
 * AUTO_PASSTHROUGH (Istio's east-west gateway): one filter chain per mesh service port and per
 * DestinationRule subset, matched on the SNI outbound_.<port>_.<subset>_.<host> that mesh clients send,
 * proxied as opaque TCP to a cluster of the same name. The client's mTLS reaches the workload untouched.
 */
import type { AccessLogConfig, FilterChain, TypedExtension } from '../../envoy/index.js';
import { tcpProxy } from './filters.js';
import { hostSubsetOf } from './hosts.js';
import type { DestinationRule } from './input.js';
import { sniClusterName } from './names.js';
import type { RegistryService, ServicePort } from './registry.js';

/** Every ALPN an Istio mTLS client offers: a chain matching them only admits mesh mTLS. */
export const ISTIO_MTLS_ALPNS = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];

export interface PassthroughTarget {
  readonly service: RegistryService;
  readonly port: ServicePort;
  readonly subset: string;
  /** The SNI name, also the cluster name. */
  readonly sni: string;
}

/** Mesh (not MESH_EXTERNAL) services whose host falls under one of the server's hosts. */
export function autoPassthroughServices(services: readonly RegistryService[], serverHosts: readonly string[]): RegistryService[] {
  return services.filter((s) => !s.meshExternal && serverHosts.some((h) => hostSubsetOf(s.hostname, h)));
}

export function autoPassthroughTargets(services: readonly RegistryService[], ruleFor: (service: RegistryService) => DestinationRule | undefined): PassthroughTarget[] {
  const out: PassthroughTarget[] = [];
  for (const service of services) {
    const subsets = ['', ...(ruleFor(service)?.spec.subsets ?? []).map((s) => s.name)];
    for (const port of service.ports) {
      if (port.protocol === 'UDP') continue;
      for (const subset of subsets) out.push({ service, port, subset, sni: sniClusterName(port.number, service.hostname, subset) });
    }
  }
  return out;
}

export function autoPassthroughFilterChains(targets: readonly PassthroughTarget[], accessLog?: AccessLogConfig[]): FilterChain[] {
  return targets.map((t) => ({
    filter_chain_match: { server_names: [t.sni], application_protocols: [...ISTIO_MTLS_ALPNS] },
    filters: [flushOnConnect(tcpProxy(t.sni, t.sni, accessLog))],
  }));
}

/**
 * Passthrough connections from other networks are long-lived (clients pool them), and Envoy logs a TCP
 * connection when it ends: with an access log, also log when the upstream connects, so the hop is seen.
 */
function flushOnConnect(filter: TypedExtension): TypedExtension {
  const config = filter.typed_config;
  return config?.['access_log'] ? { ...filter, typed_config: { ...config, access_log_options: { flush_access_log_on_connected: true } } } : filter;
}
