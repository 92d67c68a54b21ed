/**
 * Envoy v3 resources in their normalized proto3-JSON form (snake_case keys), as the schema in
 * schema.ts accepts them. Only the fields Isthmus implements are typed.
 */
export type Duration = string | { seconds?: number | string; nanos?: number };

export interface SocketAddress { address: string; port_value?: number; protocol?: 'TCP'; ipv4_compat?: boolean }
export interface Address { socket_address: SocketAddress }

export interface DataSource { filename?: string; inline_string?: string; inline_bytes?: string; environment_variable?: string }

export interface RegexMatcher { regex: string }
export interface StringMatcher {
  exact?: string; prefix?: string; suffix?: string; contains?: string; safe_regex?: RegexMatcher; ignore_case?: boolean;
}

export interface TypedConfig { '@type': string; [field: string]: unknown }
export interface TypedExtension { name: string; typed_config?: TypedConfig }
export interface HttpFilterConfig extends TypedExtension { is_optional?: boolean; disabled?: boolean }

export interface TlsParameters {
  tls_minimum_protocol_version?: string; tls_maximum_protocol_version?: string; cipher_suites?: string[]; ecdh_curves?: string[];
}
export interface TlsCertificate { certificate_chain: DataSource; private_key: DataSource }
export interface SubjectAltNameMatcher { san_type: 'EMAIL' | 'DNS' | 'URI' | 'IP_ADDRESS' | 'OTHER_NAME' | 'SAN_TYPE_UNSPECIFIED'; matcher: StringMatcher }
export interface CertificateValidationContext {
  trusted_ca?: DataSource;
  match_typed_subject_alt_names?: SubjectAltNameMatcher[];
  match_subject_alt_names?: StringMatcher[];
  verify_certificate_hash?: string[];
  verify_certificate_spki?: string[];
  trust_chain_verification?: 'VERIFY_TRUST_CHAIN' | 'ACCEPT_UNTRUSTED';
  /** A certificate validator extension (envoy.tls.cert_validator.spiffe); it then does all validation. */
  custom_validator_config?: TypedExtension;
}
/** envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig: one trust bundle per trust domain. */
export interface SpiffeCertValidatorConfig { trust_domains?: Array<{ name?: string; trust_bundle?: DataSource }> }
export interface ConfigSource { ads?: Record<string, never>; resource_api_version?: string; initial_fetch_timeout?: Duration }
export interface SdsSecretConfig { name: string; sds_config?: ConfigSource }
export interface CommonTlsContext {
  tls_params?: TlsParameters;
  tls_certificates?: TlsCertificate[];
  tls_certificate_sds_secret_configs?: SdsSecretConfig[];
  validation_context?: CertificateValidationContext;
  validation_context_sds_secret_config?: SdsSecretConfig;
  combined_validation_context?: { default_validation_context?: CertificateValidationContext; validation_context_sds_secret_config: SdsSecretConfig };
  alpn_protocols?: string[];
}
export interface DownstreamTlsContext { common_tls_context?: CommonTlsContext; require_client_certificate?: boolean; require_sni?: boolean; session_timeout?: Duration; disable_stateless_session_resumption?: boolean }
export interface UpstreamTlsContext { common_tls_context?: CommonTlsContext; sni?: string; allow_renegotiation?: boolean; max_session_keys?: number }

export interface CidrRange { address_prefix: string; prefix_len?: number }
export interface FilterChainMatch {
  destination_port?: number;
  server_names?: string[];
  transport_protocol?: string;
  application_protocols?: string[];
  prefix_ranges?: CidrRange[];
  source_prefix_ranges?: CidrRange[];
  direct_source_prefix_ranges?: CidrRange[];
  source_type?: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  source_ports?: number[];
}
export interface FilterChain {
  name?: string;
  filter_chain_match?: FilterChainMatch;
  filters?: TypedExtension[];
  transport_socket?: TypedExtension;
  transport_socket_connect_timeout?: Duration;
}
export interface Listener {
  name?: string;
  address: Address;
  stat_prefix?: string;
  filter_chains?: FilterChain[];
  default_filter_chain?: FilterChain;
  listener_filters?: TypedExtension[];
  listener_filters_timeout?: Duration;
  continue_on_listener_filters_timeout?: boolean;
  per_connection_buffer_limit_bytes?: number;
  traffic_direction?: string;
  /** false: the listener opens no socket (Envoy: it only receives connections handed over by another listener). */
  bind_to_port?: boolean;
  /** Connections to this listener are not counted by (nor refused for) the global downstream limit. */
  ignore_global_conn_limit?: boolean;
  /** envoy.config.core.v3.Metadata: opaque to the listener, read by whoever knows the filter_metadata key. */
  metadata?: { filter_metadata?: Record<string, Record<string, unknown>> };
}

export interface HeaderValueOption {
  header: { key: string; value?: string };
  append?: boolean;
  append_action?: 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';
  keep_empty_value?: boolean;
}
export interface HeaderMutations {
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
}
export interface HeaderMatcher {
  name: string;
  exact_match?: string; safe_regex_match?: RegexMatcher; prefix_match?: string; suffix_match?: string; contains_match?: string;
  present_match?: boolean; string_match?: StringMatcher; invert_match?: boolean; treat_missing_header_as_empty?: boolean;
}
export interface QueryParameterMatcher { name: string; string_match?: StringMatcher; present_match?: boolean }
export interface RouteMatch {
  prefix?: string; path?: string; safe_regex?: RegexMatcher; path_separated_prefix?: string; case_sensitive?: boolean;
  headers?: HeaderMatcher[]; query_parameters?: QueryParameterMatcher[]; grpc?: Record<string, never>;
}
export interface RetryPolicy {
  retry_on?: string; num_retries?: number; per_try_timeout?: Duration; retriable_status_codes?: number[];
  retry_back_off?: { base_interval: Duration; max_interval?: Duration }; host_selection_retry_max_attempts?: number;
}
export interface ClusterWeight extends HeaderMutations { name: string; weight?: number }
export interface RouteAction {
  cluster?: string;
  weighted_clusters?: { clusters: ClusterWeight[]; total_weight?: number };
  cluster_header?: string;
  cluster_not_found_response_code?: 'SERVICE_UNAVAILABLE' | 'NOT_FOUND' | 'INTERNAL_SERVER_ERROR';
  prefix_rewrite?: string;
  regex_rewrite?: { pattern: RegexMatcher; substitution: string };
  host_rewrite_literal?: string;
  auto_host_rewrite?: boolean;
  timeout?: Duration;
  idle_timeout?: Duration;
  retry_policy?: RetryPolicy;
}
export interface RedirectAction {
  https_redirect?: boolean; scheme_redirect?: string; host_redirect?: string; port_redirect?: number; path_redirect?: string;
  prefix_rewrite?: string; response_code?: 'MOVED_PERMANENTLY' | 'FOUND' | 'SEE_OTHER' | 'TEMPORARY_REDIRECT' | 'PERMANENT_REDIRECT'; strip_query?: boolean;
}
export interface DirectResponseAction { status: number; body?: DataSource }
export interface Route extends HeaderMutations {
  name?: string; match: RouteMatch; route?: RouteAction; redirect?: RedirectAction; direct_response?: DirectResponseAction; metadata?: unknown;
}
export interface VirtualHost extends HeaderMutations {
  name: string; domains: string[]; routes?: Route[]; require_tls?: 'NONE' | 'EXTERNAL_ONLY' | 'ALL'; retry_policy?: RetryPolicy;
}
export interface RouteConfiguration extends HeaderMutations { name?: string; virtual_hosts?: VirtualHost[]; validate_clusters?: boolean; ignore_port_in_host_matching?: boolean; internal_only_headers?: string[] }

export interface SubstitutionFormatString { text_format?: string; text_format_source?: DataSource; json_format?: Record<string, unknown>; omit_empty_values?: boolean }
export interface AccessLogConfig { name: string; typed_config?: TypedConfig & { path?: string; log_format?: SubstitutionFormatString } }

export interface Http2ProtocolOptions { max_concurrent_streams?: number; initial_stream_window_size?: number; initial_connection_window_size?: number }
export interface CommonHttpProtocolOptions { idle_timeout?: Duration; max_connection_duration?: Duration; max_headers_count?: number; max_stream_duration?: Duration; max_requests_per_connection?: number }
export interface HttpConnectionManager {
  stat_prefix: string;
  codec_type?: 'AUTO' | 'HTTP1' | 'HTTP2';
  route_config?: RouteConfiguration;
  rds?: { route_config_name: string; config_source?: ConfigSource };
  http_filters?: HttpFilterConfig[];
  access_log?: AccessLogConfig[];
  use_remote_address?: boolean;
  xff_num_trusted_hops?: number;
  skip_xff_append?: boolean;
  generate_request_id?: boolean;
  preserve_external_request_id?: boolean;
  server_name?: string;
  strip_any_host_port?: boolean;
  server_header_transformation?: 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
  stream_idle_timeout?: Duration;
  request_timeout?: Duration;
  request_headers_timeout?: Duration;
  drain_timeout?: Duration;
  max_request_headers_kb?: number;
  common_http_protocol_options?: CommonHttpProtocolOptions;
  /** allow_absolute_url: accept `GET http://host/path` (the proxy used as an HTTP proxy, http_proxy=...). */
  http_protocol_options?: { accept_http_10?: boolean; allow_absolute_url?: boolean };
  http2_protocol_options?: Http2ProtocolOptions;
  normalize_path?: boolean;
  merge_slashes?: boolean;
  /** %2F and %5C (any case) in the path: KEEP_UNCHANGED (the default), 400, unescape and redirect, unescape and forward. */
  path_with_escaped_slashes_action?: 'IMPLEMENTATION_SPECIFIC_DEFAULT' | 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';
  forward_client_cert_details?: 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';
  set_current_client_cert_details?: { subject?: boolean; cert?: boolean; chain?: boolean; dns?: boolean; uri?: boolean };
  /** Peers whose x-envoy-* headers are trusted with use_remote_address; loopback only when unset. */
  internal_address_config?: { unix_sockets?: boolean; cidr_ranges?: CidrRange[] };
  via?: string;
}
/** envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit */
export interface ConnectionLimit { stat_prefix: string; max_connections: number | string; delay?: Duration }
/** envoy.config.overload.v3.OverloadManager: only the global downstream connection monitor acts. */
export interface OverloadManager { resource_monitors?: Array<{ name: string; typed_config?: TypedConfig }> }
export interface TcpProxy {
  stat_prefix: string; cluster?: string; weighted_clusters?: { clusters: Array<{ name: string; weight: number }> };
  idle_timeout?: Duration; access_log?: AccessLogConfig[]; max_connect_attempts?: number;
  /** flush_access_log_on_connected: one entry when the upstream connects, another when the connection ends. */
  access_log_options?: { flush_access_log_on_connected?: boolean };
}

/** envoy.config.rbac.v3: the subset the RBAC filters implement. */
export interface Int32Range { start?: number; end?: number }
export interface PathMatcher { path: StringMatcher }
export interface RbacPermission {
  any?: boolean;
  and_rules?: { rules: RbacPermission[] };
  or_rules?: { rules: RbacPermission[] };
  not_rule?: RbacPermission;
  header?: HeaderMatcher;
  url_path?: PathMatcher;
  destination_ip?: CidrRange;
  destination_port?: number;
  destination_port_range?: Int32Range;
  requested_server_name?: StringMatcher;
}
export interface RbacPrincipal {
  any?: boolean;
  and_ids?: { ids: RbacPrincipal[] };
  or_ids?: { ids: RbacPrincipal[] };
  not_id?: RbacPrincipal;
  authenticated?: { principal_name?: StringMatcher };
  source_ip?: CidrRange;
  direct_remote_ip?: CidrRange;
  remote_ip?: CidrRange;
  header?: HeaderMatcher;
  url_path?: PathMatcher;
}
export interface RbacPolicy { permissions: RbacPermission[]; principals: RbacPrincipal[] }
export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';
export interface RbacRules { action?: RbacAction; policies?: Record<string, RbacPolicy> }
/** envoy.extensions.filters.http.rbac.v3.RBAC */
export interface HttpRbac { rules?: RbacRules; rules_stat_prefix?: string; shadow_rules?: RbacRules; shadow_rules_stat_prefix?: string }
/** envoy.extensions.filters.network.rbac.v3.RBAC */
export interface NetworkRbac {
  stat_prefix: string; rules?: RbacRules; shadow_rules?: RbacRules; shadow_rules_stat_prefix?: string;
  enforcement_type?: 'ONE_TIME_ON_FIRST_BYTE' | 'CONTINUOUS';
}

export interface Endpoint { address: Address; hostname?: string }
export interface LbEndpoint { endpoint: Endpoint; health_status?: string; load_balancing_weight?: number }
export interface LocalityLbEndpoints { lb_endpoints?: LbEndpoint[]; load_balancing_weight?: number; priority?: number; locality?: unknown }
export interface ClusterLoadAssignment { cluster_name?: string; endpoints?: LocalityLbEndpoints[] }
export interface Thresholds { priority?: 'DEFAULT' | 'HIGH'; max_connections?: number; max_pending_requests?: number; max_requests?: number; max_retries?: number }
export interface Cluster {
  name: string;
  alt_stat_name?: string;
  type?: 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';
  connect_timeout?: Duration;
  lb_policy?: string;
  load_assignment?: ClusterLoadAssignment;
  eds_cluster_config?: { eds_config?: ConfigSource; service_name?: string };
  outlier_detection?: Record<string, unknown>;
  transport_socket?: TypedExtension;
  http2_protocol_options?: Http2ProtocolOptions;
  http_protocol_options?: { accept_http_10?: boolean };
  common_http_protocol_options?: CommonHttpProtocolOptions;
  typed_extension_protocol_options?: Record<string, TypedConfig>;
  circuit_breakers?: { thresholds?: Thresholds[] };
  dns_lookup_family?: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
  dns_refresh_rate?: Duration;
  respect_dns_ttl?: boolean;
  per_connection_buffer_limit_bytes?: number;
}

export interface Secret { name: string; tls_certificate?: TlsCertificate; validation_context?: CertificateValidationContext }

export interface Admin { address?: Address; access_log_path?: string; access_log?: AccessLogConfig[] }
export interface Node { id?: string; cluster?: string; metadata?: Record<string, unknown> }
export interface ApiConfigSource {
  api_type?: 'GRPC' | 'DELTA_GRPC' | 'AGGREGATED_GRPC' | 'AGGREGATED_DELTA_GRPC' | 'REST' | 'DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE';
  transport_api_version?: string;
  grpc_services?: Array<{ envoy_grpc?: { cluster_name: string; authority?: string }; timeout?: Duration; initial_metadata?: Array<{ key: string; value?: string }> }>;
  set_node_on_first_message_only?: boolean;
}
export interface DynamicResources { lds_config?: ConfigSource; cds_config?: ConfigSource; ads_config?: ApiConfigSource }
export interface Bootstrap {
  node?: Node;
  static_resources?: { listeners?: Listener[]; clusters?: Cluster[]; secrets?: Secret[] };
  dynamic_resources?: DynamicResources;
  admin?: Admin;
  overload_manager?: OverloadManager;
}
