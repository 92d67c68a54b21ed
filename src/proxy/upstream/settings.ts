/**
 * A Cluster resource normalized once into the values the upstream code reads on its hot path, with
 * Envoy's defaults applied. Unsupported choices throw a ClusterConfigError naming the field.
 */
import { durationMs, TYPE_URL } from '../../envoy/index.js';
import type { Cluster, Http2ProtocolOptions, Thresholds, TypedConfig, UpstreamTlsContext } from '../../envoy/index.js';
import { ClusterConfigError } from './errors.js';

export type DiscoveryType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS';
export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM';
export type DnsLookupFamily = 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
/** 'downstream' = use_downstream_protocol_config: HTTP/2 when the downstream request is HTTP/2. */
export type UpstreamProtocol = 'HTTP/1.1' | 'HTTP/2' | 'downstream';

export interface CircuitBreakerThresholds {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
}

export interface ClusterSettings {
  readonly name: string;
  /** "cluster.<alt_stat_name or name>." */
  readonly statPrefix: string;
  readonly type: DiscoveryType;
  readonly lbPolicy: LbPolicy;
  readonly connectTimeoutMs: number;
  readonly protocol: UpstreamProtocol;
  readonly http2: Http2ProtocolOptions;
  /** common_http_protocol_options.idle_timeout; undefined = the codec default. */
  readonly idleTimeoutMs: number | undefined;
  readonly maxRequestsPerConnection: number | undefined;
  readonly thresholds: CircuitBreakerThresholds;
  readonly dnsLookupFamily: DnsLookupFamily;
  readonly dnsRefreshMs: number;
  /** The UpstreamTlsContext of transport_socket, if the cluster originates TLS. */
  readonly tls: UpstreamTlsContext | undefined;
}

/** Envoy's defaults. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_DNS_REFRESH_MS = 5_000;
export const DEFAULT_THRESHOLDS: CircuitBreakerThresholds = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };

const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const TLS_SOCKET_NAMES = new Set(['envoy.transport_sockets.tls', 'tls']);
const RAW_SOCKET_NAMES = new Set(['envoy.transport_sockets.raw_buffer', 'raw_buffer']);

interface HttpProtocolOptionsConfig {
  explicit_http_config?: { http_protocol_options?: object; http2_protocol_options?: Http2ProtocolOptions };
  use_downstream_protocol_config?: { http_protocol_options?: object; http2_protocol_options?: Http2ProtocolOptions };
  auto_config?: object;
  common_http_protocol_options?: Cluster['common_http_protocol_options'];
}

function protocolOptions(config: Cluster): { protocol: UpstreamProtocol; http2: Http2ProtocolOptions; common: Cluster['common_http_protocol_options'] } {
  const typed = config.typed_extension_protocol_options?.[HTTP_PROTOCOL_OPTIONS_KEY] as (TypedConfig & HttpProtocolOptionsConfig) | undefined;
  const common = typed?.common_http_protocol_options ?? config.common_http_protocol_options;
  if (typed?.explicit_http_config?.http2_protocol_options) {
    return { protocol: 'HTTP/2', http2: typed.explicit_http_config.http2_protocol_options, common };
  }
  if (typed?.use_downstream_protocol_config) {
    return { protocol: 'downstream', http2: typed.use_downstream_protocol_config.http2_protocol_options ?? {}, common };
  }
  if (typed?.auto_config) {
    throw new ClusterConfigError(`typed_extension_protocol_options["${HTTP_PROTOCOL_OPTIONS_KEY}"].auto_config`, 'ALPN-based protocol selection is not supported; use explicit_http_config or use_downstream_protocol_config');
  }
  if (config.http2_protocol_options) return { protocol: 'HTTP/2', http2: config.http2_protocol_options, common };
  return { protocol: 'HTTP/1.1', http2: {}, common };
}

function thresholds(list: Thresholds[] | undefined): CircuitBreakerThresholds {
  const t = list?.find((x) => (x.priority ?? 'DEFAULT') === 'DEFAULT');
  if (!t) return DEFAULT_THRESHOLDS;
  return {
    maxConnections: t.max_connections ?? DEFAULT_THRESHOLDS.maxConnections,
    maxPendingRequests: t.max_pending_requests ?? DEFAULT_THRESHOLDS.maxPendingRequests,
    maxRequests: t.max_requests ?? DEFAULT_THRESHOLDS.maxRequests,
    maxRetries: t.max_retries ?? DEFAULT_THRESHOLDS.maxRetries,
  };
}

function transportTls(config: Cluster): UpstreamTlsContext | undefined {
  const socket = config.transport_socket;
  if (!socket) return undefined;
  const typeUrl = socket.typed_config?.['@type'];
  if (typeUrl === TYPE_URL.upstreamTlsContext || (typeUrl === undefined && TLS_SOCKET_NAMES.has(socket.name))) {
    const { '@type': _type, ...ctx } = socket.typed_config ?? { '@type': '' };
    return ctx as UpstreamTlsContext;
  }
  if (typeUrl === TYPE_URL.rawBuffer || (typeUrl === undefined && RAW_SOCKET_NAMES.has(socket.name))) return undefined;
  throw new ClusterConfigError('transport_socket.typed_config.@type', `unsupported transport socket "${typeUrl ?? socket.name}"; use ${TYPE_URL.upstreamTlsContext} or raw_buffer`);
}

function positiveMs(value: unknown, path: string, fallback: number): number {
  const ms = durationMs(value);
  if (ms === undefined) return fallback;
  if (!(ms > 0)) throw new ClusterConfigError(path, 'must be greater than 0s');
  return ms;
}

/** Normalizes a Cluster; throws ClusterConfigError (with the cluster's name) on what Isthmus cannot run. */
export function clusterSettings(config: Cluster): ClusterSettings {
  try {
    const type = config.type ?? 'STATIC';
    if (type === 'ORIGINAL_DST') {
      throw new ClusterConfigError('type', 'ORIGINAL_DST clusters are not supported (they need the original destination of intercepted connections); use STATIC, STRICT_DNS, LOGICAL_DNS or EDS');
    }
    const lbPolicy = config.lb_policy ?? 'ROUND_ROBIN';
    if (lbPolicy !== 'ROUND_ROBIN' && lbPolicy !== 'LEAST_REQUEST' && lbPolicy !== 'RANDOM') {
      throw new ClusterConfigError('lb_policy', `load balancing policy ${lbPolicy} is not supported; use ROUND_ROBIN, LEAST_REQUEST or RANDOM`);
    }
    const { protocol, http2, common } = protocolOptions(config);
    return {
      name: config.name,
      statPrefix: `cluster.${config.alt_stat_name || config.name}.`,
      type,
      lbPolicy,
      connectTimeoutMs: positiveMs(config.connect_timeout, 'connect_timeout', DEFAULT_CONNECT_TIMEOUT_MS),
      protocol,
      http2,
      idleTimeoutMs: durationMs(common?.idle_timeout),
      maxRequestsPerConnection: common?.max_requests_per_connection || undefined,
      thresholds: thresholds(config.circuit_breakers?.thresholds),
      dnsLookupFamily: config.dns_lookup_family ?? 'AUTO',
      dnsRefreshMs: positiveMs(config.dns_refresh_rate, 'dns_refresh_rate', DEFAULT_DNS_REFRESH_MS),
      tls: transportTls(config),
    };
  } catch (err) {
    throw err instanceof ClusterConfigError ? err.forCluster(config.name) : err;
  }
}
