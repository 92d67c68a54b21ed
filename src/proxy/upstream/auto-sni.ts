import type { Cluster } from '../../envoy/index.js';

const HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/**
 * upstream_http_protocol_options.auto_sni: Envoy sets the SNI from each request's host. Our pools are
 * per host, so the SNI is fixed per cluster: the DNS name of the endpoint (what the host header names
 * when the cluster is an external service reached by name, as Istio's ServiceEntry DNS clusters are).
 * An explicit `sni` in the UpstreamTlsContext always wins.
 */
export function applyAutoSni(cluster: Cluster): Cluster {
  const options = cluster.typed_extension_protocol_options?.[HTTP_OPTIONS] as { upstream_http_protocol_options?: { auto_sni?: boolean } } | undefined;
  const tls = cluster.transport_socket?.typed_config as { sni?: string } | undefined;
  if (!options?.upstream_http_protocol_options?.auto_sni || !tls || tls.sni) return cluster;
  if (cluster.type !== 'STRICT_DNS' && cluster.type !== 'LOGICAL_DNS') return cluster;
  const names = new Set(
    (cluster.load_assignment?.endpoints ?? []).flatMap((l) => (l.lb_endpoints ?? []).map((e) => e.endpoint.hostname ?? e.endpoint.address.socket_address.address)),
  );
  const [name] = names;
  if (names.size !== 1 || !name || /^[\d.:]+$/.test(name)) return cluster;
  return { ...cluster, transport_socket: { ...cluster.transport_socket, name: cluster.transport_socket?.name ?? 'envoy.transport_sockets.tls', typed_config: { ...(cluster.transport_socket?.typed_config as { '@type': string }), sni: name } } };
}
