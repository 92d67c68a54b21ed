// Envoy resources as the seeds write them (YAML as in the texts) and as Istio generates them for the
// seeds' gateways, for the proto round-trip tests.
import { parse } from 'yaml';
import { TYPE_URL } from '../../../src/envoy/index.js';

const FRONTEND_SNI = 'outbound_.80_._.frontend.simple-app.svc.cluster.local';
const FORTUNE_SNI = 'outbound_.50051_._.fortune-teller.fortune-teller.svc.cluster.local';

/** Seed 003: the VM's listener with grpc_json_transcoder, exactly as the text writes it. */
export const seedVmListener = parse(`
address:
  socket_address:
    address: 0.0.0.0
    port_value: 8080
filter_chains:
- filters:
  - name: envoy.filters.network.http_connection_manager
    typed_config:
      '@type': type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      stat_prefix: vm
      route_config:
        name: local_route
        virtual_hosts:
        - name: routes
          domains:
          - "*"
          routes:
          - match:
              prefix: "/build.stack.fortune.FortuneTeller"
              grpc: {}
            route:
              cluster: fortune-teller
          - match:
              prefix: "/frontend"
            route:
              cluster: frontend
      http_filters:
      - name: envoy.filters.http.grpc_json_transcoder
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder
          proto_descriptor: "/etc/config/fortune-teller/fortune.pb"
          services: ["build.stack.fortune.FortuneTeller"]
          print_options:
            add_whitespace: true
            always_print_primitive_fields: true
            always_print_enums_as_ints: false
            preserve_proto_field_names: false
          convert_grpc_status: true
      - name: envoy.filters.http.router
`) as Record<string, unknown>;

/** Seed 003: the VM's cluster with upstream TLS (camelCase alpnProtocols, as written). */
export const seedVmCluster = parse(`
name: frontend
type: STRICT_DNS
load_assignment:
  cluster_name: frontend
  endpoints:
  - lb_endpoints:
    - endpoint:
        address:
          socket_address:
            address: eastwest-gateway.solo.io
            port_value: 15443
transport_socket:
  name: envoy.transport_sockets.tls
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
    sni: ${FRONTEND_SNI}
    common_tls_context:
      alpnProtocols:
      - istio-peer-exchange
      - istio
      tls_certificates:
      - certificate_chain:
          filename: /certs/cert.pem
        private_key:
          filename: /certs/key.pem
      validation_context:
        trusted_ca:
          filename: /certs/ca-cert.pem
`) as Record<string, unknown>;

const ads = { ads: {}, resource_api_version: 'V3' };

/** Seed 000, mesh B: the ingress gateway's MUTUAL listener for lambda.external (Istio-style: SDS + RDS). */
export const ingressListener: Record<string, unknown> = {
  name: '0.0.0.0_8443',
  address: { socket_address: { address: '0.0.0.0', port_value: 8443 } },
  listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TYPE_URL.tlsInspector } }],
  listener_filters_timeout: '5s',
  traffic_direction: 'OUTBOUND',
  filter_chains: [{
    filter_chain_match: { server_names: ['lambda.external'] },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': TYPE_URL.downstreamTlsContext,
        require_client_certificate: true,
        common_tls_context: {
          alpn_protocols: ['h2', 'http/1.1'],
          tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
          tls_certificate_sds_secret_configs: [{ name: 'kubernetes://mtls-credential', sds_config: ads }],
          combined_validation_context: {
            default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'client.mesh-a' } }] },
            validation_context_sds_secret_config: { name: 'kubernetes://mtls-credential-cacert', sds_config: ads },
          },
        },
      },
    },
    filters: [{
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': TYPE_URL.httpConnectionManager,
        stat_prefix: 'outbound_0.0.0.0_8443',
        rds: { route_config_name: 'https.443.https.lambda-gateway.istio-ingress', config_source: ads },
        use_remote_address: true,
        forward_client_cert_details: 'SANITIZE_SET',
        set_current_client_cert_details: { subject: true, dns: true, uri: true },
        stream_idle_timeout: '0s',
        common_http_protocol_options: { idle_timeout: '3600s' },
        access_log: [{
          name: 'envoy.access_loggers.file',
          typed_config: {
            '@type': TYPE_URL.fileAccessLog,
            path: '/dev/stdout',
            log_format: { text_format_source: { inline_string: '[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)%" %RESPONSE_CODE%\n' } },
          },
        }],
        http_filters: [
          {
            name: 'envoy.filters.http.rbac',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
              rules: {
                action: 'DENY',
                policies: {
                  'ns[istio-ingress]-policy[deny-admin]-rule[0]': {
                    permissions: [{ and_rules: { rules: [{ url_path: { path: { prefix: '/admin' } } }] } }],
                    principals: [{ any: true }],
                  },
                },
              },
            },
          },
          { name: 'envoy.filters.http.router', typed_config: { '@type': TYPE_URL.router } },
        ],
      },
    }],
  }],
};

/** Seed 000, mesh B: the routes the text prints with proxy-config routes. */
export const ingressRoutes: Record<string, unknown> = {
  name: 'https.443.https.lambda-gateway.istio-ingress',
  virtual_hosts: [{
    name: 'lambda.external:443',
    domains: ['lambda.external', 'lambda.external:*'],
    routes: [{
      name: 'lambda',
      match: { prefix: '/' },
      route: {
        cluster: 'outbound|443||lambda.external',
        timeout: '0s',
        retry_policy: { retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', num_retries: 2, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }] },
      },
      metadata: { filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/istio-ingress/virtual-service/lambda' } } },
    }],
  }],
  validate_clusters: false,
};

/** Seed 003: the east-west gateway's AUTO_PASSTHROUGH listener (sni_cluster + tcp_proxy per SNI). */
export const eastWestListener: Record<string, unknown> = {
  name: '0.0.0.0_15443',
  address: { socket_address: { address: '0.0.0.0', port_value: 15443 } },
  listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TYPE_URL.tlsInspector } }],
  filter_chains: [FRONTEND_SNI, FORTUNE_SNI].map((sni) => ({
    filter_chain_match: { server_names: [sni], transport_protocol: 'tls' },
    filters: [
      { name: 'envoy.filters.network.sni_cluster', typed_config: { '@type': TYPE_URL.sniCluster } },
      {
        name: 'envoy.filters.network.tcp_proxy',
        typed_config: { '@type': TYPE_URL.tcpProxy, stat_prefix: sni, cluster: sni, idle_timeout: '3600s', max_connect_attempts: 3 },
      },
    ],
  })),
};

/** An EDS cluster (as a gateway gets for a mesh service) with its HTTP/2 protocol options. */
export const edsCluster: Record<string, unknown> = {
  name: FORTUNE_SNI,
  type: 'EDS',
  eds_cluster_config: { eds_config: ads, service_name: FORTUNE_SNI },
  connect_timeout: '10s',
  lb_policy: 'LEAST_REQUEST',
  circuit_breakers: { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }] },
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': TYPE_URL.httpProtocolOptions,
      explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 1073741824 } },
      common_http_protocol_options: { idle_timeout: '3600s', max_requests_per_connection: 100 },
    },
  },
  metadata: { filter_metadata: { istio: { services: [{ host: 'fortune-teller.fortune-teller.svc.cluster.local', name: 'fortune-teller', namespace: 'fortune-teller' }] } } },
};

export const edsAssignment: Record<string, unknown> = {
  cluster_name: FORTUNE_SNI,
  endpoints: [
    {
      locality: { region: 'us-east-1', zone: 'us-east-1a' },
      lb_endpoints: [
        { endpoint: { address: { socket_address: { address: '10.0.1.12', port_value: 50051 } } }, health_status: 'HEALTHY', load_balancing_weight: 1 },
        { endpoint: { address: { socket_address: { address: '10.0.1.13', port_value: 50051 } }, hostname: 'fortune-1' }, health_status: 'DRAINING', load_balancing_weight: 1 },
      ],
      load_balancing_weight: 2,
    },
    { priority: 1, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.2.12', port_value: 50051 } } } }] },
  ],
  policy: { overprovisioning_factor: 140 },
};

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUb3Bh\n-----END CERTIFICATE-----\n';

/** An SDS secret with its certificate and key inline (as the control plane serves credentialName). */
export const inlineSecret: Record<string, unknown> = {
  name: 'kubernetes://mtls-credential',
  tls_certificate: {
    certificate_chain: { inline_bytes: Buffer.from(PEM).toString('base64') },
    private_key: { inline_bytes: Buffer.from('-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n').toString('base64') },
  },
};

export const caSecret: Record<string, unknown> = {
  name: 'kubernetes://mtls-credential-cacert',
  validation_context: { trusted_ca: { inline_string: PEM }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }] },
};

/** An RBAC network filter (as Istio writes for a TCP AuthorizationPolicy). */
export const networkRbac: Record<string, unknown> = {
  '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
  stat_prefix: 'tcp.',
  rules: {
    policies: {
      'ns[fortune-teller]-policy[allow-vm]-rule[0]': {
        permissions: [{ destination_port: 50051 }],
        principals: [{ authenticated: { principal_name: { exact: 'spiffe://vm.local/vm/vm-1' } } }],
      },
    },
  },
};
