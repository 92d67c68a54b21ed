// The upstream side of the proxy (Envoy's cluster manager): what listeners, the router, tcp_proxy,
// the xDS client and admin use.
export { createClusterManager } from './cluster-manager.js';
export type { UpstreamClusterManager, ClusterManagerOptions } from './cluster-manager.js';
export type { UpstreamCluster, HttpRequestOptions } from './cluster.js';
export type { Host as ClusterHost } from './host.js';
export { ClusterConfigError } from './errors.js';
export { clusterSettings, DEFAULT_THRESHOLDS, DEFAULT_CONNECT_TIMEOUT_MS } from './settings.js';
export type { ClusterSettings, CircuitBreakerThresholds, DiscoveryType, LbPolicy, UpstreamProtocol } from './settings.js';
export { compileUpstreamTls, parseSubjectAltNames } from './tls.js';
export type { UpstreamTls, SubjectAltName } from './tls.js';
export { UpstreamError } from './types.js';
export type {
  CancelSignal, ClusterHandle, ClusterManager, UpstreamFailure, UpstreamHost, UpstreamRequest, UpstreamResponse,
} from './types.js';
