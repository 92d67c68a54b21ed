import * as grpc from '@grpc/grpc-js';
import type { Bootstrap, DataSource, UpstreamTlsContext } from '../../envoy/index.js';
import { IsthmusError } from '../../common/index.js';
import { readDataSource } from '../tls/data-source.js';

function read(source: DataSource | undefined, baseDir: string, path: string): Buffer | null {
  return source ? readDataSource(source, baseDir, path) : null;
}

/**
 * Where and how to reach the control plane, from the bootstrap's ads_config: its envoy_grpc cluster
 * must be a static cluster; its transport socket (if any) gives the TLS credentials.
 */
export function adsTarget(bootstrap: Bootstrap, baseDir: string): { address: string; credentials: grpc.ChannelCredentials; serverName?: string } | undefined {
  const ads = bootstrap.dynamic_resources?.ads_config;
  if (!ads) return undefined;
  const clusterName = ads.grpc_services?.[0]?.envoy_grpc?.cluster_name;
  if (ads.api_type !== 'GRPC' && ads.api_type !== 'AGGREGATED_GRPC') {
    throw new IsthmusError('ERR_XDS_CONFIG', `dynamic_resources.ads_config.api_type: ${ads.api_type ?? '(unset)'} is not supported`, { hint: 'use GRPC (state of the world ADS)' });
  }
  const cluster = bootstrap.static_resources?.clusters?.find((c) => c.name === clusterName);
  const endpoint = cluster?.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint.address.socket_address;
  if (!cluster || !endpoint) {
    throw new IsthmusError('ERR_XDS_CONFIG', `dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: "${clusterName}" is not a static cluster with an endpoint`, {
      hint: 'add the control plane as a static cluster, or start with --xds HOST:PORT',
    });
  }
  const address = `${endpoint.address}:${endpoint.port_value ?? 15010}`;
  const tls = cluster.transport_socket?.typed_config as (UpstreamTlsContext & { '@type': string }) | undefined;
  if (!tls) return { address, credentials: grpc.credentials.createInsecure() };
  const common = tls.common_tls_context ?? {};
  const cert = common.tls_certificates?.[0];
  const tlsPath = `static_resources.clusters[${clusterName}].transport_socket.typed_config.common_tls_context`;
  const credentials = grpc.credentials.createSsl(
    read(common.validation_context?.trusted_ca, baseDir, `${tlsPath}.validation_context.trusted_ca`),
    read(cert?.private_key, baseDir, `${tlsPath}.tls_certificates[0].private_key`),
    read(cert?.certificate_chain, baseDir, `${tlsPath}.tls_certificates[0].certificate_chain`),
  );
  return { address, credentials, ...(tls.sni ? { serverName: tls.sni } : {}) };
}
