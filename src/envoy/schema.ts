import type { MessageSpec, SchemaRegistry, Spec } from './validate.js';
import { TYPE_URL } from './type-urls.js';

/**
 * The subset of Envoy's v3 API that the Isthmus proxy implements, field by field (snake_case).
 * A field listed here is honoured with Envoy's semantics; `{ ignored }` fields have no effect on
 * routing or security and are accepted so real-world configs load.
 */
const msg = (name: string): Spec => ({ msg: name });
const list = (spec: Spec): Spec => ({ list: spec });
const enumOf = (...values: string[]): Spec => ({ enum: values });
const ignored = (why: string): Spec => ({ ignored: why });

const HEADER_VALUE_OPTIONS: Record<string, Spec> = {
  request_headers_to_add: list(msg('HeaderValueOption')),
  request_headers_to_remove: list('string'),
  response_headers_to_add: list(msg('HeaderValueOption')),
  response_headers_to_remove: list('string'),
};

const messages: Record<string, MessageSpec> = {
  Bootstrap: {
    fields: {
      node: msg('Node'),
      static_resources: msg('StaticResources'),
      dynamic_resources: msg('DynamicResources'),
      admin: msg('Admin'),
      layered_runtime: ignored('runtime layers are not used by the implemented features'),
      stats_flush_interval: ignored('stats are kept in memory and read on demand'),
      cluster_manager: ignored('no outlier-event log or local cluster is used'),
      overload_manager: msg('OverloadManager'),
    },
  },
  Node: { fields: { id: 'string', cluster: 'string', metadata: 'struct', locality: 'struct', user_agent_name: 'string' } },
  DynamicResources: { fields: { lds_config: msg('ConfigSource'), cds_config: msg('ConfigSource'), ads_config: msg('ApiConfigSource') } },
  ConfigSource: {
    fields: {
      ads: msg('AggregatedConfigSource'),
      resource_api_version: enumOf('AUTO', 'V2', 'V3'),
      initial_fetch_timeout: 'duration',
      authorities: ignored('xDS federation authorities are not used'),
    },
  },
  AggregatedConfigSource: { fields: {} },
  ApiConfigSource: {
    fields: {
      api_type: enumOf('DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE', 'REST', 'GRPC', 'DELTA_GRPC', 'AGGREGATED_GRPC', 'AGGREGATED_DELTA_GRPC'),
      transport_api_version: enumOf('AUTO', 'V2', 'V3'),
      grpc_services: list(msg('GrpcService')),
      set_node_on_first_message_only: 'bool',
      refresh_delay: ignored('gRPC streams are pushed, not polled'),
    },
  },
  GrpcService: { fields: { envoy_grpc: msg('EnvoyGrpc'), timeout: 'duration', initial_metadata: list(msg('HeaderValue')) } },
  EnvoyGrpc: { fields: { cluster_name: 'string', authority: 'string' }, required: ['cluster_name'] },
  SdsSecretConfig: { fields: { name: 'string', sds_config: msg('ConfigSource') }, required: ['name'] },
  CombinedValidationContext: {
    fields: { default_validation_context: msg('CertificateValidationContext'), validation_context_sds_secret_config: msg('SdsSecretConfig') },
    required: ['validation_context_sds_secret_config'],
  },
  Rds: { fields: { route_config_name: 'string', config_source: msg('ConfigSource') }, required: ['route_config_name'] },
  EdsClusterConfig: { fields: { eds_config: msg('ConfigSource'), service_name: 'string' } },
  StaticResources: { fields: { listeners: list(msg('Listener')), clusters: list(msg('Cluster')), secrets: list(msg('Secret')) } },
  Admin: {
    fields: {
      address: msg('Address'),
      access_log_path: 'string',
      access_log: list(msg('AccessLog')),
      profile_path: ignored('CPU profiling is done with node --cpu-prof'),
    },
  },
  OverloadManager: {
    fields: {
      refresh_interval: ignored('the connection monitor is exact, not sampled'),
      resource_monitors: list(msg('ResourceMonitor')),
      actions: ignored('overload actions are not implemented; global_downstream_max_connections refuses connections by itself'),
      loadshed_points: ignored('load shed points are not implemented'),
      buffer_factory_config: ignored('buffer accounting is not implemented'),
    },
  },
  ResourceMonitor: { fields: { name: 'string', typed_config: 'any' }, required: ['name'] },
  DownstreamConnectionsConfig: { fields: { max_active_downstream_connections: 'uint' }, required: ['max_active_downstream_connections'] },
  Address: { fields: { socket_address: msg('SocketAddress') }, required: ['socket_address'] },
  SocketAddress: {
    fields: { address: 'string', port_value: 'uint', protocol: enumOf('TCP'), ipv4_compat: 'bool', resolver_name: ignored('the system resolver is used') },
    required: ['address'],
  },
  Secret: { fields: { name: 'string', tls_certificate: msg('TlsCertificate'), validation_context: msg('CertificateValidationContext') }, required: ['name'] },

  // ---- listeners
  Listener: {
    fields: {
      name: 'string',
      address: msg('Address'),
      stat_prefix: 'string',
      filter_chains: list(msg('FilterChain')),
      default_filter_chain: msg('FilterChain'),
      listener_filters: list(msg('ListenerFilter')),
      listener_filters_timeout: 'duration',
      continue_on_listener_filters_timeout: 'bool',
      per_connection_buffer_limit_bytes: 'uint',
      traffic_direction: enumOf('UNSPECIFIED', 'INBOUND', 'OUTBOUND'),
      bind_to_port: 'bool',
      ignore_global_conn_limit: 'bool',
      drain_type: enumOf('DEFAULT', 'MODIFY_ONLY'),
      metadata: 'struct',
    },
    required: ['address'],
  },
  ListenerFilter: { fields: { name: 'string', typed_config: 'any' }, required: ['name'] },
  TlsInspector: { fields: { enable_ja3_fingerprinting: ignored('JA3 fingerprints are not computed'), initial_read_buffer_size: 'uint' } },
  FilterChain: {
    fields: {
      name: 'string',
      filter_chain_match: msg('FilterChainMatch'),
      filters: list(msg('Filter')),
      transport_socket: msg('TransportSocket'),
      transport_socket_connect_timeout: 'duration',
      metadata: 'struct',
    },
  },
  FilterChainMatch: {
    fields: {
      destination_port: 'uint',
      server_names: list('string'),
      transport_protocol: 'string',
      application_protocols: list('string'),
      prefix_ranges: list(msg('CidrRange')),
      source_prefix_ranges: list(msg('CidrRange')),
      direct_source_prefix_ranges: list(msg('CidrRange')),
      source_type: enumOf('ANY', 'SAME_IP_OR_LOOPBACK', 'EXTERNAL'),
      source_ports: list('uint'),
    },
  },
  CidrRange: { fields: { address_prefix: 'string', prefix_len: 'uint' }, required: ['address_prefix'] },
  Filter: { fields: { name: 'string', typed_config: 'any' }, required: ['name'] },
  TransportSocket: { fields: { name: 'string', typed_config: 'any' }, required: ['name'] },

  // ---- TLS
  DownstreamTlsContext: {
    fields: {
      common_tls_context: msg('CommonTlsContext'),
      require_client_certificate: 'bool',
      require_sni: 'bool',
      session_timeout: 'duration',
      disable_stateless_session_resumption: 'bool',
      full_scan_certs_on_sni_mismatch: ignored('one certificate per filter chain'),
    },
  },
  UpstreamTlsContext: {
    fields: { common_tls_context: msg('CommonTlsContext'), sni: 'string', allow_renegotiation: 'bool', max_session_keys: 'uint' },
  },
  CommonTlsContext: {
    fields: {
      tls_params: msg('TlsParameters'),
      tls_certificates: list(msg('TlsCertificate')),
      tls_certificate_sds_secret_configs: list(msg('SdsSecretConfig')),
      validation_context: msg('CertificateValidationContext'),
      validation_context_sds_secret_config: msg('SdsSecretConfig'),
      combined_validation_context: msg('CombinedValidationContext'),
      alpn_protocols: list('string'),
    },
  },
  TlsParameters: {
    fields: {
      tls_minimum_protocol_version: enumOf('TLS_AUTO', 'TLSv1_0', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'),
      tls_maximum_protocol_version: enumOf('TLS_AUTO', 'TLSv1_0', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'),
      cipher_suites: list('string'),
      ecdh_curves: list('string'),
    },
  },
  TlsCertificate: { fields: { certificate_chain: msg('DataSource'), private_key: msg('DataSource') }, required: ['certificate_chain', 'private_key'] },
  CertificateValidationContext: {
    fields: {
      trusted_ca: msg('DataSource'),
      match_typed_subject_alt_names: list(msg('SubjectAltNameMatcher')),
      match_subject_alt_names: list(msg('StringMatcher')),
      verify_certificate_hash: list('string'),
      verify_certificate_spki: list('string'),
      trust_chain_verification: enumOf('VERIFY_TRUST_CHAIN', 'ACCEPT_UNTRUSTED'),
      custom_validator_config: msg('TypedExtensionConfig'),
    },
  },
  TypedExtensionConfig: { fields: { name: 'string', typed_config: 'any' }, required: ['name', 'typed_config'] },
  SpiffeCertValidatorConfig: { fields: { trust_domains: list(msg('SpiffeTrustDomain')) } },
  SpiffeTrustDomain: { fields: { name: 'string', trust_bundle: msg('DataSource') }, required: ['name', 'trust_bundle'] },
  SubjectAltNameMatcher: { fields: { san_type: enumOf('SAN_TYPE_UNSPECIFIED', 'EMAIL', 'DNS', 'URI', 'IP_ADDRESS', 'OTHER_NAME'), matcher: msg('StringMatcher') }, required: ['san_type', 'matcher'] },
  DataSource: {
    fields: { filename: 'string', inline_string: 'string', inline_bytes: 'bytes', environment_variable: 'string' },
    oneOf: [{ fields: ['filename', 'inline_string', 'inline_bytes', 'environment_variable'], exactlyOne: true }],
  },
  StringMatcher: {
    fields: { exact: 'string', prefix: 'string', suffix: 'string', contains: 'string', safe_regex: msg('RegexMatcher'), ignore_case: 'bool' },
    oneOf: [{ fields: ['exact', 'prefix', 'suffix', 'contains', 'safe_regex'], exactlyOne: true }],
  },
  RegexMatcher: { fields: { regex: 'string', google_re2: ignored('regexes use JavaScript RegExp; RE2 program size limits do not apply') }, required: ['regex'] },
  RawBuffer: { fields: {} },

  // ---- network filters
  HttpConnectionManager: {
    fields: {
      stat_prefix: 'string',
      codec_type: enumOf('AUTO', 'HTTP1', 'HTTP2'),
      route_config: msg('RouteConfiguration'),
      rds: msg('Rds'),
      http_filters: list(msg('HttpFilter')),
      access_log: list(msg('AccessLog')),
      use_remote_address: 'bool',
      xff_num_trusted_hops: 'uint',
      skip_xff_append: 'bool',
      generate_request_id: 'bool',
      preserve_external_request_id: 'bool',
      server_name: 'string',
      strip_any_host_port: 'bool',
      server_header_transformation: enumOf('OVERWRITE', 'APPEND_IF_ABSENT', 'PASS_THROUGH'),
      stream_idle_timeout: 'duration',
      request_timeout: 'duration',
      request_headers_timeout: 'duration',
      drain_timeout: 'duration',
      delayed_close_timeout: 'duration',
      max_request_headers_kb: 'uint',
      common_http_protocol_options: msg('HttpProtocolOptionsCommon'),
      http_protocol_options: msg('Http1ProtocolOptions'),
      http2_protocol_options: msg('Http2ProtocolOptions'),
      normalize_path: 'bool',
      merge_slashes: 'bool',
      path_with_escaped_slashes_action: enumOf('IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT', 'UNESCAPE_AND_FORWARD'),
      forward_client_cert_details: enumOf('SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'),
      set_current_client_cert_details: msg('SetCurrentClientCertDetails'),
      internal_address_config: msg('InternalAddressConfig'),
      via: 'string',
      add_user_agent: 'bool',
      upgrade_configs: ignored('protocol upgrades (WebSocket) are passed through by the HTTP/1.1 codec'),
    },
    required: ['stat_prefix'],
  },
  InternalAddressConfig: { fields: { unix_sockets: 'bool', cidr_ranges: list(msg('CidrRange')) } },
  SetCurrentClientCertDetails: { fields: { subject: 'bool', cert: 'bool', chain: 'bool', dns: 'bool', uri: 'bool' } },
  HttpProtocolOptionsCommon: {
    fields: { idle_timeout: 'duration', max_connection_duration: 'duration', max_headers_count: 'uint', max_stream_duration: 'duration', max_requests_per_connection: 'uint' },
  },
  Http1ProtocolOptions: { fields: { accept_http_10: 'bool', allow_absolute_url: 'bool' } },
  Http2ProtocolOptions: {
    fields: { max_concurrent_streams: 'uint', initial_stream_window_size: 'uint', initial_connection_window_size: 'uint', allow_connect: 'bool' },
  },
  HttpFilter: { fields: { name: 'string', typed_config: 'any', is_optional: 'bool', disabled: 'bool' }, required: ['name'] },
  Router: { fields: { dynamic_stats: 'bool', suppress_envoy_headers: 'bool', start_child_span: ignored('no tracing') } },
  GrpcJsonTranscoder: { fields: {}, opaque: true }, // checked by the filter's own factory (proxy/http/filters)
  TcpProxy: {
    fields: {
      stat_prefix: 'string',
      cluster: 'string',
      weighted_clusters: msg('TcpWeightedClusters'),
      idle_timeout: 'duration',
      access_log: list(msg('AccessLog')),
      access_log_options: msg('TcpAccessLogOptions'),
      max_connect_attempts: 'uint',
    },
    required: ['stat_prefix'],
    oneOf: [{ fields: ['cluster', 'weighted_clusters'], exactlyOne: true }],
  },
  TcpAccessLogOptions: { fields: { flush_access_log_on_connected: 'bool' } },
  TcpWeightedClusters: { fields: { clusters: list(msg('TcpClusterWeight')) }, required: ['clusters'] },
  TcpClusterWeight: { fields: { name: 'string', weight: 'uint' }, required: ['name', 'weight'] },
  SniCluster: { fields: {} },
  ConnectionLimit: {
    fields: { stat_prefix: 'string', max_connections: 'uint', delay: 'duration', runtime_enabled: ignored('runtime feature flags are not used; the filter is always enabled') },
    required: ['stat_prefix', 'max_connections'],
  },

  // ---- RBAC (envoy.config.rbac.v3), shared by the HTTP and network filters
  HttpRbac: { fields: { rules: msg('RbacRules'), rules_stat_prefix: 'string', shadow_rules: msg('RbacRules'), shadow_rules_stat_prefix: 'string' } },
  NetworkRbac: {
    fields: {
      stat_prefix: 'string',
      rules: msg('RbacRules'),
      shadow_rules: msg('RbacRules'),
      shadow_rules_stat_prefix: 'string',
      enforcement_type: enumOf('ONE_TIME_ON_FIRST_BYTE', 'CONTINUOUS'),
    },
    required: ['stat_prefix'],
  },
  RbacRules: { fields: { action: enumOf('ALLOW', 'DENY', 'LOG'), policies: { map: msg('RbacPolicy') } } },
  RbacPolicy: { fields: { permissions: list(msg('RbacPermission')), principals: list(msg('RbacPrincipal')) }, required: ['permissions', 'principals'] },
  RbacPermission: {
    fields: {
      any: 'bool',
      and_rules: msg('RbacPermissionSet'),
      or_rules: msg('RbacPermissionSet'),
      not_rule: msg('RbacPermission'),
      header: msg('HeaderMatcher'),
      url_path: msg('PathMatcher'),
      destination_ip: msg('CidrRange'),
      destination_port: 'uint',
      destination_port_range: msg('Int32Range'),
      requested_server_name: msg('StringMatcher'),
    },
    oneOf: [{ fields: ['any', 'and_rules', 'or_rules', 'not_rule', 'header', 'url_path', 'destination_ip', 'destination_port', 'destination_port_range', 'requested_server_name'], exactlyOne: true }],
  },
  RbacPermissionSet: { fields: { rules: list(msg('RbacPermission')) }, required: ['rules'] },
  RbacPrincipal: {
    fields: {
      any: 'bool',
      and_ids: msg('RbacPrincipalSet'),
      or_ids: msg('RbacPrincipalSet'),
      not_id: msg('RbacPrincipal'),
      authenticated: msg('RbacAuthenticated'),
      source_ip: msg('CidrRange'),
      direct_remote_ip: msg('CidrRange'),
      remote_ip: msg('CidrRange'),
      header: msg('HeaderMatcher'),
      url_path: msg('PathMatcher'),
    },
    oneOf: [{ fields: ['any', 'and_ids', 'or_ids', 'not_id', 'authenticated', 'source_ip', 'direct_remote_ip', 'remote_ip', 'header', 'url_path'], exactlyOne: true }],
  },
  RbacPrincipalSet: { fields: { ids: list(msg('RbacPrincipal')) }, required: ['ids'] },
  RbacAuthenticated: { fields: { principal_name: msg('StringMatcher') } },
  PathMatcher: { fields: { path: msg('StringMatcher') }, required: ['path'] },
  Int32Range: { fields: { start: 'int', end: 'int' } },

  // ---- routes
  RouteConfiguration: {
    fields: { name: 'string', virtual_hosts: list(msg('VirtualHost')), validate_clusters: 'bool', ignore_port_in_host_matching: 'bool', internal_only_headers: list('string'), ...HEADER_VALUE_OPTIONS },
  },
  VirtualHost: {
    fields: {
      name: 'string',
      domains: list('string'),
      routes: list(msg('Route')),
      require_tls: enumOf('NONE', 'EXTERNAL_ONLY', 'ALL'),
      retry_policy: msg('RetryPolicy'),
      ...HEADER_VALUE_OPTIONS,
    },
    required: ['name', 'domains'],
  },
  Route: {
    fields: {
      name: 'string',
      match: msg('RouteMatch'),
      route: msg('RouteAction'),
      redirect: msg('RedirectAction'),
      direct_response: msg('DirectResponseAction'),
      metadata: 'struct',
      decorator: ignored('no tracing'),
      ...HEADER_VALUE_OPTIONS,
    },
    required: ['match'],
    oneOf: [{ fields: ['route', 'redirect', 'direct_response'], exactlyOne: true }],
  },
  RouteMatch: {
    fields: {
      prefix: 'string',
      path: 'string',
      safe_regex: msg('RegexMatcher'),
      path_separated_prefix: 'string',
      case_sensitive: 'bool',
      headers: list(msg('HeaderMatcher')),
      query_parameters: list(msg('QueryParameterMatcher')),
      grpc: msg('GrpcRouteMatchOptions'),
    },
    oneOf: [{ fields: ['prefix', 'path', 'safe_regex', 'path_separated_prefix'], exactlyOne: true }],
  },
  GrpcRouteMatchOptions: { fields: {} },
  HeaderMatcher: {
    fields: {
      name: 'string',
      exact_match: 'string',
      safe_regex_match: msg('RegexMatcher'),
      prefix_match: 'string',
      suffix_match: 'string',
      contains_match: 'string',
      present_match: 'bool',
      string_match: msg('StringMatcher'),
      invert_match: 'bool',
      treat_missing_header_as_empty: 'bool',
    },
    required: ['name'],
    oneOf: [{ fields: ['exact_match', 'safe_regex_match', 'prefix_match', 'suffix_match', 'contains_match', 'present_match', 'string_match'] }],
  },
  QueryParameterMatcher: { fields: { name: 'string', string_match: msg('StringMatcher'), present_match: 'bool' }, required: ['name'] },
  RouteAction: {
    fields: {
      cluster: 'string',
      weighted_clusters: msg('WeightedCluster'),
      cluster_header: 'string',
      cluster_not_found_response_code: enumOf('SERVICE_UNAVAILABLE', 'NOT_FOUND', 'INTERNAL_SERVER_ERROR'),
      prefix_rewrite: 'string',
      regex_rewrite: msg('RegexMatchAndSubstitute'),
      host_rewrite_literal: 'string',
      auto_host_rewrite: 'bool',
      timeout: 'duration',
      idle_timeout: 'duration',
      retry_policy: msg('RetryPolicy'),
      hash_policy: ignored('consistent-hash load balancing is not implemented; the cluster lb_policy applies'),
      max_stream_duration: ignored('stream duration limits come from the connection manager'),
    },
    oneOf: [{ fields: ['cluster', 'weighted_clusters', 'cluster_header'], exactlyOne: true }, { fields: ['prefix_rewrite', 'regex_rewrite'] }, { fields: ['host_rewrite_literal', 'auto_host_rewrite'] }],
  },
  RegexMatchAndSubstitute: { fields: { pattern: msg('RegexMatcher'), substitution: 'string' }, required: ['pattern', 'substitution'] },
  WeightedCluster: { fields: { clusters: list(msg('ClusterWeight')), total_weight: 'uint' }, required: ['clusters'] },
  ClusterWeight: { fields: { name: 'string', weight: 'uint', ...HEADER_VALUE_OPTIONS }, required: ['name'] },
  RetryPolicy: {
    fields: {
      retry_on: 'string',
      num_retries: 'uint',
      per_try_timeout: 'duration',
      retriable_status_codes: list('uint'),
      retry_back_off: msg('RetryBackOff'),
      host_selection_retry_max_attempts: 'uint',
    },
  },
  RetryBackOff: { fields: { base_interval: 'duration', max_interval: 'duration' }, required: ['base_interval'] },
  RedirectAction: {
    fields: {
      https_redirect: 'bool',
      scheme_redirect: 'string',
      host_redirect: 'string',
      port_redirect: 'uint',
      path_redirect: 'string',
      prefix_rewrite: 'string',
      response_code: enumOf('MOVED_PERMANENTLY', 'FOUND', 'SEE_OTHER', 'TEMPORARY_REDIRECT', 'PERMANENT_REDIRECT'),
      strip_query: 'bool',
    },
  },
  DirectResponseAction: { fields: { status: 'uint', body: msg('DataSource') }, required: ['status'] },
  HeaderValueOption: {
    fields: { header: msg('HeaderValue'), append: 'bool', append_action: enumOf('APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'), keep_empty_value: 'bool' },
    required: ['header'],
  },
  HeaderValue: { fields: { key: 'string', value: 'string' }, required: ['key'] },

  // ---- access logs
  AccessLog: { fields: { name: 'string', typed_config: 'any' }, required: ['name'] },
  FileAccessLog: { fields: { path: 'string', log_format: msg('SubstitutionFormatString'), format: 'string', json_format: 'struct' }, required: ['path'] },
  StreamAccessLog: { fields: { log_format: msg('SubstitutionFormatString') } },
  SubstitutionFormatString: {
    fields: { text_format: 'string', text_format_source: msg('DataSource'), json_format: 'struct', omit_empty_values: 'bool', content_type: 'string' },
  },

  // ---- clusters
  Cluster: {
    fields: {
      name: 'string',
      alt_stat_name: 'string',
      type: enumOf('STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'),
      connect_timeout: 'duration',
      lb_policy: enumOf('ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH', 'RANDOM', 'MAGLEV', 'CLUSTER_PROVIDED', 'LOAD_BALANCING_POLICY_CONFIG'),
      load_assignment: msg('ClusterLoadAssignment'),
      eds_cluster_config: msg('EdsClusterConfig'),
      common_lb_config: ignored('panic thresholds and locality settings do not apply without health checking'),
      outlier_detection: ignored('outlier detection is not enforced by the Isthmus proxy yet (a real Envoy enforces it); a warning is logged'),
      transport_socket: msg('TransportSocket'),
      http2_protocol_options: msg('Http2ProtocolOptions'),
      http_protocol_options: msg('Http1ProtocolOptions'),
      common_http_protocol_options: msg('HttpProtocolOptionsCommon'),
      typed_extension_protocol_options: { map: 'any' },
      circuit_breakers: msg('CircuitBreakers'),
      dns_lookup_family: enumOf('AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'),
      dns_refresh_rate: 'duration',
      respect_dns_ttl: 'bool',
      per_connection_buffer_limit_bytes: 'uint',
      metadata: 'struct',
      upstream_connection_options: ignored('TCP keepalive uses the operating system defaults'),
    },
    required: ['name'],
  },
  ClusterLoadAssignment: { fields: { cluster_name: 'string', endpoints: list(msg('LocalityLbEndpoints')), policy: ignored('overprovisioning factor is not used') } },
  LocalityLbEndpoints: {
    fields: { locality: 'struct', lb_endpoints: list(msg('LbEndpoint')), load_balancing_weight: 'uint', priority: 'uint' },
  },
  LbEndpoint: {
    fields: { endpoint: msg('Endpoint'), health_status: enumOf('UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'), load_balancing_weight: 'uint', metadata: 'struct' },
    required: ['endpoint'],
  },
  Endpoint: { fields: { address: msg('Address'), hostname: 'string' }, required: ['address'] },
  CircuitBreakers: { fields: { thresholds: list(msg('Thresholds')) } },
  Thresholds: {
    fields: { priority: enumOf('DEFAULT', 'HIGH'), max_connections: 'uint', max_pending_requests: 'uint', max_requests: 'uint', max_retries: 'uint', track_remaining: 'bool' },
  },
  HttpProtocolOptions: {
    fields: {
      explicit_http_config: msg('ExplicitHttpConfig'),
      use_downstream_protocol_config: msg('UseDownstreamHttpConfig'),
      auto_config: msg('AutoHttpConfig'),
      common_http_protocol_options: msg('HttpProtocolOptionsCommon'),
      upstream_http_protocol_options: msg('UpstreamHttpProtocolOptions'),
    },
    oneOf: [{ fields: ['explicit_http_config', 'use_downstream_protocol_config', 'auto_config'] }],
  },
  UpstreamHttpProtocolOptions: { fields: { auto_sni: 'bool', auto_san_validation: 'bool', override_auto_sni_header: 'string' } },
  ExplicitHttpConfig: { fields: { http_protocol_options: msg('Http1ProtocolOptions'), http2_protocol_options: msg('Http2ProtocolOptions') } },
  UseDownstreamHttpConfig: { fields: { http_protocol_options: msg('Http1ProtocolOptions'), http2_protocol_options: msg('Http2ProtocolOptions') } },
  AutoHttpConfig: { fields: { http_protocol_options: msg('Http1ProtocolOptions'), http2_protocol_options: msg('Http2ProtocolOptions') } },
};

const typeUrls: Record<string, string> = {
  [TYPE_URL.httpConnectionManager]: 'HttpConnectionManager',
  [TYPE_URL.tcpProxy]: 'TcpProxy',
  [TYPE_URL.sniCluster]: 'SniCluster',
  [TYPE_URL.connectionLimit]: 'ConnectionLimit',
  [TYPE_URL.downstreamConnectionsConfig]: 'DownstreamConnectionsConfig',
  [TYPE_URL.router]: 'Router',
  [TYPE_URL.grpcJsonTranscoder]: 'GrpcJsonTranscoder',
  [TYPE_URL.httpRbac]: 'HttpRbac',
  [TYPE_URL.networkRbac]: 'NetworkRbac',
  [TYPE_URL.tlsInspector]: 'TlsInspector',
  [TYPE_URL.downstreamTlsContext]: 'DownstreamTlsContext',
  [TYPE_URL.upstreamTlsContext]: 'UpstreamTlsContext',
  [TYPE_URL.rawBuffer]: 'RawBuffer',
  [TYPE_URL.fileAccessLog]: 'FileAccessLog',
  [TYPE_URL.stdoutAccessLog]: 'StreamAccessLog',
  [TYPE_URL.stderrAccessLog]: 'StreamAccessLog',
  [TYPE_URL.httpProtocolOptions]: 'HttpProtocolOptions',
  [TYPE_URL.spiffeCertValidatorConfig]: 'SpiffeCertValidatorConfig',
};


/**
 * Extensions named without a typed_config (older configs, like the second seed's
 * `- name: envoy.filters.http.router`) resolve to their type by name, as Envoy does.
 */
export const TYPE_URL_BY_EXTENSION_NAME: Readonly<Record<string, string>> = {
  'envoy.filters.network.http_connection_manager': TYPE_URL.httpConnectionManager,
  'envoy.filters.network.tcp_proxy': TYPE_URL.tcpProxy,
  'envoy.filters.network.sni_cluster': TYPE_URL.sniCluster,
  'envoy.filters.network.connection_limit': TYPE_URL.connectionLimit,
  'envoy.filters.http.router': TYPE_URL.router,
  'envoy.filters.http.grpc_json_transcoder': TYPE_URL.grpcJsonTranscoder,
  'envoy.filters.http.rbac': TYPE_URL.httpRbac,
  'envoy.filters.network.rbac': TYPE_URL.networkRbac,
  'envoy.filters.listener.tls_inspector': TYPE_URL.tlsInspector,
  'envoy.transport_sockets.tls': TYPE_URL.downstreamTlsContext,
  'envoy.transport_sockets.raw_buffer': TYPE_URL.rawBuffer,
  'envoy.access_loggers.file': TYPE_URL.fileAccessLog,
  'envoy.access_loggers.stdout': TYPE_URL.stdoutAccessLog,
  'envoy.access_loggers.stderr': TYPE_URL.stderrAccessLog,
};

export const ENVOY_SCHEMA: SchemaRegistry = { messages, typeUrls, typeUrlByExtensionName: TYPE_URL_BY_EXTENSION_NAME };
