/** Network and listener filters as Istio configures them: HCM over RDS, tcp_proxy, tls_inspector, access logs. */
import { TYPE_URL } from '../../envoy/index.js';
import type { AccessLogConfig, RouteConfiguration, TypedExtension } from '../../envoy/index.js';
import { ADS_CONFIG_SOURCE } from './envoy-ext.js';
import type { XdsHttpConnectionManager } from './envoy-ext.js';
import type { MeshConfigSpec } from './input.js';

/** Istio's default access log line (meshConfig.accessLogFormat unset). */
export const ISTIO_ACCESS_LOG_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% ' +
  '%DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" ' +
  '"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% ' +
  '%DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/** meshConfig.accessLogFile: /dev/stdout as Envoy's stdout logger, any other path as a file logger. */
export function accessLogs(mesh: MeshConfigSpec): AccessLogConfig[] | undefined {
  const path = mesh.accessLogFile;
  if (!path) return undefined;
  const log_format = { text_format: mesh.accessLogFormat ? `${mesh.accessLogFormat.replace(/\n?$/, '')}\n` : ISTIO_ACCESS_LOG_FORMAT };
  if (path === '/dev/stdout') return [{ name: 'envoy.access_loggers.stdout', typed_config: { '@type': TYPE_URL.stdoutAccessLog, log_format } }];
  return [{ name: 'envoy.access_loggers.file', typed_config: { '@type': TYPE_URL.fileAccessLog, path, log_format } }];
}

export const ROUTER_FILTER = { name: 'envoy.filters.http.router', typed_config: { '@type': TYPE_URL.router } };

export interface HcmOptions {
  readonly statPrefix: string;
  /** RDS route name; or an inline route config. */
  readonly rds?: string;
  readonly routeConfig?: RouteConfiguration;
  /** Gateway semantics: trust the client address, sanitize and set XFCC, answer as istio-envoy. */
  readonly gateway?: boolean;
  readonly accessLog?: AccessLogConfig[];
}

export function httpConnectionManager(opts: HcmOptions): TypedExtension {
  const hcm: XdsHttpConnectionManager = {
    stat_prefix: opts.statPrefix,
    ...(opts.rds ? { rds: { route_config_name: opts.rds, config_source: ADS_CONFIG_SOURCE } } : {}),
    ...(opts.routeConfig ? { route_config: opts.routeConfig } : {}),
    http_filters: [ROUTER_FILTER],
    ...(opts.accessLog ? { access_log: opts.accessLog } : {}),
  };
  if (opts.gateway) {
    Object.assign(hcm, {
      use_remote_address: true,
      forward_client_cert_details: 'SANITIZE_SET',
      set_current_client_cert_details: { subject: true, cert: true, dns: true, uri: true },
      server_name: 'istio-envoy',
      generate_request_id: true,
      http_protocol_options: {},
    } satisfies Partial<XdsHttpConnectionManager>);
  }
  return { name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': TYPE_URL.httpConnectionManager, ...hcm } };
}

const HCM_NAME = 'envoy.filters.network.http_connection_manager';

/**
 * meshConfig.pathNormalization as Istio sets it on every HTTP connection manager it generates
 * (unset or DEFAULT is BASE). NONE writes normalize_path: false, as Istio does.
 */
export function pathNormalizationFields(mesh: MeshConfigSpec): Partial<XdsHttpConnectionManager> {
  const mode = mesh.pathNormalization?.normalization ?? 'DEFAULT';
  switch (mode) {
    case 'NONE': return { normalize_path: false };
    case 'MERGE_SLASHES': return { normalize_path: true, merge_slashes: true };
    case 'DECODE_AND_MERGE_SLASHES': return { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' };
    default: return { normalize_path: true };
  }
}

/** The listener with the mesh's path normalization on each of its HTTP connection managers. */
export function withPathNormalization<L extends { filter_chains?: Array<{ filters?: TypedExtension[] }> }>(listener: L, mesh: MeshConfigSpec): L {
  const fields = pathNormalizationFields(mesh);
  if (!listener.filter_chains?.some((c) => c.filters?.some((f) => f.name === HCM_NAME))) return listener;
  const chains = listener.filter_chains.map((chain) => ({
    ...chain,
    filters: chain.filters?.map((f) => (f.name === HCM_NAME && f.typed_config ? { ...f, typed_config: { ...f.typed_config, ...fields } } : f)),
  }));
  return { ...listener, filter_chains: chains };
}

export interface WeightedCluster {
  readonly name: string;
  readonly weight: number;
}

export function tcpProxy(statPrefix: string, destination: string | readonly WeightedCluster[], accessLog?: AccessLogConfig[]): TypedExtension {
  const target = typeof destination === 'string' ? { cluster: destination } : { weighted_clusters: { clusters: destination.map((c) => ({ ...c })) } };
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: { '@type': TYPE_URL.tcpProxy, stat_prefix: statPrefix, ...target, ...(accessLog ? { access_log: accessLog } : {}) },
  };
}

export const TLS_INSPECTOR: TypedExtension = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TYPE_URL.tlsInspector } };
