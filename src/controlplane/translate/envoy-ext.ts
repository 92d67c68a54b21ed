/**
 * Envoy v3 fields that Istio's output needs and src/envoy/types.ts does not type yet (xDS config sources,
 * SDS secret configs, EDS cluster config, outlier detection, metadata). They are real Envoy fields in
 * proto3-JSON form; EXTRA_ENVOY_FIELDS lists them for the proxy's schema.
 */
import type {
  CertificateValidationContext,
  Cluster,
  CommonTlsContext,
  DownstreamTlsContext,
  Duration,
  HttpConnectionManager,
  Listener,
  UpstreamTlsContext,
} from '../../envoy/index.js';

/** Resources come over the same ADS stream (`ads: {}`), as istiod serves RDS, EDS and credential SDS. */
export interface ConfigSource {
  readonly ads: Record<string, never>;
  readonly resource_api_version: 'V3';
}

export const ADS_CONFIG_SOURCE: ConfigSource = { ads: {}, resource_api_version: 'V3' };

export interface SdsSecretConfig {
  readonly name: string;
  readonly sds_config: ConfigSource;
}

export interface CombinedValidationContext {
  readonly default_validation_context: CertificateValidationContext;
  readonly validation_context_sds_secret_config: SdsSecretConfig;
}

export interface XdsCommonTlsContext extends CommonTlsContext {
  tls_certificate_sds_secret_configs?: SdsSecretConfig[];
  combined_validation_context?: CombinedValidationContext;
}

export interface XdsUpstreamTlsContext extends Omit<UpstreamTlsContext, 'common_tls_context'> {
  common_tls_context?: XdsCommonTlsContext;
}

export interface XdsDownstreamTlsContext extends Omit<DownstreamTlsContext, 'common_tls_context'> {
  common_tls_context?: XdsCommonTlsContext;
}

export interface Rds {
  readonly route_config_name: string;
  readonly config_source: ConfigSource;
}

export interface XdsHttpConnectionManager extends HttpConnectionManager {
  rds?: Rds;
}

/** google.protobuf.Struct metadata, keyed by filter name (Istio uses "istio"). */
export interface Metadata {
  filter_metadata: Record<string, Record<string, unknown>>;
}

/** A type (not an interface) so that it fits Cluster.outlier_detection's Record<string, unknown>. */
export type OutlierDetection = {
  consecutive_5xx?: number;
  enforcing_consecutive_5xx?: number;
  consecutive_gateway_failure?: number;
  enforcing_consecutive_gateway_failure?: number;
  consecutive_local_origin_failure?: number;
  enforcing_consecutive_local_origin_failure?: number;
  split_external_local_origin_errors?: boolean;
  enforcing_success_rate?: number;
  enforcing_local_origin_success_rate?: number;
  interval?: Duration;
  base_ejection_time?: Duration;
  max_ejection_percent?: number;
};

export interface XdsCluster extends Cluster {
  eds_cluster_config?: { service_name: string; eds_config: ConfigSource };
  outlier_detection?: OutlierDetection;
  common_lb_config?: { healthy_panic_threshold?: { value: number } };
  metadata?: Metadata;
}

export type XdsListener = Listener;

export interface ExtraEnvoyField {
  /** Message name as in src/envoy/schema.ts. */
  readonly message: string;
  readonly field: string;
  readonly why: string;
}

/**
 * Real Envoy fields translation emits that src/envoy/schema.ts does not accept yet, so the proxy team can
 * add them (a test validates all output against the schema and allows exactly these).
 */
export const EXTRA_ENVOY_FIELDS: readonly ExtraEnvoyField[] = [
  {
    message: 'HttpProtocolOptions',
    field: 'upstream_http_protocol_options',
    why: 'auto_sni / auto_san_validation: SNI and SAN check from the Host header when a DestinationRule sets no sni (Istio ENABLE_AUTO_SNI)',
  },
  { message: 'Cluster', field: 'common_lb_config', why: 'healthy_panic_threshold, set with outlierDetection (minHealthPercent, 0 by default)' },
];
