/**
 * A DestinationRule's traffic policy applied to one cluster: connection pool (circuit breakers,
 * timeouts), outlier detection and load balancing, with Istio's defaults.
 */
import { TYPE_URL } from '../../envoy/index.js';
import type { Thresholds } from '../../envoy/index.js';
import type { EffectivePolicy } from './destination-rule.js';
import { toEnvoyDuration } from './durations.js';
import type { OutlierDetection, XdsCluster } from './envoy-ext.js';

const MAX_UINT32 = 4294967295;
export const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Envoy's default thresholds are low for a mesh (max_retries 3); Istio lifts them to the maximum. */
function defaultThresholds(): Thresholds & { track_remaining: boolean } {
  return { max_connections: MAX_UINT32, max_pending_requests: MAX_UINT32, max_requests: MAX_UINT32, max_retries: MAX_UINT32, track_remaining: true };
}

export interface PolicyContext {
  readonly defaultConnectTimeout: string;
  /** The port's protocol is HTTP/2 (gRPC, h2): upstream connections use HTTP/2. */
  readonly http2: boolean;
  readonly autoSni: boolean;
  readonly autoSanValidation: boolean;
}

type ProtocolOptions = Record<string, unknown>;

function protocolOptions(cluster: XdsCluster): ProtocolOptions {
  cluster.typed_extension_protocol_options ??= {};
  const existing = cluster.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS_KEY];
  if (existing) return existing;
  const created = { '@type': TYPE_URL.httpProtocolOptions };
  cluster.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS_KEY] = created;
  return created;
}

function applyConnectionPool(cluster: XdsCluster, policy: EffectivePolicy, ctx: PolicyContext): void {
  const pool = policy.connectionPool;
  const thresholds = defaultThresholds();
  cluster.connect_timeout = toEnvoyDuration(pool?.tcp?.connectTimeout) ?? ctx.defaultConnectTimeout;
  if (pool?.http?.http2MaxRequests) thresholds.max_requests = pool.http.http2MaxRequests;
  if (pool?.http?.http1MaxPendingRequests) thresholds.max_pending_requests = pool.http.http1MaxPendingRequests;
  if (pool?.http?.maxRetries) thresholds.max_retries = pool.http.maxRetries;
  if (pool?.tcp?.maxConnections) thresholds.max_connections = pool.tcp.maxConnections;
  cluster.circuit_breakers = { thresholds: [thresholds] };

  const common: Record<string, unknown> = {};
  // tcp.idleTimeout is not in the config model (Istio 1.18's schema rejects it); a snapshot built in code may set it.
  const tcpIdle = (pool?.tcp as { readonly idleTimeout?: string } | undefined)?.idleTimeout;
  const idle = toEnvoyDuration(pool?.http?.idleTimeout ?? tcpIdle);
  if (idle) common.idle_timeout = idle;
  if (pool?.http?.maxRequestsPerConnection) common.max_requests_per_connection = pool.http.maxRequestsPerConnection;
  const maxDuration = toEnvoyDuration(pool?.tcp?.maxConnectionDuration);
  if (maxDuration) common.max_connection_duration = maxDuration;
  if (Object.keys(common).length > 0) protocolOptions(cluster).common_http_protocol_options = common;

  const upgrade = pool?.http?.h2UpgradePolicy === 'UPGRADE';
  if (pool?.http?.useClientProtocol) {
    protocolOptions(cluster).use_downstream_protocol_config = { http_protocol_options: {}, http2_protocol_options: {} };
  } else if ((ctx.http2 || upgrade) && pool?.http?.h2UpgradePolicy !== 'DO_NOT_UPGRADE') {
    const h2: Record<string, unknown> = {};
    if (pool?.http?.maxConcurrentStreams) h2.max_concurrent_streams = pool.http.maxConcurrentStreams;
    protocolOptions(cluster).explicit_http_config = { http2_protocol_options: h2 };
  }
}

function applyOutlierDetection(cluster: XdsCluster, policy: EffectivePolicy): void {
  const od = policy.outlierDetection;
  if (!od) return;
  // Success-rate ejection is off in Istio; only consecutive errors eject.
  const out: OutlierDetection = { enforcing_success_rate: 0 };
  if (od.consecutive5xxErrors !== undefined) {
    out.consecutive_5xx = od.consecutive5xxErrors;
    out.enforcing_consecutive_5xx = od.consecutive5xxErrors > 0 ? 100 : 0;
  }
  if (od.consecutiveGatewayErrors !== undefined) {
    out.consecutive_gateway_failure = od.consecutiveGatewayErrors;
    out.enforcing_consecutive_gateway_failure = od.consecutiveGatewayErrors > 0 ? 100 : 0;
  }
  const interval = toEnvoyDuration(od.interval);
  if (interval) out.interval = interval;
  const ejection = toEnvoyDuration(od.baseEjectionTime);
  if (ejection) out.base_ejection_time = ejection;
  if (od.maxEjectionPercent) out.max_ejection_percent = od.maxEjectionPercent;
  if (od.splitExternalLocalOriginErrors) {
    out.split_external_local_origin_errors = true;
    if (od.consecutiveLocalOriginFailures) {
      out.consecutive_local_origin_failure = od.consecutiveLocalOriginFailures;
      out.enforcing_consecutive_local_origin_failure = 100;
    }
    out.enforcing_local_origin_success_rate = 0;
  }
  cluster.outlier_detection = out;
  // Istio disables the panic threshold unless minHealthPercent asks for one: few pods per service.
  cluster.common_lb_config = { healthy_panic_threshold: { value: od.minHealthPercent ?? 0 } };
}

/** Returns a warning when part of the policy cannot be expressed. */
function applyLoadBalancer(cluster: XdsCluster, policy: EffectivePolicy): string | undefined {
  const lb = policy.loadBalancer;
  if (lb?.consistentHash) {
    cluster.lb_policy = 'RING_HASH';
    return 'loadBalancer.consistentHash: the cluster uses RING_HASH but the hash key (route hash_policy) is not emitted';
  }
  switch (lb?.simple) {
    case 'ROUND_ROBIN':
      cluster.lb_policy = 'ROUND_ROBIN';
      break;
    case 'RANDOM':
      cluster.lb_policy = 'RANDOM';
      break;
    case 'PASSTHROUGH':
      // Send to the original destination address: no endpoints of our own.
      cluster.type = 'ORIGINAL_DST';
      cluster.lb_policy = 'CLUSTER_PROVIDED';
      delete cluster.load_assignment;
      delete cluster.eds_cluster_config;
      break;
    default:
      // LEAST_REQUEST, LEAST_CONN and unset: Istio's default is least request.
      cluster.lb_policy = 'LEAST_REQUEST';
  }
  return undefined;
}

export function applyTrafficPolicy(cluster: XdsCluster, policy: EffectivePolicy, ctx: PolicyContext): string[] {
  applyConnectionPool(cluster, policy, ctx);
  applyOutlierDetection(cluster, policy);
  const warning = applyLoadBalancer(cluster, policy);
  if (ctx.autoSni || ctx.autoSanValidation) {
    protocolOptions(cluster).upstream_http_protocol_options = {
      ...(ctx.autoSni ? { auto_sni: true } : {}),
      ...(ctx.autoSanValidation ? { auto_san_validation: true } : {}),
    };
  }
  // Envoy requires one protocol selection in HttpProtocolOptions: HTTP/1.1 unless chosen above.
  const options = cluster.typed_extension_protocol_options?.[HTTP_PROTOCOL_OPTIONS_KEY];
  if (options && !options.explicit_http_config && !options.use_downstream_protocol_config && !options.auto_config) {
    options.explicit_http_config = { http_protocol_options: {} };
  }
  return warning ? [warning] : [];
}
