import type { Bootstrap, Cluster } from '../../envoy/index.js';

export const XDS_CLUSTER = 'xds-grpc';

export interface XdsBootstrapOptions {
  /** host:port of the control plane's ADS server. */
  readonly address: string;
  readonly nodeId: string;
  readonly nodeCluster?: string;
  readonly metadata?: Record<string, string>;
  /**
   * TLS to the control plane (plaintext without): the roots that verify it, the name its certificate
   * must carry, and the client certificate as PEM files or as an SDS secret the proxy holds (the
   * workload certificate "default" that --ca-address keeps fresh).
   */
  readonly tls?: { caFile: string; certFile?: string; keyFile?: string; serverName?: string; certificateSecret?: string };
  /** A bootstrap token, sent as "authorization: Bearer" (grpc_services[0].initial_metadata). */
  readonly token?: string;
  readonly adminPort?: number;
}

/**
 * The bootstrap `isthmus proxy --xds HOST:PORT` runs with: the same shape istio-agent writes for
 * Envoy (node, ADS over gRPC to a static xds-grpc cluster, CDS and LDS from ADS), so a real Envoy
 * could be started from it too.
 */
export function xdsBootstrap(options: XdsBootstrapOptions): Bootstrap {
  const colon = options.address.lastIndexOf(':');
  const host = options.address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(options.address.slice(colon + 1));
  const cluster: Cluster = {
    name: XDS_CLUSTER,
    type: 'STRICT_DNS',
    connect_timeout: '1s',
    http2_protocol_options: {},
    load_assignment: { cluster_name: XDS_CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }] },
  };
  if (options.tls) {
    cluster.transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        ...(options.tls.serverName ? { sni: options.tls.serverName } : {}),
        common_tls_context: {
          ...(options.tls.certFile && options.tls.keyFile
            ? { tls_certificates: [{ certificate_chain: { filename: options.tls.certFile }, private_key: { filename: options.tls.keyFile } }] }
            : {}),
          ...(options.tls.certificateSecret ? { tls_certificate_sds_secret_configs: [{ name: options.tls.certificateSecret }] } : {}),
          validation_context: { trusted_ca: { filename: options.tls.caFile } },
        },
      },
    };
  }
  return {
    node: { id: options.nodeId, cluster: options.nodeCluster ?? options.nodeId.split('.')[0] ?? options.nodeId, metadata: options.metadata ?? {} },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER }, ...(options.token ? { initial_metadata: [{ key: 'authorization', value: `Bearer ${options.token}` }] } : {}) }],
        set_node_on_first_message_only: true,
      },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      lds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: { clusters: [cluster] },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: options.adminPort ?? 0 } } },
  };
}
