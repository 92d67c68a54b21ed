/** Envoy v3 type URLs used in typed_config and xDS. */
const prefix = 'type.googleapis.com/';

export const TYPE_URL = {
  listener: `${prefix}envoy.config.listener.v3.Listener`,
  cluster: `${prefix}envoy.config.cluster.v3.Cluster`,
  routeConfiguration: `${prefix}envoy.config.route.v3.RouteConfiguration`,
  clusterLoadAssignment: `${prefix}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  secret: `${prefix}envoy.extensions.transport_sockets.tls.v3.Secret`,
  httpConnectionManager: `${prefix}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
  tcpProxy: `${prefix}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`,
  sniCluster: `${prefix}envoy.extensions.filters.network.sni_cluster.v3.SniCluster`,
  connectionLimit: `${prefix}envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit`,
  downstreamConnectionsConfig: `${prefix}envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig`,
  router: `${prefix}envoy.extensions.filters.http.router.v3.Router`,
  httpRbac: `${prefix}envoy.extensions.filters.http.rbac.v3.RBAC`,
  networkRbac: `${prefix}envoy.extensions.filters.network.rbac.v3.RBAC`,
  grpcJsonTranscoder: `${prefix}envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder`,
  tlsInspector: `${prefix}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector`,
  downstreamTlsContext: `${prefix}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
  upstreamTlsContext: `${prefix}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
  rawBuffer: `${prefix}envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer`,
  fileAccessLog: `${prefix}envoy.extensions.access_loggers.file.v3.FileAccessLog`,
  stdoutAccessLog: `${prefix}envoy.extensions.access_loggers.stream.v3.StdoutAccessLog`,
  stderrAccessLog: `${prefix}envoy.extensions.access_loggers.stream.v3.StderrAccessLog`,
  httpProtocolOptions: `${prefix}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
  spiffeCertValidatorConfig: `${prefix}envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig`,
  bootstrap: `${prefix}envoy.config.bootstrap.v3.Bootstrap`,
} as const;

/** The message name of a type URL: "type.googleapis.com/a.b.C" -> "a.b.C". */
export function messageName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}
